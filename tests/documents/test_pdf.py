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
