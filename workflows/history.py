"""The hash-chained history of a dossier: appending, sealing heads, and checking both.

Each entry's hash covers its content and the previous entry's hash, and the dossier row
keeps the chain's head. ``verify_all`` walks every chain, compares each dossier's head and
status with its last entry, and checks every seal (``HistorySeal``): its signature, its
place in the agency's chain of seals, and that each head it recorded is still in its
chain with the same hash. The last check is what catches a chain rewritten with its hashes
recomputed, or cut back with its head moved back, up to the last seal.

Seals are signed by a ``HistorySealer`` that a higher layer provides (documents, with the
agency's seal key, in its ``ready()``): workflows knows nothing of keys or CMS.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from .models import Dossier, HistoryEntry, HistorySeal, HistorySealHead


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
    # "The last thing recorded", as the API's status read annotates it: the API's answer to
    # a submit reads it from the instance every step of the filing appended through.
    dossier.updated_at = entry.at
    return entry


# --- Seals ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SealSignature:
    signature: bytes  # a detached CMS SignedData over the seal's payload, DER
    signer: str  # who sealed, as the certificate names them
    timestamped: bool


class HistorySealer:
    """Signs and checks seals; the real one is documents' (the agency's seal key)."""

    def available(self, agency) -> bool:
        """The agency has a seal to sign with."""
        raise NotImplementedError

    def sign(self, *, agency, payload: bytes) -> SealSignature:
        raise NotImplementedError

    def check(self, *, seal: HistorySeal, payload: bytes) -> str | None:
        """What is wrong with the seal's signature over ``payload``, or None."""
        raise NotImplementedError


_sealer: HistorySealer | None = None


def use_sealer(sealer: HistorySealer | None) -> HistorySealer | None:
    """Install the sealer (documents' ready()); returns the one it replaces."""
    global _sealer
    previous, _sealer = _sealer, sealer
    return previous


def sealer() -> HistorySealer | None:
    return _sealer


SEAL_FORMAT = "motcua.history-seal.v1"


def seal_payload(
    *,
    agency_code: str,
    seq: int,
    made_at: dt.datetime,
    prev_digest: str,
    heads: list[tuple[int, int, str]],
) -> bytes:
    """The text a seal signs: the agency, the seal's number and time, the previous seal's
    digest and every (dossier id, head entry number, head hash), by dossier id."""
    return _canonical(
        {
            "format": SEAL_FORMAT,
            "agency": agency_code,
            "seq": seq,
            "made_at": made_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "prev": prev_digest,
            "heads": [list(head) for head in sorted(heads)],
        }
    ).encode("utf-8")


