"""API clients, their keys and scopes, and the record of every call they make."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from procedures.models import Agency


class Scope(models.TextChoices):
    CATALOG_READ = "catalog:read", _("Read the catalog (agencies, procedures, forms)")
    DOSSIERS_SUBMIT = "dossiers:submit", _("Submit dossiers on behalf of applicants")
    DOSSIERS_READ = "dossiers:read", _("Read dossiers' status and timeline")
    RESULTS_READ = "results:read", _("Download results")
    EVENTS_SUBSCRIBE = "events:subscribe", _("Subscribe to events (webhooks)")
    STATISTICS_READ = "statistics:read", _("Read statistics")


class ApiClient(models.Model):
    """An outside system (the ministry's LGSP, the national portal, a provincial portal)
    that calls the API with a key. It acts for one agency and the agencies below it.

    The key is shown once, when it is made or rotated; only its SHA-256 is kept (a key
    carries 256 random bits, so a fast hash is enough: nothing to guess from it). The
    prefix, stored in clear, finds the row and tells keys apart in the admin.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="api_clients", verbose_name=_("agency")
    )
    scopes = models.JSONField(_("scopes"), default=list)
    # The account the client's actions are recorded under (history, filed by): it holds
    # the integration role in the client's agency, and can never sign in.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="api_client",
        verbose_name=_("service account"),
    )
    key_prefix = models.CharField(_("key prefix"), max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, editable=False)
    rate_limit = models.PositiveIntegerField(
        _("requests per minute"), default=settings.MOTCUA["API"]["RATE_LIMIT"]
    )
    contact_email = models.EmailField(_("technical contact"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    rotated_at = models.DateTimeField(_("key rotated"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def reaches(self, agency: Agency) -> bool:
        """The agency is the client's or one below it."""
        return agency.path.startswith(self.agency.path)

    def subtree_q(self, prefix: str = "") -> models.Q:
        """A filter on ``<prefix>path`` for the agencies the client acts for."""
        return self.agency.subtree_q(prefix)


class ApiCall(models.Model):
    """One call by a client: who, which endpoint, which dossier, the answer's status.
    Never the bodies (they carry personal data)."""

    client = models.ForeignKey(
        ApiClient, on_delete=models.CASCADE, related_name="calls", verbose_name=_("client")
    )
    at = models.DateTimeField(_("when"), auto_now_add=True)
    method = models.CharField(_("method"), max_length=8)
    endpoint = models.CharField(_("endpoint"), max_length=200)
    # By id, with no constraint: the record outlives a discarded draft.
    dossier_id = models.BigIntegerField(_("dossier"), null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(_("status code"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("API call")
        verbose_name_plural = _("API calls")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["client", "-at"], name="api_call_client_idx")]

    def __str__(self) -> str:
        return f"{self.client} {self.method} {self.endpoint} {self.status_code}"


class IdempotentRequest(models.Model):
    """A submit made with an ``Idempotency-Key``: a retry with the same key (after a lost
    answer) gets the first answer again instead of filing a second dossier."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of the request (method, path, body): the same key with another request is
    # refused (422), as the IETF draft on the header says.
    fingerprint = models.CharField(max_length=64)
    dossier_id = models.BigIntegerField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="api_idempotency_key_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.client_id}:{self.key}"
