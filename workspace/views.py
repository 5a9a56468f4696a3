"""What officers and supervisors see: queue, inbox, done, team, task pages, desk filing.

Every view checks who is asking (an officer, in scope) and answers 404 for anything out
of scope, so an id never tells an outsider that something exists. Writes go through one
service each; a service's refusal is shown in words, never as an error page.
"""

from __future__ import annotations

import uuid
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from access.models import AccessKind
from access.services import access_record
from config.bounds import query_ids
from documents import services as documents
from documents.forms import CertificateForm
from documents.signing import SigningError
from procedures.auth import has_agency_perm, held_roles
from procedures.forms import build_form_class
from procedures.models import Agency, Procedure
from procedures.roles import Role
from procedures.selectors import stage_names
from workflows import selectors, services, supervision
from workflows.clock import working_calendar
from workflows.exceptions import ActionNotAllowed, error_dict
from workflows.models import (
    CLOCK_RUNNING,
    Channel,
    DossierComponent,
    FeeStatus,
    Status,
    code_label,
)
from workflows.presentation import (
    applicant_values,
    component_response,
    erased_response,
    error_summary,
    fee_view,
)
from workflows.services import fees, work
from workflows.services.dossiers import dossier_create
from workflows.services.fees import fee_for_dossier
from workflows.services.filing import dossier_save_filing_post

from .forms import (
    AssignForm,
    FeeConfirmForm,
    RescheduleForm,
    TaskFilterForm,
    stage_forms,
    supplement_used,
)

PAGE_SIZE = 25
MAX_BULK = 100


