"""The dossier and what is recorded about it.

``Dossier.status`` is a protected django-fsm-2 field: it changes only through the
transitions below, and those are only called by ``workflows.services``. Each transition
declares its sources, target, conditions and permission; the services add the history
entry and the outgoing events in the same transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition
from viewflow.workflow.models import Process, Task

from config.search import search_text
from procedures.auth import has_agency_perm
from procedures.models import Agency, ProcedureVersion


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted, waiting for reception")
    SUPPLEMENT_REQUESTED = "supplement_requested", _("Supplement requested")
    RECEIVED = "received", _("Received")
    IN_REVIEW = "in_review", _("In review")
    # Appraised; the applicant owes the procedure's fee, and the flow waits for its
    # payment (national status 6, "financial obligation"). The clock is paused meanwhile.
    FEE_REQUESTED = "fee_requested", _("Fee requested, waiting for payment")
    APPROVED = "approved", _("Approved, waiting for signature")
    SIGNED = "signed", _("Signed")
    ISSUED = "issued", _("Result issued")
    REJECTED_AT_RECEPTION = "rejected_at_reception", _("Not accepted at reception")
    REFUSED = "refused", _("Refused")
    WITHDRAWN = "withdrawn", _("Withdrawn by the applicant")
    # A draft left untouched past the draft retention: its files and typed data are gone.
    DISCARDED = "discarded", _("Abandoned draft, discarded")


class Timeliness(models.TextChoices):
    """How a finished dossier or stage stood against its due date (Circular 01/2018 art.
    13), compared by local calendar date: before it early, on it on time, after it late."""

    EARLY = "early", _("Early")
    ON_TIME = "on_time", _("On time")
    LATE = "late", _("Late")


class Channel(models.TextChoices):
    ONLINE = "online", _("Online")
    DESK = "desk", _("One-stop desk")
    POST = "post", _("Post")


# States in which the legal clock runs, and in which an apology may reschedule it.
CLOCK_RUNNING = (Status.RECEIVED, Status.IN_REVIEW, Status.APPROVED, Status.SIGNED)
# States from which the applicant may still withdraw: anything before a decision.
WITHDRAWABLE = (
    Status.SUBMITTED,
    Status.SUPPLEMENT_REQUESTED,
    Status.RECEIVED,
    Status.IN_REVIEW,
    Status.FEE_REQUESTED,
)
FINAL = (Status.ISSUED, Status.REJECTED_AT_RECEPTION, Status.REFUSED, Status.WITHDRAWN)


# --- Permission predicates (django-fsm calls them with the dossier and the acting user) ----
# Every transition names a callable, never a bare permission string: django-fsm would
# also accept a *global* permission for a string, which would reach across agencies.


# The agency holding the stage an officer acts at, while services.work runs the stage's
# action (after checking that the officer holds the stage's role there): a hand-off
# stage's officers act for the dossier in their own agency, not the handling one.
_acting_agency: ContextVar[Agency | None] = ContextVar("motcua_acting_agency", default=None)


@contextmanager
def acting_for(agency: Agency):
    token = _acting_agency.set(agency)
    try:
        yield
    finally:
        _acting_agency.reset(token)


def acting_agency_or(dossier: Dossier):
    """What an agency permission is judged in: the agency acted for, else the dossier."""
    return _acting_agency.get() or dossier


def agency_perm(perm: str):
    """The officer holds ``perm`` through a role in the dossier's agency, or in the agency
    holding the stage being acted at (and only so)."""

    def check(dossier: Dossier, user) -> bool:
        return has_agency_perm(user, perm, acting_agency_or(dossier))

    check.__name__ = f"agency_perm({perm})"
    return check


RECEIVE = agency_perm("workflows.receive_dossier")
REVIEW = agency_perm("workflows.review_dossier")
APPROVE = agency_perm("workflows.approve_dossier")
SIGN = agency_perm("workflows.sign_dossier")
FILE_AT_DESK = agency_perm("workflows.file_at_desk")
FILE_FOR_APPLICANT = agency_perm("workflows.file_for_applicant")


def result_ready(dossier: Dossier) -> bool:
    """Signed, or approved where the procedure's outcome is a notice (no paper to sign)."""
    if dossier.status == Status.SIGNED:
        return True
    return dossier.procedure_version.spec.get("outcome", "paper") == "notice"


def is_applicant(dossier: Dossier, user) -> bool:
    return user.is_authenticated and dossier.applicant_user_id == user.pk


def files_through_api(dossier: Dossier, user) -> bool:
    """The API client (its service account) that filed an online dossier for an applicant
    with no account here (the national portal forwarding it), within its agencies."""
    return (
        dossier.applicant_user_id is None
        and user.is_authenticated
        and dossier.filed_by_id == user.pk
        and FILE_FOR_APPLICANT(dossier, user)
    )


