from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "documents"
    verbose_name = _("Documents")

    def ready(self):
        from workflows.history import use_sealer
        from workflows.store import use_provider

        from . import handlers  # noqa: F401 - registers the event handlers
        from .history_seals import AgencySealer
        from .store import ResultPapers

        use_sealer(AgencySealer())
        # Signed results in the citizen's data store (workflows.store).
        use_provider(ResultPapers())
