"""API clients, their keys and scopes, and the record of every call they make."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
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
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
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
        indexes = [
            models.Index(fields=["client", "-at"], name="api_call_client_idx"),
            # The daily prune deletes by age.
            models.Index(fields=["at"], name="api_call_at_idx"),
        ]

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


# --- Event subscriptions (webhooks; api.webhooks) ------------------------------------------


class EventKind(models.TextChoices):
    """What a subscriber hears about: the dossier's steps a client follows, by their
    public names (the events behind them are listed in api.webhooks.KIND_OF)."""

    FILED = "filed", _("Filed")
    RECEIVED = "received", _("Received")
    REJECTED_AT_RECEPTION = "rejected_at_reception", _("Not accepted at reception")
    SUPPLEMENT_REQUESTED = "supplement_requested", _("Supplement requested")
    RESUBMITTED = "resubmitted", _("Resubmitted after a supplement request")
    REFUSED = "refused", _("Refused")
    APPROVED = "approved", _("Approved")
    ISSUED = "issued", _("Result issued")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    OVERDUE = "overdue", _("Overdue")


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    # Kept failing: new deliveries still queue, none is sent until it is resumed.
    PAUSED = "paused", _("Paused")
    # Deleted by the client: kept with its deliveries for the record, never sent again.
    DELETED = "deleted", _("Deleted")


class Subscription(models.Model):
    """A client's callback URL and the events it wants posted there."""

    client = models.ForeignKey(
        ApiClient,
        on_delete=models.PROTECT,
        related_name="subscriptions",
        verbose_name=_("client"),
    )
    callback_url = models.URLField(_("callback URL"), max_length=500)
    # The Authorization header value the client's receiver expects: kept to be sent, never
    # shown again (the API takes it, write-only; the admin shows only whether one is set).
    auth_header = models.CharField(_("Authorization header"), max_length=500, blank=True)
    # The HMAC key of the signatures: shown to the client once, when made or rotated.
    secret = models.CharField(max_length=64, editable=False)
    event_kinds = models.JSONField(_("event kinds"), default=list, blank=True)
    agency = models.ForeignKey(
        Agency,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("agency filter"),
    )
    procedure = models.ForeignKey(
        "procedures.Procedure",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("procedure filter"),
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=SubscriptionStatus.choices,
        default=SubscriptionStatus.ACTIVE,
    )
    paused_at = models.DateTimeField(_("paused"), null=True, blank=True)
    pause_reason = models.CharField(_("reason for the pause"), max_length=255, blank=True)
    consecutive_failures = models.PositiveIntegerField(_("failed deliveries in a row"), default=0)
    # What waited through a pause gets a whole retry schedule again from here
    # (api.webhooks: a subscription is paused when a delivery waited longer than that).
    resumed_at = models.DateTimeField(_("resumed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    secret_rotated_at = models.DateTimeField(_("secret rotated"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    class Meta:
        verbose_name = _("event subscription")
        verbose_name_plural = _("event subscriptions")
        ordering = ["-id"]
        indexes = [models.Index(fields=["status"], name="api_subscription_status_idx")]

    def __str__(self) -> str:
        return f"{self.client} → {self.callback_url}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    """One event for one subscription: its payload is frozen when the event is written,
    and every attempt posts the same body under the same ``delivery_id``."""

    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("subscription"),
    )
    event = models.ForeignKey(
        "workflows.OutgoingEvent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="webhook_deliveries",
    )
    # By id, no constraint: deliveries of one dossier go out in order (api.webhooks).
    dossier_id = models.BigIntegerField(_("dossier"))
    delivery_id = models.UUIDField(_("delivery id"), default=uuid.uuid4, unique=True)
    kind = models.CharField(_("event kind"), max_length=32, choices=EventKind.choices)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    # Set while a worker posts it: a delivery "sending" for longer than STUCK_AFTER was
    # left by a worker that died, and is taken up again (same delivery id).
    sending_since = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(
        _("last status code"), null=True, blank=True
    )
    last_error = models.CharField(_("last error"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    failed_at = models.DateTimeField(_("failed"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="api_delivery_due_idx",
                condition=models.Q(status="pending"),
            ),
            models.Index(
                fields=["subscription", "dossier_id", "id"],
                name="api_delivery_order_idx",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["subscription", "-id"], name="api_delivery_list_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.delivery_id}"


class DeliveryAttempt(models.Model):
    """One POST of a delivery: when, the receiver's status code or the error, how long."""

    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="tries", verbose_name=_("delivery")
    )
    number = models.PositiveSmallIntegerField(_("attempt"))
    at = models.DateTimeField(_("when"))
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=255, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["delivery", "number", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id}#{self.number} {self.status_code or self.error}"
