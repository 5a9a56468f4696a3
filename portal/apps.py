from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Citizen portal")

    def ready(self):
        # allauth's signals for the national sign-in (a link made, a sign-in again).
        from . import identity  # noqa: F401
