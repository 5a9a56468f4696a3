"""The papers' QR code: segno's code, drawn as an 8-bit grey PNG."""

from __future__ import annotations

import base64
import io

import segno
from PIL import Image

from documents.pdf import qr_data_uri


def _image(uri: str) -> Image.Image:
    assert uri.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


def test_the_qr_code_is_segnos_pixel_for_pixel_in_grey():
    url = "https://dichvucong.example.vn/verify/ABCDEFGH23/"
    ours = _image(qr_data_uri(url))
    segnos = _image(segno.make(url, error="m").png_data_uri(scale=10, border=0))
    assert ours.mode == "L"
    assert ours.size == segnos.size
    assert ours.tobytes() == segnos.convert("L").tobytes()


def _appearance(pdf: bytes, field: str):
    """The form XObject a signature widget's normal appearance draws."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf))
    for ref in reader.root["/AcroForm"]["/Fields"]:
        widget = ref.get_object()
        if widget["/T"] == field:
            normal = widget["/AP"]["/N"].get_object()
            (xobject,) = normal["/Resources"]["/XObject"].values()
            return widget["/Rect"], xobject.get_object()
    raise AssertionError(field)


def test_the_visible_stamps_are_imported_into_each_paper():
    """Two papers sealed with the same stamp (read once per thread) each carry their own
    copy of it, drawn in the signature's box."""
    from django.template.loader import render_to_string

    from documents import pki
    from documents.pdf import render_html
    from documents.signing import open_pkcs12, sign_pdf

    ca = pki.make_ca()
    seal = open_pkcs12(pki.signer_pkcs12(ca, name="Ban", organisation="Ban", password=b"p"), "p")
    stamp = render_html(render_to_string("documents/pdf/stamp_seal.html", {"agency": "Ban"})).pdf
    page = '<div id="sig-seal" style="width: 30mm; height: 30mm"></div>'
    for text in ("Một", "Hai"):
        rendered = render_html(f"<p>{text}</p>{page}")
        box = rendered.boxes["sig-seal"]
        pdf = sign_pdf(
            rendered.pdf,
            signer=seal,
            field_name="Seal",
            box=box,
            stamp_pdf=stamp,
            reason="Đóng dấu",
            location="Lào Cai",
        )
        rect, xobject = _appearance(pdf, "Seal")
        assert [round(v) for v in rect] == list(box.rect)
        assert xobject["/Subtype"] == "/Form"
        assert [round(v) for v in xobject["/BBox"]] == [0, 0, 85, 85]  # 30 mm
        assert "/Font" in xobject["/Resources"] and xobject.data
