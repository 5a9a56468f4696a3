"""What the filing no longer reads or writes, and what still holds without it: the flow's
lock on a process being started (no one else can see it), the read of a filing key
before each insert (its unique index finds a repeat), and the role permissions read on
every request (kept a few seconds in the process, forgotten at once on a change)."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from procedures import auth
from procedures.auth import has_agency_perm
from procedures.roles import Role, group_name
from tests.conftest import APPLICANT, complete_stage, make_officer, new_draft
from workflows import services
from workflows.models import Channel, Dossier, Status
from workflows.services import work

pytestmark = pytest.mark.django_db


def _flow_locks(queries) -> list[str]:
    """viewflow's lock: a locking read of one process row (FOR UPDATE on PostgreSQL)."""
    return [
        q["sql"]
        for q in queries
        if q["sql"].startswith('SELECT 1 AS "a" FROM "workflows_dossierprocess"')
    ]


def test_the_flow_is_started_without_its_lock_and_locked_for_every_later_step(
    procedure, province, citizen, officers
):
    draft = new_draft(procedure, province, citizen)
    with CaptureQueriesContext(connection) as started:
        dossier = work.application_submit(dossier=draft, by=citizen)
    assert dossier.status == Status.SUBMITTED
    assert _flow_locks(started.captured_queries) == []
    # The process committed: the desk's step takes the flow's lock on it, as before.
    with CaptureQueriesContext(connection) as received:
        dossier = complete_stage(dossier, "accept", officers["reception"])
    assert dossier.status == Status.RECEIVED
    assert _flow_locks(received.captured_queries)


def test_a_filing_key_posted_again_finds_its_dossier_and_is_refused_to_another(
    procedure, province, officers
):
    import uuid

    key = uuid.uuid4()

    def create(by):
        return services.dossier_create(
            procedure=procedure,
            handling_agency=province,
            channel=Channel.DESK,
            by=by,
            applicant=APPLICANT,
            filing_key=key,
        )

    first = create(officers["reception"])
    assert create(officers["reception"]).pk == first.pk
    colleague = make_officer(Role.RECEPTION, province)
    with pytest.raises(ValidationError, match="expired"):
        create(colleague)
    assert Dossier.objects.filter(filing_key=key).count() == 1


def test_a_change_of_a_roles_permissions_is_seen_at_once_here_and_soon_elsewhere(
    walk, officers, monkeypatch
):
    dossier = walk(Status.SUBMITTED)
    officer = officers["reception"]
    group = Group.objects.get(name=group_name(Role.RECEPTION))
    receive = Permission.objects.get(codename="receive_dossier")

    def may() -> bool:
        for cached in ("_motcua_roles", "_motcua_role_perms"):  # a new request's user
            officer.__dict__.pop(cached, None)
        return has_agency_perm(officer, "workflows.receive_dossier", dossier)

    assert may()
    group.permissions.remove(receive)  # in the admin, in this process: seen at once
    assert not may()
    group.permissions.add(receive)
    assert may()
    # Changed by another process (no signal here): seen once the lifetime has passed.
    monkeypatch.setattr(auth._role_permissions, "seconds", 0.2)
    assert may()
    group.permissions.through.objects.filter(group=group, permission=receive).delete()
    assert may()  # still the kept answer
    time.sleep(0.25)
    assert not may()
