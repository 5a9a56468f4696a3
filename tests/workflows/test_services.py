"""Services: input checks, uploads, drafts, desk filing, outbox rows, atomicity."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from tests.conftest import APPLICANT, make_user, new_draft
from workflows import services
from workflows.demo import minimal_pdf, minimal_png
from workflows.exceptions import ActionNotAllowed
from workflows.models import Channel, DossierComponent, OutgoingEvent, Status
from workflows.services import dossiers as transitions


@pytest.fixture
def draft(procedure, province, citizen):
    return new_draft(procedure, province, citizen, complete=False)


def first_component(dossier) -> dict:
    return dossier.procedure_version.spec["components"][0]


def pdf(name="scan.pdf", data=None):
    return SimpleUploadedFile(
        name, data if data is not None else minimal_pdf(), content_type="application/pdf"
    )


def test_submit_lists_every_missing_field_and_component(draft, citizen):
    with pytest.raises(ValidationError) as info:
        transitions.dossier_submit(dossier=draft, by=citizen)
    errors = info.value.message_dict
    spec = draft.procedure_version.spec
    required_fields = {f["name"] for f in spec["fields"] if f.get("required")}
    mandatory = {c["code"] for c in spec["components"] if c["mandatory"]}
    assert required_fields | mandatory <= set(errors)
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT and draft.code is None


def test_a_draft_keeps_what_was_typed_even_when_invalid(draft, citizen):
    saved = services.dossier_save_draft(dossier=draft, by=citizen, form_data={"citizen_id": "12ab"})
    assert saved.form_data["citizen_id"] == "12ab"
    with pytest.raises(ValidationError) as info:
        transitions.dossier_submit(dossier=saved, by=citizen)
    assert "citizen_id" in info.value.message_dict
    saved.refresh_from_db()
    assert saved.form_data["citizen_id"] == "12ab"


@pytest.mark.parametrize(
    "bad",
    [
        {"no_such_field": "x"},
        {"citizen_id": {"nested": 1}},
        {"citizen_id": "9" * 6000},
        ["not", "a", "mapping"],
    ],
)
def test_draft_data_is_bounded(draft, citizen, bad):
    with pytest.raises(ValidationError):
        services.dossier_save_draft(dossier=draft, by=citizen, form_data=bad)


def test_upload_is_sniffed_sized_and_hashed(draft, citizen):
    component = first_component(draft)
    data = (
        minimal_pdf("hello") if "application/pdf" in component["content_types"] else minimal_png()
    )
    stored = services.dossier_attach_component(
        dossier=draft,
        by=citizen,
        component_code=component["code"],
        upload=SimpleUploadedFile("../../etc/passwd", data, content_type="text/plain"),
    )
    import hashlib

    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.size == len(data)
    assert stored.content_type in component["content_types"]
    assert stored.original_name == "passwd"  # a label only, the path part dropped
    assert "passwd" not in stored.file.name and ".." not in stored.file.name
    with stored.file.open("rb") as handle:
        assert handle.read() == data


def test_a_disguised_file_is_refused(draft, citizen):
    component = first_component(draft)
    fake = SimpleUploadedFile(
        "scan.pdf", b"MZ\x90\x00" + b"\x00" * 200, content_type="application/pdf"
    )
    with pytest.raises(ValidationError) as info:
        services.dossier_attach_component(
            dossier=draft, by=citizen, component_code=component["code"], upload=fake
        )
    assert "content" in str(info.value)
    assert not DossierComponent.objects.exists()


def test_an_oversized_or_empty_file_is_refused(draft, citizen):
    component = first_component(draft)
    limit = component["max_size_mb"] * 1_048_576
    big = SimpleUploadedFile(
        "big.pdf", minimal_pdf() + b"0" * limit, content_type="application/pdf"
    )
    with pytest.raises(ValidationError, match="limit"):
        services.dossier_attach_component(
            dossier=draft, by=citizen, component_code=component["code"], upload=big
        )
    with pytest.raises(ValidationError, match="empty"):
        services.dossier_attach_component(
            dossier=draft,
            by=citizen,
            component_code=component["code"],
            upload=SimpleUploadedFile("e.pdf", b""),
        )
    with pytest.raises(ValidationError, match="no such component"):
        services.dossier_attach_component(
            dossier=draft, by=citizen, component_code="NOPE", upload=pdf()
        )


def test_the_same_file_sent_twice_is_stored_once(procedure, province, citizen):
    dossier = new_draft(procedure, province, citizen)
    component = first_component(dossier)
    before = dossier.components.get(component_code=component["code"])
    with before.file.open("rb") as handle:
        again = SimpleUploadedFile("again", handle.read())
    kept = services.dossier_attach_component(
        dossier=dossier, by=citizen, component_code=component["code"], upload=again
    )
    assert kept.pk == before.pk
    assert dossier.components.filter(component_code=component["code"]).count() == 1


def test_a_new_upload_supersedes_the_old(procedure, province, citizen):
    dossier = new_draft(procedure, province, citizen)
    component = first_component(dossier)
    before = dossier.components.get(component_code=component["code"])
    upload = (
        pdf()
        if "application/pdf" in component["content_types"]
        else SimpleUploadedFile("x.png", minimal_png())
    )
    services.dossier_attach_component(
        dossier=dossier, by=citizen, component_code=component["code"], upload=upload
    )
    current = dossier.components.filter(
        component_code=component["code"], superseded_at__isnull=True
    )
    assert current.count() == 1 and current.get().pk != before.pk


def test_another_users_dossier_is_out_of_reach(draft, officers):
    stranger = make_user()
    for call in (
        lambda: services.dossier_save_draft(dossier=draft, by=stranger, form_data={}),
        lambda: services.dossier_attach_component(
            dossier=draft, by=stranger, component_code="x", upload=pdf()
        ),
        lambda: transitions.dossier_submit(dossier=draft, by=stranger),
        lambda: transitions.dossier_submit(dossier=draft, by=officers["reception"]),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_filed_dossiers_cannot_be_edited(walk, citizen):
    dossier = walk(Status.RECEIVED)
    with pytest.raises(ActionNotAllowed):
        services.dossier_save_draft(dossier=dossier, by=citizen, form_data={})


def test_reasons_are_required(walk, officers):
    dossier = walk(Status.SUBMITTED)
    with pytest.raises(ValidationError):
        transitions.dossier_reject_at_reception(dossier=dossier, by=officers["reception"], reason=" ")
    with pytest.raises(ValidationError):
        transitions.dossier_request_supplement(
            dossier=dossier, by=officers["reception"], reason="Thiếu", items=[]
        )
    with pytest.raises(ValidationError):
        transitions.dossier_request_supplement(
            dossier=dossier,
            by=officers["reception"],
            reason="Thiếu",
            items=[{"code": "unknown", "reason": "x"}],
        )
    in_review = walk(Status.IN_REVIEW)
    with pytest.raises(ValidationError):
        transitions.dossier_refuse(dossier=in_review, by=officers["head"], reason="")
    with pytest.raises(ValidationError):
        transitions.dossier_send_back(dossier=in_review, by=officers["head"], reason="")
    with pytest.raises(ValidationError):
        transitions.dossier_propose(
            dossier=in_review, by=officers["specialist"], decision="maybe", opinion="?"
        )


def test_desk_filing_by_reception(procedure, province, officers, other_province, outsiders):
    desk = officers["reception"]
    dossier = services.dossier_create(
        procedure=procedure,
        handling_agency=province,
        channel=Channel.DESK,
        by=desk,
        applicant=APPLICANT,
        form_data={},
    )
    assert dossier.channel == Channel.DESK and dossier.applicant_user is None
    assert dossier.filed_by == desk
    with pytest.raises(PermissionDenied):
        services.dossier_create(
            procedure=procedure,
            handling_agency=province,
            channel=Channel.DESK,
            by=outsiders["reception"],
            applicant=APPLICANT,
        )
    with pytest.raises(PermissionDenied):
        services.dossier_create(
            procedure=procedure,
            handling_agency=province,
            channel=Channel.DESK,
            by=officers["specialist"],
            applicant=APPLICANT,
        )


def test_create_checks_its_inputs(procedure, province, citizen, catalog):
    from procedures.models import Agency

    with pytest.raises(ValidationError):
        services.dossier_create(
            procedure=procedure,
            handling_agency=province,
            channel="fax",
            by=citizen,
            applicant_user=citizen,
            applicant=APPLICANT,
        )
    with pytest.raises(ValidationError):
        services.dossier_create(
            procedure=procedure,
            handling_agency=Agency.objects.get(code="G16"),
            channel=Channel.ONLINE,
            by=citizen,
            applicant_user=citizen,
            applicant=APPLICANT,
        )
    # A draft keeps what was typed; filing checks it.
    draft = services.dossier_create(
        procedure=procedure,
        handling_agency=province,
        channel=Channel.ONLINE,
        by=citizen,
        applicant_user=citizen,
        applicant={"name": "", "email": "not-an-email"},
    )
    assert draft.applicant_email == "not-an-email"
    with pytest.raises(ValidationError) as info:
        transitions.dossier_submit(dossier=draft, by=citizen)
    assert {"applicant.name", "applicant.email"} <= set(info.value.message_dict)
    with pytest.raises(ValidationError):
        services.dossier_create(
            procedure=procedure,
            handling_agency=province,
            channel=Channel.ONLINE,
            by=citizen,
            applicant_user=citizen,
            applicant={"name": "x" * 500, "nickname": "y"},
        )
    with pytest.raises(PermissionDenied):
        services.dossier_create(
            procedure=procedure,
            handling_agency=province,
            channel=Channel.ONLINE,
            by=citizen,
            applicant_user=make_user(),
            applicant=APPLICANT,
        )


def test_each_action_writes_its_event_in_the_same_transaction(
    walk, officers, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        dossier = walk(Status.SUBMITTED)
    assert OutgoingEvent.objects.filter(dossier=dossier, name="dossier.submit").exists()
    # Eager Celery dispatches after commit; with no handler registered it is marked done.
    assert not OutgoingEvent.objects.filter(dispatched_at__isnull=True).exists()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        transitions.dossier_receive(dossier=dossier, by=officers["reception"])
        raise Boom
    dossier.refresh_from_db()
    assert dossier.status == Status.SUBMITTED
    assert not OutgoingEvent.objects.filter(name="dossier.receive").exists()
    assert dossier.history.count() == dossier.history_count


def test_an_event_no_handler_takes_is_written_dispatched_and_handed_to_nobody(
    walk, monkeypatch, django_capture_on_commit_callbacks
):
    from workflows import events

    def dispatches(callbacks):
        return [c for c in callbacks if c.__qualname__.startswith("event_record.")]

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        dossier = walk(Status.SUBMITTED)
    event = OutgoingEvent.objects.get(dossier=dossier, name="dossier.submit")
    assert event.dispatched_at is not None and event.attempts == 0
    assert not dispatches(callbacks)

    # With a handler for it, the same event waits for its dispatch, after the commit.
    monkeypatch.setitem(events._handlers, "dossier.submit", [lambda event: None])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        dossier = walk(Status.SUBMITTED)
    event = OutgoingEvent.objects.get(dossier=dossier, name="dossier.submit")
    assert event.dispatched_at is None
    assert len(dispatches(callbacks)) == 1


def test_a_failing_handler_is_retried_with_backoff_then_marked_failed(
    walk, officers, monkeypatch, django_capture_on_commit_callbacks
):
    import datetime as dt

    import time_machine
    from django.utils import timezone

    from workflows import events
    from workflows.tasks import dispatch_pending_events

    calls = []

    def flaky(event):
        calls.append(event.pk)
        if len(calls) == 1:
            raise RuntimeError("provider down")

    monkeypatch.setitem(events._handlers, "dossier.receive", [flaky])
    dossier = walk(Status.SUBMITTED)
    with django_capture_on_commit_callbacks(execute=True):
        transitions.dossier_receive(dossier=dossier, by=officers["reception"])
    event = OutgoingEvent.objects.get(name="dossier.receive")
    assert event.dispatched_at is None and "provider down" in event.last_error
    assert event.attempts == 1 and event.next_attempt_at > timezone.now()
    dispatch_pending_events()
    event.refresh_from_db()
    assert event.dispatched_at is None and event.attempts == 1  # not due yet: backoff
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=2)):
        dispatch_pending_events()
    event.refresh_from_db()
    assert event.dispatched_at is not None and event.attempts == 2
    assert calls == [event.pk, event.pk]

    def broken(event):
        raise RuntimeError("still down")

    monkeypatch.setitem(events._handlers, "dossier.start_review", [broken])
    with django_capture_on_commit_callbacks(execute=True):
        transitions.dossier_start_review(dossier=walk(Status.RECEIVED), by=officers["specialist"])
    failing = OutgoingEvent.objects.get(name="dossier.start_review")
    for _ in range(events.MAX_ATTEMPTS):
        events.event_dispatch(event_id=failing.pk)
    failing.refresh_from_db()
    assert failing.failed_at is not None and failing.attempts == events.MAX_ATTEMPTS
    assert failing.pk not in events.due_event_ids()
    monkeypatch.setitem(events._handlers, "dossier.start_review", [])
    assert events.event_retry(event_id=failing.pk)
    failing.refresh_from_db()
    assert failing.dispatched_at is not None and failing.failed_at is None


def test_a_broker_outage_after_commit_does_not_undo_or_fail_the_action(
    walk, officers, monkeypatch, django_capture_on_commit_callbacks
):
    from workflows.tasks import dispatch_event

    def down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(dispatch_event, "delay", down)
    dossier = walk(Status.SUBMITTED)
    with django_capture_on_commit_callbacks(execute=True):
        received = transitions.dossier_receive(dossier=dossier, by=officers["reception"])
    assert received.status == Status.RECEIVED
    assert OutgoingEvent.objects.filter(name="dossier.receive", dispatched_at=None).exists()


def test_status_cannot_be_assigned_directly(walk):
    from django_fsm import TransitionNotAllowed  # noqa: F401 - documents the library in use

    dossier = walk(Status.SUBMITTED)
    with pytest.raises(AttributeError):
        dossier.status = Status.ISSUED
    from workflows.models import Dossier

    with pytest.raises(PermissionError):
        Dossier.objects.filter(pk=dossier.pk).update(status=Status.ISSUED)
    dossier.refresh_from_db()
    assert dossier.status == Status.SUBMITTED


def photo(shade: int, name: str | None = None) -> SimpleUploadedFile:
    """A real PNG, different for each shade (the same bytes twice are one file)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (2, 2), (shade, 80, 120)).save(out, format="PNG")
    return SimpleUploadedFile(name or f"anh-{shade}.png", out.getvalue(), content_type="image/png")


