"""The shape of a procedure file in procedures/catalog/*.yaml.

Validation is pydantic's, so every error carries the path of the field at fault
(``stages.2.role``). Cross-field rules (stage shares, unique codes, known roles,
templates and flows) are checked here too, so a file that passes is loadable.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_serializer,
    model_validator,
)

from . import flowspec
from . import prefill as prefill_sources
from .ethnic_groups import ethnic_group_by_code
from .roles import STAGE_ROLES

Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
MimeType = Annotated[str, Field(pattern=r"^[a-z]+/[a-z0-9.+-]+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Text(Strict):
    """A text in Vietnamese, with its English version."""

    vi: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]


FieldName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,49}$")]
Scalar = Annotated[str, Field(max_length=200)] | int | bool
# A condition nests at most this deep: deeper is a mistake, not a rule.
CONDITION_MAX_DEPTH = 4


class Condition(Strict):
    """When an exemption applies, from the dossier's form data. One of:

    - ``{field: NAME, equals: VALUE}``: the field holds VALUE (a multichoice field: among
      its choices);
    - ``{field: NAME, one_of: [VALUE, ...]}``: the field holds one of them;
    - ``{all: [...]}``, ``{any: [...]}``, ``{none: [...]}``: every one, at least one, or
      none of the conditions listed holds.

    A field left empty holds nothing: no condition on it holds (but ``none``).
    """

    field: FieldName | None = None
    equals: Scalar | None = None
    one_of: Annotated[list[Scalar], Field(min_length=1, max_length=200)] | None = None
    all: Annotated[list[Condition], Field(min_length=1)] | None = None
    any: Annotated[list[Condition], Field(min_length=1)] | None = None
    none: Annotated[list[Condition], Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> Condition:
        groups = [k for k in ("all", "any", "none") if getattr(self, k) is not None]
        tests = [k for k in ("equals", "one_of") if getattr(self, k) is not None]
        if self.field is not None:
            if groups or len(tests) != 1:
                raise ValueError("a condition on a field takes exactly one of equals, one_of")
        elif tests or len(groups) != 1:
            raise ValueError(
                "a condition is either {field, equals|one_of} or exactly one of all, any, none"
            )
        if self.depth() > CONDITION_MAX_DEPTH:
            raise ValueError(f"conditions nest at most {CONDITION_MAX_DEPTH} levels deep")
        return self

    def depth(self) -> int:
        children = self.all or self.any or self.none or []
        return 1 + max((child.depth() for child in children), default=0)

    @model_serializer(mode="wrap")
    def _only_set(self, handler):
        return {key: value for key, value in handler(self).items() if value is not None}


class Exemption(Strict):
    """Who owes nothing, and on what legal basis."""

    code: Code
    name: Text
    legal_basis: Text
    when: Condition


class Fee(Strict):
    amount: Annotated[int, Field(ge=0)]
    currency: Literal["VND"] = "VND"
    note: Text | None = None
    # Checked in order; the first that applies exempts the applicant.
    exemptions: list[Exemption] = []

    @field_validator("exemptions")
    @classmethod
    def _unique_exemptions(cls, value: list[Exemption]) -> list[Exemption]:
        return _unique(value, "code")

    @model_validator(mode="after")
    def _exemptions_need_a_fee(self) -> Fee:
        if self.exemptions and self.amount == 0:
            raise ValueError("a free procedure lists no exemptions")
        return self

    @model_serializer(mode="wrap")
    def _without_empty_exemptions(self, handler):
        # Procedures without exemptions keep the content (and hash, and version) they had
        # before the key existed.
        data = handler(self)
        if not self.exemptions:
            data.pop("exemptions", None)
        return data


class Component(Strict):
    code: Code
    name: Text
    mandatory: bool
    content_types: Annotated[list[MimeType], Field(min_length=1)]
    max_size_mb: Annotated[int, Field(gt=0, le=50)]
    form: Literal["original", "copy", "certified_copy"]
    count: Annotated[int, Field(ge=1)] = 1
    note: Text | None = None


class Choice(Strict):
    value: Code
    label: Text


class Validation(Strict):
    min_length: Annotated[int, Field(ge=0)] | None = None
    max_length: Annotated[int, Field(gt=0)] | None = None
    min_value: int | float | None = None
    max_value: int | float | None = None
    pattern: str | None = None
    message: Text | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value


FieldType = Literal[
    "text",
    "textarea",
    "integer",
    "decimal",
    "date",
    "choice",
    "multichoice",
    "boolean",
    "email",
    "phone",
    "id_number",
    # One of the 54 ethnic groups (procedures.ethnic_groups), stored as its GSO code.
    "ethnic_group",
]

EthnicCode = Annotated[str, Field(pattern=r"^[0-9]{2}$")]


class FormField(Strict):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,49}$")]
    type: FieldType
    label: Text
    help: Text | None = None
    required: bool = False
    choices: list[Choice] | None = None
    # For an ethnic_group field: the groups offered, "all" (the default), "minorities"
    # (all but Kinh) or a list of GSO codes. The names come from the one list.
    groups: Literal["all", "minorities"] | list[EthnicCode] | None = None
    validation: Validation | None = None
    # Filled from a national register when the citizen's ID number is verified
    # (procedures.prefill.SOURCES), and then kept as the register gave it if readonly.
    prefill: str | None = None
    readonly: bool = False

    @field_validator("prefill")
    @classmethod
    def _known_source(cls, value: str | None) -> str | None:
        if value is not None and value not in prefill_sources.SOURCES:
            known = ", ".join(prefill_sources.SOURCES)
            raise ValueError(f"unknown prefill source {value!r}; known: {known}")
        return value

    @model_validator(mode="after")
    def _prefill_fits(self) -> FormField:
        if self.readonly and self.prefill is None:
            raise ValueError("readonly applies to a prefilled field only: add prefill")
        if self.prefill is None:
            return self
        kinds = prefill_sources.SOURCES[self.prefill]
        if self.type not in kinds:
            raise ValueError(
                f"a {self.type} field cannot take {self.prefill}; it fits: {', '.join(kinds)}"
            )
        if self.prefill == "population.sex":
            values = {c.value for c in self.choices or []}
            if not set(prefill_sources.SEX_VALUES) <= values:
                raise ValueError("a field filled from population.sex offers male and female")
        return self

    @model_validator(mode="after")
    def _choices_match_type(self) -> FormField:
        wants_choices = self.type in ("choice", "multichoice")
        if wants_choices and not self.choices:
            raise ValueError(f"a {self.type} field needs choices")
        if not wants_choices and self.choices:
            hint = ""
            if self.type == "ethnic_group":
                hint = " (its groups come from the one list: use groups)"
            raise ValueError(f"a {self.type} field takes no choices{hint}")
        if self.groups is not None and self.type != "ethnic_group":
            raise ValueError(f"a {self.type} field takes no groups")
        if isinstance(self.groups, list):
            unknown = [code for code in self.groups if ethnic_group_by_code(code) is None]
            if unknown or not self.groups or len(set(self.groups)) != len(self.groups):
                raise ValueError(
                    "groups must list distinct GSO codes of the 54 ethnic groups (01-54)"
                    + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                )
        if self.choices:
            values = [c.value for c in self.choices]
            if len(values) != len(set(values)):
                raise ValueError("choice values must be unique")
        return self

    @model_serializer(mode="wrap")
    def _without_unset_keys(self, handler):
        # Only ethnic_group fields carry "groups": the other procedures' content (and so
        # their content hash and version) stays what it was before the key existed.
        data = handler(self)
        if self.groups is None:
            data.pop("groups", None)
        # Likewise prefill and readonly: only the fields that use them carry them.
        if self.prefill is None:
            data.pop("prefill", None)
        if not self.readonly:
            data.pop("readonly", None)
        return data


class ActionLead(Strict):
    """Where an action leads (procedures.flowspec): ``to`` a stage, the ``end``, or, for
    a wait or a consultation, the stage it goes on at (``then``)."""

    to: Code | None = None
    end: bool = False
    then: Code | None = None


class Stage(Strict):
    code: Code
    name: Text
    role: str
    share: Annotated[int, Field(gt=0, le=100)]
    # Which agency holds the stage (procedures.flowspec.HOLDERS): the handling agency by
    # default; a hand-off to its parent or to the nearest agency at a named level.
    held_by: str = "handling"
    # The actions an officer may take at this stage, and where each leads (flowspec).
    actions: dict[Annotated[str, Field(max_length=32)], ActionLead] = {}
    # Give each new task of this stage to the least-loaded eligible officer.
    auto_assign: bool = False

    @field_validator("role")
    @classmethod
    def _known_role(cls, value: str) -> str:
        if value not in STAGE_ROLES:
            known = ", ".join(sorted(STAGE_ROLES))
            raise ValueError(f"unknown role {value!r}; a stage is held by one of: {known}")
        return value


class Result(Strict):
    title: Text
    template: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


# Retention after the result, in years: the archive lists give 5, 10, 20, 50 or 70 years,
# or permanent. More than a century is a typo, not a period.
RETENTION_MAX_YEARS = 100
PERMANENT = "permanent"


def _value_problem(spec: FormField, value) -> str | None:
    """Why ``value`` cannot be what the form field ``spec`` holds (None: it can)."""
    if spec.type == "boolean":
        return (
            None if isinstance(value, bool) else f"the field {spec.name!r} is yes/no: true or false"
        )
    if isinstance(value, bool):
        return f"the field {spec.name!r} is not a yes/no field"
    if spec.type in ("choice", "multichoice"):
        known = [c.value for c in spec.choices or []]
        if value not in known:
            return f"{value!r} is not a choice of {spec.name!r}; its choices: {', '.join(known)}"
        return None
    if spec.type == "ethnic_group":
        if not isinstance(value, str) or ethnic_group_by_code(value) is None:
            return f"{value!r} is not the GSO code of an ethnic group (01-54)"
        return None
    if spec.type in ("integer", "decimal"):
        return None if isinstance(value, int) else f"the field {spec.name!r} holds a number"
    return None if isinstance(value, str) else f"the field {spec.name!r} holds text"


def _unique(items: list, attribute: str) -> list:
    codes = [getattr(item, attribute) for item in items]
    dupes = sorted({c for c in codes if codes.count(c) > 1})
    if dupes:
        raise ValueError(f"duplicate {attribute}(s): {', '.join(dupes)}")
    return items


class ProcedureSpec(Strict):
    code: Code
    name: Text
    sector: Text
    agency_level: Literal["central", "province", "district", "commune"]
    legal_basis: Annotated[list[Text], Field(min_length=1)]
    fee: Fee
    time_limit_days: Annotated[int, Field(gt=0, le=365)]
    # Years the dossier's personal files are kept after its result, or "permanent".
    retention: int | str
    online_level: Literal["full", "partial"]
    effective_from: dt.date
    requirements: list[Text] = []
    where_to_file: Text
    components: Annotated[list[Component], Field(min_length=1)]
    fields: Annotated[list[FormField], Field(min_length=1)]
    stages: Annotated[list[Stage], Field(min_length=1)]
    result: Result
    # How the procedure ends: a signed paper, a notice, or both (procedures.flowspec).
    outcome: Literal["paper", "notice", "both"] = "paper"

    @field_validator("retention", mode="before")
    @classmethod
    def _retention(cls, value):
        if value == PERMANENT:
            return value
        if type(value) is int and 1 <= value <= RETENTION_MAX_YEARS:
            return value
        raise ValueError(
            f"retention must be a whole number of years from 1 to {RETENTION_MAX_YEARS}, "
            f'or "{PERMANENT}"; got {value!r}'
        )

    @property
    def retention_years(self) -> int | None:
        """None for a permanent record."""
        return None if self.retention == PERMANENT else self.retention

    @field_validator("components")
    @classmethod
    def _unique_components(cls, value: list[Component]) -> list[Component]:
        return _unique(value, "code")

    @field_validator("fields")
    @classmethod
    def _unique_fields(cls, value: list[FormField]) -> list[FormField]:
        return _unique(value, "name")

    @field_validator("stages")
    @classmethod
    def _stages(cls, value: list[Stage]) -> list[Stage]:
        _unique(value, "code")
        total = sum(s.share for s in value)
        if total != 100:
            raise ValueError(f"shares sum to {total}%, they must sum to 100%")
        return value

    def to_json(self) -> dict:
        return self.model_dump(mode="json")

    def flow_problems(self) -> list[tuple[str, str]]:
        """What is wrong with the workflow the stages declare: (path, problem) pairs."""
        return flowspec.flow_problems(self)

    def fee_problems(self) -> list[tuple[str, str]]:
        """What the fee's exemptions get wrong about the form: (path, problem) pairs, for
        conditions naming a field the form lacks or a value it cannot hold."""
        fields = {f.name: f for f in self.fields}
        problems: list[tuple[str, str]] = []

        def check(condition: Condition, path: str) -> None:
            for key in ("all", "any", "none"):
                for i, child in enumerate(getattr(condition, key) or []):
                    check(child, f"{path}.{key}.{i}")
            if condition.field is None:
                return
            spec = fields.get(condition.field)
            if spec is None:
                problems.append((f"{path}.field", f"the form has no field {condition.field!r}"))
                return
            if condition.one_of is not None:
                values, where = condition.one_of, "one_of"
            else:
                values, where = [condition.equals], "equals"
            for i, value in enumerate(values):
                at = f"{path}.{where}" + (f".{i}" if where == "one_of" else "")
                wrong = _value_problem(spec, value)
                if wrong:
                    problems.append((at, wrong))

        for i, exemption in enumerate(self.fee.exemptions):
            check(exemption.when, f"fee.exemptions.{i}.when")
        return problems

    @property
    def fee_amount(self) -> Decimal:
        return Decimal(self.fee.amount)
