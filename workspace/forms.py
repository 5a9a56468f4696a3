"""Forms of the officers' pages. They check what was typed; services check the rest."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from config.bounds import BoundedDateField
from documents.forms import SignForm
from procedures.flowspec import ACTIONS, OPINION
from procedures.forms import localized
from procedures.models import Agency
from procedures.selectors import stage_choices
from workflows.models import Fee, FeeChannel, FeeStatus, supplement_requested_before
from workflows.selectors import TaskFilters
from workflows.services.work import stage_actions

DUE_CHOICES = [("", _("Any due date")), ("overdue", _("Overdue")), ("soon", _("Due soon"))]


class TaskFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Dossier code, applicant or ID number"), required=False, max_length=100
    )
    procedure = forms.ChoiceField(label=_("Procedure"), required=False)
    stage = forms.ChoiceField(label=_("Stage"), required=False)
    due = forms.ChoiceField(label=_("Due"), required=False, choices=DUE_CHOICES)
    filed_from = BoundedDateField(
        label=_("Filed from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    filed_to = BoundedDateField(
        label=_("Filed to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, procedures=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["procedure"].choices = [("", _("All procedures"))] + [
            (p.code, f"{p.code} · {p.current_version.display_name}") for p in procedures
        ]
        self.fields["stage"].choices = [("", _("All stages")), *stage_choices(procedures)]

    def filters(self) -> TaskFilters:
        if not self.is_valid():
            return TaskFilters()
        data = self.cleaned_data
        return TaskFilters(
            procedure=data["procedure"],
            stage=data["stage"],
            due=data["due"],
            filed_from=data["filed_from"],
            filed_to=data["filed_to"],
            q=data["q"],
        )


class CommentForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class RowsMixin:
    """A form laid out as rows of (tick, detail), then its other fields."""

    legend = ""

    def other_fields(self):
        in_rows = {bound.name for row in self.rows() for bound in row}
        return [bound for bound in self if bound.name not in in_rows]


class SupplementForm(RowsMixin, forms.Form):
    """Name every item to add or fix, each with its reason, and an overall reason."""

    legend = _("Items to add or fix")

    reason = forms.CharField(
        label=_("Overall reason"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, spec: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.item_codes = []
        for kind, entries, key in (
            ("component", spec["components"], "code"),
            ("field", spec["fields"], "name"),
        ):
            for entry in entries:
                code = entry[key]
                label = localized(entry["name"] if kind == "component" else entry["label"])
                self.fields[f"item_{code}"] = forms.BooleanField(label=label, required=False)
                self.fields[f"why_{code}"] = forms.CharField(
                    label=_("What is missing or wrong"), required=False, max_length=1000
                )
                self.item_codes.append(code)

    def rows(self):
        return [(self[f"item_{code}"], self[f"why_{code}"]) for code in self.item_codes]

    def clean(self):
        data = super().clean()
        items = []
        for code in self.item_codes:
            why = (data.get(f"why_{code}") or "").strip()
            if data.get(f"item_{code}"):
                if not why:
                    self.add_error(f"why_{code}", _("Say what is missing or wrong."))
                items.append({"code": code, "reason": why})
            elif why:
                self.add_error(f"item_{code}", _("Tick the item you explain."))
        if not items:
            raise forms.ValidationError(_("Tick at least one item to add or fix."))
        data["items"] = items
        return data


class ProposalForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Proposal"),
        choices=[("approve", _("Approve")), ("refuse", _("Refuse"))],
        widget=forms.RadioSelect,
    )
    opinion = forms.CharField(
        label=_("Appraisal opinion"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )


class ConsultationForm(RowsMixin, forms.Form):
    """Ask other units for their opinion, each by its own deadline."""

    legend = _("Units to consult, each with its deadline")

    comment = forms.CharField(
        label=_("What you ask them (optional)"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, dossier, **kwargs):
        super().__init__(*args, **kwargs)
        self.units = list(Agency.objects.exclude(pk=dossier.handling_agency_id).order_by("path"))
        for unit in self.units:
            self.fields[f"unit_{unit.pk}"] = forms.BooleanField(
                label=f"{unit.code} · {unit.display_name}", required=False
            )
            self.fields[f"due_{unit.pk}"] = forms.DateField(
                label=_("Deadline"),
                required=False,
                widget=forms.DateInput(attrs={"type": "date"}),
            )

    def rows(self):
        return [(self[f"unit_{u.pk}"], self[f"due_{u.pk}"]) for u in self.units]

    def clean(self):
        data = super().clean()
        consultations = []
        for unit in self.units:
            due = data.get(f"due_{unit.pk}")
            if data.get(f"unit_{unit.pk}"):
                if not due:
                    self.add_error(f"due_{unit.pk}", _("Give this unit a deadline."))
                consultations.append({"unit": unit.pk, "due_date": due})
        if not consultations:
            raise forms.ValidationError(_("Tick at least one unit to consult."))
        data["consultations"] = consultations
        return data


class OpinionForm(forms.Form):
    opinion = forms.CharField(
        label=_("Your unit's opinion"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )


class FeeRequestForm(forms.Form):
    """Asking for the fee takes nothing typed: the amount is the procedure's."""


