from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = _("Dossiers and workflows")

    def ready(self):
        from procedures.authoring import register_preview

        from .graph_svg import flow_graph_preview
        from .permissions import sync_role_groups
        from .services import retention  # noqa: F401 - registers its outbox handlers

        post_migrate.connect(sync_role_groups, sender=self)
        register_preview(flow_graph_preview)
