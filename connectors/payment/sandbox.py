"""The national payment platform's sandbox (``make run``: SANDBOX_PORT + 3).

- ``POST /init``: an INIT (its integrity code checked); answers the payment page's URL;
- ``GET /pay/<reference>``: the platform's page, in Vietnamese, where the tester chooses
  "Thanh toán thành công", "Thất bại" or "Hủy";
- ``POST /pay/<reference>``: records the choice, posts the signed callback to motcua, then
  sends the citizen back to motcua's return URL (the callback first: in the tests the
  live server and the test share one SQLite database, which must not be written by two
  threads at once, and the test thread waits on this answer);
- ``POST /query``: a payment's state, for motcua's reconciliation.

Faults, besides the common ones (down, slow:N, malformed): ``bad-signature`` (callbacks
signed with another secret), ``no-callback`` (none is posted: reconciliation must find the
payment), ``duplicate-callback`` (each callback is posted twice).

The callback goes to the INIT's callback URL; with the ``motcua_url`` option (``make run``,
the tests' live server) to that address with the callback URL's path.
"""

from __future__ import annotations

import html
import itertools
import urllib.parse

import requests
from django.utils import timezone

from connectors.sandbox import Request, Response, Sandbox, register

from . import national as wire

SECRET = "sandbox-secret"  # noqa: S105 - the sandbox's own; settings' DEBUG default

CHOICES = {
    "success": ("00", "Thanh toán thành công"),
    "fail": ("02", "Thất bại"),
    "cancel": ("03", "Hủy"),
}

PAGE = """<!doctype html><html lang="vi"><head><meta charset="utf-8">
<title>Nền tảng thanh toán (giả lập)</title>
<style>body{{font-family:sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}}
dt{{font-weight:bold}}button{{font-size:1rem;margin:.3rem .5rem .3rem 0;padding:.5rem 1rem}}</style>
</head><body>
<p><strong>Hệ thống giả lập</strong>: không có tiền thật nào được chuyển.</p>
<h1>Thanh toán phí, lệ phí</h1>
<dl>
<dt>Mã hồ sơ</dt><dd>{dossier}</dd>
<dt>Nội dung</dt><dd>{description}</dd>
<dt>Người nộp</dt><dd>{payer}</dd>
<dt>Số tiền</dt><dd>{amount} đồng</dd>
<dt>Mã giao dịch</dt><dd>{reference}</dd>
</dl>
{state}
</body></html>"""

FORM = """<form method="post">
<button name="choice" value="success">Thanh toán thành công</button>
<button name="choice" value="fail">Thất bại</button>
<button name="choice" value="cancel">Hủy</button>
</form>"""


