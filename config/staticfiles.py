"""Where collectstatic and the development server find static files."""

from django.apps import apps
from django.contrib.staticfiles import finders

# Apps installed for their models or engine whose static files motcua never serves.
# viewflow's front end (Material) names Roboto font files the package does not ship, which
# the manifest storage rightly refuses to collect.
UNSERVED_APPS = {"viewflow", "viewflow.workflow"}


class AppDirectoriesFinder(finders.AppDirectoriesFinder):
    """Django's finder over every installed app's ``static/`` but the unserved ones."""

    def __init__(self, app_names=None, *args, **kwargs):
        if app_names is None:
            app_names = [
                config.name for config in apps.get_app_configs() if config.name not in UNSERVED_APPS
            ]
        super().__init__(app_names, *args, **kwargs)
