"""What a component's accepted content types are called on a page: "PDF, ảnh JPEG", not
"application/pdf, image/jpeg". The one mapping, used wherever accepted types are shown
(catalog page, filing form, the officer's file list)."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _

NAMES = {
    "application/pdf": _("PDF"),
    "image/jpeg": _("JPEG image"),
    "image/png": _("PNG image"),
    "image/tiff": _("TIFF image"),
    "image/webp": _("WebP image"),
    "image/heic": _("HEIC image"),
    "application/msword": _("Word document"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _("Word document"),
    "application/vnd.oasis.opendocument.text": _("OpenDocument text"),
    "application/vnd.ms-excel": _("Excel spreadsheet"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _("Excel spreadsheet"),
    "application/xml": _("XML file"),
    "text/xml": _("XML file"),
    "application/zip": _("ZIP archive"),
}


def file_type_name(content_type: str) -> str:
    """The type's name in the active language; an unknown type by its subtype ("FOO")."""
    name = NAMES.get((content_type or "").split(";")[0].strip().lower())
    if name is not None:
        return str(name)
    subtype = (content_type or "").rpartition("/")[2]
    return subtype.upper() or "—"


def file_type_names(content_types: Iterable[str]) -> str:
    """ "PDF, ảnh JPEG, ảnh PNG": each name once, in the order given."""
    names = []
    for content_type in content_types or ():
        name = file_type_name(content_type)
        if name not in names:
            names.append(name)
    return ", ".join(names)
