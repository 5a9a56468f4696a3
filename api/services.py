"""API clients: made, rotated and revoked here only (the admin and `api_client` call these)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from procedures.models import Agency, OfficerRole
from procedures.roles import Role

from . import keys
from .models import (
    ApiCall,
    ApiClient,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    EventKind,
    IdempotentRequest,
    Scope,
)

# The namespace of the filing keys made from (client, Idempotency-Key).
FILING_NAMESPACE = uuid.UUID("6f1d3c2e-9a57-4d0e-8f3b-5a1c7e2d4b90")


def _clean_scopes(scopes) -> list[str]:
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise ValidationError(
            {"scopes": [_("Unknown scope: %(scopes)s.") % {"scopes": ", ".join(unknown)}]}
        )
    if not scopes:
        raise ValidationError({"scopes": [_("Give the client at least one scope.")]})
    return sorted(set(scopes))


def api_client_create(
    *,
    name: str,
    agency: Agency,
    scopes: list[str],
    rate_limit: int | None = None,
    contact_email: str = "",
) -> tuple[ApiClient, str]:
    """A new client and its key (shown once: only its hash is kept)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError({"name": [_("Give the client a name of at most 100 characters.")]})
    if ApiClient.objects.filter(name=name).exists():
        raise ValidationError({"name": [_("A client with this name already exists.")]})
    if rate_limit is not None and not 1 <= rate_limit <= 100_000:
        raise ValidationError({"rate_limit": [_("Between 1 and 100000 requests per minute.")]})
    scopes = _clean_scopes(scopes)
    key, prefix, digest = keys.make_key()
    with transaction.atomic():
        user = get_user_model().objects.create(
            username=f"api:{slugify(name)[:40]}:{prefix[:6]}",
            first_name=name[:150],
            is_active=True,
        )
        user.set_unusable_password()
        user.save(update_fields=["password"])
        OfficerRole.objects.create(user=user, agency=agency, role=Role.INTEGRATION)
        client = ApiClient.objects.create(
            name=name,
            agency=agency,
            scopes=scopes,
            user=user,
            key_prefix=prefix,
            key_hash=digest,
            rate_limit=rate_limit or settings.MOTCUA["API"]["RATE_LIMIT"],
            contact_email=contact_email,
        )
    return client, key


def api_client_rotate(*, client: ApiClient) -> str:
    """A new key; the old one stops working at once."""
    if not client.is_active:
        raise ValidationError(_("A revoked client cannot get a new key."))
    key, prefix, digest = keys.make_key()
    ApiClient.objects.filter(pk=client.pk).update(
        key_prefix=prefix, key_hash=digest, rotated_at=timezone.now()
    )
    client.refresh_from_db()
    return key


def api_client_revoke(*, client: ApiClient) -> ApiClient:
    """The key stops working; the client, its record of calls and its dossiers stay."""
    with transaction.atomic():
        ApiClient.objects.filter(pk=client.pk).update(is_active=False, revoked_at=timezone.now())
        get_user_model().objects.filter(pk=client.user_id).update(is_active=False)
    client.refresh_from_db()
    return client


def filing_key_of(client_id: int, key: str) -> uuid.UUID:
    """The dossier's filing key (workflows' guard against a double filing) made from the
    client and its ``Idempotency-Key``."""
    return uuid.uuid5(FILING_NAMESPACE, f"{client_id}:{key}")


def _idempotency_keys_prune(before: dt.datetime) -> int:
    """Forget the keys made before ``before``, and the filing keys made from them: after
    its expiry a key is a new key (the IETF Idempotency-Key draft lets a server expire
    keys, and a key it no longer knows names no earlier request). Without the second
    step, a request under a forgotten key would be answered with the dossier filed under
    it long ago, whatever it asked (and as if it were new)."""
    from workflows.models import Dossier

    forgotten = 0
    expired = IdempotentRequest.objects.filter(created_at__lt=before)
    while batch := list(expired.order_by("pk").values_list("pk", "client_id", "key")[:500]):
        with transaction.atomic():
            Dossier.objects.filter(
                filing_key__in=[filing_key_of(client_id, key) for _pk, client_id, key in batch]
            ).update(filing_key=None)
            forgotten += IdempotentRequest.objects.filter(
                pk__in=[pk for pk, _c, _k in batch]
            ).delete()[0]
    return forgotten


def _deliveries_prune(now: dt.datetime) -> int:
    """Webhook deliveries done with: delivered ones after ``WEBHOOK_DELIVERED_DAYS``,
    failed ones (kept to be replayed) after ``WEBHOOK_FAILED_DAYS``; their attempts go
    with them. Pending ones are never pruned. Neither is an ``overdue`` delivery: it is
    what makes "overdue" told once per dossier (api.webhooks)."""
    days = settings.MOTCUA["API"]
    old = Delivery.objects.exclude(kind=EventKind.OVERDUE).filter(
        Q(
            status=DeliveryStatus.DELIVERED,
            delivered_at__lt=now - dt.timedelta(days=days["WEBHOOK_DELIVERED_DAYS"]),
        )
        | Q(
            status=DeliveryStatus.FAILED,
            failed_at__lt=now - dt.timedelta(days=days["WEBHOOK_FAILED_DAYS"]),
        )
    )
    pruned = 0
    # In batches: a year of deliveries at once would hold one long transaction.
    while batch := list(old.order_by("pk").values_list("pk", flat=True)[:1000]):
        with transaction.atomic():
            DeliveryAttempt.objects.filter(delivery_id__in=batch).delete()
            pruned += Delivery.objects.filter(pk__in=batch).delete()[0]
    return pruned


def api_records_prune(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Forget old call records, idempotency keys and webhook deliveries (a periodic
    job)."""
    now = now or timezone.now()
    days = settings.MOTCUA["API"]
    calls, _n = ApiCall.objects.filter(
        at__lt=now - dt.timedelta(days=days["CALL_LOG_DAYS"])
    ).delete()
    idem = _idempotency_keys_prune(now - dt.timedelta(days=days["IDEMPOTENCY_DAYS"]))
    return {"calls": calls, "idempotency_keys": idem, "deliveries": _deliveries_prune(now)}
