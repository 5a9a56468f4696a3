"""Every pending document rendered now: the document sweep without its grace period."""

from django.core.management.base import BaseCommand

from documents.services import document_render_safely, documents_pending


class Command(BaseCommand):
    help = (
        "Render every pending document now, oldest first: the document sweep without its "
        "two-minute grace period. After a bulk load that left its papers pending (make run "
        "runs it in the background after seed_demo --papers-later), or to clear a backlog."
    )

    def handle(self, *args, **options):
        rendered = failed = 0
        tried = set()
        while batch := [
            pk
            for pk in documents_pending(older_than_seconds=0, limit=len(tried) + 100)
            if pk not in tried
        ]:
            for pk in batch:
                tried.add(pk)
                if document_render_safely(document_id=pk):
                    rendered += 1
                else:
                    failed += 1
        self.stdout.write(
            f"documents rendered: {rendered}" + (f", failed: {failed}" if failed else "")
        )
