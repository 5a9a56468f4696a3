"""Demo data for trying motcua out: an agency tree, one account per role, dossiers in
several states. Everything is made through the real services. Running it again
changes nothing.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from procedures.forms import field_choices
from procedures.loader import load_agencies, load_procedures
from procedures.models import Agency, OfficerRole, Procedure
from procedures.roles import Role

from . import services
from .models import Channel, Dossier, DossierTask
from .services import work

DEMO_PASSWORD = "motcua-demo-2026"  # noqa: S105 - printed on purpose, demo only
DEMO_PROVINCE = "H22"
DEMO_CENTRAL = "G16"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    full_name: str
    role: str | None
    agency: str | None


ACCOUNTS = [
    DemoAccount("citizen", "Lò Thị Mai", None, None),
    DemoAccount("reception", "Nguyễn Thu Hà", Role.RECEPTION, DEMO_PROVINCE),
    DemoAccount("specialist", "Vàng A Dính", Role.SPECIALIST, DEMO_PROVINCE),
    DemoAccount("head", "Hoàng Văn Sơn", Role.HEAD, DEMO_PROVINCE),
    DemoAccount("signer", "Lù Văn Páo", Role.SIGNER, DEMO_PROVINCE),
    DemoAccount("supervisor", "Trần Minh Đức", Role.SUPERVISOR, DEMO_CENTRAL),
]


def minimal_pdf(text: str = "motcua demo") -> bytes:
    """A small, valid one-page PDF (for demo and test uploads)."""
    stream = f"BT /F1 18 Tf 40 780 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def minimal_png() -> bytes:
    """A valid 1×1 white PNG."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def sample_upload(component: dict) -> SimpleUploadedFile:
    """A small file of a type the component accepts."""
    if "application/pdf" in component["content_types"]:
        return SimpleUploadedFile(
            f"{component['code']}.pdf",
            minimal_pdf(component["code"]),
            content_type="application/pdf",
        )
    return SimpleUploadedFile(f"{component['code']}.png", minimal_png(), content_type="image/png")


SAMPLE_TEXT = {
    "full_name": "Lò Thị Mai",
    "village": "Bản Cốc Lếu",
    "commune": "Xã Cốc San",
    "organization": "Ủy ban nhân dân xã Cốc San",
    "position": "Trưởng bản",
    "school_name": "Trường Phổ thông Dân tộc nội trú tỉnh Lào Cai",
    "text": "Cốc San",
    "textarea": (
        "Nhiều năm vận động bà con trong bản giữ gìn an ninh trật tự, phát triển sản xuất "
        "và bảo tồn văn hóa truyền thống của dân tộc."
    ),
}


def sample_form_data(spec: dict) -> dict:
    """Values that pass the procedure's own validation, one per field."""
    data = {}
    for field in spec["fields"]:
        kind = field["type"]
        rules = field.get("validation") or {}
        if kind == "id_number":
            value = "001190012345"
        elif kind == "phone":
            value = "0912345678"
        elif kind == "email":
            value = "citizen@example.org"
        elif kind == "date":
            value = "1990-05-12"
        elif kind == "integer":
            value = str(rules.get("min_value") or 1)
        elif kind == "decimal":
            value = str(rules.get("min_value") or "1.5")
        elif kind == "choice":
            value = field["choices"][0]["value"]
        elif kind == "ethnic_group":
            codes = [code for code, _name in field_choices(field)]
            value = "08" if "08" in codes else codes[0]  # Mông, when the form offers it
        elif kind == "multichoice":
            value = [field["choices"][0]["value"]]
        elif kind == "boolean":
            value = "on"
        else:
            value = SAMPLE_TEXT.get(
                field["name"], SAMPLE_TEXT["textarea" if kind == "textarea" else "text"]
            )
            value = value[: rules.get("max_length") or 5000]
            if rules.get("min_length") and len(value) < rules["min_length"]:
                value = (value + " " + SAMPLE_TEXT["textarea"])[: rules.get("max_length") or 5000]
        data[field["name"]] = value
    return data


def attach_all(dossier: Dossier, by) -> None:
    for component in dossier.procedure_version.spec["components"]:
        upload = sample_upload(component)
        services.dossier_attach_component(
            dossier=dossier, by=by, component_code=component["code"], upload=upload
        )


def ensure_accounts() -> dict[str, object]:
    User = get_user_model()
    users = {}
    # One hash of the published demo password for every demo account (PBKDF2 costs about
    # half a second a time): the same salt, which matters nothing for a published password.
    hashed = None
    for account in ACCOUNTS:
        # Vietnamese names read family name first; Django joins first + last, so the
        # whole name goes in first_name.
        user, created = User.objects.get_or_create(
            username=account.username,
            defaults={
                "first_name": account.full_name,
                "last_name": "",
                "email": f"{account.username}@demo.motcua.invalid",
            },
        )
        if created:
            hashed = hashed or make_password(DEMO_PASSWORD)
            user.password = hashed
            user.save(update_fields=["password"])
        if account.role:
            OfficerRole.objects.get_or_create(
                user=user, agency=Agency.objects.get(code=account.agency), role=account.role
            )
        users[account.username] = user
    admin, created = User.objects.get_or_create(
        username="admin",
        defaults={"is_staff": True, "is_superuser": True, "email": "admin@demo.motcua.invalid"},
    )
    if created:
        admin.password = hashed or make_password(DEMO_PASSWORD)
        admin.save(update_fields=["password"])
    users["admin"] = admin
    return users


