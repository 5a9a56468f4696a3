"""The tasks' copy of their dossier's search text (DossierTask.search_text), and the two
partial indexes the officers' "done" and team lists read in order, searched or not.

The copy is filled from the dossiers in chunks of task ids, each chunk committing on its
own (as 0020 did for the dossiers): a few million tasks are never rewritten in one
transaction. The indexes are built concurrently on PostgreSQL (config.dbindex).
"""

from django.db import migrations, models, transaction
from django.db.models import Max

from config.dbindex import concurrent_indexes

CHUNK = 20000
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
    DossierTask = apps.get_model("workflows", "DossierTask")
    connection = schema_editor.connection
    top = DossierTask.objects.aggregate(top=Max("task_ptr_id"))["top"] or 0
    for low in range(0, top + 1, CHUNK):
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE workflows_dossiertask SET search_text = ("
                " SELECT d.search_text FROM workflows_dossier d"
                " WHERE d.id = workflows_dossiertask.dossier_id)"
                " WHERE task_ptr_id >= %s AND task_ptr_id < %s",
                [low, low + CHUNK],
            )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("workflows", "0021_dossier_search_trigram_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="dossiertask",
            name="search_text",
            field=models.TextField(blank=True, db_default="", default="", editable=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        concurrent_indexes("workflows", "DossierTask", INDEXES),
    ]
