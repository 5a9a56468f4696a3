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
    # The deadline timer viewflow makes for the consulted units' task (OnTimeout).
    "consult__timeout": "consult__timeout",
    "consult_no_answer": "consult_no_answer",
    "consult_join": "consult_join",
    "issue": "issue",
    "end": "end",
}


def forward(apps, schema_editor):
    """Two statements, one pass over each table, whatever its size."""
    pairs = [(f"{old}.{node}", f"{NEW}.{new}") for old in OLD for node, new in NODES.items()]
    cases = " ".join("WHEN %s THEN %s" for _ in pairs)
    listed = ", ".join("%s" for _ in pairs)
    # Placeholders only are formatted into the statement; the values are parameters.
    statement = (
        f"UPDATE viewflow_task SET flow_task = CASE flow_task {cases} END "  # noqa: S608
        f"WHERE flow_task IN ({listed})"
    )
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "UPDATE viewflow_process SET flow_class = %s WHERE flow_class IN (%s, %s)",
            [NEW, *OLD],
        )
        cursor.execute(
            statement,
            [value for pair in pairs for value in pair] + [old for old, _ in pairs],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0026_task_search_fill"),
        ("procedures", "0006_flows_as_data"),
        ("viewflow", "0015_task_scheduled"),
    ]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
