"""Delivering messages from the outbox, at least once, each under its own stable id.

A delivery is three steps:
1. claim: in a short transaction, the message moves to "sending" (attempt counted);
2. send, outside any transaction;
3. record: the outcome and the attempt, in a second short transaction.

If the process dies between 1 and 2, the message stays "sending" and the sweep sends it
again once ``STUCK_AFTER`` has passed: it arrives once. If it dies between the provider
accepting it (end of 2) and 3, the sweep sends it again under the same Message-ID (the
same SMS idempotency key) with the same content: that is the only window in which a
duplicate can occur, and receivers can drop it by its id. The window is one database
commit long: when the database connection breaks during 3, the write is tried again on
a fresh connection (``RECORD_WAITS``, about eight seconds in all), so only a process that
dies there, or a database unreachable for all of that time, leaves a duplicate.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.conf import settings
from django.db import (
    InterfaceError,
    OperationalError,
    connection,
    connections,
    router,
    transaction,
)
from django.db.models import Q
from django.utils import timezone

from workflows.events import MAX_ATTEMPTS, backoff

from .channels import PermanentFailure, TemporaryFailure, send_email, send_sms
from .models import Channel, DeliveryAttempt, Message, MessageStatus

log = logging.getLogger(__name__)

# A message "sending" for longer than this was left by a process that died mid-delivery.
STUCK_AFTER = dt.timedelta(seconds=settings.MOTCUA["MESSAGE_STUCK_SECONDS"])
SENDERS = {Channel.EMAIL: send_email, Channel.SMS: send_sms}


def _claimable(now) -> Q:
    return Q(
        status__in=(MessageStatus.CREATED, MessageStatus.TEMPORARY_FAILURE),
        next_attempt_at__lte=now,
    ) | Q(status=MessageStatus.SENDING, sending_since__lte=now - STUCK_AFTER)


def _column(db, model, name: str) -> str:
    """A field's column, quoted for ``db``: the raw statements below name them so."""
    return db.ops.quote_name(model._meta.get_field(name).column)


def _claim(message_id: int) -> Message | None:
    """The message, marked "sending" for this attempt; None if it is not due, or another
    attempt has it. One conditional update that gives back the row it changed (PostgreSQL,
    SQLite ≥ 3.35): of two workers, the second waits for the first's and then finds the
    message no longer claimable."""
    now = timezone.now()
    alias = router.db_for_write(Message)
    claimable = Message.objects.filter(_claimable(now), pk=message_id).exclude(
        channel=Channel.INAPP
    )
    db = connections[alias]
    compiler = claimable.query.get_compiler(connection=db)
    where, where_params = compiler.compile(claimable.query.where)

    def column(name: str) -> str:
        return _column(db, Message, name)

    every = ", ".join(db.ops.quote_name(f.column) for f in Message._meta.concrete_fields)
    # Names from the model and SQL from Django's compiler; every value is a parameter.
    sql = (
        f"UPDATE {db.ops.quote_name(Message._meta.db_table)} SET {column('status')} = %s, "  # noqa: S608
        f"{column('sending_since')} = %s, {column('attempts')} = {column('attempts')} + 1 "
        f"WHERE {where} RETURNING {every}"
    )
    params = [MessageStatus.SENDING, db.ops.adapt_datetimefield_value(now), *where_params]
    claimed = list(Message.objects.db_manager(alias).raw(sql, params))
    return claimed[0] if claimed else None


# Waits between tries at the outcome write when the database connection fails: the
# message was sent, and an unrecorded send is sent again by the sweep (a duplicate).
RECORD_WAITS = (0.1, 0.5, 1.0, 2.0, 4.0)


def _write_outcome(
    message: Message, outcome: str, error: str, provider_id: str, *, again: bool = False
) -> None:
    """Idempotent: a retry after a commit whose answer was lost changes nothing, and a
    message the sweep has taken over since (another attempt) is left to that attempt.
    ``again``: a retry, after a try whose answer was lost."""
    now = timezone.now()
    values: dict = {"sending_since": None}
    if provider_id:
        values["provider_id"] = provider_id[:100]
    if outcome == MessageStatus.DELIVERED:
        values.update(status=MessageStatus.DELIVERED, delivered_at=now)
    elif outcome == MessageStatus.TEMPORARY_FAILURE and message.attempts < MAX_ATTEMPTS:
        values.update(
            status=MessageStatus.TEMPORARY_FAILURE, next_attempt_at=now + backoff(message.attempts)
        )
    else:
        values.update(status=MessageStatus.PERMANENT_FAILURE, failed_at=now)
    db = connections[router.db_for_write(Message)]
    if db.vendor == "postgresql":
        # The message says what this attempt records before the write: a retry after a
        # write whose answer was lost finds nothing to change, and must not undo it.
        before = {name: getattr(message, name) for name in values}
        for name, value in values.items():
            setattr(message, name, value)
        if not _outcome_at_once(db, message, values, outcome, error, now) and not again:
            for name, value in before.items():  # the sweep has it now: its attempt's
                setattr(message, name, value)
        return
    with transaction.atomic(using=db.alias):
        # One transaction: a retry finds the message no longer "sending" if this committed.
        # The update only while this attempt still has it (it locks the row till the end).
        if not (
            Message.objects.filter(
                pk=message.pk, status=MessageStatus.SENDING, attempts=message.attempts
            ).update(**values)
        ):
            return
        # Before the commit: a retry after a commit whose answer was lost finds nothing to
        # change, and the message still says what this attempt recorded.
        for name, value in values.items():
            setattr(message, name, value)
        DeliveryAttempt.objects.create(
            message=message, number=message.attempts, outcome=outcome, error=error[:255]
        )


