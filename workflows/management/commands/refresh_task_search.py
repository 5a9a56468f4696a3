"""Make the tasks' copy of their dossier's search text whole (after an upgrade)."""

from django.core.management.base import BaseCommand

from workflows.services.search import task_search_refresh


class Command(BaseCommand):
    help = (
        "Chép lại văn bản tìm kiếm của hồ sơ sang các nhiệm vụ còn lệch (sau khi nâng cấp). "
        "Copy each dossier's search text onto its tasks where it differs (after an upgrade)."
    )

    def handle(self, *args, **options):
        written = task_search_refresh()
        self.stdout.write(f"tasks brought up to date: {written}")
