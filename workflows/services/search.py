"""The tasks' copy of their dossier's search text (DossierTask.search_text), made whole.

The services keep the copy as the dossier's changes (services.dossiers._act and
dossier_save_draft); this pass catches up with what they did not see: the tasks that
existed before the copy (migration 0026), and those that code older than it, still serving
during an upgrade, made or left behind. It walks the tasks in chunks of ids, each chunk in
its own transaction, and writes only the rows whose copy differs, so it can run at any time.
"""

from __future__ import annotations

from django.db import connection, transaction

CHUNK = 20000

_UPDATE = (
    "UPDATE workflows_dossiertask SET search_text = ("
    " SELECT d.search_text FROM workflows_dossier d WHERE d.id = workflows_dossiertask.dossier_id)"
    " WHERE task_ptr_id >= %s AND task_ptr_id < %s AND COALESCE(search_text, '') <> COALESCE(("
    " SELECT d.search_text FROM workflows_dossier d"
    " WHERE d.id = workflows_dossiertask.dossier_id), '')"
)


def task_search_refresh(*, using=None, chunk: int = CHUNK) -> int:
    """Copy each dossier's search text onto its tasks where it differs; the rows written."""
    db = using or connection
    with db.cursor() as cursor:
        cursor.execute("SELECT MAX(task_ptr_id) FROM workflows_dossiertask")
        top = cursor.fetchone()[0] or 0
    written = 0
    for low in range(0, top + 1, chunk):
        with transaction.atomic(using=db.alias), db.cursor() as cursor:
            cursor.execute(_UPDATE, [low, low + chunk])
            written += max(cursor.rowcount, 0)
    return written
