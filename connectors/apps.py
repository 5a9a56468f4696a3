from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = _("Kết nối hệ thống quốc gia")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # allauth's signals for the national sign-in (a link made, a sign-in again).
        from connectors.identity import adapter  # noqa: F401

        from . import checks  # noqa: F401
