"""How fast the notifications outbox drains to a local SMTP sink.

Creates N e-mail messages, starts an aiosmtpd server on loopback, and delivers each with
the sweep's own step (``message_deliver``, the code the Celery task runs); prints messages per
second. One process, one SMTP connection per message, as in production.

    python bench/outbox_drain.py [--messages 500]

bench/run.py runs it as one of its parts (``run(opts)``). With DATABASE_URL set it uses that database (its tables must exist: `manage.py migrate`);
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


def drain(messages: int) -> tuple[int, float, int]:
    """Deliver ``messages`` e-mails through the sweep to a local sink: (delivered,
    seconds, received by the sink). Django must be set up."""
    from aiosmtpd.controller import Controller
    from django.contrib.auth import get_user_model
    from django.test import override_settings

    from notifications.models import Channel, Message, MessageStatus
    from notifications.services import message_deliver

    port = free_port()
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    smtp = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": "",
        "EMAIL_HOST_PASSWORD": "",
        "EMAIL_USE_TLS": False,
        "EMAIL_USE_SSL": False,
    }
    try:
        with override_settings(**smtp):
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
                for i in range(messages)
            )
            # The sweep's own per-message step, on these messages only: the bench database
            # may hold other pending messages (the lifecycle bench writes some).
            ours = list(
                Message.objects.filter(recipient=user)
                .order_by("next_attempt_at", "pk")
                .values_list("pk", flat=True)
            )
            started = time.perf_counter()
            for pk in ours:
                message_deliver(message_id=pk)
            elapsed = time.perf_counter() - started
            delivered = Message.objects.filter(
                recipient=user, status=MessageStatus.DELIVERED
            ).count()
            Message.objects.filter(recipient=user).delete()
    finally:
        controller.stop()
    return delivered, elapsed, sink.count


def run(opts) -> list:
    """The runner's part (bench/run.py): on the runner's database."""
    from bench.common import Row

    messages = 100 if opts.quick else 500
    delivered, elapsed, received = drain(messages)
    return [
        Row(
            f"outbox drain: e-mail messages/s (one process, N={messages})",
            f"{delivered / elapsed:.0f}",
        ),
        Row(
            "outbox drain: delivered / received by the SMTP sink",
            f"{delivered} / {received}",
            f"{messages} / {messages}",
            delivered == received == messages,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=500)
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="motcua-bench-")
    os.environ.setdefault("MOTCUA_VAR_DIR", scratch)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)

    import django

    django.setup()
    from django.core.management import call_command

    if "DATABASE_URL" not in os.environ:
        call_command("migrate", verbosity=0)
    delivered, elapsed, received = drain(args.messages)
    engine = django.db.connection.vendor
    print(
        f"outbox drain ({engine}): {delivered}/{args.messages} messages in {elapsed:.2f} s "
        f"= {delivered / elapsed:.0f} messages/s; SMTP sink received {received}"
    )


if __name__ == "__main__":
    main()
