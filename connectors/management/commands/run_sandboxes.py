"""Run every national system's sandbox, for the demo (``make run`` starts this)."""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from connectors import sandbox


class Command(BaseCommand):
    help = "Chạy các hệ thống giả lập (sandbox) của các hệ thống quốc gia cho bản demo."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=sandbox.DEFAULT_PORT)

    def handle(self, *args, host, port, **options):
        running = []
        for name, cls in sorted(sandbox.discover().items()):
            instance = cls(motcua_url=settings.MOTCUA["SITE_URL"])
            url = instance.start(host, port + cls.port_offset)
            running.append(instance)
            self.stdout.write(f"sandbox {name}: {url}")
        if not running:
            self.stdout.write("no sandbox registered")
            return
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            for instance in running:
                instance.stop()
