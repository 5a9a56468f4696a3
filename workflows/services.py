"""Business actions on dossiers. Views, admin, tasks and flows call these and nothing else.

Each action is one transaction: it locks the dossier row, checks the actor's permission
and the transition's conditions, moves the state, appends the history entry and writes
the outgoing event. ``by=None`` means the system itself, which may only take the
system's own steps (issuing a signed result).

Every function returns the dossier as it is after the action; the instance passed in is
not refreshed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from procedures.forms import clean_form_data
from procedures.models import Agency, Procedure

from .clock import working_calendar
from .codes import dossier_code
from .events import event_record
from .exceptions import ActionNotAllowed
from .history import history_append
from .models import (
    Channel,
    Dossier,
    DossierComponent,
    Status,
    has_mandatory_components,
    not_yet_rescheduled,
    within_supplement_window,
)
from .uploads import check_upload

SYSTEM_TRANSITIONS = frozenset({"issue"})

CONDITION_MESSAGES = {
    has_mandatory_components: "Some mandatory components have not been uploaded.",
    not_yet_rescheduled: "This dossier has already been rescheduled once; it cannot be again.",
    within_supplement_window: (
        "A supplement after appraisal can only be requested within the legal number of "
        "working days after receipt."
    ),
}

MAX_DRAFT_VALUE = 5000


def _require(text: str, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError({what: ["A reason is required for this action."]})
    if len(text) > 5000:
        raise ValidationError({what: ["Keep it under 5000 characters."]})
    return text


def _check_allowed(dossier: Dossier, by, name: str):
    """Permission first (an outsider learns nothing), then whether the state allows it."""
    method = getattr(dossier, name)
    meta = method._django_fsm
    if by is None:
        if name not in SYSTEM_TRANSITIONS:
            raise PermissionDenied("Only a person can take this action.")
    elif not any(t.has_perm(dossier, by) for t in meta.transitions.values()):
        raise PermissionDenied("You are not allowed to take this action on this dossier.")
    transition = meta.get_transition(dossier.status)
    if transition is None:
        raise ActionNotAllowed(
            f"This dossier is “{dossier.get_status_display()}”; this action does not apply now."
        )
    return transition


def _check_transition(dossier: Dossier, by, name: str) -> None:
    transition = _check_allowed(dossier, by, name)
    for condition in transition.conditions:
        if not condition(dossier):
            raise ActionNotAllowed(CONDITION_MESSAGES.get(condition, "A condition is not met."))


def _act(
    dossier: Dossier,
    by,
    name: str,
    *,
    action: str | None = None,
    comment: str = "",
    data: dict | Callable[[Dossier], dict] | None = None,
    apply: Callable[[Dossier], list[str]] | None = None,
    event_payload: dict | None = None,
) -> Dossier:
    """Run transition ``name`` on a locked copy of ``dossier`` and record it."""
    with transaction.atomic():
        locked = (
            Dossier.objects.select_for_update()
            .select_related("procedure_version", "handling_agency")
            .get(pk=dossier.pk)
        )
        _check_transition(locked, by, name)
        from_status = locked.status
        try:
            getattr(locked, name)()
        except TransitionNotAllowed as exc:  # checked above; kept as a last guard
            raise ActionNotAllowed(str(exc)) from exc
        changed = ["status", "history_count", "history_hash"]
        if apply:
            changed += apply(locked)
        if callable(data):
            data = data(locked)
        history_append(
            dossier=locked,
            actor=by,
            action=action or name,
            from_status=from_status,
            to_status=locked.status,
            comment=comment,
            data=data,
        )
        locked.save(update_fields=changed)
        event_record(
            name=f"dossier.{action or name}",
            dossier=locked,
            payload={"code": locked.code, "status": locked.status, **(event_payload or {})},
        )
    return locked


# --- Filing ------------------------------------------------------------------------------------


class ApplicantForm(forms.Form):
    name = forms.CharField(max_length=200)
    id_number = forms.RegexField(r"^[0-9]{9,12}$", required=False, max_length=12)
    address = forms.CharField(max_length=500, required=False)
    phone = forms.RegexField(r"^\+?[0-9 .-]{8,15}$", required=False, max_length=20)
    email = forms.EmailField(required=False, max_length=254)


APPLICANT_COLUMNS = {
    "name": "applicant_name",
    "id_number": "applicant_id_number",
    "address": "applicant_address",
    "phone": "applicant_phone",
    "email": "applicant_email",
}


def _bounded_applicant(applicant: dict | None) -> dict:
    """What was typed about the applicant, kept as typed: known keys, text, column-sized."""
    if applicant is None:
        return {}
    if not isinstance(applicant, dict):
        raise ValidationError("Applicant data must be a mapping.")
    errors, kept = {}, {}
    for key, value in applicant.items():
        if key not in APPLICANT_COLUMNS:
            errors[f"applicant.{key}"] = ["Unknown applicant field."]
            continue
        value = "" if value is None else value
        limit = Dossier._meta.get_field(APPLICANT_COLUMNS[key]).max_length
        if not isinstance(value, str):
            errors[f"applicant.{key}"] = ["Enter text."]
        elif len(value.strip()) > limit:
            errors[f"applicant.{key}"] = [f"Keep it under {limit} characters."]
        else:
            kept[APPLICANT_COLUMNS[key]] = value.strip()
    if errors:
        raise ValidationError(errors)
    return kept


def _clean_applicant(dossier: Dossier) -> dict:
    """The applicant's details, fully validated, as column values (at filing)."""
    form = ApplicantForm(
        data={key: getattr(dossier, column) for key, column in APPLICANT_COLUMNS.items()}
    )
    if not form.is_valid():
        raise ValidationError({f"applicant.{k}": v for k, v in form.errors.items()})
    return {APPLICANT_COLUMNS[k]: v for k, v in form.cleaned_data.items()}


