"""The officers' search column: each dossier's code, applicant's name and ID number,
folded (config.search), filled here for the dossiers already there.

The folding is Python's (one definition for both engines), so the rows are read and
written back in chunks: on PostgreSQL as one ``UPDATE ... FROM (VALUES ...)`` per chunk,
elsewhere with bulk_update.
"""

from django.db import migrations, models

from config.search import search_text

CHUNK = 5000


def fill(apps, schema_editor):
    Dossier = apps.get_model("workflows", "Dossier")
    connection = schema_editor.connection
    table = connection.ops.quote_name(Dossier._meta.db_table)
    last = 0
    while True:
        rows = list(
            Dossier.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "code", "applicant_name", "applicant_id_number")[:CHUNK]
        )
        if not rows:
            return
        last = rows[-1][0]
        values = [(pk, search_text(code, name, number)) for pk, code, name, number in rows]
        if connection.vendor == "postgresql":
            placeholders = ", ".join(["(%s::bigint, %s::text)"] * len(values))
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} AS d SET search_text = v.text "  # noqa: S608 - our table
                    f"FROM (VALUES {placeholders}) AS v(id, text) WHERE d.id = v.id",
                    [item for pair in values for item in pair],
                )
        else:
            dossiers = [Dossier(pk=pk, search_text=text) for pk, text in values]
            Dossier.objects.bulk_update(dossiers, ["search_text"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0018_history_and_outbox_field_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="dossier",
            name="search_text",
            field=models.TextField(
                blank=True, default="", editable=False, verbose_name="search text"
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
