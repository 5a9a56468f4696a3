"""Event subscriptions (webhooks): who hears about which dossier event, and the delivery of
each event to each subscriber's callback URL, at least once, in order, signed.

Writing. ``webhooks_expand`` runs inside the transaction of the change (workflows.events'
``@expands("*")``): for each active or paused subscription whose filters match, it writes
a ``Delivery`` with its payload frozen then, so a delivery exists exactly when the change
committed. After commit each delivery is handed to a worker (config.handoff); the sweep
(beat's ``sweep-webhooks``, ``run_periodic_jobs``) takes whatever was not handed over,
whatever is due for a retry, and whatever a dead worker left "sending". In the embedded
default (eager Celery, no worker) nothing is handed over: the request that caused the
event never waits on a receiver, and the periodic sweep sends.

Sending (``delivery_send``) is three steps, as for messages (notifications.services):
claim (a short transaction marks it sending and counts the attempt), POST outside any
transaction, record (the attempt and the outcome, in a second short transaction). A
worker killed between the receiver's answer and the record makes the same delivery go
again, with the same ``X-Motcua-Delivery``: receivers drop it by that id.

Order. Per subscription and dossier, a delivery is not sent while an earlier one is still
pending: the client sees every status, in order. When one is delivered (or fails for
good), the next one of that dossier is handed over at once.

Failure. Attempts follow the outbox's backoff (workflows.events: 1, 2, 4 … 60 minutes, for
72 hours); every attempt is recorded. After the last one the delivery fails: the
administrators' digest names it (notifications.alerts) and it can be replayed (API and
admin). A subscription whose deliveries fail ``WEBHOOK_PAUSE_AFTER`` times in a row, or
whose oldest pending delivery has waited longer than the whole retry schedule (since it
was written, or since the subscription was last resumed), is paused: its deliveries stay
pending and new ones still queue; resuming it (which also resets the count of failures in
a row) sends them.

Addresses. Unless ``WEBHOOK_ALLOW_PRIVATE`` (default: DEBUG), a callback URL that resolves
to a non-public address is refused at subscription, and again at each POST against the
address actually connected to (the connection goes to the checked address, so a name
that changes its answer in between cannot redirect it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import http.client
import json
import logging
import secrets
import socket
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from config.network import UnsafeAddress, resolve_public
from procedures.models import Agency, Procedure
from workflows import national_status as national
from workflows.compiled import CompiledQuery
from workflows.events import MAX_ATTEMPTS, RETRY_WAITS, backoff, expands
from workflows.models import OutgoingEvent

from .models import (
    ApiClient,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    EventKind,
    Scope,
    Subscription,
    SubscriptionStatus,
)

log = logging.getLogger(__name__)

# The outbox events behind each kind a client can subscribe to.
KIND_OF = {
    "dossier.submit": EventKind.FILED,
    "dossier.receive": EventKind.RECEIVED,
    "dossier.reject_at_reception": EventKind.REJECTED_AT_RECEPTION,
    "dossier.request_supplement": EventKind.SUPPLEMENT_REQUESTED,
    "dossier.resubmit": EventKind.RESUBMITTED,
    "dossier.refuse": EventKind.REFUSED,
    "dossier.approve": EventKind.APPROVED,
    "dossier.issue": EventKind.ISSUED,
    "dossier.withdraw": EventKind.WITHDRAWN,
    # A task of the dossier passed its due date (workflows.services.escalation); told to
    # a subscriber once per dossier.
    "task.overdue": EventKind.OVERDUE,
}

SIGNATURE_HEADER = "X-Motcua-Signature"
USER_AGENT = "motcua-webhooks/1"
MAX_URL = 500
MAX_AUTH_HEADER = 500


def _options() -> dict:
    return settings.MOTCUA["API"]


def national_status(status: str) -> int | None:
    """The national portal's code for a status (workflows.national_status, the one map)."""
    found = national.BY_STATUS.get(str(status))
    return found.code if found else None