def _clean_draft_data(spec: dict, form_data: dict) -> dict:
    """Drafts keep what was typed, unvalidated but bounded: only known fields, only text."""
    if not isinstance(form_data, dict):
        raise ValidationError("Form data must be a mapping of field names to values.")
    known = {f["name"] for f in spec["fields"]}
    errors = {}
    cleaned = {}
    for key, value in form_data.items():
        if key not in known:
            errors[key] = ["This procedure has no such field."]
            continue
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str | int | float | bool) or v is None for v in values):
            errors[key] = ["Unsupported value."]
        elif any(len(str(v)) > MAX_DRAFT_VALUE for v in values):
            errors[key] = [f"Keep it under {MAX_DRAFT_VALUE} characters."]
        else:
            cleaned[key] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


def dossier_create(
    *,
    procedure: Procedure,
    handling_agency: Agency,
    channel: str,
    by,
    applicant: dict,
    applicant_user=None,
    form_data: dict | None = None,
) -> Dossier:
    """Start a draft under the procedure's current version."""
    if channel not in Channel.values:
        raise ValidationError({"channel": ["Unknown channel."]})
    version = procedure.current_version
    if not procedure.is_active or version is None:
        raise ActionNotAllowed("This procedure is not open for applications.")
    if handling_agency.kind != version.agency_level:
        raise ValidationError({"handling_agency": ["This agency does not handle this procedure."]})
    if channel == Channel.ONLINE:
        if not by.is_authenticated or applicant_user is None or applicant_user.pk != by.pk:
            raise PermissionDenied("An online application is filed by the applicant.")
    elif not by.has_perm("workflows.file_at_desk", handling_agency):
        raise PermissionDenied("Only reception officers of this agency file at the desk.")
    person = _bounded_applicant(applicant)
    data = _clean_draft_data(version.spec, form_data or {})
    with transaction.atomic():
        dossier = Dossier.objects.create(
            procedure_version=version,
            handling_agency=handling_agency,
            channel=channel,
            applicant_user=applicant_user,
            filed_by=by,
            form_data=data,
            **person,
        )
        history_append(
            dossier=dossier,
            actor=by,
            action="create",
            from_status="",
            to_status=dossier.status,
            data={"channel": channel},
        )
        dossier.save(update_fields=["history_count", "history_hash"])
    return dossier


def _editable(dossier: Dossier, by) -> Dossier:
    locked = (
        Dossier.objects.select_for_update().select_related("procedure_version").get(pk=dossier.pk)
    )
    name = "resubmit" if locked.status == Status.SUPPLEMENT_REQUESTED else "submit"
    _check_allowed(locked, by, name)
    return locked


def dossier_save_draft(
    *, dossier: Dossier, by, form_data: dict, applicant: dict | None = None
) -> Dossier:
    """Keep what was typed so far (a draft, or the answer to a supplement request)."""
    with transaction.atomic():
        locked = _editable(dossier, by)
        data = _clean_draft_data(locked.procedure_version.spec, form_data)
        person = _bounded_applicant(applicant)
        locked.form_data = {**locked.form_data, **data}
        for column, value in person.items():
            setattr(locked, column, value)
        locked.save(update_fields=["form_data", *person])
    return locked


