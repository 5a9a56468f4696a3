"""Flows as data (issue #13): every stored version carries its graph in its specification.

The versions loaded before this named one of two flow shapes written in Python
(``standard`` or ``consultation``); their stages gain the actions those shapes allowed,
so a dossier still on its way under an old version goes on exactly as before. The
``flow`` column goes."""

from django.db import migrations, models

RECEPTION = {"accept": {"to": "review"}, "supplement": {"then": "reception"}, "reject": {"end": True}}
APPROVAL = {"approve": {"to": "signing"}, "refuse": {"end": True}, "send_back": {"to": "review"}}
SIGNING = {"sign": {"end": True}}


def _review(flow: str, fee) -> dict:
    actions = {"propose": {"to": "approval"}, "supplement": {"then": "reception"}}
    if fee:
        actions["request_fee"] = {"then": "review"}
    if flow == "consultation":
        actions["consult"] = {"then": "review"}
    return actions


def graphs_into_specs(apps, schema_editor):
    ProcedureVersion = apps.get_model("procedures", "ProcedureVersion")
    for version in ProcedureVersion.objects.all().iterator():
        spec = version.spec
        if all("actions" in stage for stage in spec["stages"]):
            continue
        tables = {
            "reception": RECEPTION,
            "review": _review(version.flow, version.fee),
            "approval": APPROVAL,
            "signing": SIGNING,
        }
        for stage in spec["stages"]:
            stage.setdefault("held_by", "handling")
            stage["actions"] = dict(tables[stage["code"]])
        spec.pop("flow", None)
        spec.setdefault("outcome", "paper")
        version.spec = spec
        version.save(update_fields=["spec"])


class Migration(migrations.Migration):
    dependencies = [("procedures", "0005_officerrole_title")]

    operations = [
        migrations.RunPython(graphs_into_specs, migrations.RunPython.noop),
        migrations.RemoveField(model_name="procedureversion", name="flow"),
        migrations.AlterField(
            model_name="agency",
            name="kind",
            field=models.CharField(
                choices=[
                    ("central", "Central body"),
                    ("province", "Provincial committee"),
                    ("department", "Department"),
                    ("district", "District"),
                    ("commune", "Commune"),
                ],
                max_length=16,
                verbose_name="kind",
            ),
        ),
    ]
