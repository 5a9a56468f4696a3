"""What a push says that other parts of motcua are still learning to know.

Each fact is one small function, so that the part that comes to know it (the fee model,
reuse from the citizen's data store, sign-in with VNeID: #15's other items) changes one
body here and nothing else. Until then each answers what motcua truly knows today:
no fee recorded, nothing reused, identity not verified with VNeID. Those are not
guesses: motcua records no fee, offers no reuse and has no VNeID sign-in yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflows.models import Dossier


@dataclass(frozen=True)
class Fee:
    name: str
    amount: int  # VND
    paid_online: bool


def fees(dossier: Dossier) -> list[Fee]:
    """The dossier's fees and charges, and whether each was paid online. motcua records
    no fee yet (the payment connector, #15 item 4): none."""
    return []


def component_reused(dossier: Dossier, component_code: str) -> bool:
    """The component's file was taken from the citizen's data store or an earlier result rather than
    uploaded (reuse, another #15 item): never yet."""
    return False


def result_reused(dossier: Dossier) -> bool:
    """The result was put in the citizen's data store for reuse: not yet."""
    return False


def identity_verified(dossier: Dossier) -> bool:
    """The applicant signed in with VNeID (national sign-in, #15 item 1): not yet."""
    return False


def applicant_type(dossier: Dossier) -> str:
    """ "citizen" or "organisation": motcua files for persons only (a personal ID number,
    an ethnic group), so a citizen."""
    return "citizen"
