"""What a look-up in the population register gives, and the backends' interface."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from connectors.registry import Registry

SYSTEM = "population"

registry = Registry(SYSTEM)


@dataclass(frozen=True)
class Person:
    """One person as the register knows them, in motcua's names (procedures.prefill)."""

    id_number: str
    full_name: str
    date_of_birth: dt.date
    sex: str  # "male", "female", or "" when the register does not say
    ethnic_group: str  # GSO code of one of the 54 groups (procedures.ethnic_groups)
    religion: str
    home_town: str
    permanent_address: str
    current_address: str
    household_head: str

    def value(self, field: str):
        return getattr(self, field)


class PopulationRegister:
    """A backend: ``find(id_number)`` returns the Person, or None when the register has
    nobody under that number; any other failure is a ``connectors.http.ConnectorError``."""

    backend_name = ""

    def __init__(self, options: dict):
        self.options = options

    @property
    def timeout(self) -> float:
        return float(self.options.get("TIMEOUT") or 3)

    def find(self, id_number: str) -> Person | None:  # pragma: no cover - abstract
        raise NotImplementedError