def officer_required(view):
    """Officers only: anonymous users go to the login page, anyone else gets 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not selectors.is_officer(request.user):
            raise PermissionDenied(_("This area is for officers."))
        # What the navigation offers this officer.
        request.can_manage = selectors.can_manage_any(request.user)
        request.can_file = bool(selectors.can_file_at_desk(request.user))
        request.can_supervise = supervision.can_supervise(request.user)
        request.can_sign = any(h.role == Role.SIGNER for h in held_roles(request.user))
        return view(request, *args, **kwargs)

    return wrapper


def _procedures():
    return Procedure.objects.filter(current_version__isnull=False).select_related("current_version")


def _procedure_choices():
    # The list filter needs the names, not each version's whole specification.
    return _procedures().only("code", "current_version__name", "current_version__name_en")


# --- Lists ---------------------------------------------------------------------------------


LISTS = {
    "queue": (selectors.task_queue, gettext_lazy("Queue"), "open tasks offered to your roles"),
    "inbox": (selectors.task_inbox, gettext_lazy("Inbox"), "tasks you hold"),
    "done": (selectors.task_done, gettext_lazy("Done"), "tasks you finished"),
    "team": (selectors.team_tasks, gettext_lazy("Team"), "open tasks of the agencies you manage"),
}


# A searched list reads at most this many ids at once (see _task_list).
SEARCH_IDS = 1000

LIST_COLUMNS = (
    "pk",
    "due_date",
    "stage",
    "agency_id",
    "agency__code",
    "owner_id",
    "owner__first_name",
    "owner__last_name",
    "owner__username",
    "dossier_id",
    "dossier__code",
    "dossier__status",
    "dossier__applicant_name",
    "dossier__handling_agency_id",
    "dossier__procedure_version_id",
    "dossier__procedure_version__name",
    "dossier__procedure_version__name_en",
)


class ListRow:
    """One task of a list, from the columns the list shows."""

    __slots__ = (
        "pk",
        "url",
        "due_date",
        "due_iso",
        "due_text",
        "code",
        "applicant",
        "procedure",
        "stage_label",
        "unit",
        "holder",
    )

    def __init__(self, values: dict, url_prefix: str, stage_names: dict):
        self.pk = values["pk"]
        self.url = f"{url_prefix}{self.pk}/"
        due = self.due_date = values["due_date"]
        self.due_iso = due.isoformat() if due else ""
        self.due_text = due.strftime("%d/%m/%Y") if due else ""
        self.code = code_label(
            values["dossier__code"], values["dossier_id"], values["dossier__status"]
        )
        self.applicant = values["dossier__applicant_name"]
        english = translation.get_language() == "en"
        self.procedure = (english and values["dossier__procedure_version__name_en"]) or values[
            "dossier__procedure_version__name"
        ]
        version = stage_names.get(values["dossier__procedure_version_id"])
        self.stage_label = version.stage_name(values["stage"]) if version else values["stage"]
        # A consulted unit's task shows which unit it belongs to.
        consulted = values["agency_id"] != values["dossier__handling_agency_id"]
        self.unit = values["agency__code"] if consulted else ""
        name = f"{values['owner__first_name']} {values['owner__last_name']}".strip()
        self.holder = (name or values["owner__username"]) if values["owner_id"] else ""


def _task_list(request: HttpRequest, name: str) -> HttpResponse:
    select, title, _help = LISTS[name]
    if name == "team" and not selectors.can_manage_any(request.user):
        raise Http404
    form = TaskFilterForm(request.GET or None, procedures=_procedure_choices())
    filters = form.filters()
    tasks: QuerySet = select(user=request.user, filters=filters)
    # The page's tasks are found by id first, which the list's own index answers alone
    # (a "done" list of 26,000 tasks, searched or not, never reads the table's rows); then
    # the rows shown are read with the columns they show, not as model instances: building
    # a task with its dossier, version, agency and owner was most of the page's Python time.
    ids = tasks.values_list("pk", flat=True)
    if filters.q.strip():
        # A search finds few: its ids in one read of the index, counted and paged here (a
        # COUNT and a page would read the same index entries twice). Past SEARCH_IDS, the
        # database counts and pages as for an unsearched list.
        found = list(ids[: SEARCH_IDS + 1])
        if len(found) <= SEARCH_IDS:
            ids = found
    page = Paginator(ids, PAGE_SIZE).get_page(request.GET.get("page"))
    shown = selectors.task_list_rows(list(page.object_list), LIST_COLUMNS)
    query = request.GET.copy()
    query.pop("page", None)
    calendar = working_calendar()
    # One reverse() for the page: every row's link differs only by its id.
    url_prefix = reverse("workspace:task", args=[0]).removesuffix("0/")
    names = stage_names(values["dossier__procedure_version_id"] for values in shown)
    rows = [
        (ListRow(values, url_prefix, names), selectors.clock_for(values["due_date"], calendar))
        for values in shown
    ]
    return render(
        request,
        "workspace/task_list.html",
        {
            "list_name": name,
            "title": title,
            "form": form,
            "page": page,
            "rows": rows,
            "query": query.urlencode(),
            "bulk": name == "queue",
        },
    )


@officer_required
def home(request):
    return redirect("workspace:queue")


@officer_required
def queue(request):
    return _task_list(request, "queue")


@officer_required
def inbox(request):
    return _task_list(request, "inbox")


@officer_required
def done(request):
    return _task_list(request, "done")


@officer_required
def team(request):
    return _task_list(request, "team")


@officer_required
@require_POST
def bulk_claim(request):
    """Claim several queue tasks at once; each is claimed on its own, and each outcome said."""
    ids = query_ids(request.POST, "task", limit=MAX_BULK)
    claimed, missed = 0, 0
    for pk in ids:
        task = selectors.task_for(user=request.user, pk=pk)
        if task is None:
            missed += 1
            continue
        try:
            work.task_claim(task=task, by=request.user)
            claimed += 1
        except (ActionNotAllowed, PermissionDenied):
            missed += 1
    if claimed:
        messages.success(request, _("%(n)d task(s) moved to your inbox.") % {"n": claimed})
    if missed:
        messages.warning(
            request,
            _("%(n)d task(s) could not be claimed: taken by someone else, or no longer open.")
            % {"n": missed},
        )
    if not claimed and not missed:
        messages.info(request, _("Tick the tasks you want to claim."))
    return redirect("workspace:queue")


# --- The task page -------------------------------------------------------------------------


def _task_or_404(request, pk) -> object:
    task = selectors.task_for(user=request.user, pk=pk)
    if task is None:
        raise Http404
    return task


def _render_task(request, task, *, action_forms=None, assign_form=None, status=200):
    dossier = task.dossier
    timeline = selectors.dossier_timeline(dossier=dossier)
    held_by_me = task.owner_id == request.user.pk and task.status == "ASSIGNED"
    manager = work.can_manage(request.user, task)
    context = {
        "task": task,
        "dossier": dossier,
        "form_rows": selectors.dossier_form_rows(dossier),
        "components": selectors.dossier_component_rows(dossier),
        "timeline": timeline,
        "opinions": selectors.dossier_opinions(timeline, dossier=dossier),
        "task_clock": selectors.clock_for(task.due_date),
        "dossier_clock": selectors.clock_for(dossier.due_date),
        "held_by_me": held_by_me,
        "can_claim": task.status == "NEW" and work.can_take(request.user, task),
        "can_release": task.status == "ASSIGNED" and (held_by_me or manager),
        "manager": manager and task.status in ("NEW", "ASSIGNED"),
        "action_forms": (action_forms or stage_forms(task)) if held_by_me else [],
        "supplement_used": held_by_me and supplement_used(task),
        "assign_form": assign_form
        or (AssignForm(officers=selectors.eligible_officers(task)) if manager else None),
        "documents": documents.dossier_documents(dossier),
        "signing": _signing_context(request.user, task) if held_by_me else None,
        **_fee_context(request.user, dossier),
    }
    return render(request, "workspace/task.html", context, status=status)


def _signing_context(user, task) -> dict | None:
    if "sign" not in work.stage_actions(task):
        return None
    return {
        "result": documents.current_result(task.dossier),
        "credential": documents.active_credential(user),
        "seal": documents.seal_available(task.dossier),
    }


@officer_required
def task_detail(request, pk):
    task = _task_or_404(request, pk)
    access_record(dossier=task.dossier, by=request.user, kind=AccessKind.DOSSIER, request=request)
    return _render_task(request, task)


def _back(task) -> HttpResponse:
    return redirect("workspace:task", pk=task.pk)


def _task_step(request, pk, step, done_message) -> HttpResponse:
    task = _task_or_404(request, pk)
    try:
        step(task=task, by=request.user)
        messages.success(request, done_message)
    except (ActionNotAllowed, PermissionDenied) as exc:
        messages.error(request, str(exc))
    return _back(task)


@officer_required
@require_POST
def task_claim(request, pk):
    return _task_step(request, pk, work.task_claim, _("The task is in your inbox."))


@officer_required
@require_POST
def task_release(request, pk):
    return _task_step(request, pk, work.task_release, _("The task is back in the queue."))


@officer_required
@require_POST
def task_assign(request, pk):
    task = _task_or_404(request, pk)
    if not work.can_manage(request.user, task):
        raise PermissionDenied(_("Only the head or a supervisor of this agency assigns tasks."))
    form = AssignForm(request.POST, officers=selectors.eligible_officers(task))
    if not form.is_valid():
        return _render_task(request, task, assign_form=form, status=400)
    try:
        work.task_assign(
            task=task,
            by=request.user,
            to=form.cleaned_data["to"],
            reason=form.cleaned_data["reason"],
        )
        messages.success(request, _("The task was assigned."))
    except ValidationError as exc:
        form.add_error(None, exc)
        return _render_task(request, task, assign_form=form, status=400)
    except ActionNotAllowed as exc:
        messages.error(request, str(exc))
    return _back(task)


@sensitive_post_parameters("sign-password")
@officer_required
@require_POST
def task_act(request, pk):
    """Complete the task with one of its stage's actions."""
    task = _task_or_404(request, pk)
    action = request.POST.get("action", "")
    bound = stage_forms(task, request.POST, action)
    form = next((f for name, _label, f in bound if name == action), None)
    if form is None:
        messages.error(request, _("Choose one of this stage's actions."))
        return _back(task)
    if not form.is_valid():
        return _render_task(request, task, action_forms=bound, status=400)
    # The certificate's password does its work in this request and goes no further.
    data = {k: v for k, v in form.cleaned_data.items() if k != "password"}
    try:
        if action == "sign":
            # One service signs the result and completes the stage (documents.task_sign).
            dossier = documents.task_sign(
                task=task,
                by=request.user,
                password=form.cleaned_data.get("password", ""),
                personal=bool(data.get("personal")),
                seal=bool(data.get("seal")),
                comment=data.get("comment", ""),
            )
        else:
            dossier = work.task_complete(task=task, by=request.user, action=action, form=data)
    except SigningError as exc:
        form.add_error(None, str(exc))
        return _render_task(request, task, action_forms=bound, status=400)
    except ValidationError as exc:
        for field, errors in error_dict(exc).items():
            target = field if field in form.fields else None
            for error in errors:
                form.add_error(target, error)
        return _render_task(request, task, action_forms=bound, status=400)
    except (ActionNotAllowed, PermissionDenied) as exc:
        messages.error(request, str(exc))
        return _back(task)
    messages.success(
        request,
        _("Done. Dossier %(code)s is now: %(status)s.")
        % {"code": dossier.code_label, "status": dossier.get_status_display()},
    )
    return redirect("workspace:inbox")


