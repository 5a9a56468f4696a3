"""On PostgreSQL, a trigram index on the dossiers' folded search column (pg_trgm).

The officers' search is ``search_text LIKE '%<folded query>%'``: a B-tree cannot serve a
substring, a GIN trigram index can, from three characters up. The column is folded in
Python, so ``unaccent`` is not needed (nor would it be usable in an index: it is not
IMMUTABLE). pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner creates
it. The index is built CONCURRENTLY (outside a transaction), so a large table keeps
taking writes meanwhile. SQLite skips all of this: its search reads the column as it is.
"""

from django.db import migrations

INDEX = "dossier_search_trgm"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # A concurrent build that failed leaves an INVALID index behind, which IF NOT EXISTS
    # would keep: drop it first, so that a rerun builds it again.
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [INDEX]
        )
        invalid = cursor.fetchone()
    if invalid and invalid[0]:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} "
        "ON workflows_dossier USING gin (search_text gin_trgm_ops)"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("workflows", "0020_fill_dossier_search_text"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
