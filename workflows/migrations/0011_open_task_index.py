from django.db import migrations

# viewflow's task table is not ours to model, but our queues read it: the open tasks are
# a small, moving part of it (the done ones grow for ever). A partial index over the open
# ones keeps the queue, the inbox and the team list independent of the history's size.
OPEN_TASKS = (
    "CREATE INDEX IF NOT EXISTS task_open_idx ON viewflow_task (status, owner_id) "
    "WHERE status IN ('NEW', 'ASSIGNED')"
)


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0010_lookup_and_queue_indexes"),
        ("viewflow", "0015_task_scheduled"),
    ]

    operations = [
        migrations.RunSQL(OPEN_TASKS, "DROP INDEX IF EXISTS task_open_idx"),
    ]