def retry_window() -> dt.timedelta:
    """From the first attempt to the last: after that, a delivery has failed."""
    return dt.timedelta(minutes=sum(RETRY_WAITS))


def stuck_after() -> dt.timedelta:
    return dt.timedelta(seconds=_options()["WEBHOOK_STUCK_SECONDS"])


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 under the secret, over ``"<timestamp>.<body>"``."""
    message = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


# --- Callback URLs -------------------------------------------------------------------------


def _url_error(message: str) -> ValidationError:
    return ValidationError({"callback_url": [message]})


def clean_callback_url(url) -> str:
    """An absolute http(s) URL with a host and no credentials; outside DEBUG, its host
    must resolve to public addresses only. A field error otherwise."""
    if not isinstance(url, str) or not url.strip():
        raise _url_error(_("Give the callback URL."))
    url = url.strip()
    if len(url) > MAX_URL:
        raise _url_error(_("At most %(n)d characters.") % {"n": MAX_URL})
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise _url_error(_("A URL has no spaces or control characters."))
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        raise _url_error(_("This is not a valid URL.")) from None
    if parts.scheme not in ("http", "https"):
        raise _url_error(_("Only http and https callback URLs are accepted."))
    if parts.username is not None or parts.password is not None:
        raise _url_error(
            _("Put no credentials in the URL: send them with the Authorization header value.")
        )
    host = parts.hostname
    if not host:
        raise _url_error(_("The URL names no host."))
    if parts.fragment:
        raise _url_error(_("A callback URL has no fragment (#…)."))
    if not _options()["WEBHOOK_ALLOW_PRIVATE"]:
        try:
            resolve_public(host, port or (443 if parts.scheme == "https" else 80))
        except UnsafeAddress:
            raise _url_error(
                _(
                    "The host must resolve to public internet addresses only "
                    "(not loopback, private or link-local)."
                )
            ) from None
    return url


def clean_auth_header(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError({"auth_header": [_("Give a text value.")]})
    if len(value) > MAX_AUTH_HEADER:
        raise ValidationError({"auth_header": [_("At most %(n)d characters.") % {"n": 500}]})
    if any(ord(c) < 32 or ord(c) == 127 for c in value) or not value.isascii():
        raise ValidationError(
            {"auth_header": [_("A header value holds printable ASCII characters only.")]}
        )
    return value.strip()


# --- Subscriptions -------------------------------------------------------------------------


def _clean_kinds(kinds) -> list[str]:
    if kinds is None:
        return []
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        raise ValidationError({"event_kinds": [_("Give a list of event kinds.")]})
    unknown = sorted(set(kinds) - set(EventKind.values))
    if unknown:
        raise ValidationError(
            {
                "event_kinds": [
                    _("Unknown event kind: %(kinds)s.") % {"kinds": ", ".join(unknown)[:200]}
                ]
            }
        )
    return [k for k in EventKind.values if k in kinds]


def _clean_agency(client: ApiClient, code) -> Agency | None:
    if code in (None, ""):
        return None
    agency = (
        Agency.objects.filter(client.subtree_q(), code=code).first()
        if isinstance(code, str) and len(code) <= 32
        else None
    )
    if agency is None:
        raise ValidationError({"agency": [_("No agency with this code among yours.")]})
    return agency


def _clean_procedure(code) -> Procedure | None:
    if code in (None, ""):
        return None
    procedure = (
        Procedure.objects.filter(code=code).first()
        if isinstance(code, str) and len(code) <= 64
        else None
    )
    if procedure is None:
        raise ValidationError({"procedure": [_("No procedure with this code.")]})
    return procedure


def subscription_create(
    *,
    client: ApiClient,
    callback_url: str,
    auth_header: str = "",
    event_kinds: list[str] | None = None,
    agency: str | None = None,
    procedure: str | None = None,
) -> tuple[Subscription, str]:
    """A new subscription and its signing secret (shown once)."""
    errors: dict = {}
    cleaned: dict = {}
    for name, clean in (
        ("callback_url", lambda: clean_callback_url(callback_url)),
        ("auth_header", lambda: clean_auth_header(auth_header)),
        ("event_kinds", lambda: _clean_kinds(event_kinds)),
        ("agency", lambda: _clean_agency(client, agency)),
        ("procedure", lambda: _clean_procedure(procedure)),
    ):
        try:
            cleaned[name] = clean()
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    secret = new_secret()
    subscription = Subscription.objects.create(client=client, secret=secret, **cleaned)
    return subscription, secret


def subscription_update(*, subscription: Subscription, **changes) -> Subscription:
    """Change the URL, the header value or the filters; what is not given stays."""
    if subscription.status == SubscriptionStatus.DELETED:
        raise ValidationError(_("This subscription has been deleted."))
    cleaners = {
        "callback_url": clean_callback_url,
        "auth_header": clean_auth_header,
        "event_kinds": _clean_kinds,
        "agency": lambda code: _clean_agency(subscription.client, code),
        "procedure": _clean_procedure,
    }
    errors: dict = {}
    fields = []
    for name, value in changes.items():
        try:
            setattr(subscription, name, cleaners[name](value))
            fields.append(name)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        subscription.refresh_from_db()
        raise ValidationError(errors)
    if fields:
        subscription.save(update_fields=[*fields, "updated_at"])
    return subscription


def subscription_delete(*, subscription: Subscription) -> Subscription:
    """No more deliveries; the subscription and its deliveries stay on record."""
    Subscription.objects.filter(pk=subscription.pk).exclude(
        status=SubscriptionStatus.DELETED
    ).update(status=SubscriptionStatus.DELETED, deleted_at=timezone.now())
    subscription.refresh_from_db()
    return subscription


def subscription_rotate_secret(*, subscription: Subscription) -> str:
    """A new signing secret (shown once); deliveries are signed with it from now on."""
    if subscription.status == SubscriptionStatus.DELETED:
        raise ValidationError(_("This subscription has been deleted."))
    secret = new_secret()
    Subscription.objects.filter(pk=subscription.pk).update(
        secret=secret, secret_rotated_at=timezone.now()
    )
    subscription.refresh_from_db()
    return secret


def subscription_pause(*, subscription_id: int, reason: str) -> bool:
    """Stop sending (the deliveries wait); True when it was active until now."""
    paused = Subscription.objects.filter(
        pk=subscription_id, status=SubscriptionStatus.ACTIVE
    ).update(
        status=SubscriptionStatus.PAUSED, paused_at=timezone.now(), pause_reason=str(reason)[:255]
    )
    if paused:
        log.warning("webhook subscription %s paused: %s", subscription_id, reason)
    return bool(paused)


def subscription_resume(*, subscription: Subscription) -> Subscription:
    """Send again: the waiting deliveries get a fresh round of attempts, now."""
    if subscription.status == SubscriptionStatus.DELETED:
        raise ValidationError(_("This subscription has been deleted."))
    with transaction.atomic():
        Subscription.objects.filter(pk=subscription.pk).update(
            status=SubscriptionStatus.ACTIVE,
            paused_at=None,
            pause_reason="",
            consecutive_failures=0,
            resumed_at=timezone.now(),
        )
        Delivery.objects.filter(subscription=subscription, status=DeliveryStatus.PENDING).update(
            attempts=0, next_attempt_at=timezone.now()
        )
        transaction.on_commit(_hand_over_sweep, robust=True)
    subscription.refresh_from_db()
    return subscription


# --- Writing deliveries (in the event's own transaction) ----------------------------------


def _ancestry(path: str) -> list[str]:
    """The agency's path and its ancestors': "/G16/H22/" gives "/G16/", "/G16/H22/"."""
    codes = [code for code in path.split("/") if code]
    return ["/" + "/".join(codes[: n + 1]) + "/" for n in range(len(codes))]


def _subscriptions_of(ancestry: list[str]):
    return (
        Subscription.objects.filter(
            status__in=(SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED),
            client__is_active=True,
            client__agency__path__in=ancestry,
        )
        .filter(Q(agency__isnull=True) | Q(agency__path__in=ancestry))
        .select_related("client__agency", "agency")
    )


# Read for every event, its SQL built once per connection and depth of agency
# (workflows.compiled): building it cost more than running it.
_SUBSCRIPTIONS: dict[int, CompiledQuery] = {}


def _subscribers(agency: Agency) -> list[Subscription]:
    """The live subscriptions of the clients that act for the agency (theirs or one above
    it): one indexed query per event, and no row at all for an agency nobody follows,
    however many subscriptions other agencies have. The finer filters are _matches'."""
    ancestry = _ancestry(agency.path)
    if not ancestry:
        return []
    compiled = _SUBSCRIPTIONS.get(len(ancestry))
    if compiled is None:
        compiled = _SUBSCRIPTIONS.setdefault(
            len(ancestry),
            CompiledQuery(
                Subscription,
                lambda *paths: _subscriptions_of(list(paths)),
                placeholders=tuple(f"\x00path {n}\x00" for n in range(len(ancestry))),
            ),
        )
    return compiled(*ancestry)


