"""The tasks' copy of their dossier's search text (DossierTask.search_text): a column with
a database default, so adding it rewrites nothing. 0026 fills it and builds its indexes."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0021_dossier_search_trigram_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="dossiertask",
            name="search_text",
            field=models.TextField(blank=True, db_default="", default="", editable=False),
        ),
    ]
