"""Tampering with the history in SQL, behind the application, as a database administrator
could: every way is found by ``verify_history``, with the dossier and the kind of break.

Up to the last seal even a consistent rewrite is found (its hashes recomputed, or its tail
cut and its head moved back): a seal signed with the agency's key recorded the heads.
"""

# ruff: noqa: S608 - the SQL is the tampering under test; table names come from the models

from __future__ import annotations

import logging

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from workflows.history import Kind, hash_of, verify_all
from workflows.models import Dossier, HistoryEntry, HistorySeal, HistorySealHead, Status
from workflows.services.sealing import history_seal, history_seal_all

ENTRIES = HistoryEntry._meta.db_table
DOSSIERS = Dossier._meta.db_table


@pytest.fixture
def walk(transition_walk):
    """Dossiers whose history chains have the shape the tamperings below are numbered by
    (entries 1 to 8 for an issued one: the draft, filed, received, review started,
    proposed, approved, signed, issued), written by the transitions themselves: this file
    tests the chain, not the way to it."""
    return transition_walk


def raw(sql: str, params=()) -> None:
    """Run SQL behind the application's back, as a database superuser could: on
    PostgreSQL with every trigger switched off."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def entry(dossier, seq) -> HistoryEntry:
    return HistoryEntry.objects.get(dossier=dossier, seq=seq)


def rewrite_chain(dossier, change: dict, *, upto: int | None = None) -> None:
    """Rewrite the chain's entries with ``change`` applied to each and every hash
    recomputed, the dossier's head moved to the new last hash: a consistent rewrite."""
    entries = list(dossier.history.order_by("seq"))
    if upto is not None:
        entries = entries[:upto]
    prev = ""
    for item in entries:
        for field, value in change.items():
            setattr(item, field, value)
        item.prev_hash = prev
        item.hash = hash_of(item)
        prev = item.hash
        raw(
            f"UPDATE {ENTRIES} SET comment = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [item.comment, item.prev_hash, item.hash, item.pk],
        )
    raw(
        f"UPDATE {DOSSIERS} SET history_count = %s, history_hash = %s WHERE id = %s",
        [entries[-1].seq, prev, dossier.pk],
    )


def cut_tail(dossier, keep: int) -> None:
    """Delete the entries after ``keep``, and move the head and the status back to it."""
    last = entry(dossier, keep)
    raw(f"DELETE FROM {ENTRIES} WHERE dossier_id = %s AND seq > %s", [dossier.pk, keep])
    raw(
        f"UPDATE {DOSSIERS} SET status = %s, history_count = %s, history_hash = %s WHERE id = %s",
        [last.to_status, keep, last.hash, dossier.pk],
    )


@pytest.fixture
def issued(walk):
    return walk(Status.ISSUED)


def _forge_entry(dossier, seq, **content):
    """A well-formed entry (its hash right for its own content) for ``seq``."""
    model = entry(dossier, 1)
    forged = HistoryEntry(
        dossier=dossier,
        seq=seq,
        at=model.at,
        actor=None,
        action=content.get("action", "approve"),
        from_status=content.get("from_status", "in_review"),
        to_status=content.get("to_status", "approved"),
        comment="",
        data={},
        prev_hash=content.get("prev_hash", ""),
    )
    forged.hash = hash_of(forged)
    return forged


def _insert(forged: HistoryEntry) -> None:
    raw(
        f"INSERT INTO {ENTRIES} (dossier_id, seq, at, actor_id, action, from_status, "
        "to_status, comment, data, prev_hash, hash) VALUES (%s, %s, %s, NULL, %s, %s, %s, "
        "'', '{}', %s, %s)",
        [
            forged.dossier_id,
            forged.seq,
            forged.at,
            forged.action,
            forged.from_status,
            forged.to_status,
            forged.prev_hash,
            forged.hash,
        ],
    )


# Each: what the administrator did, the entry where the break is reported, its kind.
def t_comment(d, o):
    raw(f"UPDATE {ENTRIES} SET comment = 'x' WHERE id = %s", [entry(d, 3).pk])


def t_actor(d, o):
    raw(f"UPDATE {ENTRIES} SET actor_id = %s WHERE id = %s", [o["head"].pk, entry(d, 4).pk])


def t_time(d, o):
    raw(f"UPDATE {ENTRIES} SET at = at - interval '1 day' WHERE id = %s", [entry(d, 5).pk])


def t_time_sqlite(d, o):
    raw(f"UPDATE {ENTRIES} SET at = '2020-01-01 00:00:00' WHERE id = %s", [entry(d, 5).pk])


