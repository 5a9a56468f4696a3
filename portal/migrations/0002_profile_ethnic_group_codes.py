"""Every profile's ethnic group as one of the 54 GSO codes.

The profile has stored the code since it was made (``max_length=2`` with the code list as
choices), so this changes nothing on a database written through the forms. It is here for
rows written another way (an import, SQLite not enforcing the length): a name or alias
("H'Mông", "Hmong") or a one-digit code ("8") becomes its code; anything else is left as
it is, to be seen in the admin rather than silently dropped.
"""

from django.db import migrations

from procedures.ethnic_groups import ethnic_group_resolve


def normalise(apps, schema_editor):
    CitizenProfile = apps.get_model("portal", "CitizenProfile")
    for profile in CitizenProfile.objects.exclude(ethnic_group="").only("pk", "ethnic_group"):
        group = ethnic_group_resolve(profile.ethnic_group)
        if group is not None and group.code != profile.ethnic_group:
            CitizenProfile.objects.filter(pk=profile.pk).update(ethnic_group=group.code)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_initial"),
    ]

    operations = [migrations.RunPython(normalise, migrations.RunPython.noop)]
