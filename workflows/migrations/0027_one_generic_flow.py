"""One generic flow for every procedure (issue #13): the processes and tasks of the two
flow classes written in Python (StandardFlow, ConsultationFlow) now belong to
DossierFlow, whose route reads each version's graph (procedures 0006 wrote the graphs of
the versions those classes ran). A dossier on its way goes on where it stands."""

from django.db import migrations

OLD = ("workflows/flows.StandardFlow", "workflows/flows.ConsultationFlow")
NEW = "workflows/flows.DossierFlow"
# Old node → new node: the stage tasks become the one stage node, their gateways the route.
NODES = {
    "start": "start",
    "reception": "stage",
    "review": "stage",
    "approval": "stage",
    "signing": "stage",
    "after_reception": "route",
    "after_review": "route",
    "after_approval": "route",
    "wait_resubmission": "wait_resubmission",
    "wait_fee": "wait_fee",
    "consult_split": "consult_split",
    "consult": "consult",
    "consult_no_answer": "consult_no_answer",
    "consult_join": "consult_join",
    "issue": "issue",
    "end": "end",
}


def forward(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for old in OLD:
            cursor.execute(
                "UPDATE viewflow_process SET flow_class = %s WHERE flow_class = %s", [NEW, old]
            )
            for node, new_node in NODES.items():
                cursor.execute(
                    "UPDATE viewflow_task SET flow_task = %s WHERE flow_task = %s",
                    [f"{NEW}.{new_node}", f"{old}.{node}"],
                )


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0026_task_search_fill"),
        ("procedures", "0006_flows_as_data"),
        ("viewflow", "0015_task_scheduled"),
    ]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