def t_action(d, o):
    raw(f"UPDATE {ENTRIES} SET action = 'refuse' WHERE id = %s", [entry(d, 6).pk])


def t_to_status(d, o):
    raw(f"UPDATE {ENTRIES} SET to_status = 'refused' WHERE id = %s", [entry(d, 8).pk])


def t_data(d, o):
    raw(f"UPDATE {ENTRIES} SET data = '{{}}' WHERE id = %s", [entry(d, 2).pk])


def t_delete_middle(d, o):
    raw(f"DELETE FROM {ENTRIES} WHERE id = %s", [entry(d, 4).pk])


def t_delete_first(d, o):
    raw(f"DELETE FROM {ENTRIES} WHERE id = %s", [entry(d, 1).pk])


def t_delete_last(d, o):
    raw(f"DELETE FROM {ENTRIES} WHERE id = %s", [entry(d, 8).pk])


def t_delete_all(d, o):
    raw(f"DELETE FROM {ENTRIES} WHERE dossier_id = %s", [d.pk])


def t_recomputed_hash(d, o):
    forged = entry(d, 2)
    forged.comment = "forged"
    raw(
        f"UPDATE {ENTRIES} SET comment = %s, hash = %s WHERE id = %s",
        [forged.comment, hash_of(forged), forged.pk],
    )


def t_swap(d, o):
    a, b = entry(d, 3), entry(d, 4)
    raw(f"UPDATE {ENTRIES} SET seq = 0 WHERE id = %s", [a.pk])
    raw(f"UPDATE {ENTRIES} SET seq = 3 WHERE id = %s", [b.pk])
    raw(f"UPDATE {ENTRIES} SET seq = 4 WHERE id = %s", [a.pk])


def t_moved_to_other_dossier(d, o):
    other = Dossier.objects.exclude(pk=d.pk).first()
    raw(f"UPDATE {ENTRIES} SET dossier_id = %s, seq = 99 WHERE id = %s", [other.pk, entry(d, 8).pk])


def t_appended_not_linked(d, o):
    _insert(_forge_entry(d, 9, from_status="issued", to_status="issued", action="note"))


def t_head_moved(d, o):
    raw(f"UPDATE {DOSSIERS} SET history_hash = %s WHERE id = %s", [entry(d, 7).hash, d.pk])


def t_count_changed(d, o):
    raw(f"UPDATE {DOSSIERS} SET history_count = 7 WHERE id = %s", [d.pk])


def t_status_without_entry(d, o):
    raw(f"UPDATE {DOSSIERS} SET status = 'refused' WHERE id = %s", [d.pk])


def t_continuity(d, o):
    # Entry 6 rewritten (hashes recomputed from there on) to start from another status.
    entries = list(d.history.order_by("seq"))
    prev = entries[4].hash
    for item in entries[5:]:
        if item.seq == 6:
            item.from_status = "received"
        item.prev_hash = prev
        item.hash = hash_of(item)
        prev = item.hash
        raw(
            f"UPDATE {ENTRIES} SET from_status = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [item.from_status, item.prev_hash, item.hash, item.pk],
        )
    raw(f"UPDATE {DOSSIERS} SET history_hash = %s WHERE id = %s", [prev, d.pk])


TAMPERINGS = {
    "an edited comment": (t_comment, 3, Kind.EDITED),
    "an edited actor": (t_actor, 4, Kind.EDITED),
    "an edited time": (t_time, 5, Kind.EDITED),
    "an edited action": (t_action, 6, Kind.EDITED),
    "an edited status": (t_to_status, 8, Kind.EDITED),
    "edited data (the filing's file hashes)": (t_data, 2, Kind.EDITED),
    "a deleted entry in the middle": (t_delete_middle, 4, Kind.MISSING),
    "the first entry deleted": (t_delete_first, 1, Kind.MISSING),
    "the last entry deleted": (t_delete_last, 8, Kind.HEAD),
    "every entry deleted": (t_delete_all, 1, Kind.HEAD),
    "an entry's hash recomputed": (t_recomputed_hash, 3, Kind.LINK),
    "two entries swapped": (t_swap, 3, Kind.LINK),
    "an entry moved to another dossier": (t_moved_to_other_dossier, 8, Kind.HEAD),
    "a forged entry appended": (t_appended_not_linked, 9, Kind.LINK),
    "the head moved": (t_head_moved, 9, Kind.HEAD),
    "the entry count changed": (t_count_changed, 9, Kind.HEAD),
    "a status with no entry": (t_status_without_entry, 8, Kind.STATUS),
    "an entry not starting where the last left, hashes recomputed": (
        t_continuity,
        6,
        Kind.CONTINUITY,
    ),
}


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_each_tampering_is_found(name, issued, walk, officers):
    tamper, seq, kind = TAMPERINGS[name]
    if tamper is t_time and connection.vendor != "postgresql":
        tamper = t_time_sqlite
    untouched = walk(Status.RECEIVED)
    assert list(verify_all()) == []
    tamper(issued, officers)
    broken = list(verify_all())
    mine = [(b.seq, b.kind) for b in broken if b.dossier == issued.code]
    assert mine == [(seq, kind)], broken
    others = [b for b in broken if b.dossier != issued.code]
    if tamper is t_moved_to_other_dossier:  # the receiving chain breaks too
        assert [(b.dossier, b.kind) for b in others] == [(untouched.code, Kind.MISSING)]
    else:
        assert others == []


