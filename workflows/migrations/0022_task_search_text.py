"""The tasks' copy of their dossier's search text (DossierTask.search_text), and the two
partial indexes the officers' "done" and team lists read in order, searched or not.

The copy is filled from the dossiers in chunks of task ids, each chunk committing on its
own (as 0020 did for the dossiers): a few million tasks are never rewritten in one
transaction. On PostgreSQL the indexes are built CONCURRENTLY, so the table keeps taking
writes meanwhile; a concurrent build that failed left an INVALID index, which is dropped
and built again.
"""

from django.db import migrations, models, transaction
from django.db.models import Max

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


def add_indexes(apps, schema_editor):
    model = apps.get_model("workflows", "DossierTask")
    connection = schema_editor.connection
    for index in INDEXES:
        if connection.vendor != "postgresql":
            schema_editor.add_index(model, index)
            continue
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)",
                [index.name],
            )
            invalid = cursor.fetchone()
        if invalid and invalid[0]:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index.name}")
        elif invalid is not None:
            continue  # built already
        schema_editor.execute(index.create_sql(model, schema_editor, concurrently=True))


def drop_indexes(apps, schema_editor):
    model = apps.get_model("workflows", "DossierTask")
    for index in INDEXES:
        schema_editor.execute(
            index.remove_sql(
                model, schema_editor, concurrently=schema_editor.connection.vendor == "postgresql"
            )
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
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(model_name="dossiertask", index=index) for index in INDEXES
            ],
            database_operations=[migrations.RunPython(add_indexes, drop_indexes)],
        ),
    ]
