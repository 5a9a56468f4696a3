from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

# The group of catalog administrators: staff in it see the procedures in the admin and
# publish new versions of them (procedures.authoring). Not an agency role ("role:..."):
# it grants nothing on dossiers.
CATALOG_ADMIN_GROUP = "catalog-admin"
CATALOG_ADMIN_PERMISSIONS = ("view_procedure", "view_procedureversion", "publish_procedure")


def sync_catalog_admin_group(sender=None, using="default", **kwargs) -> None:
    from django.contrib.auth.models import Group, Permission

    group, _created = Group.objects.using(using).get_or_create(name=CATALOG_ADMIN_GROUP)
    group.permissions.add(
        *Permission.objects.using(using).filter(
            content_type__app_label="procedures", codename__in=CATALOG_ADMIN_PERMISSIONS
        )
    )


class ProceduresConfig(AppConfig):
    name = "procedures"
    verbose_name = _("Catalog: agencies and procedures")

    def ready(self):
        from django.contrib.auth.models import Group, Permission
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from .auth import forget_role_permissions
        from .models import ProcedureVersion
        from .selectors import forget_upload_limits

        post_migrate.connect(sync_catalog_admin_group, sender=self)
        # What the process keeps for a few seconds (procedures.memo), forgotten here at
        # once when it changes.
        m2m_changed.connect(forget_role_permissions, sender=Group.permissions.through)
        for signal in (post_save, post_delete):
            signal.connect(forget_role_permissions, sender=Group)
            signal.connect(forget_upload_limits, sender=ProcedureVersion)
        post_delete.connect(forget_role_permissions, sender=Permission)
        post_migrate.connect(forget_role_permissions)
        post_migrate.connect(forget_upload_limits)