def test_a_status_with_no_entry_is_reported_by_the_command(issued, capsys):
    raw(f"UPDATE {DOSSIERS} SET status = 'approved' WHERE id = %s", [issued.pk])
    with pytest.raises(CommandError):
        call_command("verify_history")
    err = capsys.readouterr().err
    assert f"BROKEN [status]: dossier {issued.code}, entry 8" in err
    assert "status changed with no history entry" in err


def test_without_a_seal_a_consistent_rewrite_is_the_limit(issued):
    """What the seals are for: a rewrite with every hash recomputed, after the last seal,
    leaves a chain that is consistent in itself."""
    rewrite_chain(issued, {"comment": "rewritten"})
    assert list(verify_all()) == []


# --- Seals ---------------------------------------------------------------------------


@pytest.fixture
def sealed(issued, province, signing):
    seal = history_seal(agency=province)
    assert seal is not None
    return issued


def test_a_seal_records_every_head_and_verifies(sealed, province, walk, capsys):
    seal = HistorySeal.objects.get(agency=province)
    heads = list(HistorySealHead.objects.filter(seal=seal).values_list("dossier", "seq", "hash"))
    assert heads == [(sealed.pk, 8, sealed.history_hash)]
    assert seal.seq == 1 and seal.prev_digest == "" and not seal.timestamped
    assert "Ban Dân tộc H22" in seal.signer
    assert list(verify_all()) == []
    call_command("verify_history")
    assert "history intact: every chain verifies, and 1 seal(s)" in capsys.readouterr().out

    # Nothing moved: nothing to seal. A dossier moved: the next seal holds its head only.
    assert history_seal(agency=province) is None
    second = walk(Status.SUBMITTED)
    again = history_seal(agency=province)
    assert again.seq == 2 and again.prev_digest == seal.digest
    assert list(again.heads.values_list("dossier", "seq")) == [(second.pk, 2)]
    assert list(verify_all()) == []


def test_a_rewritten_chain_is_found_by_its_seal(sealed):
    rewrite_chain(sealed, {"comment": "rewritten"})
    broken = list(verify_all())
    assert [(b.dossier, b.kind) for b in broken] == [(sealed.code, Kind.SEALED)]
    assert "chain rewritten" in broken[0].problem and "H22 #1" in broken[0].problem


def test_a_cut_tail_is_found_by_its_seal(sealed, capsys):
    cut_tail(sealed, keep=6)
    assert Dossier.objects.get(pk=sealed.pk).status == Status.APPROVED
    broken = list(verify_all())
    assert [(b.dossier, b.seq, b.kind) for b in broken] == [(sealed.code, 8, Kind.SEALED)]
    assert "tail cut" in broken[0].problem
    with pytest.raises(CommandError):
        call_command("verify_history")
    assert f"BROKEN [sealed]: dossier {sealed.code}, entry 8" in capsys.readouterr().err


def test_a_forged_seal_is_found(sealed, province, capsys):
    seal = HistorySeal.objects.get(agency=province)
    forged = bytearray(bytes(seal.signature))
    forged[-40] ^= 0x01  # inside the signature value
    raw(
        f"UPDATE {HistorySeal._meta.db_table} SET signature = %s WHERE id = %s",
        [bytes(forged), seal.pk],
    )
    broken = list(verify_all())
    assert [(b.seal.split(" of ")[0], b.kind) for b in broken] == [("H22 #1", Kind.SEAL)]
    assert "forged" in broken[0].problem
    with pytest.raises(CommandError):
        call_command("verify_history")
    assert "BROKEN [seal]: seal H22 #1" in capsys.readouterr().err


