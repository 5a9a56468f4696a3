"""Shared fixtures: the real agency tree and catalog, officers per role, dossiers made by
the real services."""

from __future__ import annotations

import itertools

import pytest
from django.contrib.auth import get_user_model

from procedures.loader import load_agencies, load_procedures
from procedures.models import Agency, OfficerRole, Procedure
from procedures.roles import Role
from workflows import services
from workflows.demo import attach_all, sample_form_data
from workflows.models import Channel, Dossier, Status
from workflows.services import dossiers as transitions
from workflows.services import fees as transitions_fees

PROVINCE = "H22"
# The catalog's sample procedure with a fee and exemptions (procedures/catalog/
# sample-fee-and-online-payment.yaml): the real procedures are free.
FEE_SAMPLE = "MAU.PHI.001"
OTHER_PROVINCE = "H23"
_names = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_totp_codes():
    """allauth remembers used TOTP codes in the cache, which each test starts afresh."""
    from security import testing

    testing.used_codes.clear()


@pytest.fixture(autouse=True)
def _fresh_memos():
    """What a process keeps for a few seconds (procedures.memo) may come from a test's
    rows, which its rollback takes back without a signal: each test reads afresh."""
    from procedures.auth import forget_role_permissions
    from procedures.forms import forget_form_classes
    from procedures.selectors import forget_upload_limits

    forget_role_permissions()
    forget_upload_limits()
    forget_form_classes()
    yield
    forget_role_permissions()
    forget_upload_limits()
    forget_form_classes()


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    """Each test's private files in its own directory (workflows.storage looks the storage
    up when used, so this override reaches the models' FileFields)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "workflows.storage.PrivateFileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private")},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _no_signing(settings, tmp_path):
    """No trust roots and no seals unless a test asks for the development PKI (``signing``)."""
    settings.MOTCUA = {
        **settings.MOTCUA,
        "DOCUMENTS": {
            **settings.MOTCUA["DOCUMENTS"],
            "TRUST_ROOTS": [],
            "SEAL_DIR": str(tmp_path / "no-seals"),
        },
    }


SEAL_PASSWORD = "seal-test-password"
SIGNER_PASSWORD = "signer-test-password"


@pytest.fixture(scope="session")
def dev_pki(tmp_path_factory):
    """A CA and seals for the test agencies, made once per session (RSA keys are slow)."""
    from documents import pki

    root = tmp_path_factory.mktemp("pki")
    ca = pki.write_ca(root, SEAL_PASSWORD.encode())
    for code in ("G16", PROVINCE, OTHER_PROVINCE):
        pki.write_seal(
            root / "seals",
            ca,
            code=code,
            name=f"Ban Dân tộc {code}",
            password=SEAL_PASSWORD.encode(),
        )
    return {"root": root, "ca": ca}


@pytest.fixture
def signing(settings, dev_pki):
    """The development PKI in settings: its CA trusted, its seals in the seal directory."""
    settings.MOTCUA = {
        **settings.MOTCUA,
        "DOCUMENTS": {
            **settings.MOTCUA["DOCUMENTS"],
            "TRUST_ROOTS": [str(dev_pki["root"] / "ca.pem")],
            "SEAL_DIR": str(dev_pki["root"] / "seals"),
            "SEAL_PASSWORD": SEAL_PASSWORD,
        },
    }
    return dev_pki


def make_timestamper(ca, *, fixed_dt=None):
    """pyHanko's in-process RFC 3161 timestamp authority, certified by the test CA: what
    MOTCUA_TIMESTAMP_URL's server does, without a network. ``fixed_dt`` pins its clock."""
    import datetime as dt

    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(ca.key, hashes.SHA256())
    )

    def der(cert):
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))

    return DummyTimeStamper(
        tsa_cert=der(certificate),
        tsa_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        certs_to_embed=[der(ca.certificate)],
        fixed_dt=fixed_dt,
    )