@sensitive_post_parameters("password")
@officer_required
def certificate(request):
    """The official's own signing certificate: what is on file, and a new upload."""
    form = CertificateForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                documents.credential_upload(
                    user=request.user,
                    data=form.cleaned_data["file"].read(),
                    password=form.cleaned_data["password"],
                )
            except ValidationError as exc:
                for field, errors in error_dict(exc).items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(request, _("Your signing certificate is on file."))
                return redirect("workspace:certificate")
        status = 400
    return render(
        request,
        "workspace/certificate.html",
        {"form": form, "credential": documents.active_credential(request.user)},
        status=status,
    )


# --- Dossiers and their files --------------------------------------------------------------


def _dossier_or_404(request, pk):
    dossier = selectors.dossier_for_officer(user=request.user, pk=pk)
    if dossier is None:
        raise Http404
    return dossier


def _can_reschedule(user, dossier) -> bool:
    return (
        dossier.status in CLOCK_RUNNING
        and dossier.rescheduled_at is None
        and has_agency_perm(user, "workflows.approve_dossier", dossier)
    )


@officer_required
def dossier_detail(request, pk, reschedule_form=None, status=200, fee_form=None):
    dossier = _dossier_or_404(request, pk)
    access_record(dossier=dossier, by=request.user, kind=AccessKind.DOSSIER, request=request)
    timeline = selectors.dossier_timeline(dossier=dossier)
    return render(
        request,
        "workspace/dossier.html",
        {
            "dossier": dossier,
            "form_rows": selectors.dossier_form_rows(dossier),
            "components": selectors.dossier_component_rows(dossier),
            "timeline": timeline,
            "opinions": selectors.dossier_opinions(timeline, dossier=dossier),
            "dossier_clock": selectors.clock_for(dossier.due_date),
            "draft": dossier.status == Status.DRAFT,
            "reschedule_form": reschedule_form
            or (RescheduleForm() if _can_reschedule(request.user, dossier) else None),
            "documents": documents.dossier_documents(dossier),
            **_fee_context(request.user, dossier, fee_form),
            "desk_supplement": dossier.status == Status.SUPPLEMENT_REQUESTED
            and dossier.channel != Channel.ONLINE
            and has_agency_perm(request.user, "workflows.file_at_desk", dossier),
        },
        status=status,
    )


