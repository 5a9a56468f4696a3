"""SMS delivery receipts: the HTTP gateway says whether a message reached the phone.

The gateway POSTs JSON to ``/notifications/sms/receipts/``, signed with HMAC-SHA256 of
the raw body under ``MOTCUA_SMS_RECEIPT_SECRET``, in the header ``X-Motcua-Signature``
(``sha256=<hex>``; the header's name is the ``receipt_header`` option). The body names the
message by the gateway's id (which motcua stored from the gateway's answer to the send)
or by motcua's own key (the idempotency key sent with it), and its status::

    {"id": "gw-8812", "reference": "<uuid>", "status": "delivered", "at": "2026-11-29T22:40:00Z"}

Field names and the words for delivered / failed are options too (``receipt_fields``,
``receipt_delivered``, ``receipt_failed``), so most gateways fit without code. Receipts
are idempotent: the same one twice changes nothing, and "delivered" is final (a late
"failed" does not undo it). A receipt with a bad signature, for no known message, or
that cannot be read is refused with a 4xx and one log line, never a 500; a database that
is busy or unreachable answers 503 with Retry-After, for the gateway to send it again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from config.network import client_address

from .models import Channel, HandsetStatus, Message, MessageStatus

log = logging.getLogger(__name__)

MAX_BODY = 65_536
DELIVERED_WORDS = ("delivered", "DELIVRD", "DELIVERED", "success")
FAILED_WORDS = ("failed", "UNDELIV", "REJECTD", "EXPIRED", "permanent-failure", "FAILED")


def _options() -> dict:
    return settings.MOTCUA["SMS"].get("options", {})


def signature(body: bytes, secret: str) -> str:
    """The header value a gateway sends with ``body`` (also used by tests and sandboxes)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _refuse(request: HttpRequest, status: int, reason: str) -> JsonResponse:
    log.warning("sms receipt refused reason=%s client=%s", reason, client_address(request))
    return JsonResponse({"ok": False, "error": reason}, status=status)


def _text(data: dict, key: str) -> str:
    value = data.get(key)
    return str(value)[:100] if isinstance(value, str | int) and not isinstance(value, bool) else ""


def _handset_time(value: str):
    try:
        at = parse_datetime(value) if value else None
    except ValueError:  # well formed but impossible (30 February): the time of receipt
        at = None
    if at is None:
        return timezone.now()
    if timezone.is_naive(at):
        at = timezone.make_aware(at, timezone.get_current_timezone())
    return min(at, timezone.now())


@csrf_exempt
@require_POST
def sms_receipt(request: HttpRequest) -> JsonResponse:
    secret = settings.MOTCUA["SMS"].get("RECEIPT_SECRET", "")
    if not secret:
        return _refuse(request, 404, "receipts-off")
    body = request.body
    if len(body) > MAX_BODY:
        return _refuse(request, 400, "too-large")
    options = _options()
    header = options.get("receipt_header", "X-Motcua-Signature")
    given = request.headers.get(header, "")
    if not given or not hmac.compare_digest(given.encode(), signature(body, secret).encode()):
        return _refuse(request, 403, "signature")
    try:
        data = json.loads(body)
    except ValueError:
        return _refuse(request, 400, "not-json")
    if not isinstance(data, dict):
        return _refuse(request, 400, "not-an-object")
    fields = {"id": "id", "reference": "reference", "status": "status", "at": "at"}
    fields.update(options.get("receipt_fields", {}))
    provider_id = _text(data, fields["id"])
    reference = _text(data, fields["reference"])
    word = _text(data, fields["status"])
    if word in options.get("receipt_delivered", DELIVERED_WORDS):
        outcome = HandsetStatus.DELIVERED
    elif word in options.get("receipt_failed", FAILED_WORDS):
        outcome = HandsetStatus.FAILED
    else:
        return _refuse(request, 400, "status")
    try:
        key = uuid.UUID(reference) if reference else None
    except ValueError:
        key = None
    if not provider_id and key is None:
        return _refuse(request, 400, "no-id")
    match = Q(provider_id=provider_id) if provider_id else Q()
    if key is not None:
        match = match | Q(uid=key) if provider_id else Q(uid=key)
    try:
        return _apply(request, match, provider_id, outcome, _text(data, fields["at"]))
    except DatabaseError as exc:  # busy or unreachable: the gateway sends it again later
        log.warning("sms receipt deferred error=%s", type(exc).__name__)
        response = JsonResponse({"ok": False, "error": "busy"}, status=503)
        response["Retry-After"] = "30"
        return response


def _apply(request, match: Q, provider_id: str, outcome: str, at: str) -> JsonResponse:
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(match, channel=Channel.SMS).first()
        if message is None:
            if Message.objects.filter(channel=Channel.SMS, status=MessageStatus.SENDING).exists():
                # Perhaps the send whose provider id this is has not been recorded yet.
                log.info("sms receipt deferred: an SMS is still being recorded")
                response = JsonResponse({"ok": False, "error": "not-yet"}, status=503)
                response["Retry-After"] = "30"
                return response
            return _refuse(request, 404, "unknown-message")
        if provider_id and message.provider_id and message.provider_id != provider_id:
            return _refuse(request, 404, "unknown-message")
        changed = message.handset_status != HandsetStatus.DELIVERED and (
            message.handset_status != outcome
        )
        if changed:
            message.handset_status = outcome
            message.handset_at = _handset_time(at)
        if provider_id and not message.provider_id:
            message.provider_id = provider_id
            changed = True
        if changed:
            message.save(update_fields=["handset_status", "handset_at", "provider_id"])
    log.info("sms receipt message=%s handset=%s", message.uid, message.handset_status)
    return JsonResponse({"ok": True, "status": message.handset_status})
