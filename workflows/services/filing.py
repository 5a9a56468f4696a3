"""Saving what an applicant (or the desk for them) typed and uploaded, in one go.

Every acceptable part is kept, whatever else is wrong: the typed values go into the
draft, each acceptable file is stored; the problems come back by field, for the page to
show next to each one.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from ..exceptions import error_dict
from ..models import Dossier
from . import dossiers

APPLICANT_KEYS = ("name", "id_number", "address", "phone", "email")


def filing_from_post(spec: dict, post, files) -> tuple[dict, dict, dict]:
    """(applicant, form data, uploads by component code) from a filing form's POST."""
    applicant = {key: post.get(f"applicant_{key}", "") for key in APPLICANT_KEYS}
    form_data = {}
    for field in spec["fields"]:
        name = field["name"]
        if field["type"] == "multichoice":
            form_data[name] = post.getlist(name)
        elif field["type"] == "boolean":
            form_data[name] = "on" if post.get(name) else ""
        else:
            form_data[name] = post.get(name, "")
    uploads = {
        c["code"]: files[f"file_{c['code']}"]
        for c in spec["components"]
        if f"file_{c['code']}" in files
    }
    return applicant, form_data, uploads


def dossier_save_filing(
    *, dossier: Dossier, by, applicant: dict, form_data: dict, uploads: dict
) -> tuple[Dossier, dict[str, list[str]]]:
    """Keep what can be kept; return the dossier and the problems by field."""
    errors: dict[str, list[str]] = {}
    try:
        dossier = dossiers.dossier_save_draft(
            dossier=dossier, by=by, form_data=form_data, applicant=applicant
        )
    except ValidationError as exc:  # what could be kept is saved all the same
        errors.update(error_dict(exc))
        dossier = Dossier.objects.get(pk=dossier.pk)
    for code, upload in uploads.items():
        try:
            dossiers.dossier_attach_component(
                dossier=dossier, by=by, component_code=code, upload=upload
            )
        except ValidationError as exc:
            errors.update(error_dict(exc))
    return dossier, errors


def dossier_filing_problems(dossier: Dossier) -> dict[str, list[str]]:
    """What would stop the dossier being filed now, by field (empty when ready)."""
    try:
        dossiers.validate_for_filing(dossier)
    except ValidationError as exc:
        return error_dict(exc)
    return {}


def dossier_save_filing_post(*, dossier: Dossier, by, post, files):
    """``dossier_save_filing`` with what a filing form posted."""
    applicant, form_data, uploads = filing_from_post(dossier.procedure_version.spec, post, files)
    return dossier_save_filing(
        dossier=dossier, by=by, applicant=applicant, form_data=form_data, uploads=uploads
    )
