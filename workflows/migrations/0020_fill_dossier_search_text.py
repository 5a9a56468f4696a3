"""Fills the officers' search column (0019) for the dossiers already there.

The folding is Python's (one definition for both engines), so the rows are read and
written back in chunks: on PostgreSQL as one ``UPDATE ... FROM (VALUES ...)`` per chunk,
elsewhere with bulk_update. The migration is not atomic: each chunk commits on its own, so
a million dossiers are never locked, nor rewritten in one transaction.
"""

from django.db import migrations, transaction

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
        # Each chunk commits on its own: the table is never locked for the whole fill,
        # and a row the services wrote meanwhile (not empty any more) is left as it is.
        with transaction.atomic(using=connection.alias):
            if connection.vendor == "postgresql":
                placeholders = ", ".join(["(%s::bigint, %s::text)"] * len(values))
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"UPDATE {table} AS d SET search_text = v.text "  # noqa: S608 - our table
                        f"FROM (VALUES {placeholders}) AS v(id, text) "
                        "WHERE d.id = v.id AND d.search_text = ''",
                        [item for pair in values for item in pair],
                    )
            else:
                empty = set(
                    Dossier.objects.filter(
                        pk__in=[pk for pk, _ in values], search_text=""
                    ).values_list("pk", flat=True)
                )
                dossiers = [Dossier(pk=pk, search_text=t) for pk, t in values if pk in empty]
                Dossier.objects.bulk_update(dossiers, ["search_text"], batch_size=500)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("workflows", "0019_dossier_search_text"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