def can_file(dossier: Dossier, user) -> bool:
    """The applicant files online (or the API client that acts for them); a reception
    officer files for a walk-in at the desk."""
    if dossier.channel == Channel.ONLINE:
        return is_applicant(dossier, user) or files_through_api(dossier, user)
    return FILE_AT_DESK(dossier, user)


def acts_for_applicant(dossier: Dossier, user) -> bool:
    """The applicant, or the API client that filed for them; for a dossier filed at the
    desk or by post, also the desk officer."""
    if dossier.channel == Channel.ONLINE:
        return is_applicant(dossier, user) or files_through_api(dossier, user)
    return is_applicant(dossier, user) or FILE_AT_DESK(dossier, user)


def system_only(dossier: Dossier, user) -> bool:
    """No person takes this step; the services take it as the system (by=None)."""
    return False


# --- Conditions -------------------------------------------------------------------------------


@contextmanager
def conditions_memoised(dossier: Dossier) -> Iterator[None]:
    """Inside: each condition below is evaluated once for ``dossier`` (the services check
    them, then django-fsm checks them again when the transition runs)."""
    outer = getattr(dossier, "_condition_memo", None)
    dossier._condition_memo = {}
    try:
        yield
    finally:
        if outer is None:
            del dossier._condition_memo
        else:  # nested: the outer block gets its own memo back
            dossier._condition_memo = outer


def memoised(condition: Callable[[Dossier], bool]) -> Callable[[Dossier], bool]:
    @functools.wraps(condition)
    def check(dossier: Dossier) -> bool:
        memo = getattr(dossier, "_condition_memo", None)
        if memo is None:
            return condition(dossier)
        if check not in memo:
            memo[check] = condition(dossier)
        return memo[check]

    return check


@memoised
def has_mandatory_components(dossier: Dossier) -> bool:
    # A filing reads the current files once, under its lock (services.dossiers._file).
    files = getattr(dossier, "_current_files", None)
    present = (
        {code for code, _sha in files}
        if files is not None
        else set(
            dossier.components.filter(superseded_at__isnull=True).values_list(
                "component_code", flat=True
            )
        )
    )
    mandatory = {c["code"] for c in dossier.procedure_version.spec["components"] if c["mandatory"]}
    return mandatory <= present


def supplement_requested_before(dossier: Dossier, from_status: str) -> bool:
    """Whether a supplement was already requested from this state: the applicant is told
    once, completely, what to add or fix, once at the desk and once after appraisal
    (Decree 61/2018 arts. 15 and 19; domain.md, the flow, steps 1, 3 and 6)."""
    return dossier.history.filter(action="request_supplement", from_status=from_status).exists()


@memoised
def first_supplement_at_reception(dossier: Dossier) -> bool:
    return not supplement_requested_before(dossier, "submitted")


@memoised
def first_supplement_after_review(dossier: Dossier) -> bool:
    return not supplement_requested_before(dossier, "in_review")


def not_yet_rescheduled(dossier: Dossier) -> bool:
    return dossier.rescheduled_at is None


@memoised
def within_supplement_window(dossier: Dossier) -> bool:
    """A supplement after appraisal must be asked within N working days of receipt."""
    from .clock import working_calendar  # clock imports models: import here, not at the top

    if dossier.received_at is None:
        return False
    calendar = working_calendar()
    days = settings.MOTCUA["SUPPLEMENT_AFTER_REVIEW_DAYS"]
    received = calendar.reception_day(dossier.received_at)
    return calendar.working_days_between(received, calendar.today()) <= days


@memoised
def fee_owed(dossier: Dossier) -> bool:
    """The dossier's fee record says a fee is due (not paid, not exempted)."""
    return Fee.objects.filter(dossier=dossier, status=FeeStatus.DUE).exists()


@memoised
def no_fee_owed(dossier: Dossier) -> bool:
    """Nothing is owed: no fee, exempted, or paid. A result is not granted while the
    applicant still owes the procedure's fee."""
    return not fee_owed(dossier)


@memoised
def has_proposal(dossier: Dossier) -> bool:
    """The head decides on the specialist's proposal: one must be on record since the
    review (re)started."""
    last = (
        dossier.history.filter(action__in=("start_review", "propose", "send_back"))
        .order_by("-seq")
        .values_list("action", flat=True)
        .first()
    )
    return last == "propose"


def code_label(code: str | None, pk: int, status: str) -> str:
    """A dossier's code on a page; a dossier without one (not received yet, or never)
    shows its number here with why it has no code."""
    if code:
        return code
    if status in (Status.DRAFT, Status.DISCARDED):
        return _("Draft #%(pk)d") % {"pk": pk}
    if status in (Status.SUBMITTED, Status.SUPPLEMENT_REQUESTED):
        return _("#%(pk)d · no code yet, waiting for reception") % {"pk": pk}
    return _("#%(pk)d · not received, no code") % {"pk": pk}


