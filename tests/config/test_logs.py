"""Nothing secret in the logs: a whole walk through the pages, from sign-up and password
reset to a received dossier, its public lookup and its papers' verification, then every
line the configured handlers wrote is searched for the secrets the walk used."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import re

import pytest
from django.core import mail
from django.urls import reverse

from config.logging import Redact, redact
from config.logging import formatter as log_formatter
from tests.conftest import APPLICANT, new_draft, sign_in
from workflows.models import Status
from workflows.services import dossiers as transitions

PASSWORD = "Núi-cao-suối-sâu-42"


@pytest.fixture(params=["json", "console"])
def log_lines(request):
    """What the project's own handlers (settings.LOGGING) write, at every level, in each
    of the two formats (structlog's JSON lines and its console lines)."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if any(isinstance(f, Redact) for f in h.filters)]
    assert ours, "settings.LOGGING's handlers carry config.logging.Redact"
    buffer = io.StringIO()
    buffer.format = request.param
    formatter = logging.config.DictConfigurator({}).configure_custom(
        dict(log_formatter(request.param))
    )
    previous = [(h, h.setStream(buffer), h.formatter) for h in ours]
    for handler in ours:
        handler.setFormatter(formatter)
    level = root.level
    root.setLevel(logging.DEBUG)
    yield buffer
    root.setLevel(level)
    for handler, stream, old in previous:
        handler.setStream(stream)
        handler.setFormatter(old)


def test_a_whole_walk_leaves_no_secret_in_any_log_line(
    client, log_lines, procedure, province, officers, django_capture_on_commit_callbacks
):
    secrets: dict[str, str] = {}

    # Sign-up and its confirmation link.
    client.post(
        reverse("account_signup"),
        {
            "email": "pao@example.org",
            "username": "giangapao",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    confirm = re.search(r"/accounts/confirm-email/([^/\s]+)/", mail.outbox[-1].body)
    secrets["confirmation key"] = confirm.group(1)
    client.post(confirm.group(0))
    client.get(f"/accounts/confirm-email/{confirm.group(1)}x/")  # a wrong key: a 404 path
    client.post(reverse("account_logout"))

    # Password reset, its link, and a forged one.
    client.post(reverse("account_reset_password"), {"email": "pao@example.org"})
    reset = re.search(r"/accounts/password/reset/key/([^/\s]+)/", mail.outbox[-1].body)
    secrets["reset key"] = reset.group(1).split("-", 1)[1]
    client.get(reset.group(0))
    client.get(f"/accounts/password/reset/key/{reset.group(1)}zz/")

    from django.contrib.auth import get_user_model

    citizen = get_user_model().objects.get(username="giangapao")
    sign_in(client, citizen)
    secrets["ID number"] = APPLICANT["id_number"]
    secrets["phone number"] = APPLICANT["phone"]
    # A profile with the ID number and phone, and one with impossible values.
    for id_number, phone in ((APPLICANT["id_number"], APPLICANT["phone"]), ("12", "abc")):
        client.post(
            reverse("portal:profile"),
            {"full_name": APPLICANT["name"], "id_number": id_number, "phone": phone},
        )
    # Search and a missing page, both with the ID number in the query string.
    client.get(reverse("portal:home"), {"q": APPLICANT["id_number"]})
    client.get(f"/me/dossiers/987654/?id={APPLICANT['id_number']}&phone={APPLICANT['phone']}")

    # File, receive: the receipt slip gets a verification code.
    dossier = new_draft(procedure, province, citizen)
    client.post(reverse("portal:review", args=[dossier.pk]), {"declaration": "on"})
    dossier.refresh_from_db()
    if dossier.status == Status.DRAFT:  # the review form's fields are the page's business
        dossier = transitions.dossier_submit(dossier=dossier, by=citizen)
    with django_capture_on_commit_callbacks(execute=True):  # the papers render after commit
        dossier = transitions.dossier_receive(dossier=dossier, by=officers["reception"])
    secrets["lookup secret"] = dossier.lookup_secret

    # The officers' search by ID number and phone.
    sign_in(client, officers["reception"])
    client.get(reverse("workspace:queue"), {"q": APPLICANT["id_number"]})
    client.get(reverse("workspace:queue"), {"q": APPLICANT["phone"]})

    # The public lookup, right and wrong, by form and by query string.
    client.post(reverse("account_logout"))
    lookup = reverse("portal:lookup")
    client.post(lookup, {"code": dossier.code, "secret": dossier.lookup_secret})
    client.post(lookup, {"code": dossier.code, "secret": "WRONG123"})
    client.get(lookup, {"code": dossier.code, "secret": dossier.lookup_secret})

    # Verification by the code printed on a paper, right and wrong.
    from documents.models import Document

    document = Document.objects.filter(dossier=dossier).exclude(verification_code="").first()
    assert document is not None, "the receipt slip has a verification code"
    secrets["verification code"] = document.verification_code
    client.get(reverse("documents:verify_code", args=[document.verification_code]))
    client.get(reverse("documents:verify_code", args=[document.verification_code[:-1] + "Z"]))
    client.get(reverse("documents:verify_download", args=[document.verification_code]))
    client.get(f"/verify/{document.verification_code}/nothing-here/")

    lines = log_lines.getvalue().splitlines()
    assert any("Not Found" in line for line in lines), "the walk's 404s were logged"
    if log_lines.format == "json":
        records = [json.loads(line) for line in lines if line.startswith("{")]
        assert records and all(
            "request_id" in r for r in records if r["logger"] == "django.request"
        )
        # Tracebacks are part of their record's line, not lines of their own.
        assert all(line.startswith("{") for line in lines), [
            line for line in lines if not line.startswith("{")
        ][:3]
    found = {
        what: [line for line in lines if value.lower() in line.lower()]
        for what, value in secrets.items()
    }
    assert not any(found.values()), {k: v for k, v in found.items() if v}


def test_redaction_keeps_what_operators_need():
    line = (
        'GET /verify/AB12CD34EF/download/?x=1 "dossier H22-261129-0001" task 12345 '
        "user 17 at 2026-11-29 19:00:00,123"
    )
    cleaned = redact(line)
    assert "AB12CD34EF" not in cleaned and "x=1" not in cleaned
    for kept in ("H22-261129-0001", "task 12345", "user 17", "2026-11-29 19:00:00,123"):
        assert kept in cleaned
    assert redact("phone +84912345678, 0912345678, id 001190012345, 123456789") == (
        "phone […], […], id […], […]"
    )


def test_a_traceback_is_redacted_too():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed for %s", ("x",), None)
    try:
        raise ValueError("bad ID 001190012345")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    Redact().filter(record)
    assert "001190012345" not in record.exc_text and "ValueError" in record.exc_text


def test_json_lines_redact_fields_messages_and_tracebacks(capsys):
    """structlog's fields are redacted like messages, and the line stays valid JSON."""
    import structlog

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(Redact())
    handler.setFormatter(
        logging.config.DictConfigurator({}).configure_custom(dict(log_formatter("json")))
    )
    for name in ("motcua.test.structured", "motcua.test.plain"):
        logging.getLogger(name).addHandler(handler)
    try:
        structlog.get_logger("motcua.test.structured").warning(
            "lookup failed for /verify/AB12CD34EF/?phone=0912345678",
            id_number="001190012345",
            nested={"phone": "+84912345678", "path": '/x?q="quoted"'},
            dossier="H22-261129-0001",
        )
        try:
            raise ValueError("bad ID 001190012345")
        except ValueError:
            logging.getLogger("motcua.test.plain").exception("failed for %s", "0912345678")
    finally:
        for name in ("motcua.test.structured", "motcua.test.plain"):
            logging.getLogger(name).removeHandler(handler)
    structured, plain = (json.loads(line) for line in buffer.getvalue().splitlines())
    assert structured["event"] == "lookup failed for /verify/[…]/?[…]"
    assert structured["id_number"] == "[…]"
    assert structured["nested"] == {"phone": "[…]", "path": '/x?[…]"quoted"'}
    assert structured["dossier"] == "H22-261129-0001"
    assert plain["event"] == "failed for […]"
    assert "ValueError: bad ID […]" in plain["exception"]
    assert "001190012345" not in buffer.getvalue() and "0912345678" not in buffer.getvalue()