def give_certificate(dev_pki, user, password: str = SIGNER_PASSWORD):
    """Issue ``user`` a signing certificate from the test CA and register it."""
    from documents import pki
    from documents.services import credential_upload

    data = pki.signer_pkcs12(
        dev_pki["ca"],
        name=user.get_full_name() or user.username,
        organisation="Ban Dân tộc tỉnh Lào Cai",
        password=password.encode(),
    )
    credential_upload(user=user, data=data, password=password)
    return data


@pytest.fixture
def catalog(db):
    load_agencies()
    load_procedures()


@pytest.fixture
def province(catalog) -> Agency:
    return Agency.objects.get(code=PROVINCE)


@pytest.fixture
def other_province(catalog) -> Agency:
    return Agency.objects.get(code=OTHER_PROVINCE)


@pytest.fixture
def procedure(catalog) -> Procedure:
    """A province-level procedure under the standard flow."""
    return Procedure.objects.get(code="1.012841")


def make_user(username: str | None = None, **extra):
    username = username or f"user{next(_names)}"
    return get_user_model().objects.create_user(username=username, password="x-Pass-123!", **extra)


def sign_in(client, user):
    """Log ``user`` in on the test client as a finished login would: the one place tests
    sign in, so that whatever a complete login records (a second factor for staff) is
    recorded here too: staff get a real TOTP enrolment and the session record of a
    password-plus-code login."""
    from security.testing import sign_in as staff_aware_sign_in

    return staff_aware_sign_in(client, user)


def make_officer(role: str, agency: Agency, username: str | None = None):
    user = make_user(username or f"{role}{next(_names)}")
    OfficerRole.objects.create(user=user, agency=agency, role=role)
    return get_user_model().objects.get(pk=user.pk)  # fresh: no cached roles


@pytest.fixture
def officers(province) -> dict:
    return {role: make_officer(role, province) for role in Role.values}


@pytest.fixture
def outsiders(other_province) -> dict:
    """The same roles, held in another province."""
    return {role: make_officer(role, other_province) for role in Role.values}


@pytest.fixture
def citizen(db):
    return make_user("citizen-test")


APPLICANT = {
    "name": "Lò Thị Mai",
    "id_number": "001190012345",
    "address": "Bản Cốc Lếu",
    "phone": "0912345678",
    "email": "mai@example.org",
}


def new_draft(
    procedure: Procedure, agency: Agency, citizen, *, complete: bool = True, desk=None
) -> Dossier:
    """A draft filed online by ``citizen``, or at the desk by the officer ``desk``."""
    filer = desk or citizen
    dossier = services.dossier_create(
        procedure=procedure,
        handling_agency=agency,
        channel=Channel.DESK if desk else Channel.ONLINE,
        by=filer,
        applicant_user=None if desk else citizen,
        applicant=APPLICANT,
        form_data=sample_form_data(procedure.current_version.spec) if complete else {},
    )
    if complete:
        attach_all(dossier, filer)
    return dossier


def open_stage_task(dossier: Dossier):
    """The dossier's one open stage task (not a consulted unit's)."""
    from workflows.models import DossierTask

    return (
        DossierTask.objects.filter(dossier=dossier, task_status__in=("NEW", "ASSIGNED"))
        .exclude(role="")
        .exclude(stage="consult")
        .get()
    )


def complete_stage(dossier: Dossier, action: str, officer, **form) -> Dossier:
    """The officer claims the dossier's open stage task and completes it with ``action``,
    as the task page does."""
    from workflows.services import work

    task = open_stage_task(dossier)
    if task.status == "NEW":
        work.task_claim(task=task, by=officer)
    return work.task_complete(task=task, by=officer, action=action, form=form)