class DossierQuerySet(models.QuerySet):
    def update(self, **kwargs):
        # A bulk update would skip every transition guard, the history and the outbox.
        if "status" in kwargs:
            raise PermissionError("a dossier's status changes only through its services")
        return super().update(**kwargs)


class Dossier(ConcurrentTransitionMixin, models.Model):
    code = models.CharField(_("dossier code"), max_length=40, unique=True, null=True, blank=True)
    # Printed on the receipt: with the code, it lets anyone holding the receipt look up
    # the dossier's status without logging in.
    lookup_secret = models.CharField(_("lookup secret"), max_length=12, blank=True)
    procedure_version = models.ForeignKey(
        ProcedureVersion,
        on_delete=models.PROTECT,
        related_name="dossiers",
        verbose_name=_("procedure version"),
    )
    handling_agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="dossiers", verbose_name=_("handling agency")
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    # The citizen's account, when there is one (a walk-in at the desk may have none).
    applicant_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dossiers",
        verbose_name=_("applicant account"),
    )
    applicant_name = models.CharField(_("applicant name"), max_length=200)
    applicant_id_number = models.CharField(_("personal ID number"), max_length=20, blank=True)
    applicant_address = models.CharField(_("address"), max_length=500, blank=True)
    applicant_phone = models.CharField(_("phone"), max_length=20, blank=True)
    applicant_email = models.EmailField(_("e-mail"), blank=True)
    # The code, the applicant's name and ID number, folded (config.search): what the
    # officers' search looks in, accents and case aside. Written by the services that write
    # those columns; on PostgreSQL a trigram index serves the substring search (migration
    # 0018, outside Meta.indexes because SQLite has no such index).
    search_text = models.TextField(_("search text"), blank=True, default="", editable=False)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("filed by"),
    )
    form_data = models.JSONField(_("form data"), default=dict, blank=True)
    # Sent with the form that creates the dossier: a second post of the same form (double
    # click, refresh, back) finds this dossier instead of making another.
    filing_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    status = FSMField(
        _("status"),
        max_length=24,
        choices=Status.choices,
        default=Status.DRAFT,
        protected=True,
        db_index=True,
    )
    supplement_round = models.PositiveSmallIntegerField(_("supplement rounds"), default=0)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), null=True, blank=True)
    due_date = models.DateField(_("appointment date"), null=True, blank=True, db_index=True)
    rescheduled_at = models.DateTimeField(_("rescheduled"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # The draft's last change (typed data or a file): abandoned drafts are counted from it.
    edited_at = models.DateTimeField(_("last edited"), null=True, blank=True, editable=False)
    # When the personal files were erased at the end of the retention period.
    erased_at = models.DateTimeField(_("files erased"), null=True, blank=True, editable=False)
    # Set when the dossier is finished with a decision (issued or refused).
    timeliness = models.CharField(
        _("finished"), max_length=8, choices=Timeliness.choices, blank=True, db_index=True
    )
    # Working days from the reception day to the closing date, stored with the timeliness
    # when the dossier is finished with a decision: the dashboard averages it in SQL.
    processing_days = models.PositiveSmallIntegerField(
        _("processing time (working days)"), null=True, blank=True, editable=False
    )

    # Head of the history chain: the count and hash of the last entry.
    history_count = models.PositiveIntegerField(default=0, editable=False)
    history_hash = models.CharField(max_length=64, blank=True, editable=False)

    objects = DossierQuerySet.as_manager()

    class Meta:
        verbose_name = _("dossier")
        verbose_name_plural = _("dossiers")
        ordering = ["-created_at"]
        permissions = [
            ("receive_dossier", "Receive dossiers at the one-stop desk"),
            ("file_at_desk", "File dossiers for walk-in applicants"),
            ("file_for_applicant", "File dossiers for applicants through the integration API"),
            ("review_dossier", "Appraise dossiers"),
            ("approve_dossier", "Approve or refuse dossiers"),
            ("sign_dossier", "Sign results"),
            ("supervise_dossier", "Supervise time limits"),
            ("assign_task", "Assign and reassign tasks"),
        ]
        indexes = [
            models.Index(fields=["handling_agency", "status"]),
            models.Index(fields=["applicant_user", "-created_at"]),
            # The public lookup matches the code case-insensitively (code__iexact).
            models.Index(Upper("code"), name="dossier_code_upper_idx"),
            # The dashboard's counts, trend and processing times read only these columns of
            # an agency subtree's dossiers: from this index alone, without visiting rows
            # spread over the whole table.
            models.Index(
                fields=["handling_agency", "received_at"],
                include=[
                    "id",
                    "status",
                    "closed_at",
                    "timeliness",
                    "due_date",
                    "processing_days",
                    "procedure_version",
                ],
                name="dossier_dashboard_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.code or f"draft #{self.pk}"

    def folded_search_text(self) -> str:
        """What ``search_text`` holds for the row's present code, name and ID number."""
        return search_text(self.code, self.applicant_name, self.applicant_id_number)

    @property
    def reference(self) -> str:
        """How people name the dossier: its code, which it gets only at reception (Decree
        61 art. 26: the code carries the reception date); before that, its number here."""
        return self.code or f"#{self.pk}"

    @property
    def code_label(self) -> str:
        """The code, or what stands in for it, in words, for the pages."""
        return code_label(self.code, self.pk, self.status)

    def retention_years(self) -> int | None:
        """The years this dossier's files are kept after its result: its version's, or its
        procedure's current version's when that is longer, so that a retention lengthened
        in a later version protects the dossiers already filed (a shortened one never
        shortens theirs). None: kept permanently."""
        own = self.procedure_version.retention_years
        current = self.procedure_version.procedure.current_version
        later = own if current is None else current.retention_years
        if own is None or later is None:
            return None
        return max(own, later)

    def retention_ends(self):
        """When the dossier's files are erased: its result (closing) plus its retention in
        years; None for a permanent record or a dossier not finished."""
        years = self.retention_years()
        if years is None or self.closed_at is None or self.status not in FINAL:
            return None
        try:
            return self.closed_at.replace(year=self.closed_at.year + years)
        except ValueError:  # 29 February
            return self.closed_at.replace(year=self.closed_at.year + years, day=28)

    # --- Transitions. Each only moves the state; services do the rest. ---------------------

    @transition(
        field=status,
        source=Status.DRAFT,
        target=Status.SUBMITTED,
        conditions=[has_mandatory_components],
        permission=can_file,
    )
    def submit(self):
        pass

    @transition(
        field=status,
        source=Status.SUBMITTED,
        target=Status.RECEIVED,
        conditions=[has_mandatory_components],
        permission=RECEIVE,
    )
    def receive(self):
        pass

    @transition(
        field=status,
        source=Status.SUBMITTED,
        target=Status.SUPPLEMENT_REQUESTED,
        conditions=[first_supplement_at_reception],
        permission=RECEIVE,
    )
    def request_supplement_at_reception(self):
        pass

    @transition(
        field=status,
        source=Status.IN_REVIEW,
        target=Status.SUPPLEMENT_REQUESTED,
        conditions=[within_supplement_window, first_supplement_after_review],
        permission=REVIEW,
    )
    def request_supplement_after_review(self):
        pass

    @transition(
        field=status,
        source=Status.SUPPLEMENT_REQUESTED,
        target=Status.SUBMITTED,
        conditions=[has_mandatory_components],
        permission=acts_for_applicant,
    )
    def resubmit(self):
        pass

    @transition(
        field=status,
        source=Status.SUBMITTED,
        target=Status.REJECTED_AT_RECEPTION,
        permission=RECEIVE,
    )
    def reject_at_reception(self):
        pass

    @transition(
        field=status,
        source=Status.RECEIVED,
        target=Status.IN_REVIEW,
        permission=REVIEW,
    )
    def start_review(self):
        pass

    @transition(
        field=status,
        source=Status.IN_REVIEW,
        target=Status.IN_REVIEW,
        permission=REVIEW,
    )
    def propose(self):
        pass

    @transition(
        field=status,
        source=Status.IN_REVIEW,
        target=Status.IN_REVIEW,
        permission=APPROVE,
    )
    def send_back(self):
        pass

    @transition(
        field=status,
        source=Status.IN_REVIEW,
        target=Status.APPROVED,
        conditions=[has_proposal, no_fee_owed],
        permission=APPROVE,
    )
    def approve(self):
        pass

    # The specialist, having appraised the dossier, asks the applicant to pay the fee.
    @transition(
        field=status,
        source=Status.IN_REVIEW,
        target=Status.FEE_REQUESTED,
        conditions=[fee_owed],
        permission=REVIEW,
    )
    def request_fee(self):
        pass

    # The fee is paid (online, or recorded at the desk): the system resumes the appraisal.
    @transition(
        field=status,
        source=Status.FEE_REQUESTED,
        target=Status.IN_REVIEW,
        conditions=[no_fee_owed],
        permission=system_only,
    )
    def resume_after_fee(self):
        pass

    @transition(
        field=status,
        source=Status.IN_REVIEW,
        target=Status.REFUSED,
        conditions=[has_proposal],
        permission=APPROVE,
    )
    def refuse(self):
        pass

    @transition(
        field=status,
        source=Status.APPROVED,
        target=Status.SIGNED,
        permission=SIGN,
    )
    def sign(self):
        pass

    # Issuing is the system's own step once the result is signed, or, for a procedure
    # whose outcome is a notice, once it is approved (services pass by=None).
    @transition(
        field=status,
        source=[Status.SIGNED, Status.APPROVED],
        target=Status.ISSUED,
        conditions=[result_ready],
        permission=system_only,
    )
    def issue(self):
        pass

    @transition(
        field=status,
        source=list(WITHDRAWABLE),
        target=Status.WITHDRAWN,
        permission=acts_for_applicant,
    )
    def withdraw(self):
        pass

    # An abandoned draft is discarded by the retention job (workflows.services.retention).
    @transition(field=status, source=Status.DRAFT, target=Status.DISCARDED, permission=system_only)
    def discard(self):
        pass

    # The apology letter moves the appointment date, once; the state stays where it is.
    @transition(
        field=status,
        source=list(CLOCK_RUNNING),
        target=RETURN_VALUE(*CLOCK_RUNNING),
        conditions=[not_yet_rescheduled],
        permission=APPROVE,
    )
    def reschedule(self):
        return self.status


class PaperKind(models.TextChoices):
    """What a component reused from the citizen's data store was in its earlier dossier."""

    COMPONENT = "component", _("an accepted component")
    RESULT = "result", _("a signed result")


def component_upload_to(instance: DossierComponent, filename: str) -> str:
    # The uploaded name is never part of the path: it is kept only as a label.
    return f"components/{instance.uploaded_at:%Y/%m}/{instance.storage_key}"


def private_storage():
    from .storage import private

    return private


class DossierComponent(models.Model):
    """One uploaded file for one of the procedure's required components."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="components")
    component_code = models.CharField(_("component"), max_length=64)
    file = models.FileField(upload_to=component_upload_to, storage=private_storage, max_length=255)
    storage_key = models.CharField(max_length=64, unique=True, editable=False)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type (sniffed)"), max_length=100)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_at = models.DateTimeField(_("uploaded"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    supplement_round = models.PositiveSmallIntegerField(default=0)
    # A replaced file stays, for the record; only current files count.
    superseded_at = models.DateTimeField(null=True, blank=True)
    # The bytes were deleted at the end of the retention period; the row, its name, size
    # and SHA-256 stay, as the history's manifest names them.
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True, editable=False)
    # Taken from the citizen's data store (workflows.store) instead of uploaded: which kind
    # of paper, of which earlier dossier, and the id of that paper (a DossierComponent, or a
    # documents.Document for a result: an id, not a key, as workflows knows nothing of
    # documents). The bytes are a copy, so the SHA-256 is the source's.
    reused_kind = models.CharField(
        _("reused from"), max_length=12, choices=PaperKind.choices, blank=True, default=""
    )
    reused_dossier = models.ForeignKey(
        "Dossier",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("reused from dossier"),
    )
    reused_object_id = models.PositiveBigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("dossier component")
        verbose_name_plural = _("dossier components")
        ordering = ["component_code", "uploaded_at"]
        indexes = [models.Index(fields=["dossier", "component_code"])]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(reused_kind="", reused_dossier__isnull=True)
                    | (~models.Q(reused_kind="") & models.Q(reused_dossier__isnull=False))
                ),
                name="component_reuse_has_source",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.component_code}: {self.original_name}"

    @property
    def reused(self) -> bool:
        return bool(self.reused_kind)


class ImmutableQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError(f"{self.model._meta.object_name} rows are never updated")

    def delete(self):
        raise PermissionError(f"{self.model._meta.object_name} rows are never deleted")


class AppendOnlyModel(models.Model):
    """Rows written once: the ORM refuses to update or delete them, one by one or in bulk
    (on PostgreSQL, triggers refuse it too). The history, its seals, the access record."""

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError(f"{self._meta.object_name} rows are never updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError(f"{self._meta.object_name} rows are never deleted")


class HistoryEntry(AppendOnlyModel):
    """One thing that happened to a dossier. Append-only, and chained by hash.

    ``hash`` is the SHA-256 of the entry's content together with ``prev_hash``, the hash of
    the entry before it, so an edited, removed or reordered entry breaks the chain
    (``manage.py verify_history``).
    """

    dossier = models.ForeignKey(
        Dossier, on_delete=models.PROTECT, related_name="history", verbose_name=_("dossier")
    )
    seq = models.PositiveIntegerField(pgettext_lazy("history", "number"))
    at = models.DateTimeField(pgettext_lazy("history", "at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=pgettext_lazy("history", "by"),
    )
    action = models.CharField(pgettext_lazy("history", "action"), max_length=48)
    from_status = models.CharField(_("state before"), max_length=24, blank=True)
    to_status = models.CharField(_("state after"), max_length=24, blank=True)
    comment = models.TextField(pgettext_lazy("history", "comment"), blank=True)
    data = models.JSONField(pgettext_lazy("history", "data"), default=dict, blank=True)
    prev_hash = models.CharField(_("previous entry's hash"), max_length=64, blank=True)
    hash = models.CharField(pgettext_lazy("history", "hash"), max_length=64)

    class Meta:
        verbose_name = _("history entry")
        verbose_name_plural = _("history")
        ordering = ["dossier", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["dossier", "seq"], name="uniq_history_seq"),
        ]
        indexes = [
            # The dossiers with something recorded since a moment (the API's
            # updated_after): a range of this index, not the whole history.
            models.Index(fields=["at", "dossier"], name="history_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.dossier_id}#{self.seq} {self.action}"


class HistorySeal(AppendOnlyModel):
    """An agency's seal over its dossiers' history heads, made periodically.

    Each seal lists the head (last entry's number and hash) of every dossier of the agency
    whose chain moved since the agency's previous seal, and the digest of that previous
    seal; the whole is signed with the agency's seal (a detached CMS signature, with an
    RFC 3161 timestamp when a timestamp server is configured). A chain rewritten with its
    hashes recomputed, or cut back with its head moved back, no longer holds a sealed head:
    ``manage.py verify_history`` finds it. Append-only, like the history.
    """

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    seq = models.PositiveIntegerField()
    made_at = models.DateTimeField()
    prev_digest = models.CharField(max_length=64, blank=True)
    digest = models.CharField(max_length=64)
    signature = models.BinaryField()
    signer = models.CharField(max_length=500, blank=True)
    timestamped = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("history seal")
        verbose_name_plural = _("history seals")
        ordering = ["agency", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "seq"], name="uniq_history_seal_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.agency_id}#{self.seq}"


class HistorySealHead(AppendOnlyModel):
    """One dossier's history head as a seal recorded it (part of the seal's signed text)."""

    seal = models.ForeignKey(HistorySeal, on_delete=models.PROTECT, related_name="heads")
    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="+")
    seq = models.PositiveIntegerField()
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["seal", "dossier"], name="uniq_history_seal_head"),
        ]
        indexes = [models.Index(fields=["dossier", "seq"], name="history_seal_head_dossier")]

    def __str__(self) -> str:
        return f"{self.seal_id}: {self.dossier_id}#{self.seq}"


class DossierCodeSequence(models.Model):
    """The last daily sequence number used per agency and day, for dossier codes."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    last = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "day"], name="uniq_code_sequence_day"),
        ]

    def __str__(self) -> str:
        return f"{self.agency_id} {self.day}: {self.last}"


class WorkingDayOverride(models.Model):
    """A day whose working status differs from what the holiday calendar says.

    Swaps are announced each year (a Saturday worked for a bridge day off), and a
    province may close for a local event: the override wins over the package calendar.
    """

    date = models.DateField(_("date"), unique=True)
    is_working_day = models.BooleanField(_("working day"))
    reason = models.CharField(_("reason"), max_length=255)
    legal_basis = models.CharField(_("legal basis"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("working-day override")
        verbose_name_plural = _("working-day overrides")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date}: {'working' if self.is_working_day else 'day off'}"


class OutgoingEvent(models.Model):
    """An event written in the same transaction as the change that caused it (the outbox).

    It is dispatched after commit to the handlers registered for its name. A failed
    dispatch is retried with exponential backoff by the periodic sweep; after the last
    attempt it is marked failed, and an administrator can dispatch it again.
    """

    name = models.CharField(_("event kind"), max_length=64, db_index=True)
    dossier = models.ForeignKey(
        Dossier,
        null=True,
        on_delete=models.CASCADE,
        related_name="events",
        verbose_name=_("dossier"),
    )
    payload = models.JSONField(_("payload"), default=dict)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    failed_at = models.DateTimeField(_("failed at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("outgoing event")
        verbose_name_plural = _("outgoing events")
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="event_pending_idx",
                condition=models.Q(dispatched_at__isnull=True, failed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk}"


# --- Orchestration (viewflow) ------------------------------------------------------------------


class DossierProcess(Process):
    """The viewflow process that carries one dossier through its procedure's flow."""

    dossier = models.OneToOneField(Dossier, on_delete=models.PROTECT, related_name="process")

    class Meta:
        verbose_name = _("dossier process")
        verbose_name_plural = _("dossier processes")


class DossierTask(Task):
    """A viewflow task, with what our queues sort and filter by.

    The columns are written once, when the task is created (by the flow node, see
    workflows.flows.OfficerTask.prepare), and never change but for ``timeliness``, set
    as the stage is completed: viewflow's own saves update only the base task row, the
    copies of its status, finishing time and owner (``task_status``, ``task_finished``,
    ``task_owner``; see save()) and the timeliness.
    """

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="tasks")
    # The agency whose officers may take the task: the handling agency, or a consulted one.
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="tasks")
    stage = models.CharField(_("stage"), max_length=32, blank=True)
    role = models.CharField(_("role"), max_length=16, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    # Recorded when the stage's task is done, for the processing control sheet.
    timeliness = models.CharField(
        _("finished"), max_length=8, choices=Timeliness.choices, blank=True
    )
    # viewflow's Task.status, copied by every save (see save()): the queue filters on the
    # status with the agency and role, which one partial index can only serve from one
    # table. The open tasks are a small, moving part; the done ones grow for ever.
    task_status = models.CharField(max_length=50, blank=True, editable=False)
    # Copies for the supervisor's officer table (stages each officer finished in a period,
    # over the dossiers of an agency subtree), kept by save() like task_status: viewflow's
    # finishing time and owner, and the dossier's handling agency (set when the dossier is
    # made, never changed; ``agency`` differs from it for a consulted unit's task). With
    # ``task_done_idx`` the table is one index range scan instead of a join to viewflow's
    # task row per task. No foreign-key constraints: the originals carry them.
    task_finished = models.DateTimeField(null=True, blank=True, editable=False)
    task_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    dossier_agency = models.ForeignKey(
        Agency,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    # The dossier's ``search_text`` (its code, the applicant's name and ID number, folded),
    # copied when the task is made and whenever the dossier's changes (services.dossiers
    # ._act): an officer's list searched by name is then a scan of the officer's own tasks
    # in one index (task_done_owner_idx, task_open_agency_idx), however many dossiers of
    # the whole database carry a common name.
    search_text = models.TextField(blank=True, default="", db_default="", editable=False)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            models.Index(fields=["agency", "role", "due_date"], name="task_queue_idx"),
            models.Index(fields=["dossier", "stage"], name="task_dossier_idx"),
            models.Index(
                fields=["agency", "role", "due_date"],
                name="task_queue_new_idx",
                condition=models.Q(task_status="NEW"),
            ),
            models.Index(
                fields=["dossier_agency", "task_finished"],
                name="task_done_idx",
                condition=models.Q(task_status="DONE"),
                include=["task_owner", "timeliness"],
            ),
            # The "done" list of one officer, newest first, searched or not.
            models.Index(
                fields=["task_owner", "task_finished", "task_ptr"],
                name="task_done_owner_idx",
                # An officer's task (with a role), as the lists ask: the whole list and its
                # search text are read from the index alone.
                condition=models.Q(task_status="DONE") & ~models.Q(role=""),
                include=["search_text"],
            ),
            # The team list: the open tasks of an agency, soonest due first.
            models.Index(
                fields=["agency", "due_date", "task_ptr"],
                name="task_open_agency_idx",
                condition=models.Q(task_status__in=["NEW", "ASSIGNED"]) & ~models.Q(role=""),
                include=["search_text"],
            ),
        ]

    _base_fields: tuple[str, ...] | None = None

    # viewflow's columns and their copies here.
    COPIES = {"status": "task_status", "finished": "task_finished", "owner": "task_owner"}

    def save(self, *args, **kwargs):
        self.task_status = self.status
        self.task_finished = self.finished
        self.task_owner_id = self.owner_id
        if self._state.adding:
            if self.dossier_id is None:
                process = self.process
                if not isinstance(process, DossierProcess):
                    process = process.coerced
                self.dossier = process.dossier
                self.agency = process.dossier.handling_agency
            self.dossier_agency_id = self.dossier.handling_agency_id
            self.search_text = self.dossier.search_text
            prepare = getattr(self.flow_task, "prepare", None)
            if prepare is not None:
                prepare(self)
        elif kwargs.get("update_fields") is None:
            # Our columns never change after the insert, but for the stage's timeliness as
            # it is completed: update the base row only (and the copies and timeliness).
            kwargs["update_fields"] = (*self.base_fields(), *self.COPIES.values(), "timeliness")
        else:
            fields = list(kwargs["update_fields"])
            kwargs["update_fields"] = fields + [
                copy
                for name, copy in self.COPIES.items()
                if (name in fields or f"{name}_id" in fields) and copy not in fields
            ]
        super().save(*args, **kwargs)

    @classmethod
    def base_fields(cls) -> tuple[str, ...]:
        if cls._base_fields is None:
            cls._base_fields = tuple(
                f.name for f in Task._meta.concrete_fields if not f.primary_key and f.model is Task
            )
        return cls._base_fields


class TaskWarning(models.Model):
    """A warning already given about a task, so the periodic job gives each one once."""

    class Level(models.TextChoices):
        DUE_SOON = "due_soon", _("Due soon")
        OVERDUE = "overdue", _("Overdue")

    task = models.ForeignKey(DossierTask, on_delete=models.CASCADE, related_name="warnings")
    level = models.CharField(max_length=16, choices=Level.choices)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task", "level"], name="uniq_task_warning_level"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} {self.level}"


class DossierWarning(models.Model):
    """A prompt already given about a dossier (the apology letter before it falls late)."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="warnings")
    level = models.CharField(max_length=16)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dossier", "level"], name="uniq_dossier_warning"),
        ]

    def __str__(self) -> str:
        return f"{self.dossier_id} {self.level}"


class ServiceRating(models.Model):
    """The applicant's rating of the service once the dossier is finished (1 to 5)."""

    dossier = models.OneToOneField(Dossier, on_delete=models.CASCADE, related_name="rating")
    score = models.PositiveSmallIntegerField(
        _("rating"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(_("comment"), blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("service rating")
        verbose_name_plural = _("service ratings")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__gte=1, score__lte=5), name="rating_score_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dossier_id}: {self.score}"


# --- Fees ----------------------------------------------------------------------------------------


class FeeStatus(models.TextChoices):
    DUE = "due", pgettext_lazy("fee", "Due")
    PAID = "paid", pgettext_lazy("fee", "Paid")
    EXEMPTED = "exempted", pgettext_lazy("fee", "Exempted")
    # Not to be paid any more: the dossier was withdrawn or closed before payment.
    CANCELLED = "cancelled", pgettext_lazy("fee", "Cancelled")


class FeeChannel(models.TextChoices):
    """How a fee was paid (domain.md: at the desk, by transfer or online)."""

    ONLINE = "online", _("Online payment")
    DESK = "desk", _("At the one-stop desk")
    TRANSFER = "transfer", _("Bank transfer")


class Fee(models.Model):
    """What one dossier owes for its procedure, and how it was settled.

    Made when the dossier is received, from its procedure version's ``fee`` (amount and
    exemptions, evaluated against the form data); at most one per dossier. Its payment is
    recorded here once (``workflows.services.fees.fee_mark_paid``): a second report of
    the same payment changes nothing. Written only by the fee services.
    """

    dossier = models.OneToOneField(
        Dossier, on_delete=models.PROTECT, related_name="fee", verbose_name=_("dossier")
    )
    amount_due = models.DecimalField(_("amount due (VND)"), max_digits=14, decimal_places=0)
    currency = models.CharField(_("currency"), max_length=3, default="VND")
    status = models.CharField(
        _("status"), max_length=12, choices=FeeStatus.choices, default=FeeStatus.DUE
    )
    # The exemption that applied, as the procedure version listed it (code, name vi/en,
    # legal basis): the record keeps why nothing was owed even if the catalog changes.
    exemption_code = models.CharField(_("exemption"), max_length=64, blank=True)
    exemption = models.JSONField(_("exemption details"), default=dict, blank=True)
    assessed_at = models.DateTimeField(_("assessed"), default=timezone.now)
    # When an officer asked for the payment (the dossier waits from then on).
    requested_at = models.DateTimeField(_("payment requested"), null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    channel = models.CharField(
        _("paid through"), max_length=12, choices=FeeChannel.choices, blank=True
    )
    # The payment's own reference: the payment platform's transaction, the desk receipt
    # number, the bank transfer's reference.
    reference = models.CharField(_("payment reference"), max_length=100, blank=True)
    amount_paid = models.DecimalField(
        _("amount paid (VND)"), max_digits=14, decimal_places=0, null=True, blank=True
    )
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), null=True, blank=True)
    # The officer who confirmed the payment; empty for one reported by the payment platform.
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("confirmed by"),
    )

    class Meta:
        verbose_name = _("fee")
        verbose_name_plural = _("fees")
        constraints = [
            # One online payment settles one fee: the platform's reference is unique.
            models.UniqueConstraint(
                fields=["reference"],
                condition=models.Q(channel="online"),
                name="uniq_fee_online_reference",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="paid")
                | models.Q(paid_at__isnull=False, amount_paid__isnull=False),
                name="fee_paid_has_payment",
            ),
        ]
        indexes = [models.Index(fields=["status", "requested_at"], name="fee_status_idx")]

    def __str__(self) -> str:
        return f"{self.dossier_id}: {self.amount_due} {self.currency} ({self.status})"

    @property
    def exempted(self) -> bool:
        return self.status == FeeStatus.EXEMPTED
