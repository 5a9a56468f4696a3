"""A procedure version's fee, read for one application: the amount, and the first of its
exemptions whose condition the application's form data meets.

Pure functions over the version's stored spec (``ProcedureVersion.spec["fee"]``, the shape
``procedures.schema.Fee`` validated on load) and a form's data; no database.
"""

from __future__ import annotations

from decimal import Decimal


def fee_amount(fee: dict) -> Decimal:
    return Decimal(fee.get("amount", 0))


def condition_holds(condition: dict, form_data: dict) -> bool:
    """Whether ``condition`` (procedures.schema.Condition, as stored) holds for the form."""
    if "all" in condition:
        return all(condition_holds(c, form_data) for c in condition["all"])
    if "any" in condition:
        return any(condition_holds(c, form_data) for c in condition["any"])
    if "none" in condition:
        return not any(condition_holds(c, form_data) for c in condition["none"])
    value = form_data.get(condition["field"])
    if value is None or value == "" or value == []:
        return False
    wanted = condition["one_of"] if "one_of" in condition else [condition["equals"]]
    held = value if isinstance(value, list) else [value]
    # A number typed in a form may be kept as text or as a number: compare as text, but a
    # yes/no only with a yes/no (True is not "1").
    return any(_same(have, want) for have in held for want in wanted)


def _same(have, want) -> bool:
    if isinstance(want, bool) or isinstance(have, bool):
        return have is want
    return str(have) == str(want)


def exemption_for(fee: dict, form_data: dict) -> dict | None:
    """The first exemption that applies (code, name, legal basis), or None."""
    for exemption in fee.get("exemptions", []):
        if condition_holds(exemption["when"], form_data or {}):
            return exemption
    return None
