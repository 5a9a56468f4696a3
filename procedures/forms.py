"""Django forms built from a procedure's field list, and validation of form data.

The same form validates what a citizen types in the portal, what a desk officer enters
for a walk-in applicant, and what a service is asked to store.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from config.bounds import BoundedDateField, validate_birth_date

from . import ethnic_groups


def localized(text: dict | None) -> str:
    """The text in the active language (Vietnamese unless English is chosen)."""
    if not text:
        return ""
    return text["en"] if translation.get_language() == "en" else text["vi"]


PHONE = RegexValidator(r"^\+?[0-9 .-]{8,15}$", _("Enter a valid phone number."))
# Browsers without a date picker send what people type: accept the Vietnamese order too.
DATE_INPUTS = ["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"]


def field_choices(spec: dict) -> list[tuple[str, str]]:
    """(value, label in the active language) of a choice, multichoice or ethnic-group
    field; empty for the other kinds."""
    if spec["type"] == "ethnic_group":
        return [(g.code, g.display_name) for g in ethnic_groups.offered(spec.get("groups"))]
    return [(c["value"], localized(c["label"])) for c in spec.get("choices") or []]


def _field(spec: dict) -> forms.Field:
    rules = spec.get("validation") or {}
    common = {
        "label": localized(spec["label"]),
        "required": spec.get("required", False),
        "help_text": localized(spec.get("help")),
    }
    validators = []
    if rules.get("pattern"):
        validators.append(
            RegexValidator(
                rules["pattern"], localized(rules.get("message")) or _("Invalid format.")
            )
        )
    kind = spec["type"]
    lengths = {k: rules[k] for k in ("min_length", "max_length") if rules.get(k) is not None}
    values = {k: rules[k] for k in ("min_value", "max_value") if rules.get(k) is not None}
    if kind in ("text", "id_number"):
        field = forms.CharField(
            max_length=lengths.get("max_length", 255),
            min_length=lengths.get("min_length"),
            **common,
        )
    elif kind == "textarea":
        field = forms.CharField(
            widget=forms.Textarea,
            max_length=lengths.get("max_length", 5000),
            min_length=lengths.get("min_length"),
            **common,
        )
    elif kind == "integer":
        field = forms.IntegerField(**values, **common)
    elif kind == "decimal":
        field = forms.DecimalField(max_digits=18, decimal_places=2, **values, **common)
    elif kind == "date":
        # Every date within 1900-2100; a date of birth (by its name) also not in the future.
        field = BoundedDateField(
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            input_formats=DATE_INPUTS,
            **common,
        )
        if "birth" in spec["name"]:
            validators.append(validate_birth_date)
    elif kind in ("choice", "ethnic_group"):
        field = forms.ChoiceField(choices=[("", "---------"), *field_choices(spec)], **common)
    elif kind == "multichoice":
        choices = field_choices(spec)
        field = forms.MultipleChoiceField(
            choices=choices, widget=forms.CheckboxSelectMultiple, **common
        )
    elif kind == "boolean":
        field = forms.BooleanField(**common)
    elif kind == "email":
        field = forms.EmailField(max_length=254, **common)
    elif kind == "phone":
        field = forms.CharField(max_length=20, **common)
        validators.append(PHONE)
    else:  # the schema only admits the kinds above
        raise ValueError(f"unknown field type {kind!r}")
    field.validators.extend(validators)
    return field


def build_form_class(spec: dict) -> type[forms.Form]:
    """A Form class for ``spec`` (a ProcedureVersion.spec)."""
    attrs = {f["name"]: _field(f) for f in spec["fields"]}
    return type("ProcedureForm", (forms.Form,), attrs)


# A version never changes: its form class is made once per language (labels and messages
# are in it) and process. Each form made from it copies the fields (Django's base_fields).
_FORM_CLASSES: dict[tuple[int, str, str], type[forms.Form]] = {}
_FORM_CLASSES_KEPT = 256


def version_form_class(version) -> type[forms.Form]:
    """``build_form_class`` of a saved ProcedureVersion, made once (by its id and content:
    a test database gives a rolled-back version's id to the next one)."""
    if version.pk is None:
        return build_form_class(version.spec)
    key = (version.pk, version.content_hash, translation.get_language() or "")
    form_class = _FORM_CLASSES.get(key)
    if form_class is None:
        if len(_FORM_CLASSES) >= _FORM_CLASSES_KEPT:
            _FORM_CLASSES.clear()
        form_class = _FORM_CLASSES[key] = build_form_class(version.spec)
    return form_class


def forget_form_classes() -> None:
    _FORM_CLASSES.clear()


def to_json_value(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _as_posted(spec: dict, data: dict) -> tuple[dict, dict[str, list[str]]]:
    posted, wrong = {}, {}
    kinds = {f["name"]: f["type"] for f in spec["fields"]}
    for name, value in data.items():
        many = kinds.get(name) == "multichoice"
        if isinstance(value, bool):
            value = ("on" if value else "") if kinds.get(name) == "boolean" else str(value).lower()
        elif isinstance(value, (int, float, Decimal)):
            value = str(value)
        if many:
            fits = isinstance(value, list) and all(isinstance(v, str) for v in value)
        else:
            fits = value is None or isinstance(value, str)
        if fits:
            posted[name] = value
        elif name in kinds:
            wrong[name] = [str(_("Choose from the list.") if many else _("Enter a single value."))]
    return posted, wrong


def clean_form_data(spec: dict, data: dict, *, form_class: type[forms.Form] | None = None) -> dict:
    """Validate ``data`` against the procedure's fields; return JSON-ready cleaned data.
    ``form_class``: the spec's, made before (``version_form_class``).

    Raises ValidationError whose ``error_dict`` names each field at fault.
    """
    if not isinstance(data, dict):
        raise ValidationError("Form data must be a mapping of field names to values.")
    unknown = sorted(set(data) - {f["name"] for f in spec["fields"]})
    # What a browser can send is text (a list of texts for several choices); a machine
    # client may send other JSON: numbers and yes/no are read as their text, anything
    # else is refused on its field before the form's fields (which expect text) see it.
    data, wrong = _as_posted(spec, data)
    form = (form_class or build_form_class(spec))(data=data)
    if not form.is_valid() or unknown or wrong:
        errors = {name: list(errs) for name, errs in form.errors.items()}
        errors.update(wrong)
        for name in unknown:
            errors[name] = ["This procedure has no such field."]
        raise ValidationError(errors)
    return {name: to_json_value(value) for name, value in form.cleaned_data.items()}
