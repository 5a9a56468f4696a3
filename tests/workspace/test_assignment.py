"""Assignment: offered only to the stage's role in the agency; claim, release, assign and
reassign with a reason; auto-assignment to the least-loaded officer; the history keeps
who held each task and when."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from viewflow.workflow.status import STATUS

from procedures.models import Agency
from tests.conftest import make_officer, new_draft, sign_in
from workflows.exceptions import ActionNotAllowed
from workflows.models import DossierTask
from workflows.selectors import TaskFilters, task_queue
from workflows.services import work


@pytest.fixture
def filed(procedure, province, citizen):
    def _filed():
        return work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)

    return _filed


def reception_task(dossier) -> DossierTask:
    return DossierTask.objects.get(dossier=dossier, stage="reception", status__in=work.ACTIVE)


def test_offered_only_to_the_stage_role_in_the_agency(filed, officers, outsiders, catalog):
    task = reception_task(filed())
    everyone = TaskFilters()
    assert list(task_queue(user=officers["reception"], filters=everyone)) == [task]
    department = make_officer("reception", Agency.objects.get(code="H22.02"))
    assert list(task_queue(user=department, filters=everyone)) == [task]
    for role in ("specialist", "head", "signer", "supervisor"):
        assert list(task_queue(user=officers[role], filters=everyone)) == []
    for outsider in outsiders.values():
        assert list(task_queue(user=outsider, filters=everyone)) == []
        with pytest.raises(PermissionDenied):
            work.task_claim(task=task, by=outsider)
    with pytest.raises(PermissionDenied):
        work.task_claim(task=task, by=officers["specialist"])


def test_claim_release_and_the_history(filed, officers):
    dossier = filed()
    task = reception_task(dossier)
    desk = officers["reception"]
    other = make_officer("reception", dossier.handling_agency)
    task = work.task_claim(task=task, by=desk)
    assert task.owner == desk and task.status == STATUS.ASSIGNED and task.assigned
    with pytest.raises(ActionNotAllowed, match="taken"):
        work.task_claim(task=task, by=other)
    with pytest.raises(PermissionDenied):
        work.task_release(task=task, by=other)
    task = work.task_release(task=task, by=desk)
    assert task.owner is None and task.status == STATUS.NEW
    work.task_claim(task=task, by=other)
    entries = list(dossier.history.filter(action__startswith="task_").order_by("seq"))
    assert [(e.action, e.actor_id, e.data["holder"]) for e in entries] == [
        ("task_claim", desk.pk, desk.pk),
        ("task_release", desk.pk, desk.pk),
        ("task_claim", other.pk, other.pk),
    ]
    assert all(e.at for e in entries)


def test_head_or_supervisor_assigns_with_a_reason(filed, officers, outsiders, catalog):
    dossier = filed()
    task = reception_task(dossier)
    desk = officers["reception"]
    second = make_officer("reception", dossier.handling_agency)
    with pytest.raises(PermissionDenied):
        work.task_assign(task=task, by=desk, to=second, reason="x")
    with pytest.raises(PermissionDenied):
        work.task_assign(task=task, by=outsiders["head"], to=second, reason="x")
    with pytest.raises(ValidationError):
        work.task_assign(task=task, by=officers["head"], to=second, reason=" ")
    with pytest.raises(ValidationError):
        work.task_assign(task=task, by=officers["head"], to=officers["specialist"], reason="x")
    task = work.task_assign(task=task, by=officers["head"], to=desk, reason="Quen hồ sơ này")
    assert task.owner == desk
    central_supervisor = make_officer("supervisor", Agency.objects.get(code="G16"))
    task = work.task_assign(task=task, by=central_supervisor, to=second, reason="Cân bằng tải")
    assert task.owner == second
    entries = list(dossier.history.filter(action="task_assign").order_by("seq"))
    assert [(e.comment, e.data["holder"], e.data["previous_holder"]) for e in entries] == [
        ("Quen hồ sơ này", desk.pk, None),
        ("Cân bằng tải", second.pk, desk.pk),
    ]


def test_auto_assign_to_the_least_loaded_officer(procedure, province, citizen, officers):
    version = procedure.current_version
    spec = dict(version.spec)
    spec["stages"] = [dict(s, auto_assign=(s["code"] == "reception")) for s in spec["stages"]]
    type(version).objects.filter(pk=version.pk).update(spec=spec)
    busy = officers["reception"]
    idle = make_officer("reception", province)
    first = work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
    got = reception_task(first).owner
    second = work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
    other = reception_task(second).owner
    assert {got, other} == {busy, idle}
    third = work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
    assert reception_task(third).status == STATUS.ASSIGNED
    assert reception_task(third).data["auto_assigned"] is True
    entry = third.history.get(action="task_assign")
    assert entry.actor is None and entry.data["auto"] is True
    assert entry.data["holder"] == reception_task(third).owner_id


def test_bulk_claim_through_the_page(client, filed, officers):
    tasks = [reception_task(filed()) for _ in range(3)]
    other = make_officer("reception", tasks[0].agency)
    work.task_claim(task=tasks[2], by=other)
    sign_in(client, officers["reception"])
    response = client.post(
        reverse("workspace:bulk_claim"),
        {"task": [t.pk for t in tasks] + ["999999", "junk"]},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    owners = [DossierTask.objects.get(pk=t.pk).owner_id for t in tasks]
    assert owners == [officers["reception"].pk, officers["reception"].pk, other.pk]
    assert [str(m) for m in response.context["messages"]] == [
        "2 task(s) moved to your inbox.",
        "2 task(s) could not be claimed: taken by someone else, or no longer open.",
    ]


@time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")), tick=False)
def test_queue_filters_search_sort_and_page_counts(client, filed, officers, settings):
    # Monday 2 March 2026: the reception stage (10% of 15 days) is due on Wednesday 4th.
    dossiers = [filed() for _ in range(30)]
    sign_in(client, officers["reception"])
    page = client.get(reverse("workspace:queue"))
    assert page.status_code == 200
    assert page.context["page"].paginator.count == 30
    assert len(page.context["rows"]) == 25
    second = client.get(reverse("workspace:queue"), {"page": 2})
    assert len(second.context["rows"]) == 5
    dues = [task.due_date for task, _ in page.context["rows"]]
    assert dues == sorted(dues)
    # Not received yet, so no code: the desk finds a dossier by its number.
    one = client.get(reverse("workspace:queue"), {"q": dossiers[7].reference})
    assert one.context["page"].paginator.count == 1
    assert dossiers[7].reference in one.content.decode()
    by_name = client.get(reverse("workspace:queue"), {"q": "lò thị"})
    assert by_name.context["page"].paginator.count == 30
    none = client.get(reverse("workspace:queue"), {"stage": "signing"})
    assert none.context["page"].paginator.count == 0
    overdue = client.get(reverse("workspace:queue"), {"due": "overdue"})
    assert overdue.context["page"].paginator.count == 0
    soon = client.get(reverse("workspace:queue"), {"due": "soon"})
    assert soon.context["page"].paginator.count == 30
    bad = client.get(reverse("workspace:queue"), {"filed_from": "yesterday", "page": "x"})
    assert bad.status_code == 200
    with time_machine.travel(dt.datetime(2026, 3, 6, 9, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))):
        sign_in(client, officers["reception"])  # days later: the staff session has ended
        late = client.get(reverse("workspace:queue"), {"due": "overdue"})
        assert late.context["page"].paginator.count == 30
        assert (
            "overdue by 2 working days" in late.content.decode()
            or "quá hạn" in late.content.decode()
        )


def test_list_pages_cost_the_same_number_of_queries_for_more_tasks(client, filed, officers):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def cost(url):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    sign_in(client, officers["reception"])
    few = [reception_task(filed()) for _ in range(3)]
    urls = [reverse(f"workspace:{name}") for name in ("queue", "inbox", "done")]
    # One row in each list to start with: the queue, the inbox, the done list.
    work.task_claim(task=few[0], by=officers["reception"])
    work.task_claim(task=few[1], by=officers["reception"])
    work.task_complete(task=few[1], by=officers["reception"], action="accept")
    before = [cost(url) for url in urls]
    more = [reception_task(filed()) for _ in range(10)]
    for task in more[:5]:
        work.task_claim(task=task, by=officers["reception"])
    for task in more[:3]:
        work.task_complete(task=task, by=officers["reception"], action="accept")
    assert [cost(url) for url in urls] == before


def test_a_head_reschedules_once_from_the_dossier_page(client, walk, officers):
    from workflows.models import Status as S

    dossier = walk(S.IN_REVIEW)
    url = reverse("workspace:reschedule", args=[dossier.pk])
    page = reverse("workspace:dossier", args=[dossier.pk])
    sign_in(client, officers["specialist"])
    assert "reschedule" not in client.get(page).content.decode()
    assert client.post(url, {}).status_code == 403
    sign_in(client, officers["head"])
    assert f'action="{url}"' in client.get(page).content.decode()
    assert client.post(url, {"new_due_date": "", "reason": ""}).status_code == 400
    earlier = client.post(url, {"new_due_date": dossier.due_date.isoformat(), "reason": "Chậm"})
    assert earlier.status_code == 400
    assert "new_due_date" in earlier.context["reschedule_form"].errors
    later = dossier.due_date + dt.timedelta(days=14)
    from workflows.clock import working_calendar

    cal = working_calendar()
    while not cal.is_working_day(later):
        later += dt.timedelta(days=1)
    response = client.post(
        url, {"new_due_date": later.strftime("%d/%m/%Y"), "reason": "Cần xác minh thêm tại xã"}
    )
    assert response.status_code == 302
    dossier.refresh_from_db()
    assert dossier.due_date == later and dossier.rescheduled_at
    assert (
        client.post(url, {"new_due_date": later.isoformat(), "reason": "Lần hai"}).status_code
        == 403
    )


def test_the_desk_asks_for_a_supplement_once(client, filed, officers, citizen):
    """After the applicant's answer, the reception task no longer offers a supplement
    request, says why, and a post from an older page is refused with the reason."""
    dossier = filed()
    desk = officers["reception"]
    task = reception_task(dossier)
    work.task_claim(task=task, by=desk)
    component = dossier.procedure_version.spec["components"][0]["code"]
    work.task_complete(
        task=task,
        by=desk,
        action="supplement",
        form={"items": [{"code": component, "reason": "Mờ"}], "reason": "Thiếu"},
    )
    work.application_resubmit(dossier=dossier, by=citizen)
    again = DossierTask.objects.get(dossier=dossier, stage="reception", status=STATUS.NEW)
    work.task_claim(task=again, by=desk)
    sign_in(client, desk)
    url = reverse("workspace:task", args=[again.pk])
    page = client.get(url)
    html = page.content.decode()
    assert 'value="supplement"' not in html and 'value="accept"' in html
    assert page.context["supplement_used"] is True
    posted = client.post(
        reverse("workspace:act", args=[again.pk]),
        {
            "action": "supplement",
            "supplement-reason": "Lần hai",
            f"supplement-item_{component}": "on",
            f"supplement-why_{component}": "Vẫn mờ",
        },
        follow=True,
    )
    from django.utils import translation

    from workflows.models import first_supplement_at_reception
    from workflows.services.dossiers import CONDITION_MESSAGES

    with translation.override(posted.wsgi_request.LANGUAGE_CODE):
        expected = str(CONDITION_MESSAGES[first_supplement_at_reception])
    assert expected in [str(m) for m in posted.context["messages"]]
    dossier.refresh_from_db()
    assert dossier.status == "submitted" and dossier.supplement_round == 1
