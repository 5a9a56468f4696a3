"""Every workspace URL, for each role, for an officer of another province, a citizen and an
anonymous visitor: out of scope is 403 or 404 (anonymous: the login page), never a 500,
and never the object itself."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import APPLICANT, make_user, new_draft, sign_in
from workflows import services
from workflows.models import Channel, DossierTask
from workflows.services import work


@pytest.fixture
def world(procedure, province, citizen, officers, outsiders):
    dossier = work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
    task = DossierTask.objects.get(dossier=dossier, stage="reception")
    draft = services.dossier_create(
        procedure=procedure,
        handling_agency=province,
        channel=Channel.DESK,
        by=officers["reception"],
        applicant=APPLICANT,
    )
    component = dossier.components.first()
    return {
        "dossier": dossier,
        "task": task,
        "draft": draft,
        "component": component,
        "procedure": procedure,
        "province": province,
    }


def urls(w) -> list[tuple[str, str, bool]]:
    """(method, url, names an object of H22)"""
    t, d = w["task"].pk, w["dossier"].pk
    return [
        ("get", reverse("workspace:home"), False),
        ("get", reverse("workspace:queue"), False),
        ("get", reverse("workspace:inbox"), False),
        ("get", reverse("workspace:done"), False),
        ("get", reverse("workspace:team"), False),
        ("post", reverse("workspace:bulk_claim"), False),
        ("get", reverse("workspace:task", args=[t]), True),
        ("post", reverse("workspace:claim", args=[t]), True),
        ("post", reverse("workspace:release", args=[t]), True),
        ("post", reverse("workspace:assign", args=[t]), True),
        ("post", reverse("workspace:act", args=[t]), True),
        ("get", reverse("workspace:dossier", args=[d]), True),
        ("get", reverse("workspace:file_download", args=[d, w["component"].pk]), True),
        ("get", reverse("workspace:file"), False),
        (
            "get",
            reverse("workspace:file_new", args=[w["province"].code, w["procedure"].code]),
            True,
        ),
        (
            "post",
            reverse("workspace:file_new", args=[w["province"].code, w["procedure"].code]),
            True,
        ),
        ("get", reverse("workspace:draft", args=[w["draft"].pk]), True),
        ("post", reverse("workspace:draft", args=[w["draft"].pk]), True),
        ("get", reverse("workspace:task", args=[987654]), True),
        ("get", reverse("workspace:dossier", args=[987654]), True),
    ]


def test_anonymous_goes_to_login(client, world):
    for method, url, _ in urls(world):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def test_citizens_never_reach_the_workspace(client, world, citizen):
    sign_in(client, citizen)
    for method, url, _ in urls(world):
        assert getattr(client, method)(url).status_code == 403, url


@pytest.mark.parametrize("role", ["reception", "specialist", "head", "signer", "supervisor"])
def test_officers_of_another_province_see_nothing_here(client, world, outsiders, role):
    sign_in(client, outsiders[role])
    for method, url, names_object in urls(world):
        response = getattr(client, method)(url)
        assert response.status_code != 500, url
        if names_object:
            assert response.status_code in (403, 404), (url, response.status_code)
        else:
            body = response.content.decode()
            # Not received yet, the dossier has no code: its applicant and its task's link
            # are what would give it away.
            assert world["dossier"].applicant_name not in body, url
            assert reverse("workspace:task", args=[world["task"].pk]) not in body, url


@pytest.mark.parametrize("role", ["reception", "specialist", "head", "signer", "supervisor"])
def test_every_url_answers_each_role_without_error(client, world, officers, role):
    sign_in(client, officers[role])
    for method, url, _ in urls(world):
        response = getattr(client, method)(url)
        assert response.status_code in (200, 302, 400, 403, 404), (url, response.status_code)


def test_only_reception_in_scope_sees_the_reception_task(client, world, officers):
    url = reverse("workspace:task", args=[world["task"].pk])
    # The head and the supervisor see it too: they assign the agency's work.
    expected = {"reception": 200, "specialist": 404, "signer": 404, "head": 200, "supervisor": 200}
    for role, status in expected.items():
        sign_in(client, officers[role])
        assert client.get(url).status_code == status, role


def test_officers_without_roles_are_not_officers(client, world):
    sign_in(client, make_user(is_staff=True))
    assert client.get(reverse("workspace:queue")).status_code == 403


def test_the_done_list_holds_only_the_officer_s_own_finished_tasks(
    client, procedure, province, other_province, citizen, officers, outsiders
):
    """Another officer of the same agency, and one of another province, finish tasks too;
    each one's "done" list shows their own, and only to them."""
    from tests.conftest import make_officer

    colleague = make_officer("reception", province)
    finished = {}
    for who, agency in (
        (officers["reception"], province),
        (colleague, province),
        (outsiders["reception"], other_province),
    ):
        dossier = work.application_submit(dossier=new_draft(procedure, agency, citizen), by=citizen)
        task = DossierTask.objects.get(dossier=dossier, stage="reception")
        work.task_claim(task=task, by=who)
        work.task_complete(task=task, by=who, action="accept")
        dossier.refresh_from_db()  # received: it has its code now
        finished[who.pk] = (task, dossier.code)
    for who in (officers["reception"], colleague, outsiders["reception"]):
        sign_in(client, who)
        response = client.get(reverse("workspace:done"))
        assert response.status_code == 200
        listed = [row.pk for row, _clock in response.context["rows"]]
        assert listed == [finished[who.pk][0].pk], who.username
        body = response.content.decode()
        for other, (_task, code) in finished.items():
            assert (code in body) == (other == who.pk), (who.username, code)
    # A head of the agency, who finished nothing, has an empty list.
    sign_in(client, officers["head"])
    assert list(client.get(reverse("workspace:done")).context["rows"]) == []
