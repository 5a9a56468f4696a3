"""Indexes on large tables, built without stopping writes: for migrations.

On PostgreSQL an index is built CONCURRENTLY (outside a transaction: the migration says
``atomic = False``), so a table of millions of rows keeps taking writes meanwhile; a
concurrent build that failed leaves an INVALID index behind, which is dropped and built
again on the next run. Elsewhere (SQLite) it is an ordinary index.

    operations = [concurrent_indexes("workflows", "HistoryEntry", INDEXES)]
"""

from __future__ import annotations

from django.db import migrations


def _add(app_label: str, model_name: str, indexes):
    def forwards(apps, schema_editor):
        model = apps.get_model(app_label, model_name)
        connection = schema_editor.connection
        for index in indexes:
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

    return forwards


def _remove(app_label: str, model_name: str, indexes):
    def backwards(apps, schema_editor):
        model = apps.get_model(app_label, model_name)
        concurrently = schema_editor.connection.vendor == "postgresql"
        for index in indexes:
            schema_editor.execute(index.remove_sql(model, schema_editor, concurrently=concurrently))

    return backwards


def concurrent_indexes(app_label: str, model_name: str, indexes) -> migrations.Operation:
    """AddIndex for each of ``indexes`` in the migration state; built concurrently."""
    return migrations.SeparateDatabaseAndState(
        state_operations=[
            migrations.AddIndex(model_name=model_name.lower(), index=index) for index in indexes
        ],
        database_operations=[
            migrations.RunPython(
                _add(app_label, model_name, indexes), _remove(app_label, model_name, indexes)
            )
        ],
    )
