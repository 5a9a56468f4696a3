"""The officers' search column: each dossier's code, applicant's name and ID number,
folded (config.search). The next migration fills it for the dossiers already there, in
chunks that each commit on their own."""

from django.db import migrations, models


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
    ]
