"""Render and sign time per document (issue #5; target: render + sign p50 ≤ 300 ms).

For N documents, the code motcua runs in production:

- render: a result decision (A4) and a receipt (A5) from their templates with WeasyPrint,
  QR code included (``documents.pdf.render_template``);
- sign: the official's PAdES signature from a PKCS#12 file opened with its password, its
  certificate checked against the trust roots (the throw-away CA here), then the agency's
  seal, each with its visible stamp (``documents.signing.sign_pdf``, as
  ``documents.services.result_sign`` calls it);
- render + sign: the two together, what one issued result costs.

The keys come from a throw-away development CA (RSA 2048, as make_dev_pki). No database
rows are written: the figures are the CPU cost of the papers themselves.

    python bench/documents.py [--documents 50]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Row, environment, median, percentile  # noqa: E402

PASSWORD = "bench-signer"  # noqa: S105 - a throw-away key made for the benchmark


def _context(index: int) -> dict:
    from django.utils import timezone

    now = timezone.now().isoformat()
    return {
        "agency": {
            "code": "H22",
            "name": "Ban Dân tộc tỉnh Lào Cai",
            "parent": "Ủy ban nhân dân tỉnh Lào Cai",
            "province": "Lào Cai",
        },
        "dossier": {
            "code": f"H22-261121-{index:04d}",
            "applicant_name": "Giàng Thị Mỷ",
            "applicant_id_number": "010203004005",
            "applicant_address": "Thôn Nậm Cang, xã Sa Pa, tỉnh Lào Cai",
            "applicant_phone": "0912 345 678",
            "applicant_email": "my.giang@example.vn",
            "channel": "online",
            "received_at": now,
            "due_date": "2026-12-04",
        },
        "procedure": {
            "code": "1.012841",
            "name": "Xác nhận người dân tộc thiểu số có uy tín",
            "time_limit_days": 10,
        },
        "issued_at": now,
        "title": "Quyết định công nhận người có uy tín trong đồng bào dân tộc thiểu số",
        "legal_basis": [
            "Luật Tổ chức chính quyền địa phương số 72/2025/QH15",
            "Quyết định số 12/2018/QĐ-TTg của Thủ tướng Chính phủ",
        ],
        "form_rows": [
            {"label": "Dân tộc", "value": "H'Mông"},
            {"label": "Nơi cư trú", "value": "Thôn Nậm Cang, xã Sa Pa"},
            {"label": "Lý do đề nghị", "value": "Có nhiều đóng góp cho cộng đồng " * 4},
        ],
        "signer_title": "Trưởng ban",
        "components": [
            {"name": "Đơn đề nghị công nhận", "form": "Bản chính", "count": 1},
            {"name": "Biên bản họp thôn", "form": "Bản chính", "count": 1},
        ],
        "sets": 1,
        "received_by": "Lò Thị Mến",
        "appointment_time": "16:00",
        "collect_at": "Tại Bộ phận Một cửa",
        "register_entry": f"H22-261121-{index:04d}",
        "round": 0,
        "kind": "result",
        "kind_name": "Kết quả giải quyết",
        "verification_code": "ABCDE-FGH23",
        "verify_url": "https://dichvucong.example.vn/verify/ABCDEFGH23/",
    }


def run(opts) -> list[Row]:
    from django.conf import settings
    from django.utils import timezone

    from documents import pki
    from documents.pdf import Box, qr_data_uri, render_template
    from documents.services import _official_stamp, _seal_stamp
    from documents.signing import backend, check_trusted, describe, open_pkcs12, sign_pdf

    count = getattr(opts, "documents", None) or (10 if getattr(opts, "quick", False) else 50)
    ca = pki.make_ca()
    official_p12 = pki.signer_pkcs12(
        ca, name="Lù Văn Páo", organisation="Ban Dân tộc tỉnh Lào Cai", password=PASSWORD.encode()
    )
    seal_p12 = pki.signer_pkcs12(
        ca,
        name="Ban Dân tộc tỉnh Lào Cai",
        organisation="Ban Dân tộc tỉnh Lào Cai",
        password=PASSWORD.encode(),
    )
    seal_signer = open_pkcs12(seal_p12, PASSWORD)
    # The throw-away CA is the trust root, so each signature is checked against it as
    # result_sign checks an official's certificate before signing.
    roots = tempfile.NamedTemporaryFile("wb", suffix=".pem", delete=False)  # noqa: SIM115
    roots.write(ca.pem())
    roots.close()
    settings.MOTCUA["DOCUMENTS"]["TRUST_ROOTS"] = [roots.name]
    template = f"{settings.MOTCUA['RESULT_TEMPLATE_DIR']}/decision.html"
    render_ms, receipt_ms, sign_ms, total_ms, sizes = [], [], [], [], []
    # One warm-up: imports, font discovery and WeasyPrint's caches are a worker's
    # start-up cost, not a document's.
    for index in range(count + 1):
        started = time.perf_counter()
        # As document_render: the QR code, then the page.
        context = {**_context(index), "qr": qr_data_uri(f"https://x.example/verify/{index}/")}
        rendered = render_template(template, context)
        rendered_at = time.perf_counter()
        # As result_sign opens the official's uploaded file, with the password typed now,
        # and checks the certificate before it signs.
        official = backend("pkcs12").signer(pkcs12=official_p12, password=PASSWORD)
        describe(official.signing_cert)
        check_trusted(official.signing_cert, list(official.cert_registry))
        seal = seal_signer  # a seal stays open in its worker (documents.signing._open_seal)
        now = timezone.now()
        pdf = sign_pdf(
            rendered.pdf,
            signer=official,
            field_name="Official1",
            box=rendered.boxes.get("sig-official") or Box(0, 300, 100, 470, 170),
            stamp_pdf=_official_stamp("Lù Văn Páo", "Trưởng ban", now),
            reason="Ký duyệt kết quả",
            location="Lào Cai",
        )
        pdf = sign_pdf(
            pdf,
            signer=seal,
            field_name="Seal",
            box=rendered.boxes.get("sig-seal") or Box(0, 250, 100, 330, 180),
            stamp_pdf=_seal_stamp("Ban Dân tộc tỉnh Lào Cai"),
            reason="Đóng dấu",
            location="Lào Cai",
        )
        finished = time.perf_counter()
        receipt_started = time.perf_counter()
        render_template("documents/pdf/receipt.html", context)
        receipt_done = time.perf_counter()
        if index == 0:
            continue
        render_ms.append((rendered_at - started) * 1000)
        sign_ms.append((finished - rendered_at) * 1000)
        total_ms.append((finished - started) * 1000)
        receipt_ms.append((receipt_done - receipt_started) * 1000)
        sizes.append(len(pdf))

    Path(roots.name).unlink()

    def fmt(values):
        return f"p50 {median(values):.0f} ms, p95 {percentile(values, 0.95):.0f} ms"

    p50_total = median(total_ms)
    return [
        Row(f"render: result decision, A4 ({count} documents)", fmt(render_ms), part="documents"),
        Row("render: receipt, A5", fmt(receipt_ms), part="documents"),
        Row("sign: official + seal, PAdES, visible stamps", fmt(sign_ms), part="documents"),
        Row(
            "render + sign, per result document",
            fmt(total_ms),
            "p50 ≤ 300 ms",
            p50_total <= 300,
            part="documents",
        ),
        Row("signed result size", f"median {median(sizes) / 1024:.0f} KiB", part="documents"),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=50)
    opts = parser.parse_args(argv)
    environment()
    import django

    django.setup()
    for row in run(opts):
        print(f"{row.measure}: {row.value}" + (f"  (target {row.target})" if row.target else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
