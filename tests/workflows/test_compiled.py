"""Querysets compiled once (workflows.compiled) give what the queryset itself gives."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.transaction import TransactionManagementError

from notifications.events import _OFFERED_TO
from procedures.models import Agency
from tests.conftest import make_officer
from workflows.compiled import CompiledQuery
from workflows.models import DossierTask


def _users(agency_id, role):
    return (
        get_user_model()
        .objects.filter(agency_roles__agency_id=agency_id, agency_roles__role=role)
        .select_related("notification_preference")
        .order_by("pk")
    )


def fields(obj):
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_same_instances_as_the_queryset(province, officers):
    compiled = CompiledQuery(get_user_model(), _users, placeholders=(-1_999_999_001, "\x00r\x00"))
    make_officer("head", province)
    for role in ("head", "specialist", "nobody"):
        for _ in range(2):  # the second run uses the SQL compiled by the first
            got = compiled(province.pk, role)
            expected = list(_users(province.pk, role))
            assert [fields(u) for u in got] == [fields(u) for u in expected]
            for user, same in zip(got, expected, strict=True):
                assert user._state.adding is False and user._state.db == same._state.db
                # select_related's rows came with it, as with the queryset
                assert user._state.fields_cache.keys() == same._state.fields_cache.keys()


def test_annotations_come_with_the_instances(province, officers, citizen):
    from django.db.models import Exists, OuterRef

    from procedures.models import OfficerRole

    def build(pk):
        roles = OfficerRole.objects.filter(user=OuterRef("pk"))
        return get_user_model().objects.filter(pk=pk).annotate(officer=Exists(roles))

    compiled = CompiledQuery(get_user_model(), build, placeholders=(-1_999_999_002,))
    for user in [citizen, *officers.values()]:
        for _ in range(2):
            (got,) = compiled(user.pk)
            (expected,) = build(user.pk)
            assert fields(got) == fields(expected)
            assert got.officer is expected.officer is (user != citizen)


def test_an_argument_missing_from_the_sql_is_refused(db):
    compiled = CompiledQuery(
        get_user_model(), lambda pk, name: get_user_model().objects.filter(pk=pk), (-5, "x")
    )
    with pytest.raises(ValueError, match="parameter"):
        compiled(1, "y")


def test_a_locking_read_wants_a_transaction(transactional_db):
    # Outside the test's own transaction (the db fixture would wrap it in one).
    compiled = CompiledQuery(
        DossierTask, lambda pk: DossierTask.objects.select_for_update().filter(pk=pk), (-5,)
    )
    from django.db import connection

    if not connection.features.has_select_for_update:
        pytest.skip("SQLite has no row locks: Django lets the queryset run anywhere")
    with pytest.raises(TransactionManagementError):
        compiled(1)
    with transaction.atomic():
        assert compiled(1) == []


def test_offered_to_reaches_departments_for_their_roles(province, officers):
    department = Agency.objects.filter(parent=province, kind=Agency.Kind.DEPARTMENT).first()
    if department is None:
        department = Agency.objects.create(
            code="DEPT-T",
            name="Phòng thử",
            kind=Agency.Kind.DEPARTMENT,
            province=province.province,
            parent=province,
            path=f"{province.path}DEPT-T/",
        )
    from procedures.roles import DEPARTMENT_ROLES

    role = sorted(DEPARTMENT_ROLES)[0]
    inside = make_officer(role, department)
    inactive = make_officer(role, province)
    inactive.is_active = False
    inactive.save()
    got = {u.pk for u in _OFFERED_TO[True](province.pk, role)}
    assert inside.pk in got and inactive.pk not in got
    assert inside.pk not in {u.pk for u in _OFFERED_TO[False](province.pk, role)}


def test_a_finished_threads_connection_is_not_kept_alive(transactional_db):
    """The compiled SQL is kept on each connection, not in a mapping that would hold every
    thread's connection alive (a thread-per-request server would leak them)."""
    import gc
    import threading
    import weakref

    from django.db import connections

    compiled = CompiledQuery(
        get_user_model(), lambda pk: get_user_model().objects.filter(pk=pk), (-5,)
    )
    refs = []

    def run():
        assert compiled(1) == []
        refs.append(weakref.ref(connections["default"]))
        connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    gc.collect()
    assert refs and refs[0]() is None
