"""Who hears about which event, on which channels, in which language.

Registered with workflows.events.expands: the messages are written in the transaction of
the change itself, and delivered after it commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation

from procedures.forms import localized
from procedures.models import Agency, OfficerRole
from procedures.roles import DEPARTMENT_ROLES
from workflows.clock import local_date, working_calendar
from workflows.compiled import CompiledQuery
from workflows.events import expands
from workflows.models import OutgoingEvent

from .models import Channel, Message, MessageStatus, Preference
from .rendering import render

CITIZEN_KINDS = {
    "dossier.submit": "submitted",
    "dossier.receive": "received",
    "dossier.request_supplement": "supplement_requested",
    "dossier.resubmit": "resubmitted",
    "dossier.reject_at_reception": "rejected_at_reception",
    "dossier.refuse": "refused",
    "dossier.approve": "approved",
    "dossier.issue": "result_ready",
    "dossier.reschedule": "apology",
    "dossier.request_fee": "fee_requested",
    "dossier.fee_paid": "fee_paid",
}
OFFICER_KINDS = {
    "task.offered": "task_offered",
    "task.assigned": "task_assigned",
    "task.due_soon": "task_due_soon",
    "task.overdue": "task_overdue",
}


@dataclass(frozen=True)
class Person:
    user: object | None
    name: str
    email: str
    phone: str
    language: str
    by_email: bool
    by_sms: bool


def site(path: str) -> str:
    return settings.MOTCUA["SITE_URL"].rstrip("/") + path


def _date(value) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    return value.strftime("%d/%m/%Y")


def person_for_user(user, *, phone: str = "") -> Person:
    try:  # loaded with the user where the caller used select_related
        preference = user.notification_preference
    except Preference.DoesNotExist:
        preference = None
    return Person(
        user=user,
        name=user.get_full_name() or user.get_username(),
        email=user.email,
        # The number given for this message (a dossier's), else the person's own: an
        # officer's SMS go to the number in their preferences.
        phone=phone or (preference.phone if preference else ""),
        language=preference.language if preference else settings.LANGUAGE_CODE,
        by_email=preference.email if preference else True,
        by_sms=preference.sms if preference else False,
    )


def applicant_of(dossier) -> Person:
    if dossier.applicant_user is not None:
        person = person_for_user(dossier.applicant_user, phone=dossier.applicant_phone)
        return Person(
            person.user,
            dossier.applicant_name or person.name,
            dossier.applicant_email or person.email,
            person.phone,
            person.language,
            person.by_email,
            person.by_sms,
        )
    # A walk-in with no account: the desk took the contacts they chose to give.
    return Person(
        None,
        dossier.applicant_name,
        dossier.applicant_email,
        dossier.applicant_phone,
        settings.LANGUAGE_CODE,
        True,
        True,
    )


def _write(event: OutgoingEvent, person: Person, kind: str, context: dict, link: str) -> None:
    channels = [Channel.INAPP] if person.user is not None else []
    if person.by_email and person.email:
        channels.append(Channel.EMAIL)
    if person.by_sms and person.phone:
        channels.append(Channel.SMS)
    language = person.language
    with translation.override(language):
        for channel in channels:
            rendered = render(kind, channel, language, {**context, "name": person.name})
            address = {Channel.EMAIL: person.email, Channel.SMS: person.phone}.get(channel, "")
            message = Message.objects.create(
                event=event,
                recipient=person.user,
                channel=channel,
                kind=kind,
                language=language,
                template_version=rendered.version,
                to_address=address,
                subject=rendered.subject,
                body=rendered.body,
                link=link,
                # In-app messages are delivered by being stored.
                status=MessageStatus.DELIVERED
                if channel == Channel.INAPP
                else MessageStatus.CREATED,
                delivered_at=timezone.now() if channel == Channel.INAPP else None,
            )
            if channel != Channel.INAPP:
                transaction.on_commit(lambda pk=message.pk: _deliver_later(pk), robust=True)


def _deliver_later(message_pk: int) -> None:
    from config.handoff import handoff

    from .tasks import deliver_message

    handoff(deliver_message, message_pk)


def _dossier_context(dossier, language: str) -> dict:
    version = dossier.procedure_version
    agency = dossier.handling_agency
    with translation.override(language):
        return {
            # Before reception a dossier has no code yet: its number here stands in.
            "code": dossier.reference,
            "procedure": localized({"vi": version.name, "en": version.name_en}),
            "agency": agency.name_en if language == "en" and agency.name_en else agency.name,
            "portal_url": site("/"),
            "dossier_url": site(reverse("portal:dossier", args=[dossier.pk])),
        }


@expands("*")
def notify(event: OutgoingEvent) -> None:
    """Write the messages an event calls for (in the event's own transaction)."""
    if event.name in CITIZEN_KINDS and event.dossier is not None:
        _citizen(event)
    elif event.name == "dossier.apology_due" and event.dossier is not None:
        _heads(event)
    elif event.name in OFFICER_KINDS and event.dossier is not None:
        _officers(event)
        if event.name == "task.overdue":
            _supervisors(event)


def _citizen(event: OutgoingEvent) -> None:
    dossier = event.dossier
    entry = getattr(event, "history_entry", None) or dossier.history.order_by("-seq").first()
    person = applicant_of(dossier)
    context = _dossier_context(dossier, person.language)
    data = entry.data if entry else {}
    names = {c["code"]: c["name"] for c in dossier.procedure_version.spec["components"]}
    names.update({f["name"]: f["label"] for f in dossier.procedure_version.spec["fields"]})

    def pick(text: dict) -> str:
        return text.get(person.language) or text["vi"]

    context.update(
        reason=entry.comment if entry else "",
        submitted_at=timezone.localtime(dossier.submitted_at).strftime("%d/%m/%Y %H:%M")
        if dossier.submitted_at
        else "",
        lookup_secret=dossier.lookup_secret,
        expected_date=_date(
            dossier.due_date
            or (
                working_calendar().due_date(
                    dossier.submitted_at, dossier.procedure_version.time_limit_days
                )
                if dossier.submitted_at
                else None
            )
        ),
        due_date=_date(dossier.due_date),
        old_due_date=_date(data.get("old_due_date")),
        new_due_date=_date(data.get("new_due_date")),
        items=[
            {
                "name": pick(names[i["code"]]) if i["code"] in names else i["code"],
                "reason": i["reason"],
            }
            for i in data.get("items", [])
        ],
        result_url=site(reverse("portal:result", args=[dossier.pk])),
    )
    if "amount" in data:  # the fee asked for, or paid (workflows.services.fees)
        context.update(_fee_context(data, person.language))
    kind = CITIZEN_KINDS[event.name]
    _write(event, person, kind, context, context["dossier_url"])
    if (
        kind == "result_ready"
        and dossier.due_date
        and dossier.closed_at
        and (local_date(dossier.closed_at) < dossier.due_date)
    ):
        _write(event, person, "early_return", context, context["dossier_url"])


def _fee_context(data: dict, language: str) -> dict:
    from workflows.models import FeeChannel
    from workflows.presentation import money

    paid_at = ""
    if data.get("paid_at"):
        moment = timezone.localtime(dt.datetime.fromisoformat(data["paid_at"]))
        paid_at = moment.strftime("%H:%M %d/%m/%Y")
    with translation.override(language):
        channel = str(FeeChannel(data["channel"]).label) if data.get("channel") else ""
    return {
        "amount": money(data["amount"], language),
        "amount_ascii": money(data["amount"], language, ascii_only=True),
        "channel": channel,
        "paid_at": paid_at,
    }


def _offered_to(departments: bool) -> CompiledQuery:
    """The active officers holding ``role`` in the agency (and, for a department's role, in
    its departments): whom a new task is offered to. Read at every stage of every dossier,
    so its SQL is compiled once (see workflows.compiled)."""

    def build(agency_id, role):
        reach = Q(agency_id=agency_id)
        if departments:
            reach |= Q(agency__parent_id=agency_id, agency__kind=Agency.Kind.DEPARTMENT)
        return (
            get_user_model()
            .objects.filter(
                pk__in=OfficerRole.objects.filter(reach, role=role).values("user_id"),
                is_active=True,
            )
            .select_related("notification_preference")
        )

    return CompiledQuery(get_user_model(), build, placeholders=(-1_999_999_001, "\x00role\x00"))


_OFFERED_TO = {False: _offered_to(False), True: _offered_to(True)}


def _officers(event: OutgoingEvent) -> None:
    from workflows.models import DossierTask

    dossier = event.dossier
    task = getattr(event, "task", None)
    if task is None:
        task = (
            DossierTask.objects.filter(pk=event.payload.get("task"))
            .select_related("agency")
            .first()
        )
    if task is None:
        return
    kind = OFFICER_KINDS[event.name]
    holder = event.payload.get("to") if event.name == "task.assigned" else task.owner_id
    if holder:
        users = get_user_model().objects.filter(pk=holder).select_related("notification_preference")
    else:
        users = _OFFERED_TO[task.role in DEPARTMENT_ROLES](task.agency_id, task.role)
    link = site(reverse("workspace:task", args=[task.pk]))
    for user in users:
        person = person_for_user(user)
        context = _dossier_context(dossier, person.language)
        context.update(
            stage=dossier.procedure_version.stage_name(task.stage, person.language),
            due_date=_date(task.due_date),
            task_url=link,
            reason=event.payload.get("reason", ""),
            days_left=event.payload.get("days_left", 0),
            days_overdue=event.payload.get("days_overdue", 0),
        )
        _write(event, person, kind, context, link)


def _supervisors(event: OutgoingEvent) -> None:
    """An overdue task: the heads of its agency and the supervisors above it hear of it."""
    from workflows.models import DossierTask

    task = DossierTask.objects.filter(pk=event.payload.get("task")).select_related("agency").first()
    if task is None:
        return
    ancestors = [code for code in task.agency.path.strip("/").split("/") if code]
    managers = OfficerRole.objects.filter(
        Q(role="head", agency=task.agency) | Q(role="supervisor", agency__code__in=ancestors)
    ).values("user_id")
    link = site(reverse("workspace:team"))
    for user in (
        get_user_model()
        .objects.filter(pk__in=managers, is_active=True)
        .select_related("notification_preference")
    ):
        person = person_for_user(user)
        context = _dossier_context(event.dossier, person.language)
        context.update(
            dashboard_url=link,
            count=1,
            dossiers=[
                {
                    "code": event.dossier.reference,
                    "procedure": context["procedure"],
                    "due_date": _date(task.due_date),
                    "days_overdue": event.payload.get("days_overdue", 1),
                }
            ],
        )
        _write(event, person, "agency_overdue", context, link)


def _heads(event: OutgoingEvent) -> None:
    """The heads of the handling agency, who approve the apology and the new date."""
    dossier = event.dossier
    heads = OfficerRole.objects.filter(role="head", agency=dossier.handling_agency).values(
        "user_id"
    )
    link = site(reverse("workspace:dossier", args=[dossier.pk]))
    for user in (
        get_user_model()
        .objects.filter(pk__in=heads, is_active=True)
        .select_related("notification_preference")
    ):
        person = person_for_user(user)
        context = _dossier_context(dossier, person.language)
        context.update(due_date=_date(dossier.due_date), dossier_url=link)
        _write(event, person, "apology_due", context, link)
