"""The history chain: appended by every action, never changed, and any tampering found."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from workflows.history import verify_all
from workflows.models import HistoryEntry, Status


@pytest.fixture
def walk(transition_walk):
    """This file tests the state machine, the history chain or the outbox themselves: its
    dossiers are walked by the transitions, each step one entry and its messages."""
    return transition_walk


@pytest.fixture
def issued(walk):
    return walk(Status.ISSUED)


def _raw(sql: str, params) -> None:
    """Tamper behind the application's back, as a database superuser could."""
    table = HistoryEntry._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Superusers can switch triggers off; the hash chain must still catch them.
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql.format(table=table), params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def test_every_step_is_recorded_in_order(issued):
    entries = list(issued.history.order_by("seq"))
    assert [e.action for e in entries] == [
        "create",
        "submit",
        "receive",
        "start_review",
        "propose",
        "approve",
        "sign",
        "issue",
    ]
    assert [e.seq for e in entries] == list(range(1, 9))
    assert entries[0].prev_hash == ""
    for previous, entry in zip(entries, entries[1:], strict=False):
        assert entry.prev_hash == previous.hash
        assert entry.from_status == previous.to_status
    assert issued.history_hash == entries[-1].hash
    assert entries[-1].actor is None  # issuing is the system's step
    assert list(verify_all()) == []


def test_entries_refuse_update_and_delete_through_the_orm(issued):
    entry = issued.history.first()
    entry.comment = "rewritten"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        HistoryEntry.objects.filter(pk=entry.pk).update(comment="x")
    with pytest.raises(PermissionError):
        HistoryEntry.objects.filter(pk=entry.pk).delete()


def test_postgres_refuses_raw_updates_and_deletes(issued):
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's")
    from django.db import DatabaseError, transaction

    entry = issued.history.first()
    for sql in (
        "UPDATE {table} SET comment = 'x' WHERE id = %s",
        "DELETE FROM {table} WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="never updated or deleted"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql.format(table=HistoryEntry._meta.db_table), [entry.pk])
    assert list(verify_all()) == []


def test_an_edited_entry_is_detected(issued):
    entry = issued.history.get(seq=3)
    _raw("UPDATE {table} SET comment = %s WHERE id = %s", ["edited", entry.pk])
    broken = list(verify_all())
    assert len(broken) == 1
    assert broken[0].seq == 3 and "edited" in broken[0].problem


def test_an_edited_actor_is_detected(issued, officers):
    entry = issued.history.get(seq=4)
    _raw("UPDATE {table} SET actor_id = %s WHERE id = %s", [officers["head"].pk, entry.pk])
    assert [b.seq for b in verify_all()] == [4]


def test_a_deleted_entry_in_the_middle_is_detected(issued):
    _raw("DELETE FROM {table} WHERE dossier_id = %s AND seq = %s", [issued.pk, 4])
    broken = list(verify_all())
    assert broken[0].seq == 4 and "missing" in broken[0].problem


def test_a_deleted_last_entry_is_detected(issued):
    _raw("DELETE FROM {table} WHERE dossier_id = %s AND seq = %s", [issued.pk, 8])
    broken = list(verify_all())
    assert broken[0].seq == 8 and "removed from the end" in broken[0].problem


def test_a_recomputed_hash_still_breaks_the_next_link(issued):
    from workflows.history import hash_of

    entry = issued.history.get(seq=2)
    entry.comment = "forged"
    forged_hash = hash_of(entry)
    _raw(
        "UPDATE {table} SET comment = %s, hash = %s WHERE id = %s",
        ["forged", forged_hash, entry.pk],
    )
    broken = list(verify_all())
    assert broken[0].seq == 3 and "link" in broken[0].problem


def test_verify_history_command(issued, capsys):
    call_command("verify_history")
    assert "history intact" in capsys.readouterr().out
    _raw(
        "UPDATE {table} SET to_status = %s WHERE dossier_id = %s AND seq = %s",
        ["signed", issued.pk, 5],
    )
    with pytest.raises(CommandError):
        call_command("verify_history")
    err = capsys.readouterr().err
    assert f"dossier {issued.code}, entry 5" in err
