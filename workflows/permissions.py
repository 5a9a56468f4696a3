"""Which role may do what: each role's Django group and the dossier permissions it carries.

The groups are (re)created after every migrate. An administrator may change a group's
permissions in the admin; ``sync_role_groups`` only adds what is missing, it never takes
a permission away.
"""

from __future__ import annotations

from procedures.roles import Role, group_name

# Permission codenames on workflows.Dossier, as declared in Dossier.Meta.permissions.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.RECEPTION: ("view_dossier", "receive_dossier", "file_at_desk"),
    Role.SPECIALIST: ("view_dossier", "review_dossier"),
    Role.HEAD: ("view_dossier", "approve_dossier", "assign_task"),
    Role.SIGNER: ("view_dossier", "sign_dossier"),
    Role.SUPERVISOR: ("view_dossier", "supervise_dossier", "assign_task"),
    Role.INTEGRATION: ("file_for_applicant",),
}


def sync_role_groups(sender=None, using="default", **kwargs) -> None:
    from django.contrib.auth.models import Group, Permission

    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=group_name(role))
        perms = Permission.objects.using(using).filter(
            content_type__app_label="workflows", codename__in=codenames
        )
        group.permissions.add(*perms)