def walk_to(status: str, procedure, agency, citizen, officers, *, desk: bool = False) -> Dossier:
    """A dossier brought to ``status`` through the public services the pages call: filed
    (at the desk by the reception officer with ``desk``, else online by ``citizen``), then
    each stage's task claimed and completed by the officer holding its role, as the
    procedure's graph leads. A fee is asked for and paid at the desk before the decision."""
    from workflows.services import work
    from workflows.services.fees import fee_confirm_at_desk, fee_for_dossier

    o = officers
    if status == Status.FEE_REQUESTED and not procedure.current_version.fee:
        # Only a procedure with a fee gets there: the catalog's sample one.
        procedure = Procedure.objects.get(code=FEE_SAMPLE)
    dossier = new_draft(procedure, agency, citizen, desk=o["reception"] if desk else None)
    if status == Status.DRAFT:
        return dossier
    if status == Status.DISCARDED:
        import datetime as dt

        from django.utils import timezone

        from workflows.services.retention import dossier_discard

        # Judged as the retention job would judge it once the draft days have passed.
        return dossier_discard(dossier=dossier, as_of=timezone.now() + dt.timedelta(days=400))
    dossier = work.application_submit(dossier=dossier, by=o["reception"] if desk else citizen)
    if status == Status.SUBMITTED:
        return dossier

    def step(action: str, role: str, **form) -> Dossier:
        return complete_stage(dossier, action, o[role], **form)

    if status == Status.SUPPLEMENT_REQUESTED:
        component = procedure.current_version.spec["components"][0]["code"]
        return step(
            "supplement",
            "reception",
            reason="Thiếu giấy tờ",
            items=[{"code": component, "reason": "Bản scan mờ"}],
        )
    if status == Status.REJECTED_AT_RECEPTION:
        return step("reject", "reception", reason="Không thuộc thẩm quyền")
    if status == Status.WITHDRAWN:
        return work.application_withdraw(dossier=dossier, by=citizen)
    dossier = step("accept", "reception")
    if status == Status.RECEIVED:
        return dossier
    fee = fee_for_dossier(dossier=dossier)
    if fee is not None and fee.status == "due":
        dossier = step("request_fee", "specialist")
        if status == Status.FEE_REQUESTED:
            return dossier
        fee_confirm_at_desk(
            fee=fee_for_dossier(dossier=dossier), by=o["reception"], reference="walk_to"
        )
        dossier.refresh_from_db()
    dossier = step(
        "propose",
        "specialist",
        decision="refuse" if status == Status.REFUSED else "approve",
        opinion="Đã thẩm định hồ sơ.",
    )
    if status == Status.IN_REVIEW:
        return dossier
    if status == Status.REFUSED:
        return step("refuse", "head", reason="Không đủ tiêu chí")
    dossier = step("approve", "head")
    if status == Status.APPROVED:
        return dossier
    # Signed, the flow issues the result at once: "signed" is never a resting state.
    assert status == Status.ISSUED, status
    return step("sign", "signer")


def _fee_settled(dossier) -> None:
    """A fee the procedure asks (the sample one) counted as paid at the desk before the
    decision, which waits for it: a shortcut, as walk_to's other steps are."""
    from django.db.models import F
    from django.utils import timezone

    from workflows.models import Fee, FeeChannel, FeeStatus

    now = timezone.now()
    Fee.objects.filter(dossier=dossier, status=FeeStatus.DUE).update(
        status=FeeStatus.PAID,
        channel=FeeChannel.DESK,
        amount_paid=F("amount_due"),
        paid_at=now,
        recorded_at=now,
        reference="walk_to",
    )


