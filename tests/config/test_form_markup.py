"""The markup of every page with a form, read as a screen reader reads it: each
``aria-describedby`` / ``aria-labelledby`` names ids present on the page, each label's
``for`` names a control on the page, and no label has an empty ``for``.

Django (5.0+) adds ``aria-describedby="<id>_helptext"`` (and ``<id>_error`` since 5.2) to
a widget whose field has a help text or errors; a template that prints the hint or the
errors itself must give them those ids, or the reference dangles (/verify/ had
``id_code-hint``). The pages are found by walking the URL matrix (tests/config/
test_url_matrix.py: every URL, for every kind of actor, GET and an empty POST), then the
pages that only a state shows: each stage's action forms held by their officer, forms sent
back with errors, the second login step."""

from __future__ import annotations

import copy
import uuid
from html.parser import HTMLParser

from django.db import transaction
from django.test import Client
from django.urls import reverse

from security import totp
from security.testing import TEST_TOTP_SECRET
from tests.config import test_url_matrix as matrix
from tests.conftest import give_certificate, make_officer, new_draft, sign_in
from tests.security import vouched
from workflows.models import DossierTask
from workflows.services import work

world = matrix.world  # its fixture: every kind of object a URL names

CONTROLS = {"input", "select", "textarea", "button", "meter", "output", "progress"}