def _matches(subscription: Subscription, kind: str, dossier, agency_path: str) -> bool:
    client = subscription.client
    if Scope.EVENTS_SUBSCRIBE not in client.scopes:
        return False
    if not agency_path.startswith(client.agency.path):
        return False
    if subscription.agency is not None and not agency_path.startswith(subscription.agency.path):
        return False
    if subscription.event_kinds and kind not in subscription.event_kinds:
        return False
    return subscription.procedure_id is None or (
        subscription.procedure_id == dossier.procedure_version.procedure_id
    )


def payload_for(event: OutgoingEvent, kind: str, delivery_id, dossier) -> dict:
    """What the receiver gets: the event, and the dossier as it stands after it. Codes
    and statuses only, no personal data."""
    status = event.payload.get("status") or dossier.status
    seq = event.payload.get("seq")
    return {
        "delivery_id": str(delivery_id),
        "event": str(kind),
        "occurred_at": (event.created_at or timezone.now()).isoformat(),
        "seq": seq if isinstance(seq, int) else None,
        "dossier": {
            "id": dossier.pk,
            "code": dossier.code,
            "status": status,
            "national_status": national_status(status),
            "procedure": dossier.procedure_version.procedure.code,
            "agency": dossier.handling_agency.code,
        },
    }


@expands("*")
def webhooks_expand(event: OutgoingEvent) -> list[Delivery]:
    """Write the deliveries of one event, in its transaction; hand them over on commit."""
    kind = KIND_OF.get(event.name)
    dossier = event.dossier
    if kind is None or dossier is None:
        return []
    agency = dossier.handling_agency
    subscribers = _subscribers(agency)
    if not subscribers:
        return []
    made: list[Delivery] = []
    for subscription in subscribers:
        if not _matches(subscription, kind, dossier, agency.path):
            continue
        if (
            kind == EventKind.OVERDUE
            and Delivery.objects.filter(
                subscription=subscription, dossier_id=dossier.pk, kind=kind
            ).exists()
        ):
            continue  # once per dossier
        delivery = Delivery(
            subscription=subscription, event=event, dossier_id=dossier.pk, kind=kind
        )
        delivery.payload = payload_for(event, kind, delivery.delivery_id, dossier)
        made.append(delivery)
    if made:
        Delivery.objects.bulk_create(made)
        ids = [d.pk for d in made if d.pk is not None]
        if len(ids) != len(made):  # a backend that returns no ids
            ids = list(
                Delivery.objects.filter(event=event).order_by("pk").values_list("pk", flat=True)
            )
        transaction.on_commit(lambda: _hand_over(ids), robust=True)
    return made


