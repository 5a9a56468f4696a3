"""Telling administrators what the outboxes could not do.

A periodic job (beat's ``alert-failures``, and ``run_periodic_jobs``) looks at every
registered source (messages, events, document renders; webhooks register theirs the same
way) for items that failed permanently, or that are still undone
``MOTCUA_ALERT_STUCK_MINUTES`` after they were written, and mails one digest of the new
ones to ``MOTCUA_ALERT_EMAILS`` (else to ``settings.ADMINS``). Each item is reported once
per condition: a row in ``Alert`` remembers it. The digest holds ids, kinds and links to
the admin only, never addresses or content.

The digest goes straight through Django's mail backend, not through the outbox it reports
on: if the relay is down, the failure is logged at ERROR level and the digest is tried
again at the next run (the items stay unreported until a digest is sent).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import pgettext_lazy

from .models import Alert

log = logging.getLogger(__name__)

# At most this many items of one source and condition per run; the rest come next run.
BATCH = 200


@dataclass(frozen=True)
class Source:
    """``failed()``: the items that failed permanently; ``stuck(before)``: the items still
    undone that were written before ``before``; ``label(item)``: a short, non-personal
    description (a kind, a channel, an event name)."""

    name: str
    title: object
    admin: str  # "app_label_modelname", for the admin's change page
    failed: Callable[[], QuerySet]
    stuck: Callable[[dt.datetime], QuerySet]
    label: Callable[[object], str]


SOURCES: dict[str, Source] = {}


def register(source: Source) -> Source:
    SOURCES[source.name] = source
    return source


def _messages() -> None:
    from .models import Channel, Message, MessageStatus

    undone = (MessageStatus.CREATED, MessageStatus.SENDING, MessageStatus.TEMPORARY_FAILURE)
    register(
        Source(
            name="message",
            title=pgettext_lazy("alerts", "Messages"),
            admin="notifications_message",
            failed=lambda: Message.objects.filter(status=MessageStatus.PERMANENT_FAILURE),
            stuck=lambda before: Message.objects.filter(
                status__in=undone, created_at__lt=before
            ).exclude(channel=Channel.INAPP),
            label=lambda m: f"{m.kind} / {m.channel}",
        )
    )


def _events() -> None:
    from workflows.models import OutgoingEvent

    register(
        Source(
            name="event",
            title=pgettext_lazy("alerts", "Events"),
            admin="workflows_outgoingevent",
            failed=lambda: OutgoingEvent.objects.filter(failed_at__isnull=False),
            stuck=lambda before: OutgoingEvent.objects.filter(
                dispatched_at__isnull=True, failed_at__isnull=True, created_at__lt=before
            ),
            label=lambda e: e.name,
        )
    )


def _documents() -> None:
    from documents.models import Document, DocumentStatus

    register(
        Source(
            name="document",
            title=pgettext_lazy("alerts", "Document renders"),
            admin="documents_document",
            failed=lambda: Document.objects.filter(status=DocumentStatus.FAILED),
            stuck=lambda before: Document.objects.filter(
                status=DocumentStatus.PENDING, created_at__lt=before
            ),
            label=lambda d: d.kind,
        )
    )


_messages()
_events()
_documents()


def recipients() -> list[str]:
    configured = list(settings.MOTCUA["ALERTS"]["EMAILS"])
    return configured or [email for _name, email in settings.ADMINS]


def _admin_link(source: Source, ref: int) -> str:
    try:
        path = reverse(f"admin:{source.admin}_change", args=[ref])
    except NoReverseMatch:
        return ""
    return settings.MOTCUA["SITE_URL"].rstrip("/") + path


def alerts_notice(now: dt.datetime | None = None) -> int:
    """Record the items newly failed or stuck (each once per condition); how many."""
    now = now or timezone.now()
    before = now - dt.timedelta(minutes=settings.MOTCUA["ALERTS"]["STUCK_MINUTES"])
    new: list[Alert] = []
    for source in SOURCES.values():
        failed, stuck = source.failed(), source.stuck(before)
        # An item neither failed nor stuck any more (an administrator's retry, a relay that
        # came back) is forgotten, so that failing again is reported again.
        Alert.objects.filter(source=source.name).exclude(ref__in=failed.values("pk")).exclude(
            ref__in=stuck.values("pk")
        ).delete()
        for condition, items in ((Alert.Condition.FAILED, failed), (Alert.Condition.STUCK, stuck)):
            known = Alert.objects.filter(source=source.name, condition=condition).values("ref")
            refs = items.exclude(pk__in=known).order_by("pk").values_list("pk", flat=True)
            new += [Alert(source=source.name, ref=ref, condition=condition) for ref in refs[:BATCH]]
    # Two beats at once: the unique constraint keeps one row per item and condition.
    Alert.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def _lines(alerts: list[Alert]) -> list[dict]:
    sections = []
    for source in SOURCES.values():
        mine = [a for a in alerts if a.source == source.name]
        if not mine:
            continue
        objects = source.failed().model._default_manager.in_bulk([a.ref for a in mine])
        sections.append(
            {
                "title": source.title,
                "items": [
                    {
                        "ref": a.ref,
                        "condition": Alert.Condition(a.condition).label,
                        "label": source.label(objects[a.ref]) if a.ref in objects else "",
                        "link": _admin_link(source, a.ref),
                    }
                    for a in mine
                ],
            }
        )
    return sections


def alerts_send(now: dt.datetime | None = None) -> int:
    """Notice new failures, then mail every unreported one in one digest; how many went."""
    alerts_notice(now)
    to = recipients()
    with transaction.atomic():
        # Locked: a second beat (or run_periodic_jobs) running now skips these rows.
        pending = list(
            Alert.objects.select_for_update(skip_locked=True)
            .filter(mailed_at__isnull=True)
            .order_by("source", "condition", "ref")[: BATCH * 10]
        )
        if not pending:
            return 0
        if not to:
            log.warning(
                "alerts: %s failed or stuck item(s) unreported: no recipients "
                "(set MOTCUA_ALERT_EMAILS or ADMINS)",
                len(pending),
            )
            return 0
        context = {
            "sections": _lines(pending),
            "count": len(pending),
            "site_url": settings.MOTCUA["SITE_URL"],
        }
        subjects, bodies = [], []
        for language in ("vi", "en"):
            with translation.override(language):
                subjects.append(render_to_string("alerts/digest_subject.txt", context).strip())
                bodies.append(render_to_string("alerts/digest_body.txt", context).strip())
        mail = EmailMessage(
            subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subjects[0]} / {subjects[1]}",
            body="\n\n----------\n\n".join(bodies) + "\n",
            from_email=settings.SERVER_EMAIL,
            to=to,
        )
        try:
            mail.send(fail_silently=False)
        except Exception as exc:  # noqa: BLE001 - any mail failure: logged, tried next run
            log.error(  # noqa: TRY400 - one line, no traceback storm every run
                "alerts: digest of %s item(s) not sent (%s): tried again next run",
                len(pending),
                type(exc).__name__,
            )
            return 0
        Alert.objects.filter(pk__in=[a.pk for a in pending]).update(mailed_at=timezone.now())
    log.info("alerts: digest of %s item(s) sent", len(pending))
    return len(pending)