def _outcome_at_once(db, message: Message, values: dict, outcome: str, error: str, now) -> bool:
    """PostgreSQL: the outcome and the attempt's row in one statement (an UPDATE in a WITH,
    whose row the INSERT takes): atomic on its own, one round trip instead of a transaction
    of four. False: this attempt no longer has the message."""
    quote = db.ops.quote_name

    def column(model, name: str) -> str:
        return _column(db, model, name)

    changes = ", ".join(f"{column(Message, name)} = %s" for name in values)
    pk = quote(Message._meta.pk.column)
    # Names from the models; every value is a parameter.
    sql = (
        f"WITH changed AS (UPDATE {quote(Message._meta.db_table)} SET {changes} "  # noqa: S608
        f"WHERE {pk} = %s AND {column(Message, 'status')} = %s "
        f"AND {column(Message, 'attempts')} = %s RETURNING {pk}) "
        f"INSERT INTO {quote(DeliveryAttempt._meta.db_table)} ("
        f"{column(DeliveryAttempt, 'message')}, {column(DeliveryAttempt, 'number')}, "
        f"{column(DeliveryAttempt, 'at')}, {column(DeliveryAttempt, 'outcome')}, "
        f"{column(DeliveryAttempt, 'error')}) SELECT {pk}, %s, %s, %s, %s FROM changed"
    )
    params = [
        *(Message._meta.get_field(name).get_db_prep_save(v, db) for name, v in values.items()),
        message.pk,
        MessageStatus.SENDING,
        message.attempts,
        message.attempts,
        db.ops.adapt_datetimefield_value(now),
        outcome,
        error[:255],
    ]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


def _record(message: Message, outcome: str, error: str = "", provider_id: str = "") -> None:
    """Write the outcome; when the database connection breaks, try again on a fresh one
    (a few times, over about eight seconds) rather than leave a sent message "sending"."""
    for attempt, wait in enumerate((*RECORD_WAITS, None)):
        try:
            _write_outcome(message, outcome, error, provider_id, again=attempt > 0)
            break
        except (OperationalError, InterfaceError) as exc:
            if wait is None or connection.in_atomic_block:
                raise
            log.warning(
                "message %s outcome not written (%s): retrying in %ss",
                message.uid,
                type(exc).__name__,
                wait,
            )
            connection.close()
            time.sleep(wait)
    log.info("message %s %s (attempt %s)", message.uid, message.status, message.attempts)


def message_deliver(*, message_id: int) -> str | None:
    """Try one message now, if it is due; return its new status (None: not due/claimed)."""
    message = _claim(message_id)
    if message is None:
        return None
    try:
        provider_id = SENDERS[message.channel](message) or ""
    except PermanentFailure as exc:
        _record(message, MessageStatus.PERMANENT_FAILURE, str(exc))
    except TemporaryFailure as exc:
        _record(message, MessageStatus.TEMPORARY_FAILURE, str(exc))
    except Exception as exc:  # an unexpected error must not lose the message
        _record(message, MessageStatus.TEMPORARY_FAILURE, type(exc).__name__)
    else:
        _record(message, MessageStatus.DELIVERED, provider_id=str(provider_id))
    return message.status


def due_message_ids(limit: int = 500) -> list[int]:
    return list(
        Message.objects.filter(_claimable(timezone.now()))
        .exclude(channel=Channel.INAPP)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def messages_sweep() -> int:
    """Deliver whatever is due, including what a crash left "sending"; how many went."""
    return sum(
        message_deliver(message_id=pk) == MessageStatus.DELIVERED for pk in due_message_ids()
    )


def message_resend(*, message_id: int) -> str | None:
    """An administrator's retry of a failed message: a fresh round of attempts, same id."""
    Message.objects.filter(pk=message_id, status=MessageStatus.PERMANENT_FAILURE).exclude(
        channel=Channel.INAPP
    ).update(
        status=MessageStatus.CREATED, attempts=0, failed_at=None, next_attempt_at=timezone.now()
    )
    return message_deliver(message_id=message_id)


def inbox(user):
    return Message.objects.filter(recipient=user, channel=Channel.INAPP)


def unread_count(user) -> int:
    return inbox(user).filter(read_at__isnull=True).count()


def notifications_mark_read(*, user, ids: list[int] | None = None) -> int:
    """Mark the user's own in-app notifications read (all of them without ``ids``)."""
    unread = inbox(user).filter(read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())
