from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NationalPortalConfig(AppConfig):
    name = "connectors.national_portal"
    label = "national_portal"
    verbose_name = _("National public service portal")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import sync  # noqa: F401 - the outbox expander and the alert source
