"""The demo, put together across the apps: the dossiers and officers of workflows.demo,
plus what the portal keeps for the demo citizen (a profile, verified e-mail addresses)."""

from __future__ import annotations

import datetime as dt
import io

from portal.models import CitizenProfile
from security.accounts import account_email_vouched
from workflows.demo import DEMO_PASSWORD
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


# Finished dossiers from the past months, so the supervisor's dashboard has early,
# on-time and late results to show: (received, finished) in days before today, outcome.
PAST = [
    (300, 292, "issue"),
    (280, 236, "issue"),
    (200, 195, "refuse"),
    (150, 121, "issue"),
    (120, 60, "issue"),
    (40, 36, "issue"),
]


def _past(users: dict) -> int:
    """Walk demo dossiers through their flow at past dates (demo data only: the clock is
    set back with unittest.mock, so every record and hash reads as of that day)."""
    from unittest import mock
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from procedures.models import Agency, Procedure
    from workflows import demo
    from workflows.services import work

    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    province = Agency.objects.get(code=demo.DEMO_PROVINCE)
    # The free procedures: a fee would stop these at the approval until paid.
    procedures = list(
        Procedure.objects.filter(
            is_active=True, current_version__agency_level="province", current_version__fee=0
        )
        .select_related("current_version")
        .order_by("code")
    )
    now = timezone.now().astimezone(zone).replace(hour=9, minute=0, second=0, microsecond=0)
    made = 0
    for index, (received_ago, finished_ago, outcome) in enumerate(PAST):
        received = now - dt.timedelta(days=received_ago)
        finished = now - dt.timedelta(days=finished_ago, hours=-1)
        with mock.patch("django.utils.timezone.now", return_value=received):
            dossier = demo._new_dossier(procedures[index % len(procedures)], province, users)
            dossier = work.application_submit(dossier=dossier, by=users["citizen"])
            dossier = demo._do(dossier, "reception", users["reception"], "accept")
            decision = "refuse" if outcome == "refuse" else "approve"
            dossier = demo._do(
                dossier,
                "review",
                users["specialist"],
                "propose",
                decision=decision,
                opinion="Hồ sơ đã được thẩm định.",
            )
        with mock.patch("django.utils.timezone.now", return_value=finished):
            if outcome == "refuse":
                demo._do(
                    dossier,
                    "approval",
                    users["head"],
                    "refuse",
                    reason="Chưa đáp ứng tiêu chí theo quy định.",
                )
            else:
                dossier = demo._do(dossier, "approval", users["head"], "approve")
                _sign_result(dossier, users["signer"])
                demo._do(dossier, "signing", users["signer"], "sign")
        made += 1
    return made


def _signing_keys(users: dict) -> None:
    """The development PKI (a local CA and seals) and the demo signer's certificate, when
    trust roots are configured (they are by default; the tests turn them off)."""
    from django.conf import settings
    from django.core.management import call_command

    from documents.services import active_credential

    if not settings.MOTCUA["DOCUMENTS"]["TRUST_ROOTS"]:
        return
    signer = users["signer"]
    # What it wrote (var/pki/...) is in the README; seed_demo says one line.
    quiet = io.StringIO()
    if active_credential(signer) is None:
        call_command(
            "make_dev_pki", "--signer", signer.username, "--password", DEMO_PASSWORD, stdout=quiet
        )
    else:
        call_command("make_dev_pki", stdout=quiet)


def _sign_result(dossier, signer) -> None:
    """Sign the demo result as the signing officer would: their certificate, then the seal."""
    from documents.services import active_credential, result_sign, seal_available

    personal = active_credential(signer) is not None
    seal = seal_available(dossier)
    if personal or seal:
        result_sign(
            dossier=dossier,
            by=signer,
            password=DEMO_PASSWORD if personal else "",
            personal=personal,
            seal=seal,
        )


def _second_factors(users: dict) -> None:
    """Each demo staff account gets the published demo TOTP secret, so a newcomer logs in
    with `manage.py demo_totp USER` (or an authenticator app holding the secret). Only
    with DEBUG: a database seeded with --force outside DEBUG has staff who must enrol."""
    from django.conf import settings

    from security.services import is_staff_member
    from security.totp import DEMO_TOTP_SECRET, enrol

    if not settings.DEBUG:
        return
    for user in users.values():
        if is_staff_member(user):
            enrol(user, DEMO_TOTP_SECRET)


def _accounts(users: dict) -> None:
    _portal_accounts(users)
    _signing_keys(users)
    _second_factors(users)


def seed_demo(*, papers_later: bool = False) -> dict:
    """``papers_later``: the papers the demo dossiers ask for (receipts, notices, results)
    are left pending for ``manage.py render_documents`` in another process, as ``make run``
    does (rendering them here, one after another, was most of the seed's time); the
    results the demo signer signs are rendered now all the same."""
    from contextlib import nullcontext

    from documents.models import Document, DocumentStatus
    from documents.services import renders_deferred

    with renders_deferred() if papers_later else nullcontext():
        result = seed_workflows(prepare_accounts=_accounts, sign_result=_sign_result)
        if result["dossiers_created"]:
            result["dossiers_created"] += _past(result["users"])
    result["papers_pending"] = Document.objects.filter(status=DocumentStatus.PENDING).count()
    return result
