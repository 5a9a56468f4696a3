"""Retention: abandoned drafts discarded, and a finished dossier's personal files erased
once its procedure version's retention period has run from its result.

The history is append-only (the ORM, PostgreSQL triggers and the app's database role all
refuse to delete it) and it stays: a draft's "create" entry too. So a dossier row is
never deleted. An abandoned draft moves to ``discarded`` through a system transition,
recorded in its chain, and loses what was typed and uploaded; a finished dossier past
its retention gets an ``erase_files`` entry and keeps every row, name, size and SHA-256
of its files (the history's filing manifest names them), but not their bytes.

The state changes in one transaction per dossier; the bytes are deleted after commit by
the outbox's handlers of ``dossier.discard`` and ``dossier.erase_files`` (here for the
components; documents erases its papers the same way), so a storage outage is retried
with backoff and a final failure shows in the admin, like every other background step.
Running the job twice does nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import operator

from django.conf import settings
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from procedures.models import ProcedureVersion

from ..events import event_record, handles
from ..exceptions import ActionNotAllowed
from ..history import history_append
from ..models import FINAL, Dossier, DossierComponent, OutgoingEvent, Status
from .dossiers import _act, _locked

log = logging.getLogger(__name__)

# What a discarded draft keeps of what the applicant typed: nothing.
_CLEARED = {
    "form_data": {},
    "applicant_name": "",
    "applicant_id_number": "",
    "applicant_address": "",
    "applicant_phone": "",
    "applicant_email": "",
    "search_text": "",
}


def years_before(moment: dt.datetime, years: int) -> dt.datetime:
    """The same calendar moment ``years`` earlier (29 February falls back to the 28th)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def erase_due(dossier: Dossier) -> dt.datetime | None:
    """When the dossier's files are erased (``Dossier.retention_ends``)."""
    return dossier.retention_ends()


# --- Abandoned drafts --------------------------------------------------------------------------


def abandoned_drafts(*, now: dt.datetime | None = None):
    """Drafts not changed (typed data or a file) for the draft retention's days."""
    now = now or timezone.now()
    days = settings.MOTCUA["DRAFT_RETENTION_DAYS"]
    return (
        Dossier.objects.filter(status=Status.DRAFT)
        .alias(last_change=Coalesce(F("edited_at"), F("created_at")))
        .filter(last_change__lt=now - dt.timedelta(days=days))
        .order_by("pk")
    )


def dossier_discard(*, dossier: Dossier, by=None, as_of: dt.datetime | None = None) -> Dossier:
    """Discard an abandoned draft (the system's step: ``by`` None, a person is refused):
    its typed data is cleared, its files are marked erased now and deleted after commit.
    Only a draft unchanged for the draft retention's days before ``as_of`` (now) goes."""
    now = timezone.now()

    def still_abandoned(d: Dossier) -> dict:
        # Checked on the locked row: a citizen who saved the draft since it was listed
        # keeps it.
        if not abandoned_drafts(now=as_of or now).filter(pk=d.pk).exists():
            raise ActionNotAllowed(_("This draft was changed recently; it is kept."))
        return {}

    def apply(d: Dossier) -> dict:
        components = d.components.filter(erased_at__isnull=True)
        d._erased_files = components.count()
        # A draft was never filed: its files' names (often the person's) go too.
        components.update(erased_at=now, original_name="")
        return {**_CLEARED, "erased_at": now}

    return _act(
        dossier,
        by,
        "discard",
        validate=still_abandoned,
        apply=apply,
        data=lambda d: {
            "files": d._erased_files,
            "days": settings.MOTCUA["DRAFT_RETENTION_DAYS"],
        },
    )


