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
    """(applicant, form data, uploads by component code) from a filing form's POST.

    A component of several files (``count`` > 1) may bring several at once: its uploads
    are a list."""
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
    uploads = {}
    for c in spec["components"]:
        sent = files.getlist(f"file_{c['code']}") if hasattr(files, "getlist") else []
        if not sent and f"file_{c['code']}" in files:
            sent = [files[f"file_{c['code']}"]]
        if sent:
            uploads[c["code"]] = sent if c.get("count", 1) > 1 else sent[-1]
    return applicant, form_data, uploads


def removals_from_post(post) -> list[int]:
    """The current files the form asks to take off (their ids; anything else is dropped)."""
    ids = []
    for value in post.getlist("remove_file") if hasattr(post, "getlist") else []:
        if value.isascii() and value.isdigit() and len(value) <= 18:
            ids.append(int(value))
    return ids[:100]


def reuses_from_post(spec: dict, post) -> dict[str, list[str]]:
    """The earlier papers the form picks from the citizen's data store, by component code
    (fields ``reuse_<code>``: "c12", "r34"; an empty choice is none). Each value is only
    a name to look up, among the citizen's own papers, by the service; anything oversized
    is dropped here, a forged one refused there."""
    reuses = {}
    for c in spec["components"]:
        values = post.getlist(f"reuse_{c['code']}") if hasattr(post, "getlist") else []
        picked = [v for v in values if v and len(v) <= 20][: c.get("count", 1)]
        if picked:
            reuses[c["code"]] = picked
    return reuses


def dossier_save_filing(
    *,
    dossier: Dossier,
    by,
    applicant: dict,
    form_data: dict,
    uploads: dict,
    remove: list[int] | tuple = (),
    reuses: dict | None = None,
) -> tuple[Dossier, dict[str, list[str]]]:
    """Keep what can be kept; return the dossier and the problems by field.

    Files to take off (``remove``) go first, so that a new file can take a freed place;
    then the earlier papers picked for reuse, then the uploads (for a component of one
    file, a new upload is the last word)."""
    errors: dict[str, list[str]] = {}
    try:
        dossier = dossiers.dossier_save_draft(
            dossier=dossier, by=by, form_data=form_data, applicant=applicant
        )
    except ValidationError as exc:  # what could be kept is saved all the same
        errors.update(error_dict(exc))
        dossier = Dossier.objects.get(pk=dossier.pk)
    for component_id in remove:
        try:
            dossier = dossiers.dossier_remove_component(
                dossier=dossier, by=by, component_id=component_id
            )
        except ValidationError as exc:
            errors.update(error_dict(exc))
    for code, refs in (reuses or {}).items():
        for ref in refs:
            try:
                dossiers.dossier_reuse_paper(
                    dossier=dossier, by=by, component_code=code, source=ref
                )
            except ValidationError as exc:
                for field, messages in error_dict(exc).items():
                    errors.setdefault(field, []).extend(messages)
    if uploads:
        _attached, problems = dossiers.dossier_attach_components(
            dossier=dossier,
            by=by,
            uploads={
                code: list(sent) if isinstance(sent, list | tuple) else [sent]
                for code, sent in uploads.items()
            },
        )
        for field, messages in problems.items():
            errors.setdefault(field, []).extend(messages)
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
    spec = dossier.procedure_version.spec
    applicant, form_data, uploads = filing_from_post(spec, post, files)
    return dossier_save_filing(
        dossier=dossier,
        by=by,
        applicant=applicant,
        form_data=form_data,
        uploads=uploads,
        remove=removals_from_post(post),
        reuses=reuses_from_post(spec, post),
    )
