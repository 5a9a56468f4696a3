"""HTML to PDF with WeasyPrint, and where on the page the signatures go.

Templates mark the places for the visible signatures with empty boxes whose ids are
``sig-official`` and ``sig-seal``; WeasyPrint reports each anchor's rectangle, which we
turn into PDF coordinates for pyHanko's signature fields.

What does not change from one paper to the next is prepared once per worker thread: the
font configuration (fontconfig and Pango's font map, the fonts' files and tables) and
the parsed ``<style>`` elements, applied as stylesheets (``_Prepared``). A template's
style should then be the same text for every paper; what differs per paper (the footer's
code) goes in a small ``<style>`` of its own.
"""

from __future__ import annotations

import base64
import io
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import segno
from django.template.loader import render_to_string
from django.utils import translation
from PIL import Image
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

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
    printed, and cheaper for WeasyPrint to draw than the same code as SVG paths.

    The pixels are segno's; the PNG is 8-bit grey (Pillow) rather than segno's 1-bit,
    which WeasyPrint would convert to RGB and encode again, three times the pixels."""
    matrix = segno.make(text, error="m").matrix
    size = len(matrix)
    pixels = b"".join(bytes(0 if dark else 255 for dark in row) for row in matrix)
    image = Image.frombytes("L", (size, size), pixels)
    image = image.resize((size * 10, size * 10), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


class _Prepared(threading.local):
    """Per thread (Pango's font map is not to be shared between threads): a font
    configuration, which WeasyPrint would otherwise make and fill again for each document
    (about a fifth of an A4 page's rendering), and the stylesheets parsed from ``<style>``
    elements (tinycss2 and cssselect2's selector compilation, each time)."""

    SHEETS = 32

    def __init__(self):
        self.fonts = FontConfiguration()
        self.sheets: OrderedDict[str, CSS] = OrderedDict()

    def sheet(self, text: str) -> CSS:
        css = self.sheets.get(text)
        if css is None:
            css = self.sheets[text] = CSS(string=text, font_config=self.fonts)
            if len(self.sheets) > self.SHEETS:
                self.sheets.popitem(last=False)
        else:
            self.sheets.move_to_end(text)
        return css


_prepared = _Prepared()


def render_html(html: str, *, base_url: str | None = None, **write_options) -> Rendered:
    """``write_options`` go to WeasyPrint's write_pdf (the archive asks for
    ``pdf_variant="pdf/a-3b"`` and ``attachments``)."""
    # The <style> elements become stylesheets of the "user" origin rather than the author's.
    # Both override the user agent's; the papers use no !important, where they differ. One
    # more difference: as the author's, an #id rule tied with a style attribute (WeasyPrint
    # gives both the same specificity) and won by coming later; now the attribute wins, as
    # CSS says. No paper has such a conflict (results/_signature.html had, now removed).
    sheets = [_prepared.sheet(text) for text in STYLE.findall(html)]
    document = HTML(string=STYLE.sub("", html), base_url=base_url).render(
        font_config=_prepared.fonts, stylesheets=sheets
    )
    boxes = {}
    for index, page in enumerate(document.pages):
        height_pt = page.height * PX_TO_PT
        for name, rect in page.anchors.items():
            if name in SIGNATURE_ANCHORS and name not in boxes and len(rect) == 4:
                x1, y1, x2, y2 = (v * PX_TO_PT for v in rect)
                # PDF's origin is the bottom-left corner; CSS's is the top-left.
                boxes[name] = Box(index, x1, height_pt - y2, x2, height_pt - y1)
    buffer = io.BytesIO()
    document.write_pdf(buffer, **write_options)
    return Rendered(buffer.getvalue(), boxes)


def render_template(template: str, context: dict, **write_options) -> Rendered:
    # Official papers are in Vietnamese whatever language the request or worker runs in.
    with translation.override("vi"):
        html = render_to_string(template, context)
    return render_html(html, **write_options)