@pytest.fixture
def housing(catalog):
    """The housing-support procedure: its photographs of the house are ``count: 2``."""
    from procedures.models import Procedure

    return Procedure.objects.get(code="1.012842")


def test_a_component_of_two_files_keeps_both(housing, province, citizen):
    dossier = new_draft(housing, province, citizen)
    photos = "current_housing_photos"
    assert dossier.procedure_version.component(photos)["count"] == 2
    first = dossier.components.get(component_code=photos)
    second = services.dossier_attach_component(
        dossier=dossier, by=citizen, component_code=photos, upload=photo(1)
    )
    current = dossier.components.filter(component_code=photos, superseded_at__isnull=True)
    assert set(current.values_list("pk", flat=True)) == {first.pk, second.pk}
    # A third is refused, by name, and nothing is added.
    with pytest.raises(ValidationError) as info:
        services.dossier_attach_component(
            dossier=dossier, by=citizen, component_code=photos, upload=photo(2)
        )
    assert "at most 2 file(s)" in str(info.value.message_dict[photos])
    assert current.count() == 2
    # Once one is removed, another takes its place.
    services.dossier_remove_component(dossier=dossier, by=citizen, component_id=first.pk)
    third = services.dossier_attach_component(
        dossier=dossier, by=citizen, component_code=photos, upload=photo(3)
    )
    assert set(current.values_list("pk", flat=True)) == {second.pk, third.pk}
    # Both are filed, sealed into the history and counted on the receipt.
    dossier = transitions.dossier_submit(dossier=dossier, by=citizen)
    filed = dossier.history.get(action="submit").data["components"]
    assert [c["code"] for c in filed].count(photos) == 2


def test_a_component_of_one_file_still_has_it_replaced(housing, province, citizen):
    dossier = new_draft(housing, province, citizen)
    form = "poor_household_certificate"
    before = dossier.components.get(component_code=form)
    after = services.dossier_attach_component(
        dossier=dossier, by=citizen, component_code=form, upload=photo(9)
    )
    current = dossier.components.filter(component_code=form, superseded_at__isnull=True)
    assert list(current) == [after] and after.pk != before.pk


def test_removing_a_file_that_is_not_current_is_refused(housing, province, citizen, officers):
    dossier = new_draft(housing, province, citizen)
    other = new_draft(housing, province, citizen)
    foreign = other.components.first()
    with pytest.raises(ValidationError, match="not one of the dossier's current files"):
        services.dossier_remove_component(dossier=dossier, by=citizen, component_id=foreign.pk)
    with pytest.raises(PermissionDenied):
        services.dossier_remove_component(
            dossier=dossier, by=officers["reception"], component_id=dossier.components.first().pk
        )
    dossier = transitions.dossier_submit(dossier=dossier, by=citizen)
    with pytest.raises(ActionNotAllowed):
        services.dossier_remove_component(
            dossier=dossier, by=citizen, component_id=dossier.components.first().pk
        )