def test_an_edited_seal_list_is_found(sealed, province):
    head = HistorySealHead.objects.get(seal__agency=province)
    raw(f"UPDATE {HistorySealHead._meta.db_table} SET seq = 6 WHERE id = %s", [head.pk])
    broken = list(verify_all())
    # The edited list no longer matches the chain either; the seal itself is reported.
    assert [b.kind for b in broken] == [Kind.SEALED, Kind.SEAL]
    assert "digest" in broken[1].problem


def test_a_seal_resigned_with_another_agencys_key_is_found(sealed, province, other_province):
    """Re-sealed after a rewrite, but with a key that is not this agency's seal."""
    from workflows.history import seal_payload, sealer

    seal = HistorySeal.objects.get(agency=province)
    rewrite_chain(sealed, {"comment": "rewritten"})
    sealed.refresh_from_db()
    payload = seal_payload(
        agency_code=province.code,
        seq=1,
        made_at=seal.made_at,
        prev_digest="",
        heads=[(sealed.pk, 8, sealed.history_hash)],
    )
    other = sealer().sign(agency=other_province, payload=payload)
    from workflows.history import seal_digest

    raw(
        f"UPDATE {HistorySeal._meta.db_table} SET signature = %s, digest = %s WHERE id = %s",
        [other.signature, seal_digest(payload), seal.pk],
    )
    raw(
        f"UPDATE {HistorySealHead._meta.db_table} SET hash = %s WHERE seal_id = %s",
        [sealed.history_hash, seal.pk],
    )
    broken = list(verify_all())
    assert [b.kind for b in broken] == [Kind.SEAL]
    assert "not by the agency's seal" in broken[0].problem


def test_a_removed_seal_in_the_middle_is_found(sealed, province, walk):
    walk(Status.SUBMITTED)
    history_seal(agency=province)
    walk(Status.SUBMITTED)
    history_seal(agency=province)
    second = HistorySeal.objects.get(agency=province, seq=2)
    raw(f"DELETE FROM {HistorySealHead._meta.db_table} WHERE seal_id = %s", [second.pk])
    raw(f"DELETE FROM {HistorySeal._meta.db_table} WHERE id = %s", [second.pk])
    broken = list(verify_all())
    assert [(b.kind, b.problem) for b in broken] == [(Kind.SEAL, "seal H22 #2 is missing")]


def test_sealing_without_a_seal_is_skipped_with_a_log_line(issued, caplog):
    """The tests' default: no seal directory. Nothing is sealed, nothing breaks."""
    with caplog.at_level(logging.WARNING, logger="workflows.services.sealing"):
        assert history_seal_all() == 0
    assert HistorySeal.objects.count() == 0
    assert "agency H22 has no seal; its history is not sealed" in caplog.text
    assert list(verify_all()) == []


def test_the_periodic_jobs_seal(issued, signing):
    from workflows.tasks import run_periodic_jobs

    assert run_periodic_jobs()["seals"] == 1
    assert run_periodic_jobs()["seals"] == 0  # nothing moved since
    assert list(verify_all()) == []


@pytest.fixture
def timestamp_server(signing, monkeypatch):
    """pyHanko's in-process timestamp authority, certified by the test CA, standing in for
    MOTCUA_TIMESTAMP_URL."""
    import documents.signing as signing_module
    from tests.conftest import make_timestamper

    tsa = make_timestamper(signing["ca"])
    monkeypatch.setattr(signing_module, "timestamper", lambda: tsa)
    return tsa


def test_a_seal_is_timestamped_when_a_server_is_configured(issued, province, timestamp_server):
    from asn1crypto import cms

    seal = history_seal(agency=province)
    assert seal.timestamped
    info = cms.ContentInfo.load(bytes(seal.signature))
    unsigned = info["content"]["signer_infos"][0]["unsigned_attrs"]
    assert [a["type"].native for a in unsigned] == ["signature_time_stamp_token"]
    assert list(verify_all()) == []


def test_a_seal_whose_timestamp_was_stripped_is_found(issued, province, timestamp_server):
    from asn1crypto import cms

    seal = history_seal(agency=province)
    info = cms.ContentInfo.load(bytes(seal.signature))
    del info["content"]["signer_infos"][0]["unsigned_attrs"]
    raw(
        f"UPDATE {HistorySeal._meta.db_table} SET signature = %s WHERE id = %s",
        [info.dump(force=True), seal.pk],
    )
    broken = list(verify_all())
    assert [(b.kind, b.problem) for b in broken] == [
        (Kind.SEAL, "its timestamp is missing or not valid")
    ]
