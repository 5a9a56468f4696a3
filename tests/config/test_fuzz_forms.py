"""Junk posted to every form: never a 500.

For each form-handling URL, the field names (and the values offered: actions, choices) are
read from the page that shows the form, so a field added to a form is fuzzed without
touching this file. Hypothesis then sends any unicode (NUL, control characters, right-to-
left marks, very long strings), huge and negative numbers, dates out of any calendar,
missing fields, repeated keys, stray files and raw bodies that are not valid UTF-8. Every
example runs in a transaction rolled back afterwards, so each meets the same dossiers.

A new form page goes in TARGETS: one line.
"""

from __future__ import annotations

import copy
import html
import re
from urllib.parse import parse_qsl

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import APPLICANT, new_draft, sign_in, walk_to
from workflows import services
from workflows.models import Channel, DossierTask, Status
from workflows.services import work

EXAMPLES = 10  # random ones per target, besides the NASTY ones: ~30 targets, about a minute

# (actor, method, URL name, its arguments, the page showing the form (name, arguments,
# query); None: the URL itself). Arguments name objects of the world below.
TARGETS = [
    ("anon", "get", "portal:home", None, None),
    ("citizen", "post", "portal:apply", "procedure", ("portal:apply", "procedure", "agency=H22")),
    ("citizen", "post", "portal:edit", "draft", None),
    ("citizen", "post", "portal:review", "draft", None),
    ("citizen", "post", "portal:profile", None, None),
    ("citizen", "post", "portal:withdraw", "submitted", ("portal:dossier", "submitted", "")),
    ("citizen", "post", "portal:rate", "issued", ("portal:dossier", "issued", "")),
    ("anon", "post", "portal:lookup", None, None),
    ("anon", "post", "documents:verify", None, None),
    ("anon", "post", "documents:verify_check", None, ("documents:verify", None, "")),
    ("citizen", "post", "notifications:preferences", None, None),
    ("citizen", "post", "notifications:mark_read", None, ("notifications:centre", None, "")),
    ("reception", "get", "workspace:queue", None, None),
    ("reception", "get", "workspace:inbox", None, None),
    ("head", "get", "workspace:team", None, None),
    ("reception", "post", "workspace:bulk_claim", None, ("workspace:queue", None, "")),
    ("reception", "post", "workspace:act", "held_task", ("workspace:task", "held_task", "")),
    ("head", "post", "workspace:act", "approval", ("workspace:task", "approval", "")),
    ("head", "post", "workspace:assign", "held_task", ("workspace:task", "held_task", "")),
    ("head", "post", "workspace:reschedule", "in_review", ("workspace:dossier", "in_review", "")),
    ("reception", "post", "workspace:file_new", "desk", None),
    ("reception", "post", "workspace:draft", "desk_draft", None),
    ("signer", "post", "workspace:certificate", None, None),
    ("supervisor", "get", "workspace:dashboard", None, None),
    ("supervisor", "get", "workspace:dashboard_dossiers", None, ("workspace:dashboard", None, "")),
    ("supervisor", "get", "workspace:service_index", None, None),
    ("supervisor", "get", "workspace:access_log", None, None),
    ("anon", "post", "account_login", None, None),
    ("anon", "post", "account_signup", None, None),
    ("anon", "post", "account_reset_password", None, None),
    ("citizen", "post", "account_change_password", None, None),
    ("reception", "post", "mfa_add_webauthn", None, None),
]


@pytest.fixture
def world(procedure, province, citizen, officers):
    submitted = work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
    held = DossierTask.objects.get(dossier=submitted, stage="reception")
    work.task_claim(task=held, by=officers["reception"])
    # And one left in the queue, for the queue's checkboxes.
    work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
    # Through the flow, to an approval task the head holds (and a dossier in review).
    in_review = work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
    for stage, officer, action, form in (
        ("reception", officers["reception"], "accept", {}),
        ("review", officers["specialist"], "propose", {"decision": "approve", "opinion": "Đạt"}),
    ):
        task = DossierTask.objects.get(dossier=in_review, stage=stage)
        work.task_claim(task=task, by=officer)
        work.task_complete(task=task, by=officer, action=action, form=form)
    approval = DossierTask.objects.get(dossier=in_review, stage="approval")
    work.task_claim(task=approval, by=officers["head"])
    issued = walk_to(Status.ISSUED, procedure, province, citizen, officers)
    desk_draft = services.dossier_create(
        procedure=procedure,
        handling_agency=province,
        channel=Channel.DESK,
        by=officers["reception"],
        applicant=APPLICANT,
    )
    args = {
        None: {},
        "procedure": {"code": procedure.code},
        "draft": {"pk": new_draft(procedure, province, citizen, complete=False).pk},
        "submitted": {"pk": submitted.pk},
        "issued": {"pk": issued.pk},
        "in_review": {"pk": in_review.pk},
        "held_task": {"pk": held.pk},
        "approval": {"pk": approval.pk},
        "desk": {"agency_code": province.code, "procedure_code": procedure.code},
        "desk_draft": {"pk": desk_draft.pk},
    }
    actors = {"anon": None, "citizen": citizen, **officers}
    return args, actors


NAME = re.compile(r'\bname="([^"]+)"')
VALUE = re.compile(r'\bvalue="([^"]*)"')
LINK_QUERY = re.compile(r'\bhref="[^"?]*\?([^"#]*)"')


