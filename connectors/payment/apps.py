from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentConfig(AppConfig):
    name = "connectors.payment"
    label = "payment"
    verbose_name = _("Online payment")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import national  # noqa: F401 - registers the "national" backend