def seal_digest(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def seal_label(seal: HistorySeal, agency_code: str) -> str:
    made = timezone.localtime(seal.made_at).strftime("%Y-%m-%d %H:%M")
    return f"{agency_code} #{seal.seq} of {made}"


# --- Checking --------------------------------------------------------------------------


class Kind:
    """What kind of break: how an administrator reading the report knows where to look."""

    MISSING = "missing"  # an entry is gone from the middle of the chain
    LINK = "link"  # an entry does not point at the one before it
    EDITED = "edited"  # an entry's content does not match its hash
    CONTINUITY = "continuity"  # an entry does not start from the status the last one left
    HEAD = "head"  # the dossier's head is not the chain's last entry
    STATUS = "status"  # the dossier's status is not the one its last entry left
    SEALED = "sealed"  # a head a seal recorded is no longer in the chain
    SEAL = "seal"  # a seal itself is forged, missing or out of its chain


@dataclass(frozen=True)
class Break:
    dossier: str
    seq: int
    problem: str
    kind: str = ""
    seal: str = ""

    def __str__(self) -> str:
        if not self.dossier:
            return f"seal {self.seal}: {self.problem}"
        return f"dossier {self.dossier}, entry {self.seq}: {self.problem}"


SealedHead = tuple[int, str, str]  # (entry number, hash, seal label)


def verify_dossier(
    dossier: Dossier, entries: list[HistoryEntry], sealed: list[SealedHead] | tuple = ()
) -> Break | None:
    """The first broken link in one dossier's chain, or None.

    ``sealed``: the heads seals recorded for this dossier."""
    prev, expected_seq, status = "", 1, ""
    label = dossier.code or f"#{dossier.pk}"
    for entry in entries:
        if entry.seq != expected_seq:
            return Break(
                label, expected_seq, f"entry missing (next present is {entry.seq})", Kind.MISSING
            )
        if entry.prev_hash != prev:
            return Break(label, entry.seq, "link to the previous entry is broken", Kind.LINK)
        if hash_of(entry) != entry.hash:
            return Break(label, entry.seq, "content does not match its hash (edited)", Kind.EDITED)
        if entry.seq > 1 and entry.from_status != status:
            return Break(
                label,
                entry.seq,
                f"starts from status '{entry.from_status}' but the entry before left "
                f"'{status}' (chain rewritten)",
                Kind.CONTINUITY,
            )
        prev, expected_seq, status = entry.hash, expected_seq + 1, entry.to_status
    last = expected_seq - 1
    if dossier.history_count != last or dossier.history_hash != prev:
        return Break(
            label,
            expected_seq,
            f"chain ends at entry {last} but the dossier records "
            f"{dossier.history_count} entries (entries removed from the end)",
            Kind.HEAD,
        )
    if not entries:
        return Break(label, 1, "the dossier has no history at all", Kind.STATUS)
    if dossier.status != status:
        return Break(
            label,
            last,
            f"the dossier's status is '{dossier.status}' but its last entry left it "
            f"'{status}' (status changed with no history entry)",
            Kind.STATUS,
        )
    for seq, sealed_hash, seal in sealed:
        if seq > last:
            return Break(
                label,
                seq,
                f"seal {seal} recorded entry {seq} as the head, but the chain now ends at "
                f"entry {last} (tail cut)",
                Kind.SEALED,
            )
        if entries[seq - 1].hash != sealed_hash:
            return Break(
                label,
                seq,
                f"entry {seq} is not the one seal {seal} recorded (chain rewritten)",
                Kind.SEALED,
            )
    return None


def _agency_codes() -> dict[int, str]:
    from procedures.models import Agency

    return dict(Agency.objects.values_list("pk", "code"))


def _sealed_heads(dossier_ids: list[int], codes: dict[int, str]) -> dict[int, list[SealedHead]]:
    sealed: dict[int, list[SealedHead]] = defaultdict(list)
    rows = HistorySealHead.objects.filter(dossier_id__in=dossier_ids).values_list(
        "dossier_id", "seq", "hash", "seal__agency_id", "seal__seq", "seal__made_at"
    )
    for dossier_id, seq, head_hash, agency_id, seal_seq, made_at in rows:
        label = seal_label(
            HistorySeal(seq=seal_seq, made_at=made_at), codes.get(agency_id, str(agency_id))
        )
        sealed[dossier_id].append((seq, head_hash, label))
    return sealed


def verify_chains(batch: int = 500) -> Iterator[Break]:
    """Every dossier's first broken link, walking dossiers in id order."""
    codes = _agency_codes()
    last_id = 0
    while True:
        dossiers = list(Dossier.objects.filter(pk__gt=last_id).order_by("pk")[:batch])
        if not dossiers:
            return
        by_dossier: dict[int, list[HistoryEntry]] = {d.pk: [] for d in dossiers}
        for entry in HistoryEntry.objects.filter(dossier__in=dossiers).order_by("dossier", "seq"):
            by_dossier[entry.dossier_id].append(entry)
        sealed = _sealed_heads(list(by_dossier), codes)
        for dossier in dossiers:
            broken = verify_dossier(dossier, by_dossier[dossier.pk], sealed.get(dossier.pk, ()))
            if broken:
                yield broken
        last_id = dossiers[-1].pk


def verify_seals() -> Iterator[Break]:
    """Every seal's problem: a forged or unreadable signature, a digest that does not
    match what it lists, a seal missing from its agency's chain of seals."""
    codes = _agency_codes()
    checker = sealer()
    previous: HistorySeal | None = None
    for seal in HistorySeal.objects.order_by("agency_id", "seq").iterator(chunk_size=100):
        code = codes.get(seal.agency_id, str(seal.agency_id))
        label = seal_label(seal, code)
        before = previous if previous and previous.agency_id == seal.agency_id else None
        previous = seal
        expected = before.seq + 1 if before else 1
        if seal.seq != expected:
            yield Break("", seal.seq, f"seal {code} #{expected} is missing", Kind.SEAL, label)
            continue
        if seal.prev_digest != (before.digest if before else ""):
            yield Break(
                "", seal.seq, "does not follow the agency's previous seal", Kind.SEAL, label
            )
            continue
        heads = list(
            HistorySealHead.objects.filter(seal=seal)
            .order_by("dossier_id")
            .values_list("dossier_id", "seq", "hash")
        )
        payload = seal_payload(
            agency_code=code,
            seq=seal.seq,
            made_at=seal.made_at,
            prev_digest=seal.prev_digest,
            heads=heads,
        )
        if seal_digest(payload) != seal.digest:
            yield Break(
                "", seal.seq, "what it lists does not match its digest (edited)", Kind.SEAL, label
            )
            continue
        if checker is None:
            yield Break(
                "", seal.seq, "no sealer is installed to check its signature", Kind.SEAL, label
            )
            continue
        problem = checker.check(seal=seal, payload=bytes(payload))
        if problem:
            yield Break("", seal.seq, problem, Kind.SEAL, label)


def verify_all(batch: int = 500) -> Iterator[Break]:
    """Every dossier's first broken link, then every broken seal."""
    yield from verify_chains(batch)
    yield from verify_seals()