def _form_page(client, page: str, args: dict, query: str) -> tuple[list[str], list[str]]:
    """The field names and the offered values of the forms on ``page``."""
    response = client.get(reverse(page, kwargs=args) + (f"?{query}" if query else ""))
    assert response.status_code == 200, (page, response.status_code)
    text = response.content.decode()
    names = {html.unescape(n) for n in NAME.findall(text)}
    values = {html.unescape(v) for v in VALUE.findall(text)}
    # The page's own links carry query parameters too (filters, drill-downs, exports).
    for query in LINK_QUERY.findall(text):
        for key, value in parse_qsl(html.unescape(query), keep_blank_values=True):
            names.add(key)
            values.add(value)
    return sorted(names - NOT_FIELDS), sorted(values)


NASTY = [
    "0001-01-01",
    "9999-12-31",
    str(2**63),
    "-1",
    "9" * 400,
    "\x00",
    "x" * 1_100_000,
    "1e309",
    "",
]


NASTY_ALONE = ["0001-01-01", str(2**63), "\x00", "x" * 100_000]
# The language switcher and the page's <meta name="viewport"> are on every page.
NOT_FIELDS = {"csrfmiddlewaretoken", "language", "next", "viewport"}


def junk_text():
    return st.one_of(
        st.text(max_size=40),
        st.text(st.characters(codec="utf-8"), max_size=40),
        st.sampled_from(["\x00", "\u202e", "\ufeff", "\r\n", "%", "'\"><", "../../etc/passwd"]),
        # Long: a character repeated (cheap to make, up to 3 MB of UTF-8).
        st.builds(lambda c, n: c * n, st.characters(codec="utf-8"), st.integers(1_000, 1_000_000)),
        st.integers().map(str),
        st.sampled_from([str(2**63), str(-(2**63) - 1), "9" * 400, "1e309", "NaN", "-0", "0x10"]),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.sampled_from(["0001-01-01", "9999-12-31", "31/02/2026", "2026-13-01", "99999-01-01"]),
        st.sampled_from(["on", "true", "1", "", " "]),
    )


@st.composite
def post_data(draw, names: list[str], values: list[str]):
    """Some of the form's fields (any of them missing), stray ones, repeated keys, values
    the page offered and junk."""
    value = st.one_of(junk_text(), st.sampled_from(values) if values else junk_text())
    keys = draw(
        st.lists(
            st.one_of(st.sampled_from(names), st.text(min_size=1, max_size=12))
            if names
            else st.text(min_size=1, max_size=12),
            max_size=max(3, len(names) + 2),
        )
    )
    data: dict = {}
    for key in keys:
        data.setdefault(key, []).append(draw(value))
    if draw(st.booleans()) and names:
        upload = [n for n in names if n.startswith("file")] or names
        content = draw(st.binary(max_size=2000) | st.just(b"%PDF-1.4\n" + b"0" * 3000))
        data[draw(st.sampled_from(upload))] = SimpleUploadedFile(
            "f"
            + draw(
                st.text(st.characters(codec="utf-8", exclude_characters="/\\\x00"), max_size=300)
            ),
            content,
            draw(st.sampled_from(["application/pdf", "image/png", "text/html", "x/\x00"])),
        )
    return data


def _send(client, method, url, data, raw: bytes | None):
    jar = copy.deepcopy(client.cookies)
    try:
        with transaction.atomic():
            if raw is not None:
                if method == "get":
                    response = client.get(f"{url}?{raw.decode('latin-1')}")
                else:
                    response = client.post(
                        url, raw, content_type="application/x-www-form-urlencoded"
                    )
            elif method == "get":
                response = client.get(
                    url,
                    {
                        k: [v for v in vs if isinstance(v, str)]
                        for k, vs in data.items()
                        if isinstance(vs, list)
                    },
                )
            else:
                response = client.post(url, data)
            transaction.set_rollback(True)
    finally:
        client.cookies = jar
    return response


RAW = st.lists(
    st.tuples(st.binary(min_size=1, max_size=12), st.binary(max_size=40)), max_size=5
).map(lambda pairs: b"&".join(b"%s=%s" % (k, v) for k, v in pairs))


def _fuzzer(client, method: str, url: str, names: list[str], values: list[str]):
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=post_data(names, values), raw=st.none() | RAW)
    def fuzz(data, raw):
        response = _send(client, method, url, data, raw)
        # The test client raises a view's exception; a 500 page would show here.
        assert response.status_code < 500, (method, url, response.status_code)

    # Besides the random examples: each field alone, then every field at once, set to the
    # values that have broken forms before (dates out of the calendar, ids past 64 bits,
    # NUL, a megabyte of text).
    for nasty in NASTY_ALONE:
        for name in names:
            fuzz = example(data={name: [nasty]}, raw=None)(fuzz)
    for nasty in NASTY:
        fuzz = example(data={name: [nasty] for name in names}, raw=None)(fuzz)
    return fuzz


def test_no_form_answers_junk_with_a_500(world):
    args, actors = world
    for actor, method, name, arg_key, page in TARGETS:
        client = Client()
        if actors[actor] is not None:
            sign_in(client, actors[actor])
        page_name, page_key, query = page or (name, arg_key, "")
        names, values = _form_page(client, page_name, args[page_key], query)
        # A renamed page or form would otherwise fuzz nothing.
        assert names, f"{name}: no fields found on {page_name}"
        url = reverse(name, kwargs=args[arg_key])

        _fuzzer(client, method, url, names, values)()
