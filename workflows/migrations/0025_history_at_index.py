"""The history's index by time (with the dossier): the API's ``updated_after`` filter
finds the dossiers changed since a moment from it. Built concurrently on PostgreSQL
(config.dbindex): the history is the largest table."""

from django.db import migrations, models

from config.dbindex import concurrent_indexes


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("workflows", "0024_fees"),
    ]

    operations = [
        concurrent_indexes(
            "workflows",
            "HistoryEntry",
            [models.Index(fields=["at", "dossier"], name="history_at_idx")],
        ),
    ]
