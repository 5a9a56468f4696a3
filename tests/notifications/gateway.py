"""An HTTP SMS gateway sandbox on loopback for tests: it accepts sends (JSON, as
notifications.channels.HttpSms posts them), answers with its own id for each message,
and posts signed delivery receipts back to motcua, as real gateways do a little later
(``flush``: the embedded default's in-memory SQLite, which the live server shares with
the test, must not be written by two threads at once)."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from notifications.receipts import signature


def free_port(first: int, last: int) -> int:
    """A port of the test's own range (first..last) on loopback that nothing holds now."""
    for port in range(first, last + 1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {first}-{last}")


class Gateway:
    def __init__(self, port: int):
        self.sends: list[dict] = []
        self.on_send = None  # called with the payload before the gateway answers
        self.receipt_url = ""
        self.secret = ""
        self.auto_receipt = ""  # a status word: post a receipt after each send
        self.receipts: list[tuple[int, dict]] = []
        self.pending: list[dict] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length))
                gateway.sends.append(payload)
                if gateway.on_send:
                    gateway.on_send(payload)
                answer = json.dumps({"id": f"gw-{len(gateway.sends)}", "accepted": True})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer.encode())
                if gateway.auto_receipt:  # posted by flush(), as a gateway does later
                    gateway.pending.append(
                        {
                            "id": f"gw-{len(gateway.sends)}",
                            "reference": payload["id"],
                            "status": gateway.auto_receipt,
                            "at": "2026-11-29T22:40:00+07:00",
                        }
                    )

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{port}/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def receipt(self, body, *, secret: str | None = None, raw: bytes | None = None) -> int:
        """POST a receipt to motcua, signed with the shared secret; the HTTP status."""
        data = raw if raw is not None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the live server on loopback
            self.receipt_url,
            data=data,
            headers={
                "Content-Type": "application/json",
                "X-Motcua-Signature": signature(data, self.secret if secret is None else secret),
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                status = answer.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        self.receipts.append((status, body))
        return status

    def flush(self) -> list[int]:
        """Post the receipts due for the messages sent so far; their HTTP statuses."""
        pending, self.pending = self.pending, []
        return [self.receipt(body) for body in pending]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
