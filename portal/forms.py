"""Forms of the citizen's pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from config.bounds import validate_birth_date

from .models import CitizenProfile


class CatalogSearchForm(forms.Form):
    q = forms.CharField(label=_("Name or code"), required=False, max_length=100)
    sector = forms.ChoiceField(label=_("Sector"), required=False)
    agency = forms.ChoiceField(label=_("Agency"), required=False)

    def __init__(self, *args, sectors=(), agencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sector"].choices = [("", _("All sectors"))] + [(s, s) for s in sectors]
        self.fields["agency"].choices = [("", _("All agencies"))] + [
            (a.code, a.display_name) for a in agencies
        ]


class ProfileForm(forms.ModelForm):
    class Meta:
        model = CitizenProfile
        fields = [
            "full_name",
            "date_of_birth",
            "ethnic_group",
            "id_number",
            "province",
            "commune",
            "address",
            "phone",
        ]
        widgets = {"date_of_birth": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # What a national identity vouched for is shown, read-only, and never taken from a
        # post (clean() refuses a change): the verified value stays.
        self.verified = [name for name in self.fields if self.instance.is_verified(name)]
        for name in self.verified:
            field = self.fields[name]
            field.widget.attrs["readonly"] = True
            field.help_text = _(
                "Verified by your national identity (VNeID): it cannot be changed here."
            )

    def clean(self):
        cleaned = super().clean()
        refused = []
        for name in self.verified:
            original = getattr(self.instance, name)
            if name in cleaned and cleaned[name] == original:
                continue
            refused.append(name)
            self._errors.pop(name, None)  # one message: the field's own errors are moot
            self.add_error(
                name,
                _(
                    "This was verified by your national identity (VNeID) and cannot be "
                    "changed. The verified value is kept."
                ),
            )
        if refused and self.is_bound:
            # The page shows the verified value again, and everything else as typed.
            data = self.data.copy()
            for name in refused:
                value = getattr(self.instance, name)
                data[self.add_prefix(name)] = (
                    value.isoformat() if hasattr(value, "isoformat") else value
                )
            self.data = data
        return cleaned

    def clean_date_of_birth(self):
        value = self.cleaned_data.get("date_of_birth")
        validate_birth_date(value)
        return value


class LookupForm(forms.Form):
    code = forms.CharField(label=_("Dossier code"), max_length=40)
    secret = forms.CharField(label=_("Lookup code printed on the receipt"), max_length=12)


class DeclarationForm(forms.Form):
    declaration = forms.BooleanField(
        label=_(
            "I declare that the information and documents in this dossier are true, and I "
            "take responsibility for them before the law."
        ),
        error_messages={"required": _("Tick the declaration to file the dossier.")},
    )


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you withdraw? (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    confirm = forms.BooleanField(
        label=_("Yes, withdraw this dossier. It will not be processed."),
        error_messages={"required": _("Tick the box to confirm.")},
    )


class RatingForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("How satisfied are you with how your dossier was handled?"),
        choices=[
            (5, _("5 — very satisfied")),
            (4, _("4 — satisfied")),
            (3, _("3 — neutral")),
            (2, _("2 — dissatisfied")),
            (1, _("1 — very dissatisfied")),
        ],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a rating from 1 to 5.")},
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
