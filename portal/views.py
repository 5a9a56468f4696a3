"""What citizens see: the catalog, applying online, their dossiers, the public lookup.

Pages are rendered on the server and work without JavaScript. A citizen reaches only
their own dossiers: anything else is a 404, so an id tells nobody that it exists.
"""

from __future__ import annotations

import uuid

from allauth.socialaccount.models import SocialAccount
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST
from django_ratelimit.core import is_ratelimited

from access.models import AccessKind
from access.selectors import applicant_accesses
from access.services import access_record
from connectors.identity.claims import configured as national_identity
from connectors.population import services as population
from documents import services as documents
from documents.models import DocumentStatus
from documents.views import pdf_response
from procedures.ethnic_groups import ethnic_group_from_name
from procedures.flowdraw import steps as flow_steps
from procedures.forms import build_form_class, field_choices
from procedures.models import Agency, Procedure
from workflows import selectors as workflow_selectors
from workflows import services
from workflows.clock import working_calendar
from workflows.exceptions import ActionNotAllowed, error_dict
from workflows.models import FINAL, WITHDRAWABLE, Channel, DossierComponent, ServiceRating, Status
from workflows.presentation import (
    applicant_values,
    component_response,
    erased_response,
    error_summary,
    fee_view,
)
from workflows.services import work
from workflows.services.dossiers import dossier_create
from workflows.services.fees import fee_for_dossier
from workflows.services.filing import (
    dossier_filing_problems,
    dossier_save_filing_post,
)
from workflows.store import reuse_choices

from . import selectors
from .forms import (
    CatalogSearchForm,
    DeclarationForm,
    LookupForm,
    ProfileForm,
    RatingForm,
    WithdrawForm,
)
from .models import CitizenProfile

# --- Catalog ---------------------------------------------------------------------------------


def home(request):
    agencies = list(Agency.objects.exclude(kind=Agency.Kind.DEPARTMENT).order_by("path"))
    form = CatalogSearchForm(request.GET or None, sectors=selectors.sectors(), agencies=agencies)
    query = sector = ""
    agency = None
    if form.is_valid():
        query, sector = form.cleaned_data["q"].strip(), form.cleaned_data["sector"]
        agency = next((a for a in agencies if a.code == form.cleaned_data["agency"]), None)
    procedures = selectors.catalog(query=query, sector=sector, agency=agency)
    return render(
        request,
        "portal/home.html",
        {"procedures": procedures, "query": query, "form": form, "searched": form.is_bound},
    )


def procedure_detail(request, code):
    procedure = get_object_or_404(
        Procedure.objects.select_related("current_version"), code=code, is_active=True
    )
    version = procedure.current_version
    if version is None:
        raise Http404
    return render(
        request,
        "portal/procedure.html",
        {
            "procedure": procedure,
            "version": version,
            "spec": version.spec,
            # The steps to expect, from the procedure's own workflow (procedures.flowdraw).
            "steps": flow_steps(version.spec, english=translation.get_language() == "en"),
        },
    )


@never_cache
@login_required
def after_login(request):
    """Officers go to their workspace, citizens to their dossiers."""
    if workflow_selectors.is_officer(request.user):
        return redirect("workspace:home")
    return redirect("portal:my_dossiers")


# --- Profile ---------------------------------------------------------------------------------


def _profile(user) -> CitizenProfile:
    profile = CitizenProfile.objects.filter(user=user).first()
    return profile or CitizenProfile(user=user, full_name=user.get_full_name())


@never_cache
@login_required
def profile(request):
    instance = _profile(request.user)
    form = ProfileForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            profile = form.save()
            # The account carries the name too: the header, the officers' timeline and
            # the messages name the person (Vietnamese order, whole name in first_name).
            user, name = request.user, profile.full_name[:150]  # first_name's length
            if (user.first_name, user.last_name) != (name, ""):
                user.first_name, user.last_name = name, ""
                user.save(update_fields=["first_name", "last_name"])
        messages.success(request, _("Your profile is saved. New forms are filled from it."))
        return redirect("portal:profile")
    context = {
        "form": form,
        "profile": instance,
        "national_identity": national_identity() is not None,
        "national_linked": SocialAccount.objects.filter(
            user=request.user, provider="vneid"
        ).exists(),
    }
    return render(request, "portal/profile.html", context, status=400 if form.errors else 200)


