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
        post_migrate.connect(sync_catalog_admin_group, sender=self)
