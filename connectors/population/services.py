"""Prefill from the population register, as the citizen's application form uses it.

- ``get_register()``: the configured backend, or None when the connection is off;
- ``verified_id_number(user)``: the ID number a look-up may be made for (only one the
  national sign-in vouched for);
- ``population_lookup(...)``: one look-up, always recorded, never raising;
- ``prefill_values(spec, person)``: the form values the procedure's ``prefill:`` keys ask
  for, each one checked by the form's own field;
- ``dossier_prefill(dossier)`` and ``Prefill.pin(post)``: what the register gave a dossier,
  and the server-side guard that keeps its read-only fields as given.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from connectors.http import ConnectorError
from procedures.forms import build_form_class, to_json_value
from procedures.prefill import register_field

from . import national  # noqa: F401  (registers the backends)
from .base import Person, PopulationRegister, registry
from .models import LookupOutcome, PopulationLookup


def get_register() -> PopulationRegister | None:
    """The configured backend, or None when the connection is off."""
    return registry.get()


log = logging.getLogger("motcua.connectors")

SOURCE = "population."
SOURCE_LABEL = _("From the national population database")

# What the citizen is told, by outcome (the form is theirs to fill whenever it is not found).
NOTICES = {
    LookupOutcome.FOUND: _(
        "Some fields are filled from the national population database; they are marked "
        "so. Please check them."
    ),
    LookupOutcome.NOT_FOUND: _(
        "The national population database has no record under your personal ID number. "
        "Please fill in the form yourself."
    ),
    LookupOutcome.DOWN: _(
        "The national population database is not available right now, so the form could "
        "not be filled from it. Please fill it in yourself."
    ),
    LookupOutcome.TIMEOUT: _(
        "The national population database did not answer in time, so the form could not "
        "be filled from it. Please fill it in yourself."
    ),
    LookupOutcome.MALFORMED: _(
        "The national population database sent an answer that could not be read, so the "
        "form was not filled from it. Please fill it in yourself."
    ),
    LookupOutcome.REFUSED: _(
        "The national population database could not be asked this time, so the form was "
        "not filled from it. Please fill it in yourself."
    ),
}
CHANGED = _("This value comes from the national population database and cannot be changed here.")


def verified_id_number(user) -> str | None:
    """The citizen's personal ID number, when the national sign-in vouched for it; None
    otherwise (no profile, no number, or a number typed by hand).

    The one place that reads what marks an ID number as verified: the profile's fields
    vouched for by the national sign-in (portal.services.profile_verify_identity)."""
    profile = getattr(user, "citizen_profile", None)
    if profile is None or not profile.id_number:
        return None
    if profile.is_verified("id_number"):
        return profile.id_number
    return None


def population_lookup(
    *, user, id_number: str, filing_key: uuid.UUID | None = None, dossier=None, spec: dict
) -> tuple[PopulationLookup, Person | None]:
    """Ask the register for ``id_number`` and record the look-up with the form values the
    answer fills in ``spec``; never raises for the register's failures."""
    register = get_register()
    person, detail = None, ""
    if register is None:  # switched off: the callers do not ask; recorded all the same
        outcome, detail = LookupOutcome.DOWN, "not configured"
    else:
        try:
            person = register.find(id_number)
        except ConnectorError as exc:
            outcome, detail = exc.reason, exc.detail[:200]
            log.warning(
                "population look-up failed",
                extra={"reason": exc.reason, "detail": exc.detail, "status": exc.status},
            )
        else:
            outcome = LookupOutcome.FOUND if person is not None else LookupOutcome.NOT_FOUND
    if outcome not in LookupOutcome.values:
        outcome = LookupOutcome.REFUSED
    values, readonly = prefill_values(spec, person) if person else ({}, [])
    lookup = PopulationLookup.objects.create(
        user=user,
        id_number=id_number,
        filing_key=filing_key,
        dossier=dossier,
        outcome=outcome,
        detail=detail,
        values=values,
        readonly=readonly,
    )
    return lookup, person


