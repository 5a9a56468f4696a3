"""System checks for a deployment."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def secret_key_from_environment(app_configs, **kwargs):
    if settings.SECRET_KEY_FROM_ENVIRONMENT or settings.DEBUG:
        return []
    return [
        Error(
            "SECRET_KEY is not set in the environment.",
            hint="Every web and worker process of a deployment must share one secret key; "
            "set SECRET_KEY (the key generated into var/ is for the embedded default only).",
            id="motcua.E001",
        )
    ]