def _sent_by_workers() -> bool:
    """False in the embedded default (eager Celery): a hand-over there would POST inside
    the request that caused the event (or the resume, the replay), which would wait on
    the receivers. The deliveries are left to the periodic sweep (``run_periodic_jobs
    --every 60``, which ``make run`` starts) instead: the request answers at once, and
    the receivers hear within a minute."""
    from config.celery import app

    return not app.conf.task_always_eager


def _hand_over(ids: list[int]) -> None:
    from config.handoff import handoff

    from .tasks import deliver_webhook

    if not _sent_by_workers():
        return
    for pk in ids:
        if not handoff(deliver_webhook, pk):
            return  # the broker is away: the sweep sends the rest


def _hand_over_sweep() -> None:
    from config.handoff import handoff

    from .tasks import sweep_webhooks

    if _sent_by_workers():
        handoff(sweep_webhooks)


# --- Sending -------------------------------------------------------------------------------


def _earlier_pending():
    return Delivery.objects.filter(
        subscription=OuterRef("subscription"),
        dossier_id=OuterRef("dossier_id"),
        status=DeliveryStatus.PENDING,
        pk__lt=OuterRef("pk"),
    )


def _due(now) -> Q:
    return Q(
        status=DeliveryStatus.PENDING,
        next_attempt_at__lte=now,
        subscription__status=SubscriptionStatus.ACTIVE,
        subscription__client__is_active=True,
    ) & (Q(sending_since__isnull=True) | Q(sending_since__lte=now - stuck_after()))


