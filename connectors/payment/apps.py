from django.apps import AppConfig
from django.utils.translation import pgettext_lazy


class PaymentConfig(AppConfig):
    name = "connectors.payment"
    label = "payment"
    verbose_name = pgettext_lazy("payment", "Online payment")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import national  # noqa: F401 - registers the "national" backend
