"""Dossier codes: ``<agency identifier>-<YYMMDD>-<daily sequence>`` (Decree 61/2018 art. 26),
given at reception: the date is the reception's, and a dossier refused at the desk takes none.

The daily sequence comes from one upsert statement on ``DossierCodeSequence``: the row for
(agency, day) is created or incremented and its new value returned, atomically. Concurrent
callers queue on that row's lock, so N concurrent receptions get N distinct numbers with
no retry loop. A rolled-back reception gives its number back; a gap can only come from a
transaction that committed its number and was later undone some other way, which the
code format tolerates. Past 9999 dossiers in one day the sequence grows to five digits.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection

from procedures.models import Agency

from .models import DossierCodeSequence


def next_sequence(agency_id: int, day: dt.date) -> int:
    table = connection.ops.quote_name(DossierCodeSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (agency_id, day, last) VALUES (%s, %s, 1) "  # noqa: S608
            f"ON CONFLICT (agency_id, day) DO UPDATE SET last = {table}.last + 1 "
            "RETURNING last",
            [agency_id, day],
        )
        return cursor.fetchone()[0]


def dossier_code(agency: Agency, day: dt.date) -> str:
    return f"{agency.code}-{day:%y%m%d}-{next_sequence(agency.pk, day):04d}"
