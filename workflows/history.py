"""The hash-chained history of a dossier: appending, and checking the chain."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from .models import Dossier, HistoryEntry


def _canonical(value) -> str:
    return json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder
    )


def normalise(data: dict) -> dict:
    """``data`` as it will read back from the database (JSON types only)."""
    return json.loads(_canonical(data or {}))


def entry_hash(
    *,
    dossier_id: int,
    seq: int,
    at: dt.datetime,
    actor_id: int | None,
    action: str,
    from_status: str,
    to_status: str,
    comment: str,
    data: dict,
    prev_hash: str,
) -> str:
    content = {
        "dossier": dossier_id,
        "seq": seq,
        "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": actor_id,
        "action": action,
        "from": from_status,
        "to": to_status,
        "comment": comment,
        "data": data,
        "prev": prev_hash,
    }
    return hashlib.sha256(_canonical(content).encode("utf-8")).hexdigest()


def hash_of(entry: HistoryEntry) -> str:
    return entry_hash(
        dossier_id=entry.dossier_id,
        seq=entry.seq,
        at=entry.at,
        actor_id=entry.actor_id,
        action=entry.action,
        from_status=entry.from_status,
        to_status=entry.to_status,
        comment=entry.comment,
        data=entry.data,
        prev_hash=entry.prev_hash,
    )


def history_append(
    *,
    dossier: Dossier,
    actor,
    action: str,
    from_status: str,
    to_status: str,
    comment: str = "",
    data: dict | None = None,
) -> HistoryEntry:
    """Append an entry and move the dossier's chain head (the caller saves the dossier).

    Call it with the dossier row locked, inside the transaction of the change it records.
    """
    entry = HistoryEntry(
        dossier=dossier,
        seq=dossier.history_count + 1,
        at=timezone.now(),
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=to_status,
        comment=comment,
        data=normalise(data or {}),
        prev_hash=dossier.history_hash,
    )
    entry.hash = hash_of(entry)
    entry.save(force_insert=True)
    dossier.history_count = entry.seq
    dossier.history_hash = entry.hash
    return entry


@dataclass(frozen=True)
class Break:
    dossier: str
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"dossier {self.dossier}, entry {self.seq}: {self.problem}"


def verify_dossier(dossier: Dossier, entries: list[HistoryEntry]) -> Break | None:
    """The first broken link in one dossier's chain, or None."""
    prev, expected_seq = "", 1
    label = dossier.code or f"#{dossier.pk}"
    for entry in entries:
        if entry.seq != expected_seq:
            return Break(label, expected_seq, f"entry missing (next present is {entry.seq})")
        if entry.prev_hash != prev:
            return Break(label, entry.seq, "link to the previous entry is broken")
        if hash_of(entry) != entry.hash:
            return Break(label, entry.seq, "content does not match its hash (edited)")
        prev, expected_seq = entry.hash, expected_seq + 1
    if dossier.history_count != expected_seq - 1 or dossier.history_hash != prev:
        return Break(
            label,
            expected_seq,
            f"chain ends at entry {expected_seq - 1} but the dossier records "
            f"{dossier.history_count} entries (entries removed from the end)",
        )
    return None


def verify_all(batch: int = 500) -> Iterator[Break]:
    """Every dossier's first broken link, walking dossiers in id order."""
    last_id = 0
    while True:
        dossiers = list(Dossier.objects.filter(pk__gt=last_id).order_by("pk")[:batch])
        if not dossiers:
            return
        by_dossier: dict[int, list[HistoryEntry]] = {d.pk: [] for d in dossiers}
        for entry in HistoryEntry.objects.filter(dossier__in=dossiers).order_by("dossier", "seq"):
            by_dossier[entry.dossier_id].append(entry)
        for dossier in dossiers:
            broken = verify_dossier(dossier, by_dossier[dossier.pk])
            if broken:
                yield broken
        last_id = dossiers[-1].pk
