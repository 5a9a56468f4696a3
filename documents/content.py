"""What each paper says, gathered from data motcua already holds (domain.md, standard forms).

Each builder returns plain JSON data. It is frozen on the ``Document`` row when the paper
is requested, so rendering later, or again, prints what was true when it was issued. The
papers are official Vietnamese documents: their wording is Vietnamese whatever the
reader's language.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from procedures.roles import Role
from procedures.titles import default_title
from workflows.clock import local_date
from workflows.models import Channel, Dossier, DossierTask, HistoryEntry, Timeliness
from workflows.selectors import dossier_form_rows

from .models import Kind

TIMELINESS_NAMES = {
    Timeliness.EARLY: "Trước hạn",
    Timeliness.ON_TIME: "Đúng hạn",
    Timeliness.LATE: "Quá hạn",
}
CHANNEL_COLLECT = {
    Channel.ONLINE: "Nhận kết quả trực tuyến trên Cổng dịch vụ công hoặc tại Bộ phận Một cửa",
    Channel.DESK: "Tại Bộ phận Một cửa",
    Channel.POST: "Qua dịch vụ bưu chính công ích",
}


def _vi(text: dict | None) -> str:
    return (text or {}).get("vi", "")


def _person(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def _datetime(value: dt.datetime | None) -> str:
    return timezone.localtime(value).isoformat() if value else ""


def _date(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


def _entry(dossier: Dossier, payload: dict, *actions: str) -> HistoryEntry | None:
    """The history entry of the event that asked for the paper (its ``seq``), so a paper
    rendered late still says what happened then; the latest such entry otherwise."""
    entries = dossier.history.filter(action__in=actions).select_related("actor")
    if payload.get("seq") is not None:
        found = entries.filter(seq=payload["seq"]).first()
        if found is not None:
            return found
    return entries.order_by("-seq").first()


def _common(dossier: Dossier) -> dict:
    agency = dossier.handling_agency
    version = dossier.procedure_version
    return {
        "agency": {
            "code": agency.code,
            "name": agency.name,
            "parent": agency.parent.name if agency.parent_id else "",
            "province": agency.province or "Hà Nội",
        },
        "dossier": {
            "code": dossier.code or "",
            # A paper before reception (a supplement request, a refusal at the desk) names
            # the dossier by its number: the code is given at reception.
            "reference": dossier.reference,
            "applicant_name": dossier.applicant_name,
            "applicant_id_number": dossier.applicant_id_number,
            "applicant_address": dossier.applicant_address,
            "applicant_phone": dossier.applicant_phone,
            "applicant_email": dossier.applicant_email,
            "channel": dossier.channel,
            "received_at": _datetime(dossier.received_at),
            "due_date": _date(dossier.due_date),
        },
        "procedure": {
            "code": version.procedure.code,
            "name": _vi(version.spec["name"]),
            "time_limit_days": version.time_limit_days,
        },
        "issued_at": _datetime(timezone.now()),
    }


def _components(dossier: Dossier) -> list[dict]:
    spec = {c["code"]: c for c in dossier.procedure_version.spec["components"]}
    counts: dict[str, int] = {}
    for component in dossier.components.filter(superseded_at__isnull=True):
        counts[component.component_code] = counts.get(component.component_code, 0) + 1
    return [
        {
            "name": _vi(spec[code]["name"]),
            "form": "Bản chính" if spec[code].get("form") == "original" else "Bản sao",
            "count": count,
        }
        for code, count in counts.items()
        if code in spec
    ]


def receipt(dossier: Dossier, payload: dict) -> dict:
    received = _entry(dossier, payload, "receive")
    return {
        **_common(dossier),
        "components": _components(dossier),
        "sets": 1,
        "received_by": _person(received.actor) if received else "",
        "appointment_time": settings.MOTCUA["APPOINTMENT_TIME"],
        "collect_at": CHANNEL_COLLECT.get(dossier.channel, ""),
        "register_entry": dossier.code or "",
        "round": dossier.supplement_round,
    }


def supplement_request(dossier: Dossier, payload: dict) -> dict:
    entry = _entry(dossier, payload, "request_supplement")
    spec = dossier.procedure_version.spec
    names = {c["code"]: _vi(c["name"]) for c in spec["components"]}
    names.update({f["name"]: _vi(f["label"]) for f in spec["fields"]})
    items = (entry.data or {}).get("items", []) if entry else payload.get("items", [])
    return {
        **_common(dossier),
        "items": [{"name": names.get(i["code"], i["code"]), "reason": i["reason"]} for i in items],
        "reason": entry.comment if entry else "",
        "officer": _person(entry.actor) if entry else "",
        "officer_email": entry.actor.email if entry and entry.actor else "",
        "round": dossier.supplement_round,
    }


def refusal(dossier: Dossier, payload: dict) -> dict:
    entry = _entry(dossier, payload, "reject_at_reception", "refuse")
    return {
        **_common(dossier),
        "at_reception": entry is not None and entry.action == "reject_at_reception",
        "reasons": entry.comment if entry else "",
        "signed_by": _person(entry.actor) if entry else "",
    }


def apology(dossier: Dossier, payload: dict) -> dict:
    entry = _entry(dossier, payload, "reschedule")
    data = entry.data if entry else {}
    return {
        **_common(dossier),
        "original_date": data.get("old_due_date", ""),
        "new_date": data.get("new_due_date", ""),
        "reason": entry.comment if entry else "",
        "signed_by": _person(entry.actor) if entry else "",
    }


def control_sheet(dossier: Dossier, payload: dict) -> dict:
    # Officers' stages only: viewflow also keeps a task row for each gateway and end.
    tasks = list(
        DossierTask.objects.filter(dossier=dossier)
        .exclude(stage="")
        .exclude(status="CANCELED")
        .select_related("owner", "agency")
        .order_by("created", "pk")
    )
    rows = []
    version = dossier.procedure_version
    for index, task in enumerate(tasks):
        following = tasks[index + 1] if index + 1 < len(tasks) else None
        rows.append(
            {
                "from": version.stage_name(task.stage, "vi"),
                "to": version.stage_name(following.stage, "vi") if following else "Trả kết quả",
                "unit": task.agency.name,
                "at": _datetime(task.finished),
                "due_date": _date(task.due_date),
                "giver": _person(task.owner),
                "receiver": _person(following.owner) if following else dossier.applicant_name,
                "result": TIMELINESS_NAMES.get(task.timeliness, ""),
                "notes": "" if task.finished else "Chưa hoàn thành",
            }
        )
    consulted = sorted({t.agency.name for t in tasks if t.stage == "consult"})
    return {
        **_common(dossier),
        "coordinating": consulted,
        "rows": rows,
        "closed_at": _datetime(dossier.closed_at),
        "timeliness": TIMELINESS_NAMES.get(dossier.timeliness, ""),
    }


def result(dossier: Dossier, payload: dict) -> dict:
    version = dossier.procedure_version
    return {
        **_common(dossier),
        "title": _vi(version.spec["result"]["title"]),
        "legal_basis": [_vi(b) for b in version.spec.get("legal_basis", [])],
        "form_rows": [{"label": row.label, "value": row.value} for row in _vi_rows(dossier)],
        # Who signs is known when they sign (services._name_the_signer); until then the
        # draft prints the title of the agency's signer and no name.
        "signer_title": default_title(Role.SIGNER, dossier.handling_agency),
        "signer_name": "",
    }


def _vi_rows(dossier: Dossier):
    from django.utils import translation

    with translation.override("vi"):
        return dossier_form_rows(dossier)


BUILDERS = {
    Kind.RECEIPT: receipt,
    Kind.SUPPLEMENT_REQUEST: supplement_request,
    Kind.REFUSAL: refusal,
    Kind.APOLOGY: apology,
    Kind.CONTROL_SHEET: control_sheet,
    Kind.RESULT: result,
}

TEMPLATES = {
    Kind.RECEIPT: "documents/pdf/receipt.html",
    Kind.SUPPLEMENT_REQUEST: "documents/pdf/supplement_request.html",
    Kind.REFUSAL: "documents/pdf/refusal.html",
    Kind.APOLOGY: "documents/pdf/apology.html",
    Kind.CONTROL_SHEET: "documents/pdf/control_sheet.html",
}


def template_for(dossier: Dossier, kind: str) -> str:
    if kind == Kind.RESULT:
        name = dossier.procedure_version.spec["result"]["template"]
        return f"{settings.MOTCUA['RESULT_TEMPLATE_DIR']}/{name}.html"
    return TEMPLATES[kind]


def local_day(value: str) -> dt.date | None:
    return local_date(dt.datetime.fromisoformat(value)) if value else None