def prefills(spec: dict) -> bool:
    """Whether the procedure's form takes anything from the register."""
    return any((f.get("prefill") or "").startswith(SOURCE) for f in spec["fields"])


def prefill_values(spec: dict, person: Person) -> tuple[dict, list[str]]:
    """(form values by field name, the read-only ones) the procedure fills from ``person``.

    Each value goes through the form's own field first: one the form would refuse (a Kinh
    applicant on a form for minorities only, a name longer than the field) is left for
    the citizen to type, and never pinned."""
    form_fields = build_form_class(spec).base_fields
    values, readonly = {}, []
    for spec_field in spec["fields"]:
        source = spec_field.get("prefill") or ""
        if not source.startswith(SOURCE):
            continue
        name = spec_field["name"]
        value = to_json_value(person.value(register_field(source)))
        if value in ("", None):
            continue
        try:
            form_fields[name].clean(value)
        except ValidationError:
            continue
        values[name] = value
        if spec_field.get("readonly"):
            readonly.append(name)
    return values, readonly


@dataclass
class Prefill:
    """What the register filled in one form: values by field name, the read-only ones."""

    values: dict = field(default_factory=dict)
    readonly: list = field(default_factory=list)

    @classmethod
    def of(cls, lookup: PopulationLookup | None) -> Prefill | None:
        if lookup is None or lookup.outcome != LookupOutcome.FOUND or not lookup.values:
            return None
        return cls(values=dict(lookup.values), readonly=list(lookup.readonly))

    def pin(self, post):
        """A copy of ``post`` whose read-only fields hold the register's values, and the
        errors for those a post tried to change (an empty or missing value is no change:
        a browser leaves out what it cannot edit)."""
        post = post.copy()
        errors: dict[str, list[str]] = {}
        for name in self.readonly:
            value = self.values.get(name)
            if value is None:
                continue
            sent = post.get(name, "")
            if sent not in ("", value):
                errors[name] = [str(CHANGED)]
            post[name] = value
        return post, errors

    def mark(self, form, *, data: dict | None = None) -> None:
        """Show each field that holds the register's value as such; lock the read-only
        ones (a select offers the one value, a text box is read-only)."""
        for name, value in self.values.items():
            bound = form.fields.get(name)
            if bound is None:
                continue
            if data is not None and name not in self.readonly and data.get(name) != value:
                continue  # changed by the citizen: no longer the register's word
            note = str(SOURCE_LABEL)
            bound.help_text = f"{note}. {bound.help_text}" if bound.help_text else note
            if name in self.readonly:
                if hasattr(bound, "choices"):
                    bound.choices = [c for c in bound.choices if str(c[0]) == str(value)]
                else:
                    bound.widget.attrs["readonly"] = True
                bound.widget.attrs["aria-readonly"] = "true"
                bound.widget.attrs["data-source"] = "population"


def dossier_prefill(*, dossier) -> Prefill | None:
    """What the register gave this dossier: its latest look-up that found the person."""
    lookup = (
        PopulationLookup.objects.filter(dossier=dossier, outcome=LookupOutcome.FOUND)
        .order_by("-at", "-pk")
        .first()
    )
    return Prefill.of(lookup)


def population_lookup_attach(*, dossier, user, filing_key: uuid.UUID | None) -> Prefill | None:
    """At a new application's first save: link the look-ups its form made (by its filing
    key) to the dossier it became. When the form made none (a post that did not come from
    the page, or a lost key), look up now, so that a read-only field is guarded all the
    same. Returns what the register gave the dossier."""
    if not prefills(dossier.procedure_version.spec):
        return None
    if not dossier.population_lookups.exists():
        linked = 0
        if filing_key is not None:
            linked = PopulationLookup.objects.filter(
                user=user, filing_key=filing_key, dossier=None
            ).update(dossier=dossier)
        if not linked:
            id_number = verified_id_number(user)
            if id_number and get_register() is not None:
                population_lookup(
                    user=user,
                    id_number=id_number,
                    filing_key=filing_key,
                    dossier=dossier,
                    spec=dossier.procedure_version.spec,
                )
    return dossier_prefill(dossier=dossier)