def _new_dossier(procedure: Procedure, agency: Agency, users) -> Dossier:
    citizen = users["citizen"]
    dossier = services.dossier_create(
        procedure=procedure,
        handling_agency=agency,
        channel=Channel.ONLINE,
        by=citizen,
        applicant_user=citizen,
        applicant={
            "name": "Lò Thị Mai",
            "id_number": "001190012345",
            "address": "Bản Cốc Lếu, xã Cốc San, tỉnh Lào Cai",
            "phone": "0912345678",
            "email": "citizen@demo.motcua.invalid",
        },
        form_data=sample_form_data(procedure.current_version.spec),
    )
    attach_all(dossier, citizen)
    return dossier


# Each demo dossier is walked this far along the lifecycle.
STORYLINES = [
    "draft",
    "submitted",
    "submitted",
    "claimed_for_review",
    "supplement_requested",
    "received",
    "in_review",
    "approved",
    "issued",
    "refused",
    "rejected_at_reception",
]
# Walked on a procedure with a fee (the catalog's sample one), if the catalog has one:
# appraised, the fee asked for, waiting for its payment (national status 6).
FEE_STORYLINES = ["fee_requested"]


def _stage_task(dossier: Dossier, stage: str) -> DossierTask:
    return DossierTask.objects.get(dossier=dossier, stage=stage, status__in=work.ACTIVE)


def _do(dossier: Dossier, stage: str, officer, action: str, **form) -> Dossier:
    task = _stage_task(dossier, stage)
    work.task_claim(task=task, by=officer)
    return work.task_complete(task=task, by=officer, action=action, form=form)


def _walk(dossier: Dossier, target: str, users, sign_result=None) -> Dossier:
    """Take a demo dossier along its flow, as the officers would, up to ``target``."""
    u = users
    if target == "draft":
        return dossier
    dossier = work.application_submit(dossier=dossier, by=u["citizen"])
    if target == "submitted":
        return dossier
    if target == "rejected_at_reception":
        return _do(
            dossier,
            "reception",
            u["reception"],
            "reject",
            reason="Thủ tục này không thuộc thẩm quyền giải quyết của Ban Dân tộc tỉnh.",
        )
    if target == "supplement_requested":
        first = dossier.procedure_version.spec["components"][0]["code"]
        return _do(
            dossier,
            "reception",
            u["reception"],
            "supplement",
            items=[{"code": first, "reason": "Bản scan bị mờ, không đọc được."}],
            reason="Hồ sơ chưa đầy đủ, đề nghị bổ sung.",
        )
    dossier = _do(dossier, "reception", u["reception"], "accept")
    if target == "received":
        return dossier
    if target == "fee_requested":
        return _do(dossier, "review", u["specialist"], "request_fee")
    if target == "claimed_for_review":
        work.task_claim(task=_stage_task(dossier, "review"), by=u["specialist"])
        return dossier
    refuse = target == "refused"
    dossier = _do(
        dossier,
        "review",
        u["specialist"],
        "propose",
        decision="refuse" if refuse else "approve",
        opinion="Người đề nghị chưa đáp ứng tiêu chí cư trú."
        if refuse
        else "Hồ sơ đã được thẩm định, đủ điều kiện.",
    )
    if target == "in_review":
        return dossier
    if refuse:
        return _do(
            dossier,
            "approval",
            u["head"],
            "refuse",
            reason="Chưa đáp ứng tiêu chí cư trú theo quy định.",
        )
    dossier = _do(dossier, "approval", u["head"], "approve")
    if target == "approved":
        return dossier
    if sign_result is not None:
        sign_result(dossier, u["signer"])
    return _do(dossier, "signing", u["signer"], "sign")


def seed_demo(*, prepare_accounts=None, sign_result=None) -> dict:
    load_agencies()
    load_procedures()
    with transaction.atomic():
        users = ensure_accounts()
        if prepare_accounts is not None:
            prepare_accounts(users)
    created = 0
    # All demo dossiers or none: a failed run leaves nothing half-made to trip the next one.
    with transaction.atomic():
        if Dossier.objects.filter(applicant_user=users["citizen"]).exists():
            return {"users": users, "dossiers_created": 0, "password": DEMO_PASSWORD}
        province = Agency.objects.get(code=DEMO_PROVINCE)
        in_province = (
            Procedure.objects.filter(is_active=True, current_version__agency_level="province")
            .select_related("current_version")
            .order_by("code")
        )
        # The storylines go through the free procedures (a fee would stop them at the
        # approval until paid); the fee's own storyline through one with a fee.
        procedures = list(in_province.filter(current_version__fee=0))
        for index, target in enumerate(STORYLINES):
            procedure = procedures[index % len(procedures)]
            _walk(_new_dossier(procedure, province, users), target, users, sign_result)
            created += 1
        with_fee = in_province.filter(current_version__fee__gt=0).first()
        for target in FEE_STORYLINES if with_fee is not None else []:
            _walk(_new_dossier(with_fee, province, users), target, users, sign_result)
            created += 1
    return {"users": users, "dossiers_created": created, "password": DEMO_PASSWORD}