def due_delivery_ids(limit: int = 500) -> list[int]:
    """Deliveries that may go now, oldest first: due, their subscription active, and no
    earlier delivery of their dossier still pending for that subscription."""
    return list(
        Delivery.objects.filter(_due(timezone.now()))
        .exclude(Exists(_earlier_pending()))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def _claim(delivery_id: int) -> Delivery | None:
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(_due(now), pk=delivery_id)
            .exclude(Exists(_earlier_pending()))
            .first()
        )
        if delivery is None:
            return None
        delivery.sending_since = now
        delivery.attempts += 1
        delivery.save(update_fields=["sending_since", "attempts"])
    delivery.subscription = Subscription.objects.get(pk=delivery.subscription_id)
    return delivery


@dataclass
class Outcome:
    status_code: int | None = None
    error: str = ""
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class DeadlinePassed(OSError):
    """The POST took longer, in all, than ``WEBHOOK_TOTAL_TIMEOUT``."""


class _Deadline:
    """The whole POST's time limit. The socket timeouts bound each wait only: a receiver
    that trickles its answer a byte at a time would hold the worker for ever. When the
    time is up, a timer shuts the socket being used, so whatever waits on it returns."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = threading.Event()
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def left(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0 or self.expired.is_set():
            raise DeadlinePassed(f"no complete answer within {self.seconds:g} s")
        return left

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock

    def _cut(self) -> None:
        with self._lock:
            self.expired.set()
            if self._sock is not None:
                with contextlib.suppress(OSError):  # already closed
                    self._sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        self.watch(None)  # the socket is closed next: never shut another one by its fd


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the address checked beforehand, whatever the name resolves to now."""

    def __init__(self, host, port, *, address, connect_timeout, read_timeout, deadline):
        super().__init__(host, port, timeout=connect_timeout)
        self._address = address
        self._read_timeout = read_timeout
        self._deadline = deadline

    def _open(self) -> socket.socket:
        sock = socket.create_connection(
            (self._address, self.port), min(self.timeout, self._deadline.left())
        )
        self._deadline.watch(sock)
        sock.settimeout(min(self._read_timeout, self._deadline.left()))
        return sock

    def connect(self):
        self.sock = self._open()


class _PinnedHTTPS(_PinnedHTTP):
    default_port = 443

    def connect(self):
        context = ssl.create_default_context()
        self.sock = context.wrap_socket(
            self._open(), server_hostname=self.host, do_handshake_on_connect=False
        )
        self._deadline.watch(self.sock)  # the handshake is within the deadline too
        self.sock.do_handshake()


def _addresses(host: str, port: int) -> list[str]:
    if _options()["WEBHOOK_ALLOW_PRIVATE"]:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(info[4][0] for info in infos))
    return resolve_public(host, port)


