"""History seals, and on PostgreSQL a history that not even TRUNCATE empties.

The row triggers of 0002 refuse UPDATE and DELETE; TRUNCATE fires no row trigger, so a
statement-level trigger refuses it here, on the history and on the seals. The one way
through is ``manage.py flush`` (the test suite's teardown), which says so with the
session setting ``motcua.truncate_history`` and works only for the tables' owner; the
application's role owns nothing (README, "Database roles"). The seals get the same
append-only row triggers as the history.

And a dossier's status and history head move only onto an entry that exists: an update
that changes them must point at the dossier's entry of that number, with its hash and the
status it left, and the head never moves back. The application's role, which must write
dossiers, can no longer change a status without a history entry.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLES = ("workflows_historyentry", "workflows_historyseal", "workflows_historysealhead")

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION motcua_history_no_truncate() RETURNS trigger AS $$
BEGIN
    IF current_setting('motcua.truncate_history', true) = 'on'
       AND pg_has_role(
           current_user,
           (SELECT relowner FROM pg_class WHERE oid = TG_RELID),
           'MEMBER'
       ) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'history is never truncated (' || TG_TABLE_NAME || ')',
        ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;
"""

DOSSIER_HEAD = """
CREATE OR REPLACE FUNCTION motcua_dossier_head() RETURNS trigger AS $$
DECLARE
    last_hash text;
    last_status text;
BEGIN
    IF NEW.history_count < OLD.history_count THEN
        RAISE EXCEPTION USING
            MESSAGE = 'a dossier''s history head never moves back',
            ERRCODE = 'check_violation';
    END IF;
    SELECT hash, to_status INTO last_hash, last_status
        FROM workflows_historyentry
        WHERE dossier_id = NEW.id AND seq = NEW.history_count;
    IF NOT FOUND OR last_hash <> NEW.history_hash OR last_status <> NEW.status THEN
        RAISE EXCEPTION USING
            MESSAGE = 'a dossier''s status and history head are its last history entry''s',
            ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER workflows_dossier_head
    BEFORE UPDATE ON workflows_dossier
    FOR EACH ROW
    WHEN (
        OLD.status IS DISTINCT FROM NEW.status
        OR OLD.history_count IS DISTINCT FROM NEW.history_count
        OR OLD.history_hash IS DISTINCT FROM NEW.history_hash
    )
    EXECUTE FUNCTION motcua_dossier_head();
"""

NO_TRUNCATE = """
CREATE TRIGGER {table}_no_truncate
    BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION motcua_history_no_truncate();
"""

APPEND_ONLY = """
CREATE TRIGGER {table}_append_only
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION motcua_history_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_FUNCTION)
    schema_editor.execute(DOSSIER_HEAD)
    for table in TABLES:
        schema_editor.execute(NO_TRUNCATE.format(table=table))
        if table != "workflows_historyentry":  # 0002 made this one's
            schema_editor.execute(APPEND_ONLY.format(table=table))


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        if table != "workflows_historyentry":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS motcua_history_no_truncate()")
    schema_editor.execute("DROP TRIGGER IF EXISTS workflows_dossier_head ON workflows_dossier")
    schema_editor.execute("DROP FUNCTION IF EXISTS motcua_dossier_head()")


class Migration(migrations.Migration):

    dependencies = [
        ('procedures', '0001_initial'),
        ('workflows', '0014_dossiertask_done_copies'),
    ]

    operations = [
        migrations.CreateModel(
            name='HistorySeal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('seq', models.PositiveIntegerField()),
                ('made_at', models.DateTimeField()),
                ('prev_digest', models.CharField(blank=True, max_length=64)),
                ('digest', models.CharField(max_length=64)),
                ('signature', models.BinaryField()),
                ('signer', models.CharField(blank=True, max_length=500)),
                ('timestamped', models.BooleanField(default=False)),
                ('agency', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='procedures.agency')),
            ],
            options={
                'verbose_name': 'history seal',
                'verbose_name_plural': 'history seals',
                'ordering': ['agency', 'seq'],
            },
        ),
        migrations.CreateModel(
            name='HistorySealHead',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('seq', models.PositiveIntegerField()),
                ('hash', models.CharField(max_length=64)),
                ('dossier', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='workflows.dossier')),
                ('seal', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='heads', to='workflows.historyseal')),
            ],
        ),
        migrations.AddConstraint(
            model_name='historyseal',
            constraint=models.UniqueConstraint(fields=('agency', 'seq'), name='uniq_history_seal_seq'),
        ),
        migrations.AddIndex(
            model_name='historysealhead',
            index=models.Index(fields=['dossier', 'seq'], name='history_seal_head_dossier'),
        ),
        migrations.AddConstraint(
            model_name='historysealhead',
            constraint=models.UniqueConstraint(fields=('seal', 'dossier'), name='uniq_history_seal_head'),
        ),
        migrations.RunPython(forwards, backwards),
    ]
