"""The demo, put together across the apps: the dossiers and officers of workflows.demo,
plus what the portal keeps for the demo citizen (a profile, verified e-mail addresses)."""

from __future__ import annotations

import datetime as dt

from portal.accounts import account_email_vouched
from portal.models import CitizenProfile
from workflows.demo import seed_demo as seed_workflows


def _portal_accounts(users: dict) -> None:
    for user in users.values():
        account_email_vouched(user)
    CitizenProfile.objects.get_or_create(
        user=users["citizen"],
        defaults={
            "full_name": "Lò Thị Mai",
            "date_of_birth": dt.date(1990, 5, 12),
            "ethnic_group": "03",
            "id_number": "001190012345",
            "province": "Lào Cai",
            "commune": "Xã Cốc San",
            "address": "Bản Cốc Lếu",
            "phone": "0912345678",
        },
    )


def seed_demo() -> dict:
    return seed_workflows(prepare_accounts=_portal_accounts)