class Markup(HTMLParser):
    """The ids of a page, and every reference to an id."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: dict[str, str] = {}  # id -> tag
        self.references: list[tuple[str, str, str]] = []  # (tag, attribute, id named)
        self.labels: list[str | None] = []  # each label's for, None when it has none
        self.forms = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.setdefault(attributes["id"], tag)
        if tag == "form":
            self.forms += 1
        for name in ("aria-describedby", "aria-labelledby"):
            if name in attributes:
                named = (attributes[name] or "").split()
                if not named:
                    self.references.append((tag, name, ""))
                for ref in named:
                    self.references.append((tag, name, ref))
        if tag == "label":
            self.labels.append(attributes.get("for"))

    handle_startendtag = handle_starttag


def problems(html: str) -> list[str]:
    """What a screen reader would miss on this page (empty: nothing)."""
    page = Markup()
    page.feed(html)
    page.close()
    found = []
    for tag, attribute, ref in page.references:
        if not ref:
            found.append(f'<{tag} {attribute}=""> names no id')
        elif ref not in page.ids:
            found.append(f'<{tag} {attribute}="{ref}">: no element has id "{ref}"')
    for target in page.labels:
        if target is None:
            continue  # a label around its control
        if not target.strip():
            found.append('<label for="">: an empty for')
        elif target not in page.ids:
            found.append(f'<label for="{target}">: no element has id "{target}"')
        elif page.ids[target] not in CONTROLS:
            found.append(f'<label for="{target}"> names a <{page.ids[target]}>, not a control')
    return found


def has_form(response) -> bool:
    return (
        response.status_code in (200, 400)
        and response["Content-Type"].startswith("text/html")
        and b"<form" in response.content
    )


def check(response, where: str, failures: list[str]) -> bool:
    if not has_form(response):
        return False
    failures.extend(f"{where}: {p}" for p in problems(response.content.decode()))
    return True


# --- The checker itself --------------------------------------------------------------------


def test_the_checker_finds_what_it_looks_for():
    good = (
        '<form><label for="id_code">Code</label><input id="id_code" '
        'aria-describedby="id_code_helptext"><span id="id_code_helptext">Hint</span></form>'
    )
    assert problems(good) == []
    assert problems(good.replace('id="id_code_helptext"', 'id="id_code-hint"')) == [
        '<input aria-describedby="id_code_helptext">: no element has id "id_code_helptext"'
    ]
    assert problems('<label for="">Proposal</label><div id="x"></div>') == [
        '<label for="">: an empty for'
    ]
    assert problems('<label for="nowhere">A</label>') == [
        '<label for="nowhere">: no element has id "nowhere"'
    ]
    assert problems('<label for="d">A</label><div id="d"></div>') == [
        '<label for="d"> names a <div>, not a control'
    ]
    # A label around its control needs no for.
    assert problems("<label><input type=checkbox> Yes</label>") == []


# --- Every page of the URL matrix ------------------------------------------------------------


def test_every_form_page_of_the_url_matrix(world):
    failures: dict[str, list[str]] = {}
    seen = set()
    for actor in matrix.ACTORS:
        client = matrix._signed_in(Client, world.actors[actor])
        for name, (args, get, post) in matrix.MATRIX.items():
            url = reverse(name, kwargs=matrix.ARGS[args](world.objects))
            for method, cells in (("get", get), ("post", post)):
                if not cells:
                    continue
                jar = copy.deepcopy(client.cookies)
                with transaction.atomic():
                    response = getattr(client, method)(url)
                    transaction.set_rollback(True)
                client.cookies = jar
                found: list[str] = []
                if check(response, f"{method.upper()} {name}", found):
                    seen.add(name)
                for problem in found:
                    failures.setdefault(problem, []).append(actor)
    assert not failures, "\n".join(f"{p} (as {', '.join(a)})" for p, a in failures.items())
    # The walk did reach the form pages (a page that stopped rendering its form would
    # silently leave the check).
    for name in (
        "account_login",
        "account_signup",
        "account_reset_password",
        "documents:verify",
        "portal:apply",
        "portal:lookup",
        "portal:profile",
        "portal:edit",
        "portal:review",
        "notifications:preferences",
        "workspace:queue",
        "workspace:task",
        "workspace:certificate",
        "workspace:dashboard",
        "workspace:service_index",
        "workspace:access_log",
        "workspace:file_new",
    ):
        assert name in seen, f"{name}: no form page checked"


def test_every_procedure_s_application_form(client, catalog, citizen):
    """Each procedure's own fields (choices, several choices, dates, ...), empty and sent
    back with errors."""
    from portal import selectors
    from procedures.models import Procedure

    failures: list[str] = []
    sign_in(client, citizen)
    procedures = Procedure.objects.filter(is_active=True, current_version__isnull=False)
    assert procedures.count() >= 5
    for procedure in procedures:
        agency = selectors.filing_agencies(procedure)[0]
        url = reverse("portal:apply", args=[procedure.code])
        assert check(client.get(url, {"agency": agency.code}), f"{procedure.code}", failures)
        sent = client.post(
            url, {"agency": agency.code, "filing_key": str(uuid.uuid4()), "review": "1"}
        )
        if sent.status_code == 302:  # the draft is made: its page, then sent back
            sent = client.post(sent["Location"], {"review": "1"})
        assert sent.status_code == 400, (procedure.code, sent.status_code)
        check(sent, f"{procedure.code} sent back with errors", failures)
    assert not failures, "\n".join(failures)


# --- Pages that only a state shows -------------------------------------------------------------


def _act(client, task, action, data, failures, where):
    """Post one action with ``data`` (empty fields: the form comes back with errors) and
    check the page; then the task page itself."""
    check(client.get(reverse("workspace:task", args=[task.pk])), f"{where} page", failures)
    response = client.post(reverse("workspace:act", args=[task.pk]), {"action": action, **data})
    assert response.status_code == 400, (where, response.status_code)
    check(response, f"{where} sent back with errors", failures)


def _claimed(dossier, stage, officer):
    task = DossierTask.objects.get(dossier=dossier, stage=stage, status__in=work.ACTIVE)
    work.task_claim(task=task, by=officer)
    return task


def test_each_stage_s_action_forms_and_their_errors(
    client, procedure, province, citizen, officers, signing
):
    failures: list[str] = []
    dossier = work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
    sign_in(client, officers["reception"])
    task = _claimed(dossier, "reception", officers["reception"])
    for action in ("supplement", "reject"):
        _act(client, task, action, {}, failures, f"reception: {action}")
    work.task_complete(task=task, by=officers["reception"], action="accept")

    sign_in(client, officers["specialist"])
    task = _claimed(dossier, "review", officers["specialist"])
    _act(client, task, "propose", {}, failures, "review: propose")
    _act(client, task, "propose", {"propose-opinion": "x"}, failures, "review: propose, no choice")
    _act(client, task, "supplement", {}, failures, "review: supplement")
    dossier = work.task_complete(
        task=task,
        by=officers["specialist"],
        action="propose",
        form={"decision": "approve", "opinion": "Đủ điều kiện"},
    )

    sign_in(client, officers["head"])
    task = _claimed(dossier, "approval", officers["head"])
    for action in ("refuse", "send_back"):
        _act(client, task, action, {}, failures, f"approval: {action}")
    response = client.post(reverse("workspace:assign", args=[task.pk]), {})
    check(response, "approval: assign sent back with errors", failures)
    dossier = work.task_complete(task=task, by=officers["head"], action="approve")

    give_certificate(signing, officers["signer"])
    sign_in(client, officers["signer"])
    task = _claimed(dossier, "signing", officers["signer"])
    _act(client, task, "sign", {"sign-password": "wrong"}, failures, "signing: sign")
    certificate = client.post(reverse("workspace:certificate"), {"password": ""})
    check(certificate, "certificate sent back with errors", failures)
    assert not failures, "\n".join(failures)


def test_consultation_forms(client, catalog, citizen):
    from procedures.models import Agency, Procedure

    failures: list[str] = []
    procedure = Procedure.objects.get(code="1.012844")  # central, the consultation flow
    central = Agency.objects.get(code="G16")
    reception, specialist = make_officer("reception", central), make_officer("specialist", central)
    dossier = work.application_submit(dossier=new_draft(procedure, central, citizen), by=citizen)
    task = _claimed(dossier, "reception", reception)
    work.task_complete(task=task, by=reception, action="accept")
    sign_in(client, specialist)
    task = _claimed(dossier, "review", specialist)
    _act(client, task, "consult", {}, failures, "review: consult")
    assert not failures, "\n".join(failures)


def test_forms_sent_back_with_errors(client, walk, procedure, province, citizen, officers):
    failures: list[str] = []
    sign_in(client, citizen)
    draft = new_draft(procedure, province, citizen, complete=False)
    pages = [
        ("post", reverse("portal:edit", args=[draft.pk]), {"review": "1"}),
        ("post", reverse("portal:profile"), {"phone": "not a phone", "id_number": "12"}),
        ("post", reverse("portal:lookup"), {"code": "", "secret": ""}),
        ("post", reverse("documents:verify"), {"code": "?"}),
        ("post", reverse("notifications:preferences"), {"channel_x": "nonsense"}),
    ]
    for method, url, data in pages:
        check(getattr(client, method)(url, data), f"{method.upper()} {url} as citizen", failures)
    issued = walk("issued")
    dossier_page = reverse("portal:dossier", args=[issued.pk])
    check(
        client.post(reverse("portal:rate", args=[issued.pk]), {"score": "9"}),
        "rating sent back",
        failures,
    )
    check(client.get(dossier_page), "issued dossier", failures)
    submitted = walk("submitted")
    check(
        client.post(reverse("portal:withdraw", args=[submitted.pk]), {}),
        "withdrawal sent back",
        failures,
    )

    sign_in(client, officers["head"])
    for url, data in (
        (reverse("workspace:dashboard"), {"start": "junk", "end": "2026-02-30"}),
        (reverse("workspace:service_index"), {"start": "junk"}),
        (reverse("workspace:queue"), {"filed_from": "junk", "q": "x" * 500}),
    ):
        check(client.get(url, data), f"GET {url} with bad input", failures)
    received = walk("received")
    check(
        client.post(reverse("workspace:reschedule", args=[received.pk]), {}),
        "reschedule sent back",
        failures,
    )
    sign_in(client, officers["reception"])
    desk = reverse("workspace:file_new", args=[province.code, procedure.code])
    check(client.post(desk, {"submit": "1"}), "desk filing sent back", failures)
    assert not failures, "\n".join(failures)


def test_the_login_steps_and_their_errors(client, province):
    failures: list[str] = []
    login = reverse("account_login")
    check(client.post(login, {"login": "nobody", "password": "wrong"}), "login failed", failures)
    check(client.post(reverse("account_signup"), {"email": "x"}), "signup sent back", failures)
    check(client.post(reverse("account_reset_password"), {"email": "x"}), "reset", failures)
    officer = vouched(make_officer("head", province))
    totp.enrol(officer, TEST_TOTP_SECRET)
    response = client.post(login, {"login": officer.username, "password": "x-Pass-123!"})
    assert response["Location"] == reverse("mfa_authenticate")
    second = reverse("mfa_authenticate")
    assert check(client.get(second), "second step", failures)
    wrong = client.post(second, {"code": totp.code(TEST_TOTP_SECRET, offset=10)})
    assert check(wrong, "second step, wrong code", failures)
    assert not failures, "\n".join(failures)


def test_the_first_login_of_staff_enrols_an_authenticator(client, province):
    failures: list[str] = []
    officer = vouched(make_officer("specialist", province))
    client.post(reverse("account_login"), {"login": officer.username, "password": "x-Pass-123!"})
    enrol = reverse("mfa_activate_totp")
    assert check(client.get(enrol), "enrolment", failures)
    assert check(client.post(enrol, {"code": "000000"}), "enrolment, wrong code", failures)
    assert not failures, "\n".join(failures)