class FeeConfirmForm(forms.Form):
    """A payment made at the desk, or a bank transfer seen on the agency's account."""

    channel = forms.ChoiceField(
        label=_("How it was paid"),
        choices=[
            (FeeChannel.DESK, FeeChannel.DESK.label),
            (FeeChannel.TRANSFER, FeeChannel.TRANSFER.label),
        ],
        initial=FeeChannel.DESK,
        widget=forms.RadioSelect,
    )
    reference = forms.CharField(
        label=_("Receipt number or transfer reference"),
        max_length=Fee._meta.get_field("reference").max_length,
    )


class AssignForm(forms.Form):
    to = forms.ModelChoiceField(label=_("Officer"), queryset=None)
    reason = forms.CharField(label=_("Reason"), max_length=1000)

    def __init__(self, *args, officers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to"].queryset = officers
        self.fields["to"].label_from_instance = lambda u: u.get_full_name() or u.get_username()


class InspectionForm(forms.Form):
    """A field inspection's record: when, where, and what was found."""

    day = BoundedDateField(
        label=_("Day of the inspection"),
        widget=forms.DateInput(attrs={"type": "date"}),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
    )
    place = forms.CharField(label=_("Place inspected"), max_length=500)
    findings = forms.CharField(
        label=_("Findings"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )


# The form of each action of the vocabulary (procedures.flowspec.ACTIONS, where each
# action's label is); a stage offers the forms of the actions its procedure declares.
ACTION_FORMS = {
    "accept": CommentForm,
    "reject": ReasonForm,
    "supplement": SupplementForm,
    "inspect": InspectionForm,
    "propose": ProposalForm,
    "request_fee": FeeRequestForm,
    "consult": ConsultationForm,
    "approve": CommentForm,
    "refuse": ReasonForm,
    "send_back": ReasonForm,
    "sign": SignForm,
    OPINION.name: OpinionForm,
}
if set(ACTION_FORMS) != {*ACTIONS, OPINION.name}:  # pragma: no cover - a code mismatch
    raise RuntimeError("every action of procedures.flowspec needs its form here")


def action_label(name: str) -> str:
    return OPINION.label if name == OPINION.name else ACTIONS[name].label


def supplement_used(task) -> bool:
    """The one supplement request allowed where the dossier is now (at the desk, or after
    the appraisal) has been made (workflows.models)."""
    from_status = "submitted" if task.dossier.status == "submitted" else "in_review"
    return supplement_requested_before(task.dossier, from_status)


def stage_forms(task, data=None, action=None):
    """The action forms of the task's stage, as its procedure declares them; only the
    posted one is bound."""
    forms_ = []
    for name in stage_actions(task):
        form_class = ACTION_FORMS[name]
        if form_class is FeeRequestForm and not (
            action == "request_fee"
            or Fee.objects.filter(dossier_id=task.dossier_id, status=FeeStatus.DUE).exists()
        ):
            # Offered only while the applicant owes a fee not yet paid (nor exempted).
            continue
        kwargs = {"prefix": name}
        if form_class is SupplementForm and data is None and supplement_used(task):
            # Asked once, completely, here: not offered again (a post from an older page
            # reaches the service, which says why it refuses).
            continue
        if form_class is SupplementForm:
            kwargs["spec"] = task.dossier.procedure_version.spec
        if form_class is ConsultationForm:
            kwargs["dossier"] = task.dossier
        form = form_class(data if name == action else None, **kwargs)
        forms_.append((name, action_label(name), form))
    return forms_


class RescheduleForm(forms.Form):
    """The apology letter: the reason for the delay and the new appointment date."""

    new_due_date = BoundedDateField(
        label=_("New appointment date"),
        widget=forms.DateInput(attrs={"type": "date"}),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
    )
    reason = forms.CharField(
        label=_("Reason for the delay"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
