"""Changes to what the portal keeps about a citizen that come from outside their own typing:
the fields a national identity vouches for (connectors.identity calls this)."""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import CitizenProfile


class IdentityTaken(Exception):
    """The verified ID number is already verified on another account's profile."""


def verified_elsewhere(*, id_number: str, user=None) -> bool:
    """Whether another account's profile already holds this ID number, verified."""
    profiles = CitizenProfile.objects.filter(id_number=id_number).exclude(verified_source="")
    if user is not None and user.pk is not None:
        profiles = profiles.exclude(user=user)
    return profiles.exists()


@transaction.atomic
def profile_verify_identity(*, user, values: dict, source: str, level: int | None) -> list[str]:
    """Write what a national identity vouched for on ``user``'s profile (made if absent) and
    mark those fields verified. Returns the fields whose value the citizen had typed
    differently: the verified value replaced it, and the page says so.

    Raises IdentityTaken when the ID number is verified on another account."""
    if verified_elsewhere(id_number=values["id_number"], user=user):
        raise IdentityTaken(values["id_number"])
    profile = CitizenProfile.objects.select_for_update().filter(user=user).first()
    if profile is None:
        profile = CitizenProfile(user=user)
    replaced = []
    for field, value in values.items():
        old = getattr(profile, field)
        if old not in ("", None) and _differs(old, value):
            replaced.append(field)
        setattr(profile, field, value)
    profile.verified_fields = sorted(set(values))
    profile.verified_source = source
    profile.verified_at = timezone.now()
    profile.identity_level = level
    try:
        with transaction.atomic():
            profile.save()
    except IntegrityError as exc:  # two sign-ins racing for one ID number
        raise IdentityTaken(values["id_number"]) from exc
    name = profile.full_name[:150]  # first_name's length, as the profile page keeps it
    if name and (user.first_name, user.last_name) != (name, ""):
        user.first_name, user.last_name = name, ""
        user.save(update_fields=["first_name", "last_name"])
    return replaced


def _differs(old, new) -> bool:
    if isinstance(old, datetime.date) or isinstance(new, datetime.date):
        return old != new
    return " ".join(str(old).split()).casefold() != " ".join(str(new).split()).casefold()


@transaction.atomic
def profile_unverify(*, user) -> None:
    """The national identity was unlinked: its fields stay, editable again."""
    CitizenProfile.objects.filter(user=user).update(
        verified_fields=[], verified_source="", verified_at=None, identity_level=None
    )