@register
class PaymentSandbox(Sandbox):
    name = "payment"
    port_offset = 3

    def __init__(self, **options):
        super().__init__(**options)
        self.secret = options.get("secret", SECRET)
        self.orders: dict[str, dict[str, str]] = {}
        self.callbacks: list[tuple[int | None, dict]] = []  # (motcua's HTTP status, body)
        self._numbers = itertools.count(1)

    # --- the messages ---
    def _signed_result(self, order: dict[str, str], secret: str | None = None) -> dict:
        return wire.sign(
            wire.RESULT,
            {
                "partner_code": order["partnerCode"],
                "reference": order["orderId"],
                "transaction_id": order["transactionId"],
                "amount": order["amount"],
                "status": order["status"],
                "paid_at": order.get("payTime", ""),
            },
            self.secret if secret is None else secret,
        )

    def route(self, request: Request) -> Response | None:
        if request.path == "/init" and request.method == "POST":
            return self.init(request)
        if request.path == "/query" and request.method == "POST":
            return self.query(request)
        if request.path.startswith("/pay/"):
            reference = request.path.removeprefix("/pay/")
            with self.lock:
                order = self.orders.get(reference)
            if order is None:
                return Response.html("<p>Không tìm thấy giao dịch.</p>", status=404)
            if request.method == "POST":
                return self.pay(order, request.form().get("choice", ""))
            return self.page(order)
        return None

    def init(self, request: Request) -> Response:
        try:
            values = wire.check(wire.INIT, request.json(), self.secret)
        except (ValueError, wire.Forged) as exc:
            reason = getattr(exc, "reason", "unreadable")
            return Response.json({"code": "97", "message": f"Invalid request: {reason}"}, 400)
        if not values["amount"].isdigit() or int(values["amount"]) <= 0:
            return Response.json({"code": "04", "message": "Invalid amount"}, 400)
        reference = values["reference"]
        with self.lock:
            if reference in self.orders:
                return Response.json({"code": "05", "message": "Duplicate orderId"}, 409)
            order = {name: values[key] for key, name in wire.INIT}
            order["transactionId"] = f"SBX{next(self._numbers):08d}"
            order["status"] = "01"
            self.orders[reference] = order
        answer = wire.sign(
            wire.INIT_ANSWER,
            {
                "code": wire.OK,
                "reference": reference,
                "transaction_id": order["transactionId"],
                "redirect_url": f"{self.url}/pay/{urllib.parse.quote(reference)}",
            },
            self.secret,
        )
        return Response.json(answer)

    def page(self, order: dict[str, str]) -> Response:
        done = dict(CHOICES.values())
        state = (
            FORM
            if order["status"] == "01"
            else f"<p>Giao dịch đã kết thúc: {done.get(order['status'], '')}.</p>"
        )
        return Response.html(
            PAGE.format(
                dossier=html.escape(order["dossierCode"]),
                description=html.escape(order["orderInfo"]),
                payer=html.escape(order["payerName"]),
                amount=f"{int(order['amount']):,}".replace(",", "."),
                reference=html.escape(order["orderId"]),
                state=state,
            )
        )

    def pay(self, order: dict[str, str], choice: str) -> Response:
        if choice not in CHOICES:
            return Response.html("<p>Lựa chọn không hợp lệ.</p>", status=400)
        with self.lock:
            if order["status"] == "01":
                order["status"] = CHOICES[choice][0]
                order["payTime"] = wire.platform_time(timezone.now())
        if self.fault != "no-callback":
            secret = "not-the-secret" if self.fault == "bad-signature" else None
            times = 2 if self.fault == "duplicate-callback" else 1
            for _ in range(times):
                self.post_callback(order, secret)
        query = urllib.parse.urlencode(self._signed_result(order))
        separator = "&" if "?" in order["returnUrl"] else "?"
        return Response.redirect(f"{order['returnUrl']}{separator}{query}")

    def post_callback(self, order: dict[str, str], secret: str | None = None) -> int | None:
        """POST the signed result to motcua; motcua's HTTP status (None: unreachable)."""
        target = order["notifyUrl"]
        if self.options.get("motcua_url"):
            parsed = urllib.parse.urlsplit(target)
            target = self.options["motcua_url"].rstrip("/") + parsed.path
        body = self._signed_result(order, secret)
        try:
            status = requests.post(target, json=body, timeout=10).status_code
        except requests.RequestException:
            status = None
        with self.lock:
            self.callbacks.append((status, body))
        return status

    def query(self, request: Request) -> Response:
        try:
            values = wire.check(wire.QUERY, request.json(), self.secret)
        except (ValueError, wire.Forged):
            return Response.json({"code": "97", "message": "Invalid checksum"}, 400)
        with self.lock:
            order = self.orders.get(values["reference"])
            if order is None:
                return Response.json({"code": wire.NOT_FOUND, "message": "Order not found"})
            result = self._signed_result(order)
        answer = {"code": wire.OK, **{k: v for k, v in result.items() if k != wire.CHECKSUM}}
        answer[wire.CHECKSUM] = wire.integrity_code(
            [answer[name] for _key, name in wire.QUERY_ANSWER], self.secret
        )
        return Response.json(answer)