def _connect(host: str, port: int, https: bool, deadline: _Deadline) -> _PinnedHTTP:
    """A connection to the first of the host's (checked) addresses that answers."""
    error: OSError | None = None
    for address in _addresses(host, port):
        connection = (_PinnedHTTPS if https else _PinnedHTTP)(
            host,
            port,
            address=address,
            connect_timeout=_options()["WEBHOOK_CONNECT_TIMEOUT"],
            read_timeout=_options()["WEBHOOK_READ_TIMEOUT"],
            deadline=deadline,
        )
        try:
            connection.connect()
        except OSError as exc:
            connection.close()
            error = exc
            continue
        return connection
    raise error or OSError(f"{host} has no address")


def body_of(delivery: Delivery) -> bytes:
    """The same bytes at every attempt (keys sorted: the database may reorder them)."""
    return json.dumps(
        delivery.payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode()


def _post(delivery: Delivery) -> Outcome:
    subscription = delivery.subscription
    parts = urllib.parse.urlsplit(subscription.callback_url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    body = body_of(delivery)
    timestamp = str(int(timezone.now().timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Motcua-Event": delivery.kind,
        "X-Motcua-Delivery": str(delivery.delivery_id),
        "X-Motcua-Timestamp": timestamp,
        SIGNATURE_HEADER: sign(subscription.secret, timestamp, body),
    }
    if subscription.auth_header:
        headers["Authorization"] = subscription.auth_header
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    started = time.monotonic()
    outcome = Outcome()
    try:
        with _Deadline(_options()["WEBHOOK_TOTAL_TIMEOUT"]) as deadline:
            try:
                connection = _connect(parts.hostname, port, https, deadline)
                try:
                    connection.request("POST", path, body=body, headers=headers)
                    response = connection.getresponse()
                    response.read(65536)  # the body is not kept; redirects not followed
                    deadline.left()  # an answer cut short by the deadline is no answer
                    outcome.status_code = response.status
                    if not outcome.ok:
                        outcome.error = f"HTTP {response.status}"
                finally:
                    connection.close()
            except (OSError, http.client.HTTPException, ValueError):
                deadline.left()  # the deadline's cut, when it was: say so
                raise
    except UnsafeAddress as exc:
        outcome.error = f"refused: {exc}"
    except (OSError, http.client.HTTPException, ValueError) as exc:
        outcome.error = f"{type(exc).__name__}: {exc}"
    outcome.duration_ms = int((time.monotonic() - started) * 1000)
    outcome.error = outcome.error[:255]
    return outcome


def _record(delivery: Delivery, claimed_at, outcome: Outcome) -> str | None:
    """The attempt and its outcome, once; None when another worker took the delivery
    over meanwhile (it had been "sending" too long)."""
    now = timezone.now()
    with transaction.atomic():
        current = (
            Delivery.objects.select_for_update()
            .filter(
                pk=delivery.pk,
                status=DeliveryStatus.PENDING,
                attempts=delivery.attempts,
                sending_since=claimed_at,
            )
            .first()
        )
        if current is None:
            return None
        DeliveryAttempt.objects.create(
            delivery=current,
            number=current.attempts,
            at=now,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
        )
        current.sending_since = None
        current.last_status_code = outcome.status_code
        current.last_error = outcome.error
        subscriptions = Subscription.objects.filter(pk=current.subscription_id)
        if outcome.ok:
            current.status = DeliveryStatus.DELIVERED
            current.delivered_at = now
            subscriptions.filter(consecutive_failures__gt=0).update(consecutive_failures=0)
        elif current.attempts < MAX_ATTEMPTS:
            current.next_attempt_at = now + backoff(current.attempts)
            oldest = (
                Delivery.objects.filter(
                    subscription_id=current.subscription_id, status=DeliveryStatus.PENDING
                )
                .order_by("created_at")
                .values_list("created_at", flat=True)
                .first()
            )
            resumed_at = subscriptions.values_list("resumed_at", flat=True).first()
            if resumed_at is not None and (oldest is None or resumed_at > oldest):
                # What waited through a pause is timed from the resume: a subscription
                # resumed after a long pause is not paused again at its first failure.
                oldest = resumed_at
            if oldest is not None and oldest < now - retry_window():
                subscription_pause(
                    subscription_id=current.subscription_id,
                    reason=pgettext_lazy(
                        "webhooks", "a delivery has waited longer than the retry schedule"
                    ),
                )
        else:
            current.status = DeliveryStatus.FAILED
            current.failed_at = now
            subscriptions.update(consecutive_failures=F("consecutive_failures") + 1)
            failures = subscriptions.values_list("consecutive_failures", flat=True).first()
            if failures is not None and failures >= _options()["WEBHOOK_PAUSE_AFTER"]:
                subscription_pause(
                    subscription_id=current.subscription_id,
                    reason=pgettext_lazy("webhooks", "%(n)d deliveries in a row failed")
                    % {"n": failures},
                )
        current.save(
            update_fields=[
                "sending_since",
                "last_status_code",
                "last_error",
                "status",
                "delivered_at",
                "next_attempt_at",
                "failed_at",
            ]
        )
    log.info(
        "webhook delivery %s %s (attempt %s, %s)",
        current.delivery_id,
        current.status,
        current.attempts,
        outcome.status_code or outcome.error,
    )
    if current.status != DeliveryStatus.PENDING:
        # The dossier's next delivery for this subscription was waiting for this one.
        following = (
            Delivery.objects.filter(
                subscription_id=current.subscription_id,
                dossier_id=current.dossier_id,
                status=DeliveryStatus.PENDING,
                pk__gt=current.pk,
            )
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
        if following is not None:
            transaction.on_commit(lambda: _hand_over([following]), robust=True)
    return current.status


def delivery_send(*, delivery_id: int) -> str | None:
    """Post one delivery now if it may go; its new status (None: not due, or taken)."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    return _record(delivery, delivery.sending_since, _post(delivery))


def webhooks_sweep() -> int:
    """Send whatever may go now (retries due, missed hand-offs, what a dead worker left
    "sending", the next of a dossier); how many were delivered. Sends in rounds, so a
    dossier's later deliveries follow in the same run once the earlier ones went."""
    delivered = 0
    seen: set[int] = set()
    while True:
        ids = [pk for pk in due_delivery_ids() if pk not in seen]
        if not ids:
            return delivered
        for pk in ids:
            seen.add(pk)
            delivered += delivery_send(delivery_id=pk) == DeliveryStatus.DELIVERED


def delivery_replay(*, delivery: Delivery) -> Delivery:
    """An administrator's or the client's replay of a failed (or delivered) delivery: a
    fresh round of attempts, same delivery id and payload."""
    if delivery.status == DeliveryStatus.PENDING:
        return delivery
    Delivery.objects.filter(pk=delivery.pk).exclude(status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.PENDING,
        attempts=0,
        failed_at=None,
        sending_since=None,
        next_attempt_at=timezone.now(),
    )
    delivery.refresh_from_db()
    transaction.on_commit(lambda: _hand_over([delivery.pk]), robust=True)
    return delivery


# --- The administrators' digest (notifications.alerts) -------------------------------------


def _register_alerts() -> None:
    from notifications.alerts import Source, register

    register(
        Source(
            name="webhook",
            title=pgettext_lazy("alerts", "Webhook deliveries"),
            admin="api_delivery",
            failed=lambda: Delivery.objects.filter(status=DeliveryStatus.FAILED),
            stuck=lambda before: Delivery.objects.filter(
                status=DeliveryStatus.PENDING,
                created_at__lt=before,
                subscription__status=SubscriptionStatus.ACTIVE,
            ),
            label=lambda d: f"{d.kind} / {d.subscription.client}",
        )
    )
    register(
        Source(
            name="webhook_sub",
            title=pgettext_lazy("alerts", "Paused webhook subscriptions"),
            admin="api_subscription",
            failed=lambda: Subscription.objects.filter(status=SubscriptionStatus.PAUSED),
            stuck=lambda before: Subscription.objects.none(),
            label=lambda s: f"{s.client} ({s.pause_reason})",
        )
    )


_register_alerts()