def walk_by_transitions(
    status: str, procedure, agency, citizen, officers, *, desk: bool = False
) -> Dossier:
    """A dossier brought to ``status`` by the dossier's own transitions, with no flow: for
    the tests of the state machine, the history chain and the outbox themselves, whose
    entries and messages are counted step by step (every other test walks through the
    public services: walk_to)."""
    o = officers
    if status == Status.FEE_REQUESTED and not procedure.current_version.fee:
        # Only a procedure with a fee gets there: the catalog's sample one.
        procedure = Procedure.objects.get(code=FEE_SAMPLE)
    dossier = new_draft(procedure, agency, citizen, desk=o["reception"] if desk else None)
    if status == Status.DRAFT:
        return dossier
    if status == Status.DISCARDED:
        import datetime as dt

        from django.utils import timezone

        from workflows.services.retention import dossier_discard

        # Judged as the retention job would judge it once the draft days have passed.
        return dossier_discard(dossier=dossier, as_of=timezone.now() + dt.timedelta(days=400))
    dossier = transitions.dossier_submit(dossier=dossier, by=o["reception"] if desk else citizen)
    if status == Status.SUBMITTED:
        return dossier
    if status == Status.SUPPLEMENT_REQUESTED:
        return transitions.dossier_request_supplement(
            dossier=dossier,
            by=o["reception"],
            reason="Thiếu giấy tờ",
            items=[
                {
                    "code": procedure.current_version.spec["components"][0]["code"],
                    "reason": "Bản scan mờ",
                }
            ],
        )
    if status == Status.REJECTED_AT_RECEPTION:
        return transitions.dossier_reject_at_reception(
            dossier=dossier, by=o["reception"], reason="Không thuộc thẩm quyền"
        )
    if status == Status.WITHDRAWN:
        return transitions.dossier_withdraw(dossier=dossier, by=citizen)
    dossier = transitions.dossier_receive(dossier=dossier, by=o["reception"])
    if status == Status.RECEIVED:
        return dossier
    dossier = transitions.dossier_start_review(dossier=dossier, by=o["specialist"])
    if status == Status.FEE_REQUESTED:
        return transitions_fees.dossier_request_fee(dossier=dossier, by=o["specialist"])
    dossier = transitions.dossier_propose(
        dossier=dossier,
        by=o["specialist"],
        decision="refuse" if status == Status.REFUSED else "approve",
        opinion="Đã thẩm định hồ sơ.",
    )
    if status == Status.IN_REVIEW:
        return dossier
    if status == Status.REFUSED:
        return transitions.dossier_refuse(dossier=dossier, by=o["head"], reason="Không đủ tiêu chí")
    _fee_settled(dossier)
    dossier = transitions.dossier_approve(dossier=dossier, by=o["head"])
    if status == Status.APPROVED:
        return dossier
    dossier = transitions.dossier_sign(dossier=dossier, by=o["signer"])
    if status == Status.SIGNED:
        return dossier
    return transitions.dossier_issue(dossier=dossier)


@pytest.fixture
def walk(procedure, province, citizen, officers):
    def _walk(status: str, proc: Procedure | None = None) -> Dossier:
        return walk_to(status, proc or procedure, province, citizen, officers)

    return _walk


@pytest.fixture
def transition_walk(procedure, province, citizen, officers):
    def _walk(status: str, proc: Procedure | None = None) -> Dossier:
        return walk_by_transitions(status, proc or procedure, province, citizen, officers)

    return _walk


@pytest.fixture(autouse=True, scope="session")
def _test_settings():
    """Session-wide, so the live server (started once per session) runs with them too."""
    from django.test import override_settings

    with override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        # The test client and the live server speak plain HTTP; production redirects.
        SECURE_SSL_REDIRECT=False,
        SECURE_HSTS_SECONDS=0,
        SESSION_COOKIE_SECURE=False,
        CSRF_COOKIE_SECURE=False,
    ):
        yield


@pytest.fixture(autouse=True)
def _eager_celery():
    """Tasks run in-process in unit tests, whatever broker the environment names."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _english_messages():
    """Service messages in English for assertions; pages choose their own language."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def admin_client(db, admin_user):
    """pytest-django's admin_client, signed in as after a two-factor login (the admin
    refuses a staff session without one)."""
    from django.test import Client

    return sign_in(Client(), admin_user)


def pytest_configure(config):
    """No read replica in the suite, even with DATABASE_REPLICA_URL set: its tests'
    database declarations name "default" only, and the replica tests
    (tests/config/test_replica.py) make their own."""
    from django.conf import settings
    from django.db import connections

    settings.DATABASES.pop("replica", None)
    connections.settings.pop("replica", None)