def _profile_prefill(user, spec) -> tuple[dict, dict]:
    """Applicant fields and form fields filled from the profile, where they match."""
    profile = CitizenProfile.objects.filter(user=user).first()
    applicant = {"name": user.get_full_name(), "email": user.email}
    if profile is None:
        return applicant, {}
    applicant.update(
        name=profile.full_name,
        id_number=profile.id_number,
        address=profile.full_address(),
        phone=profile.phone,
    )
    known = {
        "full_name": profile.full_name,
        "date_of_birth": profile.date_of_birth.isoformat() if profile.date_of_birth else "",
        "citizen_id": profile.id_number,
        "id_number": profile.id_number,
        "phone": profile.phone,
        "email": user.email,
        "contact_email": user.email,
        "commune": profile.commune,
        "village": profile.address,
    }
    initial = {}
    for field in spec["fields"]:
        name = field["name"]
        if name in known and known[name]:
            initial[name] = known[name]
        elif name == "ethnic_group" and profile.ethnic_group:
            match = _ethnic_choice(field, profile.ethnic_group)
            if match:
                initial[name] = match
    return applicant, initial


def _ethnic_choice(field: dict, code: str) -> str | None:
    """The value of the form's choice that is the profile's group (a GSO code): the code
    itself in an ethnic-group field; in a plain choice field (a version loaded before the
    one list), the choice whose value or label names that group ("H'Mông" is "Mông")."""
    if field["type"] == "ethnic_group":
        return code if code in dict(field_choices(field)) else None
    for choice in field.get("choices") or []:
        for name in (choice["value"], choice["label"]["vi"], choice["label"]["en"]):
            group = ethnic_group_from_name(name)
            if group is not None and group.code == code:
                return choice["value"]
    return None


# --- Applying --------------------------------------------------------------------------------


def _open_procedure(code) -> Procedure:
    procedure = (
        Procedure.objects.filter(code=code, is_active=True)
        .select_related("current_version")
        .first()
    )
    if procedure is None or procedure.current_version is None:
        raise Http404
    return procedure


def _filing_page(
    request,
    *,
    procedure,
    version,
    dossier,
    form,
    errors,
    agencies=None,
    agency=None,
    filing_key=None,
    applicant=None,
    status=200,
):
    request_entry = (
        selectors.latest_supplement_request(dossier)
        if dossier is not None and dossier.status == Status.SUPPLEMENT_REQUESTED
        else None
    )
    return render(
        request,
        "portal/apply.html",
        {
            "procedure": procedure,
            "version": version,
            "dossier": dossier,
            "form": form,
            "errors": errors,
            "summary": error_summary(version, errors),
            "applicant_errors": {
                key.split(".", 1)[1]: value
                for key, value in errors.items()
                if key.startswith("applicant.")
            },
            "applicant": applicant
            if applicant is not None
            else applicant_values(request.POST, dossier),
            "components": workflow_selectors.dossier_component_rows(dossier) if dossier else [],
            # The citizen's earlier papers that fit each component (the data store).
            "reuse": reuse_choices(user=request.user, spec=version.spec, dossier=dossier),
            "agencies": agencies or [],
            "agency": agency,
            "filing_key": filing_key,
            "request_entry": request_entry,
            "items": selectors.supplement_items(dossier, request_entry) if dossier else [],
        },
        status=status,
    )


