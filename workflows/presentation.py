"""How filing pages show a dossier being filled in: the applicant's fields and the error
summary. Shared by the citizen portal and the desk."""

from __future__ import annotations

import logging

from django.utils.text import slugify
from django.utils.translation import gettext_lazy

from procedures.forms import localized

from .services.filing import APPLICANT_KEYS

log = logging.getLogger(__name__)

APPLICANT_LABELS = {
    "name": gettext_lazy("Full name"),
    "id_number": gettext_lazy("Personal ID number"),
    "address": gettext_lazy("Address"),
    "phone": gettext_lazy("Phone"),
    "email": gettext_lazy("E-mail"),
}


def error_summary(version, errors: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    """(anchor, what, message) for each problem, in the order of the page."""
    labels = {f"applicant.{k}": str(v) for k, v in APPLICANT_LABELS.items()}
    labels.update({f["name"]: localized(f["label"]) for f in version.spec["fields"]})
    labels.update({c["code"]: localized(c["name"]) for c in version.spec["components"]})
    order = list(labels)
    summary = []
    for key in sorted(errors, key=lambda k: order.index(k) if k in order else len(order)):
        for message in errors[key]:
            summary.append((f"f-{slugify(key)}", labels.get(key, ""), message))
    return summary


def applicant_values(post, dossier=None, fallback=None) -> dict:
    """What the applicant fields show: what was just posted, else what the draft holds,
    else ``fallback`` (the citizen's profile)."""
    if post:
        return {key: post.get(f"applicant_{key}", "") for key in APPLICANT_KEYS}
    if dossier is not None:
        return {key: getattr(dossier, f"applicant_{key}") for key in APPLICANT_KEYS}
    return dict(fallback or {})


INLINE_TYPES = ("application/pdf", "image/png", "image/jpeg")


def private_file_response(file, *, content_type: str, filename: str, inline: bool = False):
    """Stream a private file to someone already found allowed: never cached by shared
    caches, never run as a page; a file missing from storage is a 404, a store that does
    not answer a 503 (the file is not lost: try again later)."""
    from django.http import FileResponse, Http404, HttpResponse
    from django.template.loader import render_to_string

    try:
        handle = file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    except OSError as exc:  # StorageUnavailable
        log.warning("reading %s failed: %s", file.name, exc)
        response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = "60"
        response["Cache-Control"] = "private, no-store"
        return response
    response = FileResponse(
        handle, content_type=content_type, as_attachment=not inline, filename=filename
    )
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


def erased_response(request, *, erased_at, back: str = ""):
    """What a download of a file erased under retention shows: when, and why (410 Gone)."""
    from django.shortcuts import render

    response = render(
        request, "410_erased.html", {"erased_at": erased_at, "back": back}, status=410
    )
    response["Cache-Control"] = "private, no-store"
    return response


def component_response(component, *, preview: bool = False):
    """A dossier file: inline to preview (PDF and images only), else as a download."""
    return private_file_response(
        component.file,
        content_type=component.content_type,
        filename=component.original_name,
        inline=preview and component.content_type in INLINE_TYPES,
    )


def money(amount, language: str | None = None, *, ascii_only: bool = False) -> str:
    """An amount in dong as people write it: "50.000 đồng" (vi), "50,000 VND" (en)."""
    from decimal import Decimal, InvalidOperation

    from django.utils import translation

    try:
        value = int(Decimal(str(amount)))
    except (InvalidOperation, ValueError, TypeError):
        return ""
    language = (language or translation.get_language() or "vi").split("-")[0]
    if language == "en":
        return f"{value:,} VND"
    return f"{value:,}".replace(",", ".") + (" dong" if ascii_only else " đồng")


def fee_view(fee) -> dict | None:
    """What the citizen's and the officer's pages show of a dossier's fee (None: no fee)."""
    if fee is None:
        return None
    from django.utils import timezone

    exemption = fee.exemption or {}
    paid_at = timezone.localtime(fee.paid_at).strftime("%d/%m/%Y %H:%M") if fee.paid_at else ""
    return {
        "fee": fee,
        "amount": money(fee.amount_due),
        "status": fee.get_status_display(),
        "due": fee.status == "due",
        "paid": fee.status == "paid",
        "exempted": fee.status == "exempted",
        "requested": fee.requested_at is not None,
        "exemption_name": localized(exemption["name"]) if exemption.get("name") else "",
        "exemption_basis": localized(exemption["legal_basis"])
        if exemption.get("legal_basis")
        else "",
        "channel": fee.get_channel_display() if fee.channel else "",
        "paid_at": paid_at,
        "amount_paid": money(fee.amount_paid) if fee.amount_paid is not None else "",
        "reference": fee.reference,
    }
