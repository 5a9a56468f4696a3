"""HTML to PDF with WeasyPrint, and where on the page the signatures go.

Templates mark the places for the visible signatures with empty boxes whose ids are
``sig-official`` and ``sig-seal``; WeasyPrint reports each anchor's rectangle, which we
turn into PDF coordinates for pyHanko's signature fields.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import segno
from django.template.loader import render_to_string
from django.utils import translation
from weasyprint import HTML

# WeasyPrint lays out in CSS pixels (1/96 in); PDF user space is in points (1/72 in).
PX_TO_PT = 72 / 96
SIGNATURE_ANCHORS = ("sig-official", "sig-seal")


@dataclass(frozen=True)
class Box:
    page: int
    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def rect(self) -> tuple[int, int, int, int]:
        return (round(self.x1), round(self.y1), round(self.x2), round(self.y2))


@dataclass
class Rendered:
    pdf: bytes
    boxes: dict[str, Box] = field(default_factory=dict)


def qr_data_uri(text: str) -> str:
    """A QR code as a PNG data URI, 10 pixels a module: about 370 dpi at the 17 mm it is
    printed, and cheaper for WeasyPrint to draw than the same code as SVG paths."""
    return segno.make(text, error="m").png_data_uri(scale=10, border=0)


def render_html(html: str, *, base_url: str | None = None) -> Rendered:
    document = HTML(string=html, base_url=base_url).render()
    boxes = {}
    for index, page in enumerate(document.pages):
        height_pt = page.height * PX_TO_PT
        for name, rect in page.anchors.items():
            if name in SIGNATURE_ANCHORS and name not in boxes and len(rect) == 4:
                x1, y1, x2, y2 = (v * PX_TO_PT for v in rect)
                # PDF's origin is the bottom-left corner; CSS's is the top-left.
                boxes[name] = Box(index, x1, height_pt - y2, x2, height_pt - y1)
    buffer = io.BytesIO()
    document.write_pdf(buffer)
    return Rendered(buffer.getvalue(), boxes)


def render_template(template: str, context: dict) -> Rendered:
    # Official papers are in Vietnamese whatever language the request or worker runs in.
    with translation.override("vi"):
        html = render_to_string(template, context)
    return render_html(html)
