"""Business actions on dossiers. Views, admin, tasks and flows call these and nothing else.

Each action is one transaction: it locks the dossier row, checks the actor's permission,
the state and the transition's conditions, moves the state, appends the history entry
and writes the outgoing event. ``by=None`` means the system itself, which may only take
the system's own steps (issuing a signed result).

Every function returns the dossier as it is after the action; the instance passed in is
not refreshed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import TransitionNotAllowed

from config.search import search_text
from procedures.auth import has_agency_perm
from procedures.forms import clean_form_data, localized, version_form_class
from procedures.models import Agency, Procedure, ProcedureVersion

from ..clock import (
    local_date,
    one_calendar,
    processing_days,
    timeliness,
    working_calendar,
)
from ..codes import dossier_code
from ..events import event_record
from ..exceptions import ActionNotAllowed
from ..history import history_append
from ..holders import missing_holders
from ..inputs import (
    APPLICANT_COLUMNS,
    bounded_applicant,
    bounded_form_data,
    clean_text,
    split_applicant,
    split_form_data,
    validated_applicant,
)
from ..models import (
    Channel,
    Dossier,
    DossierComponent,
    DossierTask,
    ServiceRating,
    Status,
    acting_agency_or,
    conditions_memoised,
    fee_owed,
    first_supplement_after_review,
    first_supplement_at_reception,
    has_mandatory_components,
    has_proposal,
    no_fee_owed,
    not_yet_rescheduled,
    within_supplement_window,
)
from ..uploads import check_upload
from .fee_assessment import fee_assess, fee_cancel, fee_summary

log = logging.getLogger(__name__)

SYSTEM_TRANSITIONS = frozenset({"issue", "discard", "resume_after_fee"})

CONDITION_MESSAGES = {
    has_mandatory_components: gettext_lazy("Some mandatory components have not been uploaded."),
    not_yet_rescheduled: gettext_lazy(
        "This dossier has already been rescheduled once; it cannot be again."
    ),
    within_supplement_window: gettext_lazy(
        "A supplement after appraisal can only be requested within the legal number of "
        "working days after receipt."
    ),
    has_proposal: gettext_lazy("The specialist has not proposed a decision yet."),
    fee_owed: gettext_lazy("This dossier owes no fee: nothing to ask the applicant to pay."),
    no_fee_owed: gettext_lazy(
        "The applicant has not paid the fee yet: ask for it (“Request the fee payment”), or record "
        "the payment made at the desk."
    ),
    first_supplement_at_reception: gettext_lazy(
        "A supplement was already requested at the desk for this dossier. The applicant is "
        "told once, completely, what to add or fix: receive the dossier now, or refuse it "
        "with reasons."
    ),
    first_supplement_after_review: gettext_lazy(
        "A supplement after appraisal was already requested for this dossier, and it can be "
        "requested only once: propose a decision on the dossier as it is."
    ),
}

Changes = dict[str, object]


# The dossier row this transaction already holds locked (with its version and agency),
# set by ``holding`` around work done under the flow's lock.
_held: ContextVar[Dossier | None] = ContextVar("motcua_held_dossier", default=None)


@contextmanager
def holding(dossier: Dossier) -> Iterator[None]:
    """Inside: ``dossier`` is the row the current transaction has locked, read with its
    procedure version and handling agency. The actions below use that instance instead
    of reading and locking the row again, and keep it up to date. Only for a block that
    ends with the transaction holding the lock (services.work's activations)."""
    token = _held.set(dossier)
    try:
        with one_calendar():
            yield
    finally:
        _held.reset(token)


def _lock(dossier: Dossier) -> Dossier:
    held = _held.get()
    if held is not None and held.pk == dossier.pk:
        return held
    return (
        Dossier.objects.select_for_update(of=("self",))
        .select_related(
            "procedure_version",
            "handling_agency",
            # For the messages the action's event may write to the applicant.
            "applicant_user__notification_preference",
        )
        .get(pk=dossier.pk)
    )


def step(dossier: Dossier) -> transaction.Atomic:
    """One change's transaction (a savepoint inside another) on ``dossier``.

    On the held dossier no savepoint: the change is one step of the caller's, and a
    failure fails the caller's transaction too (services.work lets it propagate)."""
    held = _held.get()
    return transaction.atomic(savepoint=held is None or held.pk != dossier.pk)


@contextmanager
def _locked(dossier: Dossier) -> Iterator[Dossier]:
    """One action's transaction on the locked dossier (``step``)."""
    with step(dossier):
        locked = _lock(dossier)
        try:
            yield locked
        except BaseException:
            # The savepoint is rolled back, but the held instance may carry the failed
            # action's changes: whatever comes next reads the row again.
            if _held.get() is locked:
                _held.set(None)
            raise


def _check_allowed(dossier: Dossier, by, name: str):
    """Permission first (an outsider learns nothing), then whether the state allows it."""
    meta = getattr(dossier, name)._django_fsm
    if by is None:
        if name not in SYSTEM_TRANSITIONS:
            raise PermissionDenied(_("Only a person can take this action."))
    elif not any(t.has_perm(dossier, by) for t in meta.transitions.values()):
        raise PermissionDenied(_("You are not allowed to take this action on this dossier."))
    transition = meta.get_transition(dossier.status)
    if transition is None:
        raise ActionNotAllowed(
            _("This dossier is “%(status)s”; this action does not apply now.")
            % {"status": dossier.get_status_display()}
        )
    return transition


def _act(
    dossier: Dossier,
    by,
    name: str,
    *,
    action: str | None = None,
    comment: str = "",
    validate: Callable[[Dossier], Changes] | None = None,
    apply: Callable[[Dossier], Changes] | None = None,
    data: Callable[[Dossier], dict] | dict | None = None,
    event_payload: Callable[[Dossier], dict] | dict | None = None,
) -> Dossier:
    """Run transition ``name`` on a locked copy of ``dossier`` and record it.

    ``validate`` runs after the permission and state checks and before the conditions, so
    it can report field by field what a generic condition would only say in one line;
    ``apply`` runs after the transition. Both return the columns to change.
    """
    with _locked(dossier) as locked:
        transition = _check_allowed(locked, by, name)
        changes: Changes = validate(locked) if validate else {}
        for column, value in changes.items():
            setattr(locked, column, value)
        # django-fsm checks the conditions again in the transition: each is read once.
        with conditions_memoised(locked):
            for condition in transition.conditions:
                if not condition(locked):
                    raise ActionNotAllowed(
                        CONDITION_MESSAGES.get(condition, _("A condition is not met."))
                    )
            from_status = locked.status
            try:
                getattr(locked, name)()
            except TransitionNotAllowed as exc:  # checked above; kept as a last guard
                raise ActionNotAllowed(str(exc)) from exc
        if apply:
            extra = apply(locked)
            for column, value in extra.items():
                setattr(locked, column, value)
            changes.update(extra)
        entry = history_append(
            dossier=locked,
            actor=by,
            action=action or name,
            from_status=from_status,
            to_status=locked.status,
            comment=comment,
            data=data(locked) if callable(data) else data,
        )
        locked.save(update_fields=["status", "history_count", "history_hash", *changes])
        # The tasks' copy (DossierTask.search_text); a draft has none (its flow starts
        # when it is filed).
        if "search_text" in changes and from_status != Status.DRAFT:
            DossierTask.objects.filter(dossier=locked).update(search_text=locked.search_text)
        payload = event_payload(locked) if callable(event_payload) else event_payload
        event_record(
            name=f"dossier.{action or name}",
            dossier=locked,
            entry=entry,
            # The history entry's number: consumers read what happened from that entry,
            # not from whatever is latest when they run.
            payload={
                "code": locked.code,
                "status": locked.status,
                "seq": entry.seq,
                **(payload or {}),
            },
        )
    return locked


# --- Filing ------------------------------------------------------------------------------------


def _column_limits() -> dict[str, int]:
    return {c: Dossier._meta.get_field(c).max_length for c in APPLICANT_COLUMNS.values()}


def dossier_create(
    *,
    procedure: Procedure,
    handling_agency: Agency,
    channel: str,
    by,
    applicant: dict | None = None,
    applicant_user=None,
    form_data: dict | None = None,
    filing_key: uuid.UUID | None = None,
    problems: dict | None = None,
    filing: bool = False,
    version: ProcedureVersion | None = None,
) -> Dossier:
    """Start a draft under the procedure version in force today.

    With a ``filing_key`` (sent with the form), posting the same form again returns the
    dossier it already made (but with ``filing``: see below).

    What cannot be kept of ``applicant`` and ``form_data`` is refused with a
    ValidationError; given a ``problems`` dict, it is left out of the draft instead and
    its problems are added there, by field (as ``dossier_save_draft`` does): the draft is
    written once, with what can be kept.

    ``filing``: the caller files the draft in this same transaction or rolls it all back
    (the integration API's submit), so the head of its history (its first entry) is
    written with the filing instead of by an update of its own now. The draft takes no
    savepoint then, so a ``filing_key`` already used is an IntegrityError that fails the
    caller's transaction: the caller finds the earlier dossier itself, after the
    rollback.

    ``version``: the procedure's version in force today, when the caller has read it with
    the procedure (``procedures.selectors.procedure_in_force``).
    """
    if channel not in Channel.values:
        raise ValidationError({"channel": [_("Unknown channel.")]})
    if channel == Channel.ONLINE:
        # By the applicant, or by an API client for an applicant with no account here.
        by_applicant = (
            by.is_authenticated and applicant_user is not None and applicant_user.pk == by.pk
        )
        if not by_applicant and not (
            applicant_user is None
            and has_agency_perm(by, "workflows.file_for_applicant", handling_agency)
        ):
            raise PermissionDenied(_("An online application is filed by the applicant."))
    elif not has_agency_perm(by, "workflows.file_at_desk", handling_agency):
        raise PermissionDenied(_("Only reception officers of this agency file at the desk."))
    if version is None:
        version = (
            procedure.version_in_force(working_calendar().today()) if procedure.is_active else None
        )
    elif version.procedure_id != procedure.pk or not procedure.is_active:
        raise ValueError("version: the version in force of this procedure, read with it")
    if version is None:
        raise ActionNotAllowed(_("This procedure is not open for applications."))
    if handling_agency.kind != version.agency_level or missing_holders(version, handling_agency):
        # Not its level, or a stage would be handed to a level the tree lacks above it.
        raise ValidationError(
            {"handling_agency": [_("This agency does not handle this procedure.")]}
        )
    if problems is None:
        person = bounded_applicant(applicant, _column_limits())
        data = bounded_form_data(version.spec, form_data or {})
    else:
        data, data_problems = split_form_data(version.spec, form_data or {})
        person, person_problems = split_applicant(applicant, _column_limits())
        problems.update({**data_problems, **person_problems})
    try:
        return _create_draft(
            version,
            handling_agency,
            channel,
            by,
            applicant_user,
            data,
            person,
            filing_key,
            head_later=filing,
        )
    except IntegrityError:
        if filing:
            # No savepoint was taken (the caller's transaction fails with the filing): the
            # caller looks for the dossier filed under the key (api.dossiers).
            raise
        # The same form posted again, or twice at the same moment: the dossier it made.
        # (The key's unique index finds it: no read before every insert.)
        existing = Dossier.objects.filter(filing_key=filing_key).first() if filing_key else None
        if existing is None:
            raise
        if existing.filed_by_id != by.pk:
            raise ValidationError(_("This form has expired; open it again.")) from None
        return existing


def _create_draft(
    version, handling_agency, channel, by, applicant_user, data, person, filing_key, *, head_later
) -> Dossier:
    # Filed in the caller's transaction (``head_later``), the draft needs no savepoint of its
    # own: if it cannot be written, nothing of that transaction stays.
    with transaction.atomic(savepoint=not head_later):
        dossier = Dossier.objects.create(
            filing_key=filing_key,
            procedure_version=version,
            handling_agency=handling_agency,
            channel=channel,
            applicant_user=applicant_user,
            filed_by=by,
            form_data=data,
            search_text=search_text(
                None, person.get("applicant_name"), person.get("applicant_id_number")
            ),
            **person,
        )
        history_append(
            dossier=dossier,
            actor=by,
            action="create",
            from_status="",
            to_status=dossier.status,
            data={"channel": channel, "version": version.number},
        )
        if not head_later:
            dossier.save(update_fields=["history_count", "history_hash"])
    return dossier


def _editable(dossier: Dossier, by, *, lock: bool = True) -> Dossier:
    """The dossier, fresh (and locked), if ``by`` may still change it: a draft, or the
    answer to a supplement request."""
    held = _held.get()
    if lock or (held is not None and held.pk == dossier.pk):
        fresh = _lock(dossier)
    else:
        fresh = Dossier.objects.select_related("procedure_version", "handling_agency").get(
            pk=dossier.pk
        )
    name = "resubmit" if fresh.status == Status.SUPPLEMENT_REQUESTED else "submit"
    _check_allowed(fresh, by, name)
    return fresh


def dossier_save_draft(
    *, dossier: Dossier, by, form_data: dict, applicant: dict | None = None
) -> Dossier:
    """Keep what was typed so far (a draft, or the answer to a supplement request).

    Every value that can be kept is saved, even when others cannot; those are then
    reported, by field, in a ValidationError raised after the save.
    """
    dossier = _editable(dossier, by, lock=False)
    data, errors = split_form_data(dossier.procedure_version.spec, form_data)
    person, person_errors = split_applicant(applicant, _column_limits())
    with step(dossier):
        locked = _editable(dossier, by)
        locked.form_data = {**locked.form_data, **data}
        for column, value in person.items():
            setattr(locked, column, value)
        searched = locked.search_text
        locked.search_text = locked.folded_search_text()
        locked.edited_at = timezone.now()
        locked.save(update_fields=["form_data", "edited_at", "search_text", *person])
        if locked.search_text != searched and locked.status != Status.DRAFT:
            # An answer to a supplement request: the open tasks' copy follows.
            DossierTask.objects.filter(dossier=locked).update(search_text=locked.search_text)
    if errors or person_errors:
        raise ValidationError({**errors, **person_errors})
    return locked


def _too_many(spec: dict) -> str:
    return _(
        "“%(name)s” takes at most %(n)d file(s), and has them already. Remove one before "
        "adding another."
    ) % {"name": localized(spec["name"]), "n": spec.get("count", 1)}


def dossier_attach_component(
    *, dossier: Dossier, by, component_code: str, upload, replace: bool | None = None
) -> DossierComponent:
    """Check and store one file for a component (``dossier_attach_components`` with one
    file); its problems are raised as a ValidationError."""
    attached, errors = dossier_attach_components(
        dossier=dossier, by=by, uploads={component_code: [upload]}, replace=replace
    )
    if errors:
        raise ValidationError(errors)
    return attached[0]


def dossier_attach_components(
    *,
    dossier: Dossier,
    by,
    uploads: dict[str, list],
    replace: bool | None = None,
    new_draft: bool = False,
) -> tuple[list[DossierComponent], dict[str, list[str]]]:
    """Check and store files for components, all under one lock of the dossier: the files
    kept (or the same ones already there), and the problems by component code.

    A component of one file (``count: 1``) has its file replaced by a new one; a component
    of several (``count: 2``, two photographs) keeps each file, up to ``count``: one more
    is refused with a message. ``replace`` forces either way for the first file of each
    component; its further files in the same call are added next to it.

    Each file is checked, hashed and written to storage before the dossier row is locked:
    a slow upload or a slow object store never holds up an officer acting on the same
    dossier. A store that cannot be reached is a message on the component, with nothing
    written; a file stored for a row that is then not kept is removed again. A file that
    fails leaves the others of the call as they are.

    ``new_draft``: the dossier is a draft made in the caller's transaction, held there
    (``holding``) and given no file yet: there is none to look up or replace, its making
    stands as its last edit, and the filing that follows knows its files without reading
    them (the integration API's submit).
    """
    dossier = _editable(dossier, by, lock=False)  # who may, before anything about the file
    items = []
    errors: dict[str, list[str]] = {}
    for code, files in uploads.items():
        spec = dossier.procedure_version.component(code)
        if spec is None:
            errors[code] = [str(_("This procedure has no such component."))]
            continue
        for upload in files:
            name = clean_text(getattr(upload, "name", "") or "file", "name", limit=10**6)[-255:]
            items.append((spec, upload, name, None))
    attached, problems = _attach_many(dossier, by, items, replace=replace, new_draft=new_draft)
    for code, messages in problems.items():
        errors.setdefault(code, []).extend(messages)
    return attached, errors


def _attach(
    dossier: Dossier, by, spec: dict, upload, *, replace: bool | None, name: str, origin=None
) -> DossierComponent:
    """One new file of a component, uploaded or reused (``origin``: the ``store.Paper`` it
    is a copy of, recorded on the row and in the history); its problems raised."""
    attached, errors = _attach_many(dossier, by, [(spec, upload, name, origin)], replace=replace)
    if errors:
        raise ValidationError(errors)
    return attached[0]


def _attach_many(
    dossier: Dossier, by, items: list[tuple], *, replace: bool | None, new_draft: bool = False
) -> tuple[list[DossierComponent], dict[str, list[str]]]:
    """The rules of every new file of a component, for ``items`` (spec, upload, file name,
    origin) of ``dossier`` (already checked editable by ``by``), under one lock."""
    errors: dict[str, list[str]] = {}

    def problem(code: str, messages) -> None:
        kept = errors.setdefault(code, [])
        kept.extend(str(m) for m in messages if str(m) not in kept)

    prepared: list[tuple[dict, DossierComponent, bool, object]] = []
    now = timezone.now()
    seen: set[str] = set()
    for spec, upload, name, origin in items:
        code = spec["code"]
        first = code not in seen
        seen.add(code)
        replaces = (spec.get("count", 1) == 1 if replace is None else replace) and first
        try:
            checked = check_upload(
                upload, accepted=spec["content_types"], max_bytes=spec["max_size_mb"] * 1_048_576
            )
        except ValidationError as exc:
            problem(code, exc.messages)
            continue
        if origin is not None and checked.sha256 != origin.sha256:
            # The stored bytes are not those recorded when the paper was accepted or signed.
            log.warning("reuse: stored paper %s no longer matches its SHA-256", origin.ref)
            problem(code, [PAPER_ALTERED])
            continue
        component = DossierComponent(
            dossier=dossier,
            component_code=code,
            storage_key=checked.storage_key,
            original_name=name,
            content_type=checked.content_type,
            size=checked.size,
            sha256=checked.sha256,
            uploaded_at=now,
            uploaded_by=by,
        )
        if origin is not None:
            component.reused_kind = origin.kind
            component.reused_dossier = origin.dossier
            component.reused_object_id = origin.object_id
        try:
            component.file.save(checked.storage_key, upload, save=False)
        except OSError as exc:  # StorageUnavailable, a full disk, ...
            log.warning("storing a file of dossier %s failed: %s", dossier.pk, exc)
            problem(code, [STORAGE_DOWN])
            continue
        prepared.append((spec, component, replaces, origin))
    if not prepared:
        return [], errors
    unused = [component for _spec, component, _replaces, _origin in prepared]
    try:
        with step(dossier):
            locked = _editable(dossier, by)
            if new_draft and (locked is not _held.get() or locked.status != Status.DRAFT):
                raise ValueError("new_draft: a draft held by the caller's transaction only")
            current: dict[str, list[DossierComponent]] = {}
            rows = (
                ()
                if new_draft
                else locked.components.filter(
                    component_code__in={c.component_code for c in unused},
                    superseded_at__isnull=True,
                )
            )
            for row in rows:
                current.setdefault(row.component_code, []).append(row)
            attached, new, superseded, reused = [], [], [], []
            for spec, component, replaces, origin in prepared:
                code = component.component_code
                now_current = current.setdefault(code, [])
                same = next((c for c in now_current if c.sha256 == component.sha256), None)
                if same is not None:
                    # The same file sent again: keep the one we have, named once.
                    if not any(kept is same for kept in attached):
                        attached.append(same)
                    continue
                if replaces:
                    superseded.extend(c.pk for c in now_current if c.pk is not None)
                    new = [c for c in new if c not in now_current]
                    now_current.clear()
                elif len(now_current) >= spec.get("count", 1):
                    problem(code, [_too_many(spec)])
                    continue
                component.dossier = locked
                component.supplement_round = locked.supplement_round
                now_current.append(component)
                new.append(component)
                attached.append(component)
                if origin is not None:
                    reused.append((component, origin))
            if superseded:
                DossierComponent.objects.filter(pk__in=superseded).update(superseded_at=now)
            if new:
                DossierComponent.objects.bulk_create(new)
                fields = []
                if not new_draft:  # a new draft's making stands as its last edit
                    locked.edited_at = now
                    fields.append("edited_at")
                for component, origin in reused:
                    history_append(
                        dossier=locked,
                        actor=by,
                        action="reuse_paper",
                        from_status=locked.status,
                        to_status=locked.status,
                        data={
                            "component": component.component_code,
                            "name": component.original_name,
                            "sha256": component.sha256,
                            "source": {
                                "kind": origin.kind,
                                "dossier": origin.dossier_code,
                                "dossier_id": origin.dossier.pk,
                                "id": origin.object_id,
                            },
                        },
                    )
                    fields = [*fields, "history_count", "history_hash"]
                if fields:
                    locked.save(update_fields=fields)
            if new_draft:
                # Its files, known to the filing that follows in this transaction (_file).
                locked._current_files = sorted(
                    ((c.component_code, c.sha256) for c in new), key=lambda file: file[0]
                )
            else:
                locked.__dict__.pop("_current_files", None)
            kept = {id(c) for c in new}
            attached = [c for c in attached if c.pk is not None]
            unused = [c for c in unused if id(c) not in kept]
    finally:
        for component in unused:
            _discard(component)
    return attached, errors


NOT_REUSABLE = gettext_lazy(
    "This earlier paper cannot be used here: choose one from the list, or upload the file."
)
PAPER_ALTERED = gettext_lazy(
    "This earlier paper no longer matches what was filed, so it cannot be reused: please "
    "upload the file."
)


def dossier_reuse_paper(
    *, dossier: Dossier, by, component_code: str, source: str, replace: bool | None = None
) -> DossierComponent:
    """Fill a component with a paper from the citizen's data store (``workflows.store``):
    an accepted component or a signed result of one of their earlier dossiers, named by its
    ``source`` ref ("c12", "r34"), instead of uploading it again.

    The same rules as an upload (a draft or a supplement answer, by the applicant; the
    component's accepted types, size and ``count``), and only the applicant's own papers:
    anything else (another citizen's, a dossier refused at the desk, a forged ref) is
    refused with one message that tells nothing about it.

    The bytes are *copied*, not referenced: the earlier dossier's files are erased at the end
    of its own retention (``services.retention``) and a draft's on discard, which must not
    leave this dossier with a hole, nor keep the earlier one's bytes past their time. The
    copy is checked against the SHA-256 recorded for the source (a signed result stays the
    byte-identical signed PDF, its signature still verifiable), and the new row records the
    source; a history entry says so.
    """
    from .. import store

    dossier = _editable(dossier, by, lock=False)
    spec = dossier.procedure_version.component(component_code)
    if spec is None:
        raise ValidationError({component_code: [_("This procedure has no such component.")]})
    paper = store.paper_find(user=by, ref=source)
    if paper is None or paper.dossier.pk == dossier.pk or dossier.applicant_user_id != by.pk:
        raise ValidationError({component_code: [NOT_REUSABLE]})
    if not store.fits(paper, spec):
        raise ValidationError(
            {
                component_code: [
                    _("“%(name)s” is %(type)s; accepted here: %(accepted)s (at most %(limit)s MB).")
                    % {
                        "name": paper.original_name,
                        "type": paper.content_type,
                        "accepted": ", ".join(spec["content_types"]),
                        "limit": spec["max_size_mb"],
                    }
                ]
            }
        )
    try:
        copy = _read_paper(paper)
    except OSError as exc:
        log.warning("reuse: reading paper %s failed: %s", paper.ref, exc)
        raise ValidationError({component_code: [STORAGE_DOWN]}) from exc
    with copy:
        return _attach(
            dossier, by, spec, copy, replace=replace, name=paper.original_name, origin=paper
        )


def _read_paper(paper):
    """The paper's bytes, in a temporary file (spooled to disk past 1 MB) named like it."""
    import tempfile

    from django.core.files import File

    spool = tempfile.SpooledTemporaryFile(max_size=1_048_576)  # noqa: SIM115 - the caller closes it
    try:
        with paper.file.open("rb") as source:
            for chunk in source.chunks():
                spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    size = spool.tell()
    spool.seek(0)
    copy = File(spool, name=paper.original_name)
    copy.size = size
    return copy


def dossier_remove_component(*, dossier: Dossier, by, component_id: int) -> Dossier:
    """Take one current file off a component (while the dossier can still be changed). The
    file stays, for the record, as a replaced one; it no longer counts."""
    with transaction.atomic():
        locked = _editable(dossier, by)
        removed = locked.components.filter(pk=component_id, superseded_at__isnull=True).update(
            superseded_at=timezone.now()
        )
        if not removed:
            raise ValidationError(_("This file is not one of the dossier's current files."))
        locked.edited_at = timezone.now()
        locked.save(update_fields=["edited_at"])
    return locked


STORAGE_DOWN = gettext_lazy(
    "This file could not be stored just now: the file store is not answering. What else "
    "you sent is kept; please choose this file again and send it in a few minutes."
)


def _discard(component: DossierComponent) -> None:
    """Remove a stored file no row points to; a store that is down leaves an orphan,
    which is logged (it holds no more than what the applicant sent). When the database
    cannot say whether the row was saved (the connection broke at the commit, which the
    server may have made), the file stays: an orphan is harmless, a row without its file
    is not. Inside a transaction already doomed to roll back (a step without a savepoint
    failed: ``step``), no row of it can stay: the file goes without asking."""
    connection = transaction.get_connection()
    doomed = connection.in_atomic_block and connection.needs_rollback
    try:
        if (
            not doomed
            and DossierComponent.objects.filter(storage_key=component.storage_key).exists()
        ):
            return
    except DatabaseError:
        log.warning("kept the stored file %s: its row's fate is unknown", component.file.name)
        return
    try:
        component.file.delete(save=False)
    except OSError:
        log.warning("could not remove the unused stored file %s", component.file.name)


def _current_components(dossier: Dossier) -> list[tuple[str, str]]:
    files = getattr(dossier, "_current_files", None)
    if files is not None:
        return files
    return list(
        dossier.components.filter(superseded_at__isnull=True)
        .order_by("component_code", "uploaded_at")
        .values_list("component_code", "sha256")
    )


def validate_for_filing(dossier: Dossier) -> Changes:
    """Everything a filing needs, checked at once; every problem named by its field."""
    spec = dossier.procedure_version.spec
    errors: dict[str, list[str]] = {}
    changes: Changes = {}
    try:
        changes.update(
            validated_applicant(
                {key: getattr(dossier, column) for key, column in APPLICANT_COLUMNS.items()}
            )
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        changes["form_data"] = clean_form_data(
            spec, dossier.form_data, form_class=version_form_class(dossier.procedure_version)
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
    counts: dict[str, int] = {}
    for code, _sha in _current_components(dossier):
        counts[code] = counts.get(code, 0) + 1
    for component in spec["components"]:
        # A mandatory component needs at least one file; each of a component's files counts
        # (up to its ``count``, which the upload enforces), and the receipt lists how many.
        if component["mandatory"] and not counts.get(component["code"]):
            errors[component["code"]] = [_("This component is required.")]
    if errors:
        raise ValidationError(errors)
    return changes


def _manifest(dossier: Dossier) -> dict:
    """What was filed, sealed into the history chain: the form's hash and each file's."""
    form = json.dumps(dossier.form_data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return {
        "channel": dossier.channel,
        "form_sha256": hashlib.sha256(form.encode("utf-8")).hexdigest(),
        "components": [{"code": c, "sha256": h} for c, h in _current_components(dossier)],
    }


# No 0/O, 1/I/L: the secret is read off paper and typed on a phone.
SECRET_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # noqa: S105 - an alphabet


def lookup_secret() -> str:
    return "".join(secrets.choice(SECRET_ALPHABET) for _i in range(8))


def _file(dossier: Dossier, by, name: str, comment: str = "") -> Dossier:
    def apply(d: Dossier) -> Changes:
        # The name and ID number as validated for filing (the code comes at reception).
        return {
            "submitted_at": timezone.now(),
            "search_text": search_text(d.code, d.applicant_name, d.applicant_id_number),
        }

    def validate(d: Dossier) -> Changes:
        # The current files, read once under the lock: the checks, the conditions and the
        # manifest of this filing all see the same ones.
        d._current_files = _current_components(d)
        return validate_for_filing(d)

    try:
        filed = _act(
            dossier,
            by,
            name,
            comment=comment,
            validate=validate,
            apply=apply,
            data=lambda d: {**_manifest(d), "round": d.supplement_round},
        )
    finally:
        held = _held.get()
        if held is not None:
            held.__dict__.pop("_current_files", None)
    filed.__dict__.pop("_current_files", None)  # later changes read the files again
    return filed


def dossier_submit(*, dossier: Dossier, by) -> Dossier:
    """File the dossier: it waits for the one-stop desk, which gives it its code."""
    return _file(dossier, by, "submit")


def dossier_resubmit(*, dossier: Dossier, by, comment: str = "") -> Dossier:
    """The applicant answers a supplement request; the desk checks the dossier again."""
    return _file(dossier, by, "resubmit", clean_text(comment, "comment"))


def dossier_receive(*, dossier: Dossier, by, comment: str = "") -> Dossier:
    """Accept a complete dossier: the legal clock starts (again, after a supplement).

    The first reception gives the dossier its code, with the reception date and the
    agency's next number of the day (Decree 61 art. 26), and the lookup secret printed
    beside it on the receipt. A dossier refused at the desk never takes a number; the
    number is taken in this transaction, so a reception that fails gives it back.
    """

    assessed: dict = {}

    def apply(d: Dossier) -> Changes:
        now = timezone.now()
        due = working_calendar().due_date(now, d.procedure_version.time_limit_days)
        changes: Changes = {"received_at": now, "due_date": due}
        # The fee owed, from the procedure version and the form as received.
        fee = fee_summary(fee_assess(d))
        if fee:
            assessed["fee"] = fee
        if d.code is None:
            changes["code"] = dossier_code(d.handling_agency, local_date(now))
            changes["lookup_secret"] = lookup_secret()
            # Officers find it by its new code from now on.
            changes["search_text"] = search_text(
                changes["code"], d.applicant_name, d.applicant_id_number
            )
        return changes

    return _act(
        dossier,
        by,
        "receive",
        comment=clean_text(comment, "comment"),
        apply=apply,
        data=lambda d: {"due_date": d.due_date, "round": d.supplement_round, **assessed},
        event_payload=lambda d: {
            "due_date": d.due_date.isoformat(),
            "restart": d.supplement_round > 0,
            **assessed,
        },
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
    raise PermissionDenied(_("You are not allowed to take this action on this dossier."))


def _clean_supplement_items(dossier: Dossier, items) -> list[dict]:
    spec = dossier.procedure_version.spec
    known = {c["code"] for c in spec["components"]} | {f["name"] for f in spec["fields"]}
    if not isinstance(items, list) or not items:
        raise ValidationError({"items": [_("Name at least one item to add or fix.")]})
    cleaned = []
    for item in items:
        if not isinstance(item, dict) or item.get("code") not in known:
            raise ValidationError(
                {"items": [_("Each item must name a component or field of this procedure.")]}
            )
        reason = clean_text(item.get("reason"), "items", required=True)
        cleaned.append({"code": item["code"], "reason": reason})
    return cleaned


def dossier_request_supplement(*, dossier: Dossier, by, items: list[dict], reason: str) -> Dossier:
    """Tell the applicant, once and completely, what to add or fix (Decree 61 art. 15).

    The clock stops: the appointment date is cleared, and a new one is set from zero when
    the complete dossier is received again.
    """
    reason = clean_text(reason, "reason", required=True)
    items = _clean_supplement_items(dossier, items)
    previous_due: dict = {}

    def apply(d: Dossier) -> Changes:
        previous_due["date"] = d.due_date
        return {"supplement_round": d.supplement_round + 1, "due_date": None}

    return _act(
        dossier,
        by,
        _supplement_transition(dossier, by),
        action="request_supplement",
        comment=reason,
        apply=apply,
        data=lambda d: {"items": items, "cleared_due_date": previous_due["date"]},
        event_payload={"items": items},
    )


def _close(d: Dossier) -> Changes:
    fee_cancel(d)  # a fee not paid yet is no longer owed
    return {"closed_at": timezone.now()}


def _finish(d: Dossier) -> Changes:
    """Closed with a decision: how it stood against its appointment date, and how many
    working days it took from its reception day."""
    now = timezone.now()
    return {
        "closed_at": now,
        "timeliness": timeliness(now, d.due_date),
        "processing_days": processing_days(d.received_at, now),
    }


def _decided(d: Dossier) -> Changes:
    return {"decided_at": timezone.now()}


def dossier_reject_at_reception(*, dossier: Dossier, by, reason: str) -> Dossier:
    reason = clean_text(reason, "reason", required=True)
    return _act(dossier, by, "reject_at_reception", comment=reason, apply=_close)


def dossier_withdraw(*, dossier: Dossier, by, reason: str = "") -> Dossier:
    return _act(dossier, by, "withdraw", comment=clean_text(reason, "reason"), apply=_close)


# --- Processing --------------------------------------------------------------------------------


def dossier_start_review(*, dossier: Dossier, by) -> Dossier:
    return _act(dossier, by, "start_review")


def dossier_propose(*, dossier: Dossier, by, decision: str, opinion: str) -> Dossier:
    """The specialist's appraisal: a proposal to approve or refuse, with an opinion."""
    if decision not in ("approve", "refuse"):
        raise ValidationError({"decision": [_("Propose either approve or refuse.")]})
    opinion = clean_text(opinion, "opinion", required=True)
    return _act(
        dossier,
        by,
        "propose",
        comment=opinion,
        data={"proposal": decision},
        event_payload={"proposal": decision},
    )


def dossier_send_back(*, dossier: Dossier, by, reason: str) -> Dossier:
    reason = clean_text(reason, "reason", required=True)
    return _act(dossier, by, "send_back", comment=reason)


def dossier_approve(*, dossier: Dossier, by, comment: str = "") -> Dossier:
    return _act(dossier, by, "approve", comment=clean_text(comment, "comment"), apply=_decided)


def dossier_refuse(*, dossier: Dossier, by, reason: str) -> Dossier:
    """A written refusal with reasons (Decree 61 art. 17)."""
    reason = clean_text(reason, "reason", required=True)
    return _act(
        dossier,
        by,
        "refuse",
        comment=reason,
        apply=lambda d: {**_decided(d), **_finish(d), **_close(d)},
    )


def dossier_sign(*, dossier: Dossier, by, comment: str = "") -> Dossier:
    return _act(dossier, by, "sign", comment=clean_text(comment, "comment"))


def dossier_issue(*, dossier: Dossier, by=None) -> Dossier:
    """The system's own step once the result is signed: the dossier closes."""
    return _act(dossier, by, "issue", apply=_finish)


def dossier_reschedule(*, dossier: Dossier, by, new_due_date: dt.date, reason: str) -> Dossier:
    """The apology letter: a new appointment date, with the reason, once per dossier."""
    reason = clean_text(reason, "reason", required=True)
    if type(new_due_date) is not dt.date:
        raise ValidationError({"new_due_date": [_("Enter a date.")]})
    previous_due: dict = {}

    def apply(d: Dossier) -> Changes:
        if d.due_date is None or new_due_date <= d.due_date:
            raise ValidationError(
                {"new_due_date": [_("The new date must be later than the current appointment.")]}
            )
        # One delay, not an open-ended one: a date past the bound is a typing slip (or
        # 9999-12-31, which every later date computation would choke on).
        calendar = working_calendar()
        latest = calendar.today() + dt.timedelta(days=settings.MOTCUA["RESCHEDULE_MAX_DAYS"])
        if new_due_date > latest:
            raise ValidationError(
                {
                    "new_due_date": [
                        _("The new date can be at most %(days)d days from today (%(date)s).")
                        % {
                            "days": settings.MOTCUA["RESCHEDULE_MAX_DAYS"],
                            "date": latest.strftime("%d/%m/%Y"),
                        }
                    ]
                }
            )
        if not calendar.is_working_day(new_due_date):
            raise ValidationError({"new_due_date": [_("The new date must be a working day.")]})
        previous_due["date"] = d.due_date
        return {"rescheduled_at": timezone.now(), "due_date": new_due_date}

    return _act(
        dossier,
        by,
        "reschedule",
        comment=reason,
        apply=apply,
        data=lambda d: {"new_due_date": new_due_date, "old_due_date": previous_due["date"]},
        event_payload={"new_due_date": new_due_date.isoformat()},
    )


def dossier_record_opinion(*, dossier: Dossier, by, unit: Agency, opinion: str) -> Dossier:
    """A consulted unit's opinion, kept in the history for the appraisal and the decision.

    The caller (services.work) has checked that ``by`` holds the consultation task.
    """
    opinion = clean_text(opinion, "opinion", required=True)
    with _locked(dossier) as locked:
        if locked.status != Status.IN_REVIEW:
            raise ActionNotAllowed(_("This dossier is no longer in review."))
        history_append(
            dossier=locked,
            actor=by,
            action="consult_opinion",
            from_status=locked.status,
            to_status=locked.status,
            comment=opinion,
            data={"unit": unit.code},
        )
        locked.save(update_fields=["history_count", "history_hash"])
        event_record(
            name="dossier.consult_opinion",
            dossier=locked,
            payload={"code": locked.code, "unit": unit.code},
        )
    return locked


def dossier_record_inspection(*, dossier: Dossier, by, day, place: str, findings: str) -> Dossier:
    """A field inspection made for the appraisal: the day, the place and what was found,
    on the dossier's record (the specialist's evidence for the proposal)."""
    errors: dict[str, list] = {}
    try:
        place = clean_text(place, "place", required=True, limit=500)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        findings = clean_text(findings, "findings", required=True)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if type(day) is not dt.date:
        errors["day"] = [_("Enter a date.")]
    elif day > local_date(timezone.now()):
        errors["day"] = [_("The inspection cannot be in the future.")]
    elif dossier.submitted_at is not None and day < local_date(dossier.submitted_at):
        errors["day"] = [_("The inspection cannot be before the dossier was filed.")]
    if errors:
        raise ValidationError(errors)
    if not has_agency_perm(by, "workflows.review_dossier", acting_agency_or(dossier)):
        raise PermissionDenied(_("You are not allowed to take this action on this dossier."))
    return dossier_note(
        dossier=dossier,
        by=by,
        action="inspection",
        comment=findings,
        data={"day": day.isoformat(), "place": place},
    )


def dossier_note(*, dossier: Dossier, by, action: str, comment: str = "", data=None) -> Dossier:
    """Record something that happened around the dossier without changing its state
    (who holds which task, and why). The caller has checked ``by`` may do it."""
    with _locked(dossier) as locked:
        history_append(
            dossier=locked,
            actor=by,
            action=action,
            from_status=locked.status,
            to_status=locked.status,
            comment=clean_text(comment, "comment"),
            data=data,
        )
        locked.save(update_fields=["history_count", "history_hash"])
    return locked


def dossier_rate(*, dossier: Dossier, by, score, comment: str = "") -> ServiceRating:
    """The applicant rates the service, once, after the dossier is finished."""
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise ValidationError({"score": [_("Choose a rating from 1 to 5.")]})
    comment = clean_text(comment, "comment", limit=2000)
    with _locked(dossier) as locked:
        if by is None or locked.applicant_user_id != by.pk:
            raise PermissionDenied(_("Only the applicant rates the service."))
        if locked.status not in (Status.ISSUED, Status.REFUSED):
            raise ActionNotAllowed(_("The service can be rated once the dossier is finished."))
        if ServiceRating.objects.filter(dossier=locked).exists():
            raise ActionNotAllowed(_("This dossier has already been rated."))
        rating = ServiceRating.objects.create(dossier=locked, score=score, comment=comment)
        history_append(
            dossier=locked,
            actor=by,
            action="rate",
            from_status=locked.status,
            to_status=locked.status,
            data={"score": score},
        )
        locked.save(update_fields=["history_count", "history_hash"])
    return rating
