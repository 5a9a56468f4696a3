"""What the national sign-in is configured with, and what its claims say about a person.

The settings live in ``MOTCUA["CONNECTORS"]["identity"]`` (config/settings.py): the server,
the client registered with the national portal's single sign-on, and the names of the
claims that carry the personal ID number and the account level, which the deployment's
interface documents (kept in settings: *unverified* names).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from connectors.registry import Registry

identity = Registry("identity")

#: The provider id in allauth: the URLs are /accounts/oidc/vneid/login/ and .../callback/.
PROVIDER_ID = "vneid"


@identity.register("oidc")
class NationalIdentity:
    """The national single sign-on, spoken to over OpenID Connect (allauth does the
    protocol; this holds its settings and reads its claims)."""

    def __init__(self, options: dict):
        self.options = options
        self.server_url = str(options.get("SERVER_URL", "")).rstrip("/")
        self.client_id = str(options.get("CLIENT_ID", ""))
        self.client_secret = str(options.get("CLIENT_SECRET", ""))
        self.id_number_claim = str(options.get("ID_NUMBER_CLAIM", "citizen_id"))
        self.level_claim = str(options.get("LEVEL_CLAIM", "identity_level"))
        self.min_level = int(options.get("MIN_LEVEL", 1))
        self.timeout = float(options.get("TIMEOUT", 10.0))
        self.scope = list(options.get("SCOPE", ["openid", "profile", "email"]))
        self.name = str(options.get("NAME", "VNeID"))

    def person(self, data: dict) -> NationalPerson:
        """The person the id_token and userinfo name (userinfo first, as allauth does).
        Raises ValueError when the ID number is missing or not 12 digits."""
        merged = {**(data.get("id_token") or {}), **(data.get("userinfo") or {})}
        id_number = str(merged.get(self.id_number_claim) or "").strip()
        if not re.fullmatch(r"[0-9]{12}", id_number):
            raise ValueError(f"claim {self.id_number_claim!r} is not a 12-digit ID number")
        birth = None
        raw_birth = str(merged.get("birthdate") or "")
        try:
            birth = datetime.date.fromisoformat(raw_birth) if raw_birth else None
        except ValueError:
            birth = None  # a date we cannot read is left for the citizen to type
        try:
            level = int(merged.get(self.level_claim) or 0) or None
        except (TypeError, ValueError):
            level = None
        return NationalPerson(
            id_number=id_number,
            full_name=str(merged.get("name") or "").strip()[:200],
            date_of_birth=birth,
            level=level,
            email=str(merged.get("email") or "").strip(),
        )


@dataclass(frozen=True)
class NationalPerson:
    id_number: str
    full_name: str
    date_of_birth: datetime.date | None
    level: int | None
    email: str

    def verified_values(self) -> dict:
        """The profile's fields the national identity vouches for (empty ones left out)."""
        values = {"id_number": self.id_number, "full_name": self.full_name}
        if self.date_of_birth is not None:
            values["date_of_birth"] = self.date_of_birth
        return {k: v for k, v in values.items() if v}


def configured() -> NationalIdentity | None:
    """The national sign-in, or None when it is switched off (no button, 404 routes)."""
    backend = identity.get()
    if backend is None or not (backend.server_url and backend.client_id):
        return None
    return backend
