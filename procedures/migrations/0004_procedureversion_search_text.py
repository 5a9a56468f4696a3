"""The catalog's search column: each version's code and names, folded (config.search),
filled here for the versions already loaded."""

from django.db import migrations, models

from config.search import search_text


def fill(apps, schema_editor):
    ProcedureVersion = apps.get_model("procedures", "ProcedureVersion")
    versions = list(ProcedureVersion.objects.select_related("procedure"))
    for version in versions:
        version.search_text = search_text(version.procedure.code, version.name, version.name_en)
    ProcedureVersion.objects.bulk_update(versions, ["search_text"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("procedures", "0003_alter_officerrole_role"),
    ]

    operations = [
        migrations.AddField(
            model_name="procedureversion",
            name="search_text",
            field=models.TextField(
                blank=True, default="", editable=False, verbose_name="search text"
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
