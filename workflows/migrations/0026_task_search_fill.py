"""Fills the tasks' copy of their dossier's search text (0022) and builds the two partial
indexes the officers' "done" and team lists read in order, searched or not.

The fill walks the tasks in chunks of ids, each chunk committing on its own: a few million
tasks are never rewritten in one transaction. It writes only the rows whose copy differs
from the dossier's, so it can run again at any time (``manage.py refresh_task_search``
does): after a failure, or to catch up on tasks that code older than 0022, still serving
during the upgrade, made or left behind. The indexes are built concurrently on PostgreSQL
(config.dbindex), and a rerun builds only what is missing or invalid.
"""

from django.db import migrations, models

from config.dbindex import concurrent_indexes

INDEXES = (
    models.Index(
        condition=models.Q(("task_status", "DONE"), models.Q(("role", ""), _negated=True)),
        fields=["task_owner", "task_finished", "task_ptr"],
        include=("search_text",),
        name="task_done_owner_idx",
    ),
    models.Index(
        condition=models.Q(
            ("task_status__in", ["NEW", "ASSIGNED"]), models.Q(("role", ""), _negated=True)
        ),
        fields=["agency", "due_date", "task_ptr"],
        include=("search_text",),
        name="task_open_agency_idx",
    ),
)


def fill(apps, schema_editor):
    # Plain SQL on the two tables, as they are at this migration.
    from workflows.services.search import task_search_refresh

    task_search_refresh(using=schema_editor.connection)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("workflows", "0025_history_at_index"),
    ]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop),
        concurrent_indexes("workflows", "DossierTask", INDEXES),
    ]
