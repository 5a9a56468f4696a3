"""The register fields a procedure's form field may be filled from (``prefill:`` in the
catalog YAML), and which kinds of form field can take each one.

The names are motcua's own (``population.<field>``), not the register's wire names: the
adapter (connectors.population.national) maps the register's answer onto them, so a
procedure file never changes when a deployment's field names do.
"""

from __future__ import annotations

# source -> the form field types that can hold its value
SOURCES: dict[str, tuple[str, ...]] = {
    "population.id_number": ("id_number", "text"),
    "population.full_name": ("text",),
    "population.date_of_birth": ("date",),
    # male / female: a choice field offering both values
    "population.sex": ("choice",),
    "population.ethnic_group": ("ethnic_group",),
    "population.religion": ("text",),
    "population.home_town": ("text", "textarea"),
    "population.permanent_address": ("text", "textarea"),
    "population.current_address": ("text", "textarea"),
    "population.household_head": ("text",),
}

SEX_VALUES = ("male", "female")


def register_field(source: str) -> str:
    """``population.ethnic_group`` -> ``ethnic_group``."""
    return source.split(".", 1)[1]
