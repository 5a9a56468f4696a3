"""How fast the notifications outbox drains to a local SMTP sink.

Creates N e-mail messages, starts an aiosmtpd server on loopback, and runs the sweep (the
same code the Celery task runs) until every message is delivered; prints messages per
second. One process, one SMTP connection per message, as in production.

    python bench/outbox_drain.py [--messages 500]
With DATABASE_URL set it uses that database (its tables must exist: `manage.py migrate`);
without, a throw-away SQLite file.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class Sink:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.count += 1
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=500)
    args = parser.parse_args()

    port = free_port()
    scratch = tempfile.mkdtemp(prefix="motcua-bench-")
    os.environ.setdefault("MOTCUA_VAR_DIR", scratch)
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{port}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)

    import django

    django.setup()
    from aiosmtpd.controller import Controller
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from notifications.models import Channel, Message, MessageStatus
    from notifications.services import messages_sweep

    if "DATABASE_URL" not in os.environ:
        call_command("migrate", verbosity=0)
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        user, _ = get_user_model().objects.get_or_create(username="bench-outbox")
        Message.objects.filter(recipient=user).delete()
        Message.objects.bulk_create(
            Message(
                recipient=user,
                channel=Channel.EMAIL,
                kind="received",
                language="vi",
                template_version="bench",
                to_address=f"p{i}@example.org",
                subject=f"Hồ sơ {i}",
                body=f"Nội dung {i}",
            )
            for i in range(args.messages)
        )
        started = time.perf_counter()
        while (
            Message.objects.filter(recipient=user, status=MessageStatus.DELIVERED).count()
            < args.messages
        ):
            if messages_sweep() == 0:
                break
        elapsed = time.perf_counter() - started
        delivered = Message.objects.filter(recipient=user, status=MessageStatus.DELIVERED).count()
        Message.objects.filter(recipient=user).delete()
    finally:
        controller.stop()
    engine = django.db.connection.vendor
    print(
        f"outbox drain ({engine}): {delivered}/{args.messages} messages in {elapsed:.2f} s "
        f"= {delivered / elapsed:.0f} messages/s; SMTP sink received {sink.count}"
    )


if __name__ == "__main__":
    main()