@never_cache
@login_required
def apply(request, code):
    """A new online application: the form generated from the procedure, filled from the
    profile. The first post makes the draft; everything after it goes to the draft."""
    procedure = _open_procedure(code)
    version = procedure.current_version
    agencies = list(selectors.filing_agencies(procedure))
    form_class = build_form_class(version.spec)
    chosen = request.POST.get("agency") if request.method == "POST" else request.GET.get("agency")
    agency = next((a for a in agencies if a.code == chosen), None)
    if agency is None and len(agencies) == 1:
        agency = agencies[0]
    if agency is None and request.method != "POST":
        profile = CitizenProfile.objects.filter(user=request.user).first()
        province = profile.province if profile else ""
        agency = next((a for a in agencies if province and a.province == province), None)
    if agency is None:
        # Where to file comes first, on its own page: the form with its uploads is only
        # shown once the dossier can be kept, so no file is ever sent for nothing.
        return render(
            request,
            "portal/apply_where.html",
            {
                "procedure": procedure,
                "version": version,
                "agencies": agencies,
                "invalid": chosen is not None,
            },
            status=400 if chosen is not None else 200,
        )
    if request.method != "POST":
        applicant, initial = _profile_prefill(request.user, version.spec)
        filing_key = uuid.uuid4()
        prefill = _register_prefill(request, version.spec, filing_key)
        if prefill is not None:
            initial.update(prefill.values)
        form = form_class(initial=initial)
        if prefill is not None:
            prefill.mark(form)
        return _filing_page(
            request,
            procedure=procedure,
            version=version,
            dossier=None,
            form=form,
            errors={},
            agencies=agencies,
            agency=agency,
            filing_key=filing_key,
            applicant=applicant,
        )
    try:
        key = uuid.UUID(request.POST.get("filing_key", ""))
    except ValueError:
        key = None
    try:
        dossier = dossier_create(
            procedure=procedure,
            handling_agency=agency,
            channel=Channel.ONLINE,
            by=request.user,
            applicant_user=request.user,
            filing_key=key,
        )
    except (ActionNotAllowed, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        return redirect("portal:procedure", code=procedure.code)
    if dossier.status != Status.DRAFT:
        return redirect("portal:dossier", pk=dossier.pk)
    population.population_lookup_attach(dossier=dossier, user=request.user, filing_key=key)
    return _save_and_continue(request, dossier)


def _register_prefill(request, spec: dict, filing_key) -> population.Prefill | None:
    """For a citizen whose ID number is verified, what the population register fills in
    this new form; the citizen is told plainly when it cannot (they type it themselves)."""
    id_number = population.verified_id_number(request.user)
    if not id_number or not population.prefills(spec) or population.get_register() is None:
        return None
    lookup, _person = population.population_lookup(
        user=request.user, id_number=id_number, filing_key=filing_key, spec=spec
    )
    prefill = population.Prefill.of(lookup)
    if prefill is not None:
        messages.info(request, population.NOTICES[lookup.outcome])
    elif lookup.outcome != population.LookupOutcome.FOUND:
        messages.warning(request, population.NOTICES[lookup.outcome])
    return prefill


def _my_dossier_or_404(request, pk):
    """The citizen's own dossier; anyone else's is a 404, as if it did not exist."""
    dossier = selectors.my_dossier(user=request.user, pk=pk)
    if dossier is None:
        raise Http404
    return dossier


@never_cache
@login_required
def edit(request, pk):
    """Go on with a draft, or answer a supplement request."""
    dossier = _my_dossier_or_404(request, pk)
    if dossier.status not in (Status.DRAFT, Status.SUPPLEMENT_REQUESTED):
        messages.info(request, _("This dossier can no longer be changed."))
        return redirect("portal:dossier", pk=dossier.pk)
    if request.method == "POST":
        return _save_and_continue(request, dossier)
    version = dossier.procedure_version
    form = build_form_class(version.spec)(initial=dossier.form_data)
    prefill = population.dossier_prefill(dossier=dossier)
    if prefill is not None:
        prefill.mark(form, data=dossier.form_data)
    return _filing_page(
        request,
        procedure=version.procedure,
        version=version,
        dossier=dossier,
        form=form,
        errors={},
    )


def _save_and_continue(request, dossier):
    version = dossier.procedure_version
    # Fields the population register filled read-only keep its values, whatever is posted.
    prefill = population.dossier_prefill(dossier=dossier)
    post, pinned = prefill.pin(request.POST) if prefill is not None else (request.POST, {})
    try:
        dossier, errors = dossier_save_filing_post(
            dossier=dossier, by=request.user, post=post, files=request.FILES
        )
    except (ActionNotAllowed, PermissionDenied) as exc:
        messages.error(request, str(exc))
        return redirect("portal:dossier", pk=dossier.pk)
    errors = {**errors, **{k: errors.get(k, []) + v for k, v in pinned.items()}}
    if not errors and request.POST.get("review"):
        errors = dossier_filing_problems(dossier)
        if not errors:
            return redirect("portal:review", pk=dossier.pk)
    if not errors:
        messages.success(request, _("Your draft is saved. You can come back to it any time."))
        return redirect("portal:edit", pk=dossier.pk)
    form = build_form_class(version.spec)(data=post)
    form.is_valid()
    if prefill is not None:
        prefill.mark(form, data=post)
    return _filing_page(
        request,
        procedure=version.procedure,
        version=version,
        dossier=dossier,
        form=form,
        errors=errors,
        status=400,
    )


@never_cache
@login_required
def review(request, pk):
    """Everything once more, the declaration, and the one button that files it."""
    dossier = _my_dossier_or_404(request, pk)
    if dossier.status not in (Status.DRAFT, Status.SUPPLEMENT_REQUESTED):
        return redirect("portal:dossier", pk=dossier.pk)
    declaration = DeclarationForm(request.POST or None)
    problems = dossier_filing_problems(dossier)
    if request.method == "POST" and declaration.is_valid() and not problems:
        try:
            dossier = work.application_file(dossier=dossier, by=request.user)
        except ValidationError as exc:
            problems = error_dict(exc)
        except ActionNotAllowed as exc:
            messages.info(request, str(exc))
            return redirect("portal:dossier", pk=dossier.pk)
        else:
            # The receipt, with the code and the lookup code, comes with the reception.
            messages.success(
                request,
                _(
                    "Your dossier is filed. The one-stop desk checks it and, when it accepts "
                    "it, gives it its code, the lookup code and the receipt."
                ),
            )
            return redirect("portal:dossier", pk=dossier.pk)
    return render(
        request,
        "portal/review.html",
        {
            "dossier": dossier,
            "form_rows": workflow_selectors.dossier_form_rows(dossier),
            "components": workflow_selectors.dossier_component_rows(dossier),
            "declaration": declaration,
            "summary": error_summary(dossier.procedure_version, problems),
            "problems": problems,
        },
        status=400 if request.method == "POST" else 200,
    )


# --- After filing ------------------------------------------------------------------------------


def _expected_appointment(dossier):
    if dossier.due_date:
        return dossier.due_date
    if dossier.submitted_at and dossier.status in (Status.SUBMITTED,):
        return working_calendar().due_date(
            dossier.submitted_at, dossier.procedure_version.time_limit_days
        )
    return None


@never_cache
@login_required
def receipt(request, pk):
    dossier = _my_dossier_or_404(request, pk)
    if dossier.code is None:
        raise Http404
    return render(
        request,
        "portal/receipt.html",
        {
            "dossier": dossier,
            "components": workflow_selectors.dossier_component_rows(dossier),
            "papers": documents.issued_documents(dossier),
            "expected": _expected_appointment(dossier),
            "lookup_url": request.build_absolute_uri(reverse("portal:lookup")),
        },
    )


@never_cache
@login_required
def my_dossiers(request):
    dossiers = selectors.my_dossiers(user=request.user)
    return render(request, "portal/my_dossiers.html", {"dossiers": dossiers})


@never_cache
@login_required
def dossier_detail(request, pk, *, withdraw_form=None, rating_form=None, status=200):
    """The citizen's dossier; a refused withdrawal or rating comes back here with its
    errors and what was typed."""
    dossier = _my_dossier_or_404(request, pk)
    request_entry = (
        selectors.latest_supplement_request(dossier)
        if dossier.status == Status.SUPPLEMENT_REQUESTED
        else None
    )
    rating = ServiceRating.objects.filter(dossier=dossier).first()
    return render(
        request,
        "portal/dossier.html",
        {
            "dossier": dossier,
            "next_step": selectors.NEXT_STEP.get(dossier.status, ""),
            "whereabouts": workflow_selectors.dossier_whereabouts(dossier)
            if dossier.status not in FINAL
            else [],
            "notice": workflow_selectors.dossier_notice(dossier),
            "timeline": selectors.citizen_timeline(dossier),
            "request_entry": request_entry,
            "items": selectors.supplement_items(dossier, request_entry),
            "reasons": selectors.reasons(dossier)
            if dossier.status in (Status.REFUSED, Status.REJECTED_AT_RECEPTION)
            else None,
            "components": workflow_selectors.dossier_component_rows(dossier),
            "papers": documents.issued_documents(dossier),
            "expected": _expected_appointment(dossier),
            "can_withdraw": dossier.status in WITHDRAWABLE,
            "fee": fee_view(fee_for_dossier(dossier=dossier)),
            "withdraw_form": withdraw_form or WithdrawForm(),
            "rating_form": (rating_form or RatingForm())
            if dossier.status in (Status.ISSUED, Status.REFUSED) and rating is None
            else None,
            "rating": rating,
            "accesses": applicant_accesses(dossier=dossier),
        },
        status=status,
    )


@never_cache
@login_required
@require_POST
def withdraw(request, pk):
    dossier = _my_dossier_or_404(request, pk)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        return dossier_detail(request, dossier.pk, withdraw_form=form, status=400)
    try:
        if dossier.status == Status.DRAFT:
            raise ActionNotAllowed(_("A draft is not filed; there is nothing to withdraw."))
        work.application_withdraw(
            dossier=dossier, by=request.user, reason=form.cleaned_data["reason"]
        )
        messages.success(request, _("Your dossier is withdrawn."))
    except (ActionNotAllowed, PermissionDenied, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    return redirect("portal:dossier", pk=dossier.pk)


@never_cache
@login_required
@require_POST
def rate(request, pk):
    dossier = _my_dossier_or_404(request, pk)
    form = RatingForm(request.POST)
    if not form.is_valid():
        return dossier_detail(request, dossier.pk, rating_form=form, status=400)
    try:
        services.dossier_rate(
            dossier=dossier,
            by=request.user,
            score=form.cleaned_data["score"],
            comment=form.cleaned_data["comment"],
        )
        messages.success(request, _("Thank you for your rating."))
    except (ActionNotAllowed, PermissionDenied, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    return redirect("portal:dossier", pk=dossier.pk)


@never_cache
@login_required
def component_file(request, pk, component_pk):
    dossier = _my_dossier_or_404(request, pk)
    component = get_object_or_404(DossierComponent, pk=component_pk, dossier=dossier)
    if component.erased_at is not None:
        return erased_response(
            request,
            erased_at=component.erased_at,
            back=reverse("portal:dossier", args=[dossier.pk]),
        )
    response = component_response(component)
    access_record(
        dossier=dossier,
        by=request.user,
        kind=AccessKind.FILE_DOWNLOAD,
        obj=component,
        request=request,
    )
    return response


@never_cache
@login_required
def result(request, pk):
    """The signed result of an issued dossier, as a PDF."""
    dossier = _my_dossier_or_404(request, pk)
    document = documents.current_result(dossier) if dossier.status == Status.ISSUED else None
    if document is not None and document.erased_at is not None:
        return erased_response(
            request, erased_at=document.erased_at, back=reverse("portal:dossier", args=[dossier.pk])
        )
    if document is None or document.status != DocumentStatus.SIGNED:
        raise Http404
    response = pdf_response(document)
    access_record(
        dossier=dossier, by=request.user, kind=AccessKind.DOCUMENT, obj=document, request=request
    )
    return response


# --- Public lookup -----------------------------------------------------------------------------

LOOKUP_RATE = "10/m"


@csrf_protect
def lookup(request):
    """Status and dates only, for anyone holding the receipt; rate-limited per address.

    The codes are posted, not put in the address, so they stay out of access logs and
    browser history.
    """
    form = LookupForm(request.POST if request.method == "POST" else None)
    dossier = None
    limited = False
    if form.is_bound:
        limited = is_ratelimited(
            request, group="portal.lookup", key="ip", rate=LOOKUP_RATE, increment=True
        )
        if not limited and form.is_valid():
            dossier = selectors.public_lookup(
                code=form.cleaned_data["code"], secret=form.cleaned_data["secret"]
            )
            if dossier is None:
                form.add_error(None, _("No dossier matches this code and lookup code."))
    status = 429 if limited else (400 if form.is_bound and form.errors else 200)
    response = render(
        request,
        "portal/lookup.html",
        {
            "form": form,
            "dossier": dossier,
            "limited": limited,
            "expected": _expected_appointment(dossier) if dossier else None,
        },
        status=status,
    )
    add_never_cache_headers(response)
    return response