def dossier_attach_component(
    *, dossier: Dossier, by, component_code: str, upload, replace: bool = True
) -> DossierComponent:
    """Check and store one file for a component; by default it replaces the current one."""
    with transaction.atomic():
        locked = _editable(dossier, by)
        spec = locked.procedure_version.component(component_code)
        if spec is None:
            raise ValidationError({component_code: ["This procedure has no such component."]})
        try:
            checked = check_upload(
                upload, accepted=spec["content_types"], max_bytes=spec["max_size_mb"] * 1_048_576
            )
        except ValidationError as exc:
            raise ValidationError({component_code: exc.messages}) from exc
        now = timezone.now()
        current = locked.components.filter(
            component_code=component_code, superseded_at__isnull=True
        )
        if replace:
            current.update(superseded_at=now)
        elif current.count() >= spec.get("count", 1):
            raise ValidationError(
                {component_code: [f"At most {spec.get('count', 1)} file(s) for this component."]}
            )
        component = DossierComponent(
            dossier=locked,
            component_code=component_code,
            storage_key=checked.storage_key,
            original_name=(getattr(upload, "name", "") or "file")[-255:],
            content_type=checked.content_type,
            size=checked.size,
            sha256=checked.sha256,
            uploaded_at=now,
            uploaded_by=by,
            supplement_round=locked.supplement_round,
        )
        component.file.save(checked.storage_key, upload, save=False)
        try:
            component.save()
        except Exception:
            component.file.delete(save=False)
            raise
    return component


def _validate_for_filing(dossier: Dossier) -> dict:
    spec = dossier.procedure_version.spec
    errors: dict[str, list[str]] = {}
    cleaned: dict = {}
    person: dict = {}
    try:
        person = _clean_applicant(dossier)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        cleaned = clean_form_data(spec, dossier.form_data)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not has_mandatory_components(dossier):
        present = set(
            dossier.components.filter(superseded_at__isnull=True).values_list(
                "component_code", flat=True
            )
        )
        for component in spec["components"]:
            if component["mandatory"] and component["code"] not in present:
                errors[component["code"]] = [f"“{component['name']['vi']}” is required."]
    if errors:
        raise ValidationError(errors)
    return {"form_data": cleaned, **person}


def dossier_submit(*, dossier: Dossier, by) -> Dossier:
    """File the dossier: it gets its code and waits for the one-stop desk."""
    with transaction.atomic():
        locked = Dossier.objects.select_for_update().get(pk=dossier.pk)
        _check_allowed(locked, by, "submit")
        cleaned = _validate_for_filing(locked)

        def apply(d: Dossier) -> list[str]:
            now = timezone.now()
            for column, value in cleaned.items():
                setattr(d, column, value)
            d.submitted_at = now
            d.code = dossier_code(d.handling_agency, timezone.localtime(now).date())
            return [*cleaned, "submitted_at", "code"]

        return _act(locked, by, "submit", apply=apply, data={"channel": locked.channel})


def dossier_receive(*, dossier: Dossier, by, comment: str = "") -> Dossier:
    """Accept a complete dossier: the legal clock starts (again, after a supplement)."""

    def apply(d: Dossier) -> list[str]:
        now = timezone.now()
        d.received_at = now
        d.due_date = working_calendar().due_date(now, d.procedure_version.time_limit_days)
        return ["received_at", "due_date"]

    return _act(
        dossier,
        by,
        "receive",
        comment=comment,
        apply=apply,
        data=lambda d: {"due_date": d.due_date, "round": d.supplement_round},
        event_payload={"restart": dossier.supplement_round > 0},
    )


def dossier_request_supplement(*, dossier: Dossier, by, items: list[dict], reason: str) -> Dossier:
    """Tell the applicant, once and completely, what to add or fix (Decree 61 art. 15)."""
    reason = _require(reason, "reason")
    items = _clean_supplement_items(dossier, items)
    name = _supplement_transition(dossier, by)

    def apply(d: Dossier) -> list[str]:
        d.supplement_round += 1
        return ["supplement_round"]

    return _act(
        dossier,
        by,
        name,
        action="request_supplement",
        comment=reason,
        data={"items": items},
        apply=apply,
        event_payload={"items": items},
    )


def _supplement_transition(dossier: Dossier, by) -> str:
    """At the desk before reception, or by the specialist during appraisal."""
    if dossier.status == Status.SUBMITTED:
        return "request_supplement_at_reception"
    if dossier.status == Status.IN_REVIEW:
        return "request_supplement_after_review"
    for name in ("request_supplement_at_reception", "request_supplement_after_review"):
        try:
            _check_allowed(dossier, by, name)
        except PermissionDenied:
            continue
    raise PermissionDenied("You are not allowed to take this action on this dossier.")


