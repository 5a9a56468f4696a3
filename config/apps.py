from django.apps import AppConfig


class ConfigConfig(AppConfig):
    name = "config"
    verbose_name = "motcua configuration"

    def ready(self):
        from . import checks  # noqa: F401 - registers the system checks