def drafts_discard_abandoned(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    done = 0
    for dossier in abandoned_drafts(now=now)[:limit]:
        try:
            dossier_discard(dossier=dossier, as_of=now)
        except ActionNotAllowed:  # changed since it was listed: kept
            continue
        except Exception:  # one dossier's problem must not stop the others
            log.exception("retention: draft #%s could not be discarded", dossier.pk)
            continue
        done += 1
    return done


# --- Retention of finished dossiers -------------------------------------------------------------


def expired_dossiers(*, now: dt.datetime | None = None):
    """Finished dossiers whose retention has run out and whose files are not erased yet.

    A dossier's retention is the longer of its version's and its procedure's current
    version's (``Dossier.retention_years``); either one permanent keeps it for good."""
    now = now or timezone.now()
    own = "procedure_version__retention_years"
    current = "procedure_version__procedure__current_version__retention_years"
    no_current = "procedure_version__procedure__current_version__isnull"
    periods = sorted(
        set(
            ProcedureVersion.objects.filter(retention_years__isnull=False).values_list(
                "retention_years", flat=True
            )
        )
    )
    if not periods:
        return Dossier.objects.none()
    # Retention of exactly Y years: the own period is Y and the current one no longer (or
    # there is no current version), or the current one is Y and the own one no longer.
    ran_out = functools.reduce(
        operator.or_,
        (
            Q(closed_at__lte=years_before(now, years))
            & (
                Q(**{own: years, f"{current}__lte": years})
                | Q(**{own: years, no_current: True})
                | Q(**{current: years, f"{own}__lte": years})
            )
            for years in periods
        ),
    )
    return (
        Dossier.objects.filter(status__in=FINAL, erased_at__isnull=True)
        .filter(ran_out)
        .order_by("pk")
    )


def dossier_erase_files(*, dossier: Dossier) -> Dossier:
    """Erase a finished dossier's personal files at the end of its retention (the system's
    step): rows, names, sizes and hashes stay; the bytes go after commit."""
    with _locked(dossier) as locked:
        if locked.erased_at is not None:
            return locked
        years = locked.retention_years()
        due = erase_due(locked)
        now = timezone.now()
        if due is None or due > now:
            raise ValueError(f"dossier #{locked.pk} is not past its retention")
        count = locked.components.filter(erased_at__isnull=True).update(erased_at=now)
        entry = history_append(
            dossier=locked,
            actor=None,
            action="erase_files",
            from_status=locked.status,
            to_status=locked.status,
            data={"retention_years": years, "closed": locked.closed_at, "files": count},
        )
        locked.erased_at = now
        locked.save(update_fields=["history_count", "history_hash", "erased_at"])
        event_record(
            name="dossier.erase_files",
            dossier=locked,
            entry=entry,
            payload={"code": locked.code, "seq": entry.seq},
        )
    return locked


def dossiers_erase_expired(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    done = 0
    for dossier in expired_dossiers(now=now)[:limit]:
        try:
            dossier_erase_files(dossier=dossier)
        except Exception:
            log.exception("retention: dossier #%s could not be erased", dossier.pk)
            continue
        done += 1
    return done


def retention_run(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The periodic job: both sweeps; counts only (no personal data in the log)."""
    done = {
        "drafts_discarded": drafts_discard_abandoned(now=now),
        "dossiers_erased": dossiers_erase_expired(now=now),
    }
    if any(done.values()):
        log.info(
            "retention: %s abandoned draft(s) discarded, %s dossier(s) past retention erased",
            done["drafts_discarded"],
            done["dossiers_erased"],
        )
    return done


# --- The bytes, after commit (outbox handlers; idempotent) --------------------------------------


def component_files_delete(*, dossier_id: int) -> int:
    """Delete the bytes of the dossier's erased components; the row keeps no file name
    once its bytes are gone, so a second run finds nothing."""
    deleted = 0
    for component in DossierComponent.objects.filter(
        dossier_id=dossier_id, erased_at__isnull=False
    ).exclude(file=""):
        component.file.storage.delete(component.file.name)
        DossierComponent.objects.filter(pk=component.pk).update(file="")
        deleted += 1
    return deleted


@handles("dossier.discard")
@handles("dossier.erase_files")
def _delete_component_files(event: OutgoingEvent) -> None:
    if event.dossier_id is not None:
        component_files_delete(dossier_id=event.dossier_id)
