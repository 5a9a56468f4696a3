from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = _("Integration API")

    def ready(self):
        from . import (
            schema,  # noqa: F401 - the key's security scheme in the OpenAPI schema
            webhooks,  # noqa: F401 - the webhook expander and its alert sources
        )