def _clean_supplement_items(dossier: Dossier, items: list[dict]) -> list[dict]:
    spec = dossier.procedure_version.spec
    known = {c["code"] for c in spec["components"]} | {f["name"] for f in spec["fields"]}
    if not isinstance(items, list) or not items:
        raise ValidationError({"items": ["Name at least one item to add or fix."]})
    cleaned = []
    for item in items:
        if not isinstance(item, dict) or item.get("code") not in known:
            raise ValidationError(
                {"items": ["Each item must name a component or field of this procedure."]}
            )
        cleaned.append({"code": item["code"], "reason": _require(item.get("reason", ""), "items")})
    return cleaned


def dossier_resubmit(*, dossier: Dossier, by, comment: str = "") -> Dossier:
    """The applicant answers a supplement request; the desk checks the dossier again."""
    with transaction.atomic():
        locked = Dossier.objects.select_for_update().get(pk=dossier.pk)
        _check_allowed(locked, by, "resubmit")
        cleaned = _validate_for_filing(locked)

        def apply(d: Dossier) -> list[str]:
            for column, value in cleaned.items():
                setattr(d, column, value)
            d.submitted_at = timezone.now()
            return [*cleaned, "submitted_at"]

        return _act(
            locked,
            by,
            "resubmit",
            comment=comment,
            apply=apply,
            data={"round": locked.supplement_round},
        )


def dossier_reject_at_reception(*, dossier: Dossier, by, reason: str) -> Dossier:
    reason = _require(reason, "reason")
    return _act(dossier, by, "reject_at_reception", comment=reason, apply=_close)


def _close(d: Dossier) -> list[str]:
    d.closed_at = timezone.now()
    return ["closed_at"]


def dossier_withdraw(*, dossier: Dossier, by, reason: str = "") -> Dossier:
    return _act(dossier, by, "withdraw", comment=(reason or "").strip()[:5000], apply=_close)


# --- Processing --------------------------------------------------------------------------------


def dossier_start_review(*, dossier: Dossier, by) -> Dossier:
    return _act(dossier, by, "start_review")


def dossier_propose(*, dossier: Dossier, by, decision: str, opinion: str) -> Dossier:
    """The specialist's appraisal: a proposal to approve or refuse, with an opinion."""
    if decision not in ("approve", "refuse"):
        raise ValidationError({"decision": ["Propose either approve or refuse."]})
    opinion = _require(opinion, "opinion")
    return _act(
        dossier,
        by,
        "propose",
        comment=opinion,
        data={"proposal": decision},
        event_payload={"proposal": decision},
    )


def dossier_send_back(*, dossier: Dossier, by, reason: str) -> Dossier:
    reason = _require(reason, "reason")
    return _act(dossier, by, "send_back", comment=reason)


def _decided(d: Dossier) -> list[str]:
    d.decided_at = timezone.now()
    return ["decided_at"]


def dossier_approve(*, dossier: Dossier, by, comment: str = "") -> Dossier:
    return _act(dossier, by, "approve", comment=(comment or "").strip()[:5000], apply=_decided)


def dossier_refuse(*, dossier: Dossier, by, reason: str) -> Dossier:
    """A written refusal with reasons (Decree 61 art. 17)."""
    reason = _require(reason, "reason")

    def apply(d: Dossier) -> list[str]:
        return _decided(d) + _close(d)

    return _act(dossier, by, "refuse", comment=reason, apply=apply)


def dossier_sign(*, dossier: Dossier, by, comment: str = "") -> Dossier:
    return _act(dossier, by, "sign", comment=(comment or "").strip()[:5000])


def dossier_issue(*, dossier: Dossier, by=None) -> Dossier:
    """The system's own step once the result is signed: the dossier closes."""
    return _act(dossier, by, "issue", apply=_close)


def dossier_reschedule(*, dossier: Dossier, by, new_due_date: dt.date, reason: str) -> Dossier:
    """The apology letter: a new appointment date, with the reason, once per dossier."""
    reason = _require(reason, "reason")
    if not isinstance(new_due_date, dt.date):
        raise ValidationError({"new_due_date": ["Enter a date."]})

    old_due: dict = {}

    def apply(d: Dossier) -> list[str]:
        old_due["date"] = d.due_date
        if d.due_date is None or new_due_date <= d.due_date:
            raise ValidationError(
                {"new_due_date": ["The new date must be later than the current appointment."]}
            )
        if not working_calendar().is_working_day(new_due_date):
            raise ValidationError({"new_due_date": ["The new date must be a working day."]})
        d.rescheduled_at = timezone.now()
        d.due_date = new_due_date
        return ["rescheduled_at", "due_date"]

    return _act(
        dossier,
        by,
        "reschedule",
        comment=reason,
        data=lambda d: {"new_due_date": new_due_date, "old_due_date": old_due["date"]},
        apply=apply,
        event_payload={"new_due_date": new_due_date.isoformat()},
    )
