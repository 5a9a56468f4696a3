"""Cleaning what people type before a service stores it.

Drafts keep what was typed, as typed, but bounded: known keys only, text only, no NUL
characters (PostgreSQL refuses them), no NaN or infinity (JSON has none), column-sized.
Filing then validates everything fully.
"""

from __future__ import annotations

import math

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_TEXT = 5000

APPLICANT_COLUMNS = {
    "name": "applicant_name",
    "id_number": "applicant_id_number",
    "address": "applicant_address",
    "phone": "applicant_phone",
    "email": "applicant_email",
}


class ApplicantForm(forms.Form):
    name = forms.CharField(max_length=200)
    id_number = forms.RegexField(r"^[0-9]{9,12}$", required=False, max_length=12)
    address = forms.CharField(max_length=500, required=False)
    phone = forms.RegexField(r"^\+?[0-9 .-]{8,15}$", required=False, max_length=20)
    email = forms.EmailField(required=False, max_length=254)


def _bad_text(value: str, limit: int) -> str | None:
    if "\x00" in value:
        return _("Remove the null characters.")
    if len(value) > limit:
        return _("Keep it under %(limit)d characters.") % {"limit": limit}
    return None


def clean_text(value, what: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    """A comment or reason: text, stripped, bounded; required ones must not be blank."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError({what: [_("Enter text.")]})
    value = value.strip()
    if required and not value:
        raise ValidationError({what: [_("A reason is required for this action.")]})
    problem = _bad_text(value, limit)
    if problem:
        raise ValidationError({what: [problem]})
    return value


def bounded_applicant(applicant: dict | None, limits: dict[str, int]) -> dict:
    """What was typed about the applicant, as column values. ``limits``: column → max length."""
    kept, errors = split_applicant(applicant, limits)
    if errors:
        raise ValidationError(errors)
    return kept


def split_applicant(applicant: dict | None, limits: dict[str, int]) -> tuple[dict, dict]:
    """(what can be kept, what cannot and why) of the applicant's details."""
    if applicant is None:
        return {}, {}
    if not isinstance(applicant, dict):
        raise ValidationError(_("Applicant data must be a mapping."))
    errors, kept = {}, {}
    for key, value in applicant.items():
        column = APPLICANT_COLUMNS.get(key)
        if column is None:
            errors[f"applicant.{key}"] = [_("Unknown applicant field.")]
            continue
        value = "" if value is None else value
        problem = (
            _("Enter text.")
            if not isinstance(value, str)
            else _bad_text(value.strip(), limits[column])
        )
        if problem:
            errors[f"applicant.{key}"] = [problem]
        else:
            kept[column] = value.strip()
    return kept, errors


def validated_applicant(values: dict[str, str]) -> dict:
    """Full validation at filing; ``values`` maps applicant keys to what was stored."""
    form = ApplicantForm(data=values)
    if not form.is_valid():
        raise ValidationError({f"applicant.{k}": v for k, v in form.errors.items()})
    return {APPLICANT_COLUMNS[k]: v for k, v in form.cleaned_data.items()}


def _scalar_ok(value) -> bool:
    if value is None or isinstance(value, bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str)


def bounded_form_data(spec: dict, form_data) -> dict:
    """A draft's form data: only the procedure's fields, only scalars or lists of them."""
    kept, errors = split_form_data(spec, form_data)
    if errors:
        raise ValidationError(errors)
    return kept


def split_form_data(spec: dict, form_data) -> tuple[dict, dict]:
    """(what can be kept, what cannot and why) of a draft's form data."""
    if not isinstance(form_data, dict):
        raise ValidationError(_("Form data must be a mapping of field names to values."))
    known = {f["name"] for f in spec["fields"]}
    errors, kept = {}, {}
    for key, value in form_data.items():
        if key not in known:
            errors[key] = [_("This procedure has no such field.")]
            continue
        values = value if isinstance(value, list) else [value]
        if not all(_scalar_ok(v) for v in values):
            errors[key] = [_("Unsupported value.")]
            continue
        problem = next(
            (p for v in values if isinstance(v, str) and (p := _bad_text(v, MAX_TEXT))), None
        )
        if problem:
            errors[key] = [problem]
        else:
            kept[key] = value
    return kept, errors
