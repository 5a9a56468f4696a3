"""Sealing the history's heads, from the periodic job: one seal per agency whose dossiers'
chains moved since its last seal.

A seal lists the head of every dossier of the agency whose last entry is newer than the
agency's previous seal (less ``OVERLAP``, for a transaction that committed late: a head
already sealed is left out), so the seals of an agency, together, hold every dossier's
head as it stood at each seal. Each seal carries the previous one's digest, is signed by
the installed ``HistorySealer`` (documents: the agency's seal), and its digest is logged:
the log is a copy of the seals that the database's administrator does not hold.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from procedures.models import Agency

from ..history import seal_digest, seal_payload, sealer
from ..models import Dossier, HistorySeal, HistorySealHead

log = logging.getLogger(__name__)

# A history entry's time is taken inside its transaction, which commits a moment later.
OVERLAP = dt.timedelta(minutes=10)


def history_seal(*, agency: Agency, now: dt.datetime | None = None) -> HistorySeal | None:
    """Seal the heads of ``agency``'s dossiers that moved since its last seal; None when
    there is nothing new, no seal for the agency, or a concurrent run sealed first."""
    signer = sealer()
    if signer is None or not signer.available(agency):
        log.warning("history seal: agency %s has no seal; its history is not sealed", agency.code)
        return None
    made_at = now or timezone.now()
    previous = HistorySeal.objects.filter(agency=agency).order_by("-seq").first()
    dossiers = Dossier.objects.filter(handling_agency=agency, history_count__gt=0)
    if previous is not None:
        dossiers = dossiers.filter(
            history__seq=F("history_count"), history__at__gte=previous.made_at - OVERLAP
        ).exclude(
            Exists(
                HistorySealHead.objects.filter(
                    dossier=OuterRef("pk"), seq=OuterRef("history_count")
                )
            )
        )
    heads = list(dossiers.order_by("pk").values_list("pk", "history_count", "history_hash"))
    if not heads:
        return None
    seq = previous.seq + 1 if previous else 1
    prev_digest = previous.digest if previous else ""
    payload = seal_payload(
        agency_code=agency.code, seq=seq, made_at=made_at, prev_digest=prev_digest, heads=heads
    )
    # Signing may ask a timestamp server: outside the transaction.
    signed = signer.sign(agency=agency, payload=payload)
    try:
        with transaction.atomic():
            seal = HistorySeal.objects.create(
                agency=agency,
                seq=seq,
                made_at=made_at,
                prev_digest=prev_digest,
                digest=seal_digest(payload),
                signature=signed.signature,
                signer=signed.signer[:500],
                timestamped=signed.timestamped,
            )
            HistorySealHead.objects.bulk_create(
                HistorySealHead(seal=seal, dossier_id=pk, seq=count, hash=head_hash)
                for pk, count, head_hash in heads
            )
    except IntegrityError:
        log.info("history seal: %s #%s was made by a concurrent run", agency.code, seq)
        return None
    log.info(
        "history seal: %s #%s over %s head(s), digest %s%s",
        agency.code,
        seq,
        len(heads),
        seal.digest,
        ", timestamped" if seal.timestamped else "",
    )
    return seal


def history_seal_all(*, now: dt.datetime | None = None) -> int:
    """Seal every agency that has dossiers; how many seals were made."""
    agencies = Agency.objects.filter(
        pk__in=Dossier.objects.values("handling_agency").distinct()
    ).order_by("path")
    if sealer() is None:
        log.warning("history seal: no sealer is installed; the history is not sealed")
        return 0
    made = 0
    for agency in agencies:
        try:
            made += history_seal(agency=agency, now=now) is not None
        except Exception:  # one agency's broken seal must not stop the others'
            log.exception("history seal: agency %s could not be sealed", agency.code)
    return made