@officer_required
def component_file(request, pk, component_pk):
    """Stream a dossier file to an officer in scope: inline to preview, else to download."""
    dossier = _dossier_or_404(request, pk)
    component = get_object_or_404(DossierComponent, pk=component_pk, dossier=dossier)
    if component.erased_at is not None:
        return erased_response(
            request,
            erased_at=component.erased_at,
            back=reverse("workspace:dossier", args=[dossier.pk]),
        )
    preview = request.GET.get("preview") == "1"
    response = component_response(component, preview=preview)
    kind = AccessKind.FILE_PREVIEW if preview else AccessKind.FILE_DOWNLOAD
    access_record(dossier=dossier, by=request.user, kind=kind, obj=component, request=request)
    return response


@officer_required
@require_POST
def dossier_reschedule(request, pk):
    """A head approves the apology letter: the reason and the new date, once."""
    dossier = _dossier_or_404(request, pk)
    if not _can_reschedule(request.user, dossier):
        raise PermissionDenied(_("Only a head of the handling agency reschedules, once."))
    form = RescheduleForm(request.POST)
    if form.is_valid():
        try:
            services.dossier_reschedule(
                dossier=dossier,
                by=request.user,
                new_due_date=form.cleaned_data["new_due_date"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        except (ActionNotAllowed, PermissionDenied) as exc:
            messages.error(request, str(exc))
            return redirect("workspace:dossier", pk=dossier.pk)
        else:
            messages.success(request, _("The new appointment date is set; the applicant is told."))
            return redirect("workspace:dossier", pk=dossier.pk)
    return dossier_detail.__wrapped__(request, pk, reschedule_form=form, status=400)


def _form_errors(form, exc: ValidationError) -> None:
    """A service's field errors on the form's fields (others above the form)."""
    for field, errors in error_dict(exc).items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


def _fee_context(user, dossier, form=None) -> dict:
    """The dossier's fee, and the desk's form to record its payment where it may."""
    fee = fee_for_dossier(dossier=dossier)
    can_confirm = (
        fee is not None
        and fee.status == FeeStatus.DUE
        and has_agency_perm(user, fees.DESK_PERM, dossier)
    )
    return {
        "fee": fee_view(fee),
        "fee_form": (form or FeeConfirmForm()) if can_confirm else None,
    }


@officer_required
@require_POST
def fee_confirm(request, pk):
    """The desk records the fee paid at the desk or by transfer; the flow resumes if the
    dossier was waiting for it."""
    dossier = _dossier_or_404(request, pk)
    fee = fee_for_dossier(dossier=dossier)
    if not has_agency_perm(request.user, fees.DESK_PERM, dossier):
        raise PermissionDenied(_("Only the one-stop desk of this agency records payments."))
    if fee is None:
        raise Http404
    form = FeeConfirmForm(request.POST)
    if form.is_valid():
        try:
            recorded = fees.fee_confirm_at_desk(
                fee=fee,
                by=request.user,
                reference=form.cleaned_data["reference"],
                channel=form.cleaned_data["channel"],
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        except (ActionNotAllowed, PermissionDenied) as exc:
            messages.error(request, str(exc))
            return redirect("workspace:dossier", pk=dossier.pk)
        else:
            if recorded:
                messages.success(request, _("The payment is recorded; the applicant is told."))
            else:
                messages.info(request, _("This fee had already been paid: nothing changed."))
            return redirect("workspace:dossier", pk=dossier.pk)
    return dossier_detail.__wrapped__(request, pk, fee_form=form, status=400)


# --- Filing at the desk --------------------------------------------------------------------


def _desk_agencies(request) -> list[Agency]:
    agencies = selectors.can_file_at_desk(request.user)
    if not agencies:
        raise PermissionDenied(_("Only reception officers file dossiers at the desk."))
    return agencies


@officer_required
def file_start(request):
    """Pick the procedure of a walk-in applicant's dossier."""
    agencies = _desk_agencies(request)
    choices = [
        (
            agency,
            list(_procedures().filter(is_active=True, current_version__agency_level=agency.kind)),
        )
        for agency in agencies
    ]
    return render(request, "workspace/file_start.html", {"choices": choices})


def _draft_context(dossier, form, errors, channel, post=None):
    return {
        "applicant": applicant_values(post, dossier),
        "summary": error_summary(dossier.procedure_version, errors) if dossier else [],
        "dossier": dossier,
        "form": form,
        "errors": errors,
        "applicant_errors": {
            key.split(".", 1)[1]: value
            for key, value in errors.items()
            if key.startswith("applicant.")
        },
        "components": selectors.dossier_component_rows(dossier) if dossier else [],
        "channel": channel,
    }


@officer_required
def file_new(request, agency_code, procedure_code):
    """A new dossier for a walk-in applicant, filed by the desk."""
    agency = next((a for a in _desk_agencies(request) if a.code == agency_code), None)
    procedure = Procedure.objects.filter(code=procedure_code, is_active=True).first()
    if agency is None or procedure is None or procedure.current_version is None:
        raise Http404
    if request.method != "POST":
        form_class = build_form_class(procedure.current_version.spec)
        return render(
            request,
            "workspace/file_form.html",
            {
                **_draft_context(None, form_class(), {}, Channel.DESK),
                "agency": agency,
                "procedure": procedure,
                "version": procedure.current_version,
                "filing_key": uuid.uuid4(),
            },
        )
    channel = request.POST.get("channel")
    if channel not in (Channel.DESK, Channel.POST):
        channel = Channel.DESK
    try:
        key = uuid.UUID(request.POST.get("filing_key", ""))
    except ValueError:
        key = None
    try:
        dossier = dossier_create(
            procedure=procedure,
            handling_agency=agency,
            channel=channel,
            by=request.user,
            filing_key=key,
        )
    except (ActionNotAllowed, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        return redirect("workspace:file")
    if dossier.status != Status.DRAFT:
        messages.info(request, _("This dossier has already been filed."))
        return redirect("workspace:dossier", pk=dossier.pk)
    return _file_post(request, dossier)


def _draft_or_404(request, pk):
    dossier = _dossier_or_404(request, pk)
    if dossier.channel == Channel.ONLINE or not has_agency_perm(
        request.user, "workflows.file_at_desk", dossier
    ):
        raise Http404
    return dossier


@officer_required
def file_draft(request, pk):
    """Continue a desk draft: what was typed and uploaded is all here."""
    dossier = _draft_or_404(request, pk)
    if dossier.status not in (Status.DRAFT, Status.SUPPLEMENT_REQUESTED):
        messages.info(request, _("This dossier has already been filed."))
        return redirect("workspace:dossier", pk=dossier.pk)
    if request.method == "POST":
        return _file_post(request, dossier)
    form_class = build_form_class(dossier.procedure_version.spec)
    form = form_class(initial=dossier.form_data)
    return render(
        request,
        "workspace/file_form.html",
        {
            **_draft_context(dossier, form, {}, dossier.channel),
            "agency": dossier.handling_agency,
            "procedure": dossier.procedure_version.procedure,
            "version": dossier.procedure_version,
        },
    )


def _file_post(request, dossier):
    try:
        dossier, errors = dossier_save_filing_post(
            dossier=dossier, by=request.user, post=request.POST, files=request.FILES
        )
    except (ActionNotAllowed, PermissionDenied) as exc:
        messages.error(request, str(exc))
        return redirect("workspace:dossier", pk=dossier.pk)
    if request.POST.get("submit") and not errors:
        try:
            dossier = work.application_file(dossier=dossier, by=request.user)
        except ValidationError as exc:
            errors.update(error_dict(exc))
        except ActionNotAllowed as exc:
            messages.info(request, str(exc))
            return redirect("workspace:dossier", pk=dossier.pk)
        else:
            messages.success(
                request,
                _(
                    "Dossier %(reference)s is filed and waits at the desk for reception, "
                    "which gives it its code."
                )
                % {"reference": dossier.reference},
            )
            return redirect("workspace:dossier", pk=dossier.pk)
    if not errors:
        messages.success(request, _("The draft is saved."))
        return redirect(reverse("workspace:draft", args=[dossier.pk]))
    form_class = build_form_class(dossier.procedure_version.spec)
    form = form_class(data=request.POST)
    form.is_valid()
    return render(
        request,
        "workspace/file_form.html",
        {
            **_draft_context(dossier, form, errors, dossier.channel, post=request.POST),
            "agency": dossier.handling_agency,
            "procedure": dossier.procedure_version.procedure,
            "version": dossier.procedure_version,
        },
        status=400,
    )
