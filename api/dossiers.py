"""Dossiers over the API: submit on behalf of an applicant, status (with the national
portal's code), timeline, supplement answer, withdrawal and the signed result.

A client sees the filed dossiers of its agencies (its own and those below it); another
agency's dossier is a 404, as if it did not exist. Drafts are nobody's business here: a
submit files at once, or stores nothing. Only the client that filed a dossier sees its
applicant's personal data, answers its supplement requests, withdraws it and downloads
its result (the result names the applicant).

Every change goes through the workflows services (``work.application_submit`` and its
siblings: the same entry the portal uses, which files the dossier and starts its flow);
nothing here sets a status or writes history.

Submitting. The body (JSON, or multipart with ``applicant`` and ``form_data`` as JSON
string parts and each file as a part ``file_<component code>``) is checked in full before
anything is kept: a submit that fails stores nothing (the client keeps its data and sends
it again) and answers 400 with every problem at once, each under its path
(``form_data.<field>``, ``applicant.<key>``, ``file_<component>``), with the web form's own
messages. Files stored on the way by a failed submit are removed again.

``Idempotency-Key``: the first successful answer is kept for the client and key (for
``MOTCUA_API_IDEMPOTENCY_DAYS``; after that the key is forgotten, and a request under it
is new: api.services.api_records_prune); a retry gets it again (``Idempotent-Replayed: true``),
the same key with another request 422. Two requests with the same key at the same
moment file one dossier: the key's row is inserted first, in the submit's transaction,
and the second insert waits on the unique index until the first commits, then replays
its answer. A failed submit keeps no key (nothing was done): it may be sent again,
corrected, under the same key.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import logging
import re

import django_filters as filters
from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.validators import RegexValidator
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Exists, OuterRef, Prefetch, Subquery
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, renderers, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from viewflow.workflow.exceptions import FlowLockFailed

from access.models import AccessKind
from access.services import access_record
from connectors.national_portal.sync import dossier_mark_forwarded
from documents.models import DocumentStatus, Kind
from documents.services import current_result
from procedures.forms import localized
from procedures.models import Agency
from procedures.selectors import procedure_in_force, upload_limits
from workflows.clock import local_date, one_calendar
from workflows.compiled import CompiledQuery
from workflows.exceptions import error_dict
from workflows.flows import flow_for
from workflows.models import (
    Channel,
    Dossier,
    DossierComponent,
    HistoryEntry,
    PaperKind,
    Status,
    Timeliness,
)
from workflows.national_status import BY_EVENT, CODES, national_status, statuses_for
from workflows.presentation import private_file_response
from workflows.services import work
from workflows.services.dossiers import dossier_attach_components, dossier_create, holding
from workflows.services.filing import APPLICANT_KEYS, dossier_filing_problems, dossier_save_filing

from .errors import problem
from .middleware import note_dossier
from .models import ApiClient, IdempotentRequest, Scope
from .schema import RETRY_AFTER, ApiAutoSchema, problems
from .services import filing_key_of

log = logging.getLogger(__name__)

# What a client sees: filed dossiers. A draft (only ever a citizen's or the desk's: an API
# submit files at once) and an abandoned draft are not.
HIDDEN = (Status.DRAFT, Status.DISCARDED)
FILED_STATUSES = [(s.value, s.label) for s in Status if s not in HIDDEN]

IDEMPOTENCY_KEY = re.compile(r"[!-~]{1,255}")

# The history the applicant's side sees (no internal hand-overs), each in plain words:
# the same words as the timeline on the citizen's and the officers' pages.
TIMELINE_ACTIONS = {
    "submit": pgettext_lazy("timeline", "filed"),
    "resubmit": pgettext_lazy("timeline", "supplement filed"),
    "receive": pgettext_lazy("timeline", "received"),
    "request_supplement": pgettext_lazy("timeline", "supplement requested"),
    "reject_at_reception": pgettext_lazy("timeline", "refused at reception"),
    "start_review": pgettext_lazy("timeline", "review started"),
    "approve": pgettext_lazy("timeline", "approved"),
    "refuse": pgettext_lazy("timeline", "refused"),
    "sign": pgettext_lazy("timeline", "signed"),
    "issue": pgettext_lazy("timeline", "result issued"),
    "withdraw": pgettext_lazy("timeline", "withdrawn"),
    "reschedule": pgettext_lazy("timeline", "rescheduled"),
    "request_fee": pgettext_lazy("timeline", "fee requested"),
    "fee_paid": pgettext_lazy("timeline", "fee paid"),
    "resume_after_fee": pgettext_lazy("timeline", "processing resumed after payment"),
}
# Actions whose comment is the written reason given to the applicant (or the applicant's
# own, for a withdrawal).
REASONED = ("request_supplement", "reject_at_reception", "refuse", "reschedule", "withdraw")

NO_SUCH_COMPONENT = gettext_lazy("This procedure has no such component.")
NOT_FILED = gettext_lazy("The dossier cannot be filed yet")


def _national(status: str):
    found = national_status(status)
    return {"code": found.code, "label": found.label} if found else None


# --- Output -----------------------------------------------------------------------------------


class NationalStatusSerializer(serializers.Serializer):
    code = serializers.IntegerField(min_value=1, max_value=10)
    label = serializers.CharField()


class ProcedureRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    version = serializers.IntegerField()


class ApplicantSerializer(serializers.Serializer):
    name = serializers.CharField()
    id_number = serializers.CharField(allow_blank=True)
    address = serializers.CharField(allow_blank=True)
    phone = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)


class SupplementItemSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="A component code or a form field name.")
    name = serializers.CharField()
    reason = serializers.CharField()


class SupplementSerializer(serializers.Serializer):
    round = serializers.IntegerField()
    requested_at = serializers.DateTimeField()
    reason = serializers.CharField(allow_blank=True)
    items = SupplementItemSerializer(many=True)


class ResultRefSerializer(serializers.Serializer):
    available = serializers.BooleanField()
    url = serializers.URLField(allow_null=True)


def current_files(components):
    """Unordered: ``DossierSerializer.get_components`` orders them (``_file_order``)."""
    return components.filter(superseded_at__isnull=True).select_related("reused_dossier")


class ReusedFromSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=PaperKind.choices,
        help_text="An accepted component of the earlier dossier, or its signed result.",
    )
    dossier_code = serializers.CharField(allow_null=True)


class ComponentFileSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The component's code in the procedure.")
    file_name = serializers.CharField(source="original_name")
    content_type = serializers.CharField(help_text="As sniffed from the bytes.")
    size = serializers.IntegerField(min_value=0)
    sha256 = serializers.CharField()
    reused = serializers.BooleanField(
        help_text="Taken from the applicant's data store (a paper of an earlier dossier of "
        "theirs) instead of uploaded."
    )
    reused_from = ReusedFromSerializer(allow_null=True)


def _file_order(component: DossierComponent) -> tuple:
    return (component.component_code, component.uploaded_at, component.pk)


def _component_file(component: DossierComponent) -> dict:
    """A current file as ComponentFileSerializer gives it."""
    return {
        "code": component.component_code,
        "file_name": component.original_name,
        "content_type": component.content_type,
        "size": component.size,
        "sha256": component.sha256,
        "reused": component.reused,
        "reused_from": {
            "kind": component.reused_kind,
            "dossier_code": component.reused_dossier.code,
        }
        if component.reused
        else None,
    }


_DATE = serializers.DateField()
_DATETIME = serializers.DateTimeField()


def _moment(value):
    return _DATETIME.to_representation(value) if value else None


class DossierSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField(allow_null=True, help_text="Given when the dossier is filed.")
    procedure = serializers.SerializerMethodField()
    agency = serializers.CharField(source="handling_agency.code")
    channel = serializers.ChoiceField(choices=Channel.choices)
    status = serializers.ChoiceField(choices=FILED_STATUSES)
    status_label = serializers.CharField(source="get_status_display")
    national_status = serializers.SerializerMethodField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    received_at = serializers.DateTimeField(allow_null=True)
    due_date = serializers.DateField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True, help_text="The last thing recorded.")
    timeliness = serializers.SerializerMethodField()
    supplement = serializers.SerializerMethodField()
    result = serializers.SerializerMethodField()
    applicant = serializers.SerializerMethodField()
    components = serializers.SerializerMethodField()

    def to_representation(self, dossier) -> dict:
        """What the fields above give (the schema is theirs), made directly: DRF's walk
        over its copied fields cost as much as reading the dossier. The dates and times
        go through DRF's own fields, so they read exactly as theirs."""
        return {
            "id": dossier.pk,
            "code": dossier.code,
            "procedure": self.get_procedure(dossier),
            "agency": dossier.handling_agency.code,
            "channel": dossier.channel,
            "status": dossier.status,
            "status_label": str(dossier.get_status_display()),
            "national_status": self.get_national_status(dossier),
            "submitted_at": _moment(dossier.submitted_at),
            "received_at": _moment(dossier.received_at),
            "due_date": _DATE.to_representation(dossier.due_date) if dossier.due_date else None,
            "decided_at": _moment(dossier.decided_at),
            "closed_at": _moment(dossier.closed_at),
            "updated_at": _moment(getattr(dossier, "updated_at", None)),
            "timeliness": self.get_timeliness(dossier),
            "supplement": self.get_supplement(dossier),
            "result": self.get_result(dossier),
            "applicant": self.get_applicant(dossier),
            "components": self.get_components(dossier),
        }

    @extend_schema_field(ProcedureRefSerializer)
    def get_procedure(self, dossier) -> dict:
        version = dossier.procedure_version
        return {"code": version.procedure.code, "version": version.number}

    @extend_schema_field(NationalStatusSerializer(allow_null=True))
    def get_national_status(self, dossier):
        return _national(dossier.status)

    @extend_schema_field(
        serializers.ChoiceField(choices=Timeliness.choices, allow_null=True),
    )
    def get_timeliness(self, dossier):
        return dossier.timeliness or None

    @extend_schema_field(SupplementSerializer(allow_null=True))
    def get_supplement(self, dossier):
        """What the agency asked for, while the dossier waits for it."""
        if dossier.status != Status.SUPPLEMENT_REQUESTED:
            return None
        entry = dossier.history.filter(action="request_supplement").order_by("-seq").first()
        if entry is None:
            return None
        spec = dossier.procedure_version.spec
        names = {c["code"]: localized(c["name"]) for c in spec["components"]}
        names.update({f["name"]: localized(f["label"]) for f in spec["fields"]})
        return {
            "round": dossier.supplement_round,
            "requested_at": serializers.DateTimeField().to_representation(entry.at),
            "reason": entry.comment,
            "items": [
                {
                    "code": item["code"],
                    "name": names.get(item["code"], item["code"]),
                    "reason": item["reason"],
                }
                for item in entry.data.get("items", [])
            ],
        }

    @extend_schema_field(ResultRefSerializer)
    def get_result(self, dossier):
        available = dossier.status == Status.ISSUED and bool(getattr(dossier, "has_result", False))
        url = None
        if available:
            path = reverse("api:dossier-result", args=[dossier.pk])
            request = self.context.get("request")
            url = request.build_absolute_uri(path) if request else path
        return {"available": available, "url": url}

    @extend_schema_field(ComponentFileSerializer(many=True))
    def get_components(self, dossier):
        """The dossier's current files, each marked when it was reused from the data store;
        in the order of their codes character by character, whatever the database's
        collation (a submit's answer sorts the files it has in hand the same way)."""
        files = getattr(dossier, "current_files", None)
        if files is None:
            files = current_files(dossier.components.all())
        return [_component_file(f) for f in sorted(files, key=_file_order)]

    @extend_schema_field(ApplicantSerializer(allow_null=True))
    def get_applicant(self, dossier):
        """Only for the client that filed the dossier."""
        client = self.context.get("client")
        if client is None or dossier.filed_by_id != client.user_id:
            return None
        return {key: getattr(dossier, f"applicant_{key}") for key in APPLICANT_KEYS}


class StatusRefSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices)
    label = serializers.CharField()
    national_status = NationalStatusSerializer(allow_null=True)


class TimelineEntrySerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    at = serializers.DateTimeField()
    action = serializers.ChoiceField(choices=list(TIMELINE_ACTIONS))
    label = serializers.CharField()
    actor = serializers.ChoiceField(
        choices=["applicant", "agency", "system"],
        help_text="Who acted: the applicant (or the client filing for them), the agency "
        "(an officer: never named), or the system.",
    )
    status_before = StatusRefSerializer(allow_null=True)
    status_after = StatusRefSerializer()
    national_event = NationalStatusSerializer(
        allow_null=True,
        help_text="A national code reported for the event itself before the status "
        "after it (a withdrawal: 7, then 8).",
    )
    reason = serializers.CharField(allow_null=True)
    due_date = serializers.DateField(allow_null=True)


class TimelineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField(allow_null=True)
    entries = TimelineEntrySerializer(many=True)


# --- Input ------------------------------------------------------------------------------------


# What the services accept, said in the schema (the services check it, in their words).
NO_NUL = RegexValidator(r"^[^\x00]*$")


class ApplicantInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, validators=[NO_NUL])
    id_number = serializers.RegexField(r"^[0-9]{9,12}$", required=False, allow_blank=True)
    address = serializers.CharField(
        required=False, allow_blank=True, max_length=500, validators=[NO_NUL]
    )
    phone = serializers.RegexField(r"^\+?[0-9 .-]{8,15}$", required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)


@extend_schema_field(OpenApiTypes.BYTE)
class Base64Field(serializers.CharField):
    pass


class FileInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    content = Base64Field(help_text="The file's bytes, base64-encoded.")


FORM_DATA_HELP = (
    "The form's values by field name (GET /api/v1/procedures/{code}/form-schema/ "
    "describes them), validated as the web form validates them."
)
FILES_HELP = (
    "Files by component code, base64-encoded (multipart: one part file_<code> per file "
    "instead). A component takes at most its `count` files."
)


SOURCES = ["national_portal"]
SOURCE_HELP = (
    "Where the dossier was filed, when not by this client's own users: `national_portal` "
    "for a dossier the national public service portal forwards (filed online there). "
    "Then `source_code` (the portal's dossier code) and the applicant's `id_number` are "
    "required, and every status change is synced to the portal under that code."
)


class SubmitSerializer(serializers.Serializer):
    procedure = serializers.CharField(max_length=64, help_text="The procedure's national code.")
    agency = serializers.CharField(max_length=32, help_text="The handling agency's code.")
    source = serializers.ChoiceField(choices=SOURCES, required=False, help_text=SOURCE_HELP)
    source_code = serializers.RegexField(
        r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        required=False,
        help_text="The national portal's code of a forwarded dossier (with `source`).",
    )
    applicant = ApplicantInputSerializer()
    form_data = serializers.DictField(help_text=FORM_DATA_HELP)
    files = serializers.DictField(
        child=FileInputSerializer(many=True), required=False, help_text=FILES_HELP
    )


class SupplementInputSerializer(serializers.Serializer):
    form_data = serializers.DictField(required=False, help_text=FORM_DATA_HELP)
    applicant = ApplicantInputSerializer(required=False)
    comment = serializers.CharField(
        required=False, allow_blank=True, max_length=5000, validators=[NO_NUL]
    )
    files = serializers.DictField(
        child=FileInputSerializer(many=True), required=False, help_text=FILES_HELP
    )


class WithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=5000, validators=[NO_NUL]
    )


MULTIPART_FILES = {
    "type": "string",
    "format": "binary",
    "description": "Parts named file_<component code>, one per file.",
}
# Object-valued parts are JSON (OpenAPI 3.0's default content type for them).
APPLICANT_PART = {
    "type": "object",
    "description": "The applicant, as a JSON object: name, id_number, address, phone, email.",
}
FORM_DATA_PART = {"type": "object", "description": "The form data, as a JSON object."}
SUBMIT_MULTIPART = {
    "type": "object",
    "properties": {
        "procedure": {"type": "string", "minLength": 1, "maxLength": 64},
        "agency": {"type": "string", "minLength": 1, "maxLength": 32},
        "source": {"type": "string", "enum": SOURCES},
        "source_code": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"},
        "applicant": APPLICANT_PART,
        "form_data": FORM_DATA_PART,
    },
    "required": ["procedure", "agency", "applicant", "form_data"],
    "additionalProperties": MULTIPART_FILES,
}
SUPPLEMENT_MULTIPART = {
    "type": "object",
    "properties": {
        "applicant": APPLICANT_PART,
        "form_data": FORM_DATA_PART,
        "comment": {"type": "string", "maxLength": 5000, "pattern": "^[^\\x00]*$"},
    },
    "additionalProperties": MULTIPART_FILES,
}


def _object(request):
    """The body as a mapping (a JSON object, or the multipart parts)."""
    if not isinstance(request.data, dict):
        raise exceptions.ValidationError({"": [_("Send a JSON object.")]})
    return request.data


def _json_part(data, name: str, errors: dict, *, required: bool):
    """A JSON object sent as a multipart string part (or already an object in JSON)."""
    if name not in data:
        if required:
            errors[name] = [_("This field is required.")]
        return None
    value = data[name]
    if hasattr(data, "getlist"):  # multipart: a JSON string
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):  # RecursionError: nested thousands deep
            errors[name] = [_("Send a JSON object.")]
            return None
    if not isinstance(value, dict):
        errors[name] = [_("Send a JSON object.")]
        return None
    return value


def _text_part(
    data, name: str, errors: dict, *, limit: int, required: bool, nul: bool = False
) -> str:
    value = data.get(name)
    if value is None:
        if required:
            errors[name] = [_("This field is required.")]
        return ""
    if not isinstance(value, str):
        errors[name] = [_("Enter text.")]
        return ""
    if required and not value:  # (blanks only: names nothing, found as nothing)
        errors[name] = [_("This field is required.")]
        return ""
    value = value.strip()
    if "\x00" in value and not nul:
        errors[name] = [_("Remove the null characters.")]
    elif len(value) > limit:
        errors[name] = [_("Keep it under %(limit)d characters.") % {"limit": limit}]
    return value


def _check_source(source: str, source_code: str, applicant, errors: dict) -> None:
    """A dossier forwarded by the national portal names the portal's code for it and the
    applicant's identity number (the portal's sync carries both)."""
    if "source" in errors or "source_code" in errors:
        return
    if source and source not in SOURCES:
        errors["source"] = [_("Unknown source: give national_portal, or leave it out.")]
    elif source_code and not source:
        errors["source"] = [_("Say which portal forwarded the dossier (national_portal).")]
    elif source:
        if not source_code:
            errors["source_code"] = [_("Give the national portal's code for this dossier.")]
        if isinstance(applicant, dict) and not str(applicant.get("id_number") or "").strip():
            errors["applicant.id_number"] = [
                _("A dossier forwarded by the national portal carries the applicant's ID number.")
            ]


def _uploads(request, errors: dict) -> dict[str, list]:
    """The files sent: multipart parts ``file_<code>``, or JSON ``files`` (base64)."""
    found: dict[str, list] = {}
    if hasattr(request.data, "getlist"):
        for name in request.data:
            if name.startswith("file_") and name not in request.FILES:
                errors[name] = [_("Send a file in this part.")]
        for name in request.FILES:
            if name.startswith("file_"):  # other parts are not ours to read: ignored
                found[name[5:]] = request.FILES.getlist(name)
        return found
    files = request.data.get("files")
    if files is None:
        return found
    if not isinstance(files, dict):
        errors["files"] = [_("Send an object of component codes to lists of files.")]
        return found
    for code, items in files.items():
        if not isinstance(items, list):
            items = [items]
        found[code] = []
        for index, item in enumerate(items):
            path = f"files.{code}[{index}]"
            if not (
                isinstance(item, dict)
                and isinstance(item.get("name"), str)
                and isinstance(item.get("content"), str)
            ):
                errors[path] = [_("Send each file as {“name”: …, “content”: base64}.")]
                continue
            try:
                content = base64.b64decode(item["content"], validate=True)
            except (binascii.Error, ValueError):
                errors[f"{path}.content"] = [_("This is not valid base64.")]
                continue
            name = item["name"].replace("\x00", "")[-255:] or "file"
            found[code].append(SimpleUploadedFile(name, content))
    return found


def _fingerprint(request, fields: dict, uploads: dict[str, list]) -> str:
    """The request's meaning, not its bytes: a retry with another multipart boundary or
    another key order is the same request."""
    digest = {code: [_sha256(f) for f in files] for code, files in sorted(uploads.items())}
    canonical = json.dumps(
        {"method": request.method, "path": request.path, **fields, "files": digest},
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _sha256(upload) -> str:
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def _error_paths(errors: dict, spec: dict, form_keys) -> dict[str, list[str]]:
    """The services' field names as paths in the request."""
    fields = {f["name"] for f in spec["fields"]} | set(form_keys)
    components = {c["code"] for c in spec["components"]}
    out: dict[str, list[str]] = {}
    for key, messages in errors.items():
        if key == "__all__" or key.startswith("applicant.") or key.startswith("file_"):
            path = key
        elif key in fields:
            path = f"form_data.{key}"
        elif key in components:
            path = f"file_{key}"
        else:
            path = key
        out.setdefault(path, []).extend(str(m) for m in messages)
    return out


def _stored_files(dossier_id) -> list[str]:
    try:
        return list(
            DossierComponent.objects.filter(dossier_id=dossier_id).values_list("file", flat=True)
        )
    except DatabaseError:
        return []


def _remove_files(names: list[str], *, asked: bool = True) -> None:
    """Files stored by a submit that was then rolled back: no row points to them.
    ``asked=False``: none of their rows can stay (the failed transaction made them), so
    they go without asking (that transaction may be doomed, and cannot be asked)."""
    for name in names:
        if not name:
            continue
        try:
            if asked and DossierComponent.objects.filter(file=name).exists():
                continue
            DossierComponent(file=name).file.delete(save=False)
        except (OSError, DatabaseError):
            log.warning("could not remove the unused stored file %s", name)


def _save_all(dossier, by, applicant, form_data, uploads, *, remove=()) -> dict:
    """What was sent, through the filing service; the problems by service field name.

    Every file of a component goes in one call: the first takes the component's place
    (replacing a file of a one-file component), the others are added next to it.
    ``remove``: current files to take off first (a supplement's replaced ones)."""
    errors: dict[str, list[str]] = {}
    _drop_unknown(dossier, uploads, errors)
    dossier, save_errors = dossier_save_filing(
        dossier=dossier,
        by=by,
        applicant=applicant,
        form_data=form_data,
        uploads={code: list(files) for code, files in uploads.items() if files},
        remove=remove,
    )
    for key, messages in save_errors.items():
        errors[key] = list(messages)
    return errors


def _drop_unknown(dossier, uploads: dict, errors: dict) -> None:
    """Files sent for components the procedure does not have: refused, by part name."""
    known = {c["code"] for c in dossier.procedure_version.spec["components"]}
    for code in [c for c in uploads if c not in known]:
        errors[f"file_{code}"] = [str(NO_SUCH_COMPONENT)]
        del uploads[code]


def _attach_all(dossier, by, uploads) -> tuple[list[DossierComponent], dict]:
    """The files of a draft just made with its typed values (``dossier_create``'s
    ``problems``): what ``_save_all`` does, without writing the draft a second time. The
    files stored, and the problems by field."""
    errors: dict[str, list[str]] = {}
    _drop_unknown(dossier, uploads, errors)
    sent = {code: list(files) for code, files in uploads.items() if files}
    attached: list[DossierComponent] = []
    if sent:
        attached, problems = dossier_attach_components(
            dossier=dossier, by=by, uploads=sent, new_draft=True
        )
        for key, messages in problems.items():
            errors.setdefault(key, []).extend(messages)
    return attached, errors


# One statement (PostgreSQL, SQLite): no insert in a savepoint of its own whose unique
# violation is caught. On a conflict with a request still running, it waits for that
# request's transaction to end, as the insert did.
_TAKE_KEY = (
    'INSERT INTO api_idempotentrequest (client_id, "key", fingerprint, created_at) '
    'VALUES (%s, %s, %s, %s) ON CONFLICT (client_id, "key") DO NOTHING RETURNING id'
)


def _take_key(client, key: str, fingerprint: str) -> IdempotentRequest | None:
    """The key's record, made now; None if another request has it."""
    connection = transaction.get_connection()
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _TAKE_KEY,
            [client.pk, key, fingerprint, connection.ops.adapt_datetimefield_value(now)],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    record = IdempotentRequest(
        pk=row[0], client=client, key=key, fingerprint=fingerprint, created_at=now
    )
    record._state.adding = False
    return record


def _atomically(run, *, dossier_id=lambda: None, new_files=None, savepoint=True):
    """``run()`` in one transaction; on any failure, nothing stays: the rows are rolled
    back and the files they stored removed.

    The files are those of the dossier's rows (``dossier_id``), each removed once the
    rollback shows no row points to it; or, given ``new_files`` (the files of the rows
    ``run`` made), those, removed at once: none of their rows can stay. ``savepoint=False``:
    inside a transaction that a failure here fails too (``_idempotent``'s: it lets the
    failure go on)."""
    written: list[str] = []
    try:
        with transaction.atomic(savepoint=savepoint):
            try:
                return run()
            except BaseException:
                written = new_files() if new_files else _stored_files(dossier_id())
                raise
    except BaseException:
        _remove_files(written, asked=new_files is None)
        raise


class PdfRenderer(renderers.BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


# --- Filters ----------------------------------------------------------------------------------


class DateOrTimeField(forms.Field):
    """An ISO date (the whole local day) or an ISO date-time (naive: local time). Moments
    before 1900 or after 2100 stand for those bounds: no dossier lies beyond them, and the
    database need not count in years it cannot hold."""

    def __init__(self, *args, end_of_day: bool = False, **kwargs):
        self.end_of_day = end_of_day
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().upper()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        text = re.sub(r"(T\d\d:\d\d):60", r"\1:59", text)  # a leap second
        try:
            # A bare date first: Python 3.11's parse_datetime reads "2026-11-30" as its
            # midnight, which would leave that day out of submitted_before.
            moment = None if re.fullmatch(r"\d{4}-\d\d-\d\d", text) else parse_datetime(text)
            if moment is None:
                day = parse_date(text)
                if day is None:
                    raise ValueError(text)
                if self.end_of_day and day.year <= 2100:
                    day += dt.timedelta(days=1)
                moment = dt.datetime.combine(day, dt.time())
        except ValueError:
            raise ValidationError(
                _("Enter an ISO date (2026-11-30) or date-time (2026-11-30T08:00:00+07:00)."),
                code="invalid",
            ) from None
        if moment.year < 1900:
            moment = dt.datetime(1900, 1, 1)
        elif moment.year > 2100:
            moment = dt.datetime(2101, 1, 1)
        return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


@extend_schema_field(
    {
        "oneOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
        "description": "An ISO date (a whole local day) or date-time.",
        "example": "2026-11-30",
    }
)
class DateOrTimeFilter(filters.Filter):
    field_class = DateOrTimeField

    def __init__(self, *args, end_of_day: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.extra["end_of_day"] = end_of_day


class DossierFilter(filters.FilterSet):
    agency = filters.CharFilter(
        method="filter_agency",
        help_text="An agency's code: it and those below (one not among the client's: none).",
    )
    procedure = filters.CharFilter(method="filter_procedure", help_text="A national code.")
    status = filters.ChoiceFilter(choices=FILED_STATUSES, help_text="motcua's status.")
    national_status = filters.TypedChoiceFilter(
        choices=[(code, s.en) for code, s in CODES.items()],
        coerce=int,
        method="filter_national",
        help_text="The national portal's status code (1-10).",
    )
    submitted_after = DateOrTimeFilter(
        field_name="submitted_at", lookup_expr="gte", help_text="Filed at or after."
    )
    submitted_before = DateOrTimeFilter(
        field_name="submitted_at",
        lookup_expr="lt",
        end_of_day=True,
        help_text="Filed before (a date: up to the end of that day).",
    )
    updated_after = DateOrTimeFilter(
        field_name="updated_at",
        method="filter_updated_after",
        help_text="Something recorded at or after.",
    )

    class Meta:
        model = Dossier
        fields: list[str] = []

    @extend_schema_field({"type": "string", "pattern": "^[^\\x00]*$"})
    def filter_agency(self, queryset, name, value):
        client: ApiClient = self.request.auth
        # No code holds a NUL (which PostgreSQL would refuse to compare with).
        agency = (
            Agency.objects.filter(client.subtree_q(), code=value).first()
            if "\x00" not in value
            else None
        )
        if agency is None:
            return queryset.none()
        return queryset.filter(agency.subtree_q("handling_agency__"))

    @extend_schema_field({"type": "string", "pattern": "^[^\\x00]*$"})
    def filter_procedure(self, queryset, name, value):
        if "\x00" in value:
            return queryset.none()
        return queryset.filter(procedure_version__procedure__code=value)

    @extend_schema_field({"type": "integer", "minimum": 1, "maximum": 10})
    def filter_national(self, queryset, name, value):
        return queryset.filter(status__in=statuses_for(value))

    def filter_updated_after(self, queryset, name, value):
        """The last entry's time (``updated_at``) at or after ``value``. That entry is
        one of the dossier's entries at or after it, so the EXISTS below (a semi-join on
        the history's index by time: only the entries since ``value`` are read) selects
        the candidates, and the per-row "last entry" subquery runs on those only; the
        result is the same as with the second condition alone."""
        recent = HistoryEntry.objects.filter(dossier=OuterRef("pk"), at__gte=value)
        return queryset.filter(Exists(recent), updated_at__gte=value)


# --- Views ------------------------------------------------------------------------------------

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    pattern=r"^[!-~]{1,255}$",
    description="Makes a retried submit file one dossier: the same key gets the first answer "
    "again (with Idempotent-Replayed: true); the same key with another request, 422.",
)
REPLAYED_HEADER = OpenApiParameter(
    "Idempotent-Replayed",
    str,
    OpenApiParameter.HEADER,
    response=[201],
    description="“true” when this is the first answer to the same key, given again.",
)
LOCATION_HEADER = OpenApiParameter(
    "Location", str, OpenApiParameter.HEADER, response=[201], description="The dossier's URL."
)
ID_PARAMETER = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The dossier's id.")


class DossierSchema(ApiAutoSchema):
    def _get_request_body(self, direction="request"):
        body = super()._get_request_body(direction)
        # A submit needs a body, whichever its media type (drf-spectacular leaves a raw
        # multipart schema optional).
        if body is not None and getattr(self.view, "action", None) == "create":
            body["required"] = True
        return body


@extend_schema_view(
    list=extend_schema(
        summary="Dossiers of the client's agencies",
        parameters=[RETRY_AFTER],
        responses={200: DossierSerializer(many=True), **problems(400, 403, 404)},
    ),
    retrieve=extend_schema(
        summary="A dossier's status",
        parameters=[ID_PARAMETER, RETRY_AFTER],
        responses={200: DossierSerializer, **problems(403, 404)},
    ),
    create=extend_schema(
        summary="Submit a dossier on behalf of an applicant",
        parameters=[IDEMPOTENCY_HEADER, REPLAYED_HEADER, LOCATION_HEADER, RETRY_AFTER],
        request={"application/json": SubmitSerializer, "multipart/form-data": SUBMIT_MULTIPART},
        responses={201: DossierSerializer, **problems(400, 403, 404, 409, 413, 415, 422)},
    ),
)
class DossierViewSet(viewsets.GenericViewSet):
    """Dossiers filed in the client's agencies (its own and those below it)."""

    schema = DossierSchema()

    scopes = {
        "list": Scope.DOSSIERS_READ,
        "retrieve": Scope.DOSSIERS_READ,
        "timeline": Scope.DOSSIERS_READ,
        "create": Scope.DOSSIERS_SUBMIT,
        "supplement": Scope.DOSSIERS_SUBMIT,
        "withdraw": Scope.DOSSIERS_SUBMIT,
        "result": Scope.RESULTS_READ,
    }
    serializer_class = DossierSerializer
    filterset_class = DossierFilter
    lookup_value_regex = "[0-9]{1,18}"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema's generator
            return Dossier.objects.none()
        client: ApiClient = self.request.auth
        last = HistoryEntry.objects.filter(dossier=OuterRef("pk")).order_by("-seq").values("at")
        result = current_results()
        return (
            Dossier.objects.filter(client.subtree_q("handling_agency__"))
            .exclude(status__in=HIDDEN)
            .select_related("procedure_version__procedure", "handling_agency")
            .annotate(updated_at=Subquery(last[:1]), has_result=Exists(result))
            .defer("form_data", "procedure_version__spec")
            .prefetch_related(
                Prefetch(
                    "components",
                    queryset=current_files(DossierComponent.objects.all()),
                    to_attr="current_files",
                )
            )
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "client": self.request.auth}

    def _dossier(self, *, full: bool = False) -> Dossier:
        """The dossier of the URL, if it is one of the client's agencies' (else 404)."""
        if full:  # the specification is needed (supplement items' names, filing)
            queryset = (
                self.get_queryset()
                .defer(None)
                .select_related("procedure_version__procedure", "handling_agency")
            )
            dossier = queryset.filter(pk=self.kwargs["pk"]).first()
        else:
            dossier = _read(self.request.auth, int(self.kwargs["pk"]))
        if dossier is None:
            raise Http404
        note_dossier(self.request, dossier)
        return dossier

    def _body(self, dossier: Dossier, status: int = 200, **headers) -> Response:
        fresh = _read(self.request.auth, dossier.pk)
        if fresh is None:  # not one of the client's agencies' (never after its own change)
            raise Http404
        data = DossierSerializer(fresh, context=self.get_serializer_context()).data
        return Response(data, status=status, headers=headers)

    # --- Reading ---

    def list(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        # The spec is read only for the few rows waiting for a supplement (item names).
        serializer = self.get_serializer(page, many=True)
        return self.get_paginated_response(serializer.data)

    def retrieve(self, request, pk=None):
        # Neither the form data nor the specification (read only for a supplement's items).
        dossier = self._dossier()
        return Response(self.get_serializer(dossier).data)

    @extend_schema(
        summary="What happened to the dossier, and when",
        parameters=[ID_PARAMETER, RETRY_AFTER],
        responses={200: TimelineSerializer, **problems(403, 404)},
    )
    @action(detail=True)
    def timeline(self, request, pk=None):
        """No officer is named: an entry says only whether the applicant's side, the agency
        or the system acted."""
        dossier = self._dossier()
        entries = (
            dossier.history.filter(action__in=list(TIMELINE_ACTIONS))
            .order_by("seq")
            .only("seq", "at", "actor_id", "action", "from_status", "to_status", "comment", "data")
        )
        applicant_side = {dossier.applicant_user_id} - {None}
        if dossier.channel == Channel.ONLINE:  # filed by the applicant or a client for them
            applicant_side.add(dossier.filed_by_id)
        out = []
        for entry in entries:
            if entry.actor_id is None:
                actor = "system"
            elif entry.actor_id in applicant_side and entry.action in (
                "submit",
                "resubmit",
                "withdraw",
            ):
                actor = "applicant"
            else:
                actor = "agency"
            event = BY_EVENT.get(entry.action)
            due = entry.data.get("due_date") or entry.data.get("new_due_date")
            out.append(
                {
                    "seq": entry.seq,
                    "at": entry.at,
                    "action": entry.action,
                    "label": str(TIMELINE_ACTIONS[entry.action]),
                    "actor": actor,
                    "status_before": _status_ref(entry.from_status),
                    "status_after": _status_ref(entry.to_status),
                    "national_event": {"code": event.code, "label": event.label} if event else None,
                    "reason": (entry.comment or None) if entry.action in REASONED else None,
                    "due_date": due if isinstance(due, str) else None,
                }
            )
        body = {"id": dossier.pk, "code": dossier.code, "entries": out}
        return Response(TimelineSerializer(body).data)

    @extend_schema(
        summary="The signed result (PDF)",
        parameters=[ID_PARAMETER, RETRY_AFTER],
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The signed result."
            ),
            **problems(403, 404, 410, 503),
        },
    )
    @action(detail=True, renderer_classes=[PdfRenderer, renderers.JSONRenderer])
    def result(self, request, pk=None):
        """The signed result of an issued dossier, for the client that filed it (the result
        names the applicant). Each download is recorded in the dossier's access record."""
        dossier = self._dossier()
        self._own(dossier, _("Only the client that filed this dossier may download its result."))
        document = current_result(dossier) if dossier.status == Status.ISSUED else None
        if document is not None and document.erased_at is not None:
            return problem(
                410,
                _("The result was erased at the end of its retention period."),
                request=request,
            )
        if dossier.procedure_version.spec.get("outcome") == "notice":
            return problem(
                404,
                _(
                    "This procedure ends with a notice, not a signed paper: its result is "
                    "the dossier's status and timeline."
                ),
                request=request,
            )
        if document is None or document.status != DocumentStatus.SIGNED or not document.file:
            return problem(
                404,
                _("This dossier has no signed result yet (it is “%(status)s”).")
                % {"status": dossier.get_status_display()},
                request=request,
                kind="no-result",
            )
        response = private_file_response(
            document.file, content_type="application/pdf", filename=document.filename
        )
        if response.status_code == 503:  # the file store is not answering
            out = problem(
                503, _("The file store is not answering; try again in a minute."), request=request
            )
            out["Retry-After"] = response["Retry-After"]
            return out
        access_record(
            dossier=dossier,
            by=request.auth.user,
            kind=AccessKind.DOCUMENT,
            obj=document,
            request=request,
        )
        return response

    def _own(self, dossier: Dossier, message: str) -> None:
        if dossier.filed_by_id != self.request.auth.user_id:
            raise PermissionDenied(message)

    # --- Submitting ---

    def create(self, request):
        client: ApiClient = request.auth
        key = request.headers.get("Idempotency-Key")
        if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
            raise exceptions.ValidationError(
                {"Idempotency-Key": [_("Give 1 to 255 visible ASCII characters.")]}
            )
        self._bounded(request)
        errors: dict[str, list[str]] = {}
        data = _object(request)
        code = _text_part(data, "procedure", errors, limit=64, required=True, nul=True)
        agency_code = _text_part(data, "agency", errors, limit=32, required=True, nul=True)
        applicant = _json_part(data, "applicant", errors, required=True)
        form_data = _json_part(data, "form_data", errors, required=True)
        source = _text_part(data, "source", errors, limit=32, required=False)
        source_code = _text_part(data, "source_code", errors, limit=64, required=False)
        _check_source(source, source_code, applicant, errors)
        if errors:
            raise exceptions.ValidationError(errors)
        # A code with a NUL names nothing (and PostgreSQL would refuse to compare it).
        procedure, version = (
            procedure_in_force(code, local_date(timezone.now()))
            if "\x00" not in code
            else (None, None)
        )
        agency = (
            Agency.objects.filter(client.subtree_q(), code=agency_code).first()
            if "\x00" not in agency_code
            else None
        )
        missing = {}
        if procedure is None:
            missing["procedure"] = [_("No such procedure.")]
        if agency is None:
            missing["agency"] = [_("No such agency among yours.")]
        if missing:
            return problem(
                404,
                _("The procedure or the agency named is not known."),
                errors=[
                    {"field": k, "message": str(v[0]), "code": "not_found"}
                    for k, v in missing.items()
                ],
                request=request,
            )
        # The files' problems come with the form's, from the services: all at once.
        upload_errors: dict[str, list[str]] = {}
        uploads = _uploads(request, upload_errors)
        fields = {
            "procedure": code,
            "agency": agency_code,
            "applicant": applicant,
            "form_data": form_data,
            "source": source,
            "source_code": source_code,
        }

        def submit(earlier: bool = False) -> Response:
            return self._submit(
                client,
                procedure,
                version,
                agency,
                applicant,
                form_data,
                uploads,
                upload_errors,
                key=key,
                forwarded=source_code or None,
                earlier=earlier,
            )

        if key is None:
            return submit()
        return self._idempotent(client, key, _fingerprint(request, fields, uploads), submit)

    def _bounded(self, request) -> None:
        """A JSON body carries files as base64: bounded like a multipart one (which
        config.uploads bounds before the view)."""
        if request.content_type.startswith("multipart/"):
            return
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        _per_file, files = upload_limits()
        body = files + (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)
        # base64 makes 3 bytes 4.
        if length > body * 4 // 3 + settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise TooLarge()

    def _submit(
        self,
        client,
        procedure,
        version,
        agency,
        applicant,
        form_data,
        uploads,
        upload_errors,
        *,
        key,
        forwarded: str | None = None,
        earlier: bool = False,
    ) -> Response:
        """File the dossier; ``earlier``: first look for the dossier filed under ``key``
        before (its key's record gone, its filing key not: ``_idempotent``)."""
        by = client.user
        made: dict = {}
        filing_key = filing_key_of(client.pk, key) if key else None
        if earlier:
            dossier = Dossier.objects.filter(filing_key=filing_key).first()
            if dossier is not None:
                if dossier.filed_by_id != by.pk:
                    raise ValidationError(_("This form has expired; open it again."))
                note_dossier(self.request, dossier)
                location = self.request.build_absolute_uri(
                    reverse("api:dossier-detail", args=[dossier.pk])
                )
                return self._body(dossier, 201, Location=location)

        def run():
            with one_calendar():  # one reading of the working-day overrides for it all
                return filed()

        def filed():
            # The draft is written with what can be kept of the typed values; what cannot
            # comes back in ``typed`` (all or nothing below: nothing is kept on a problem).
            typed: dict[str, list[str]] = {}
            dossier = dossier_create(
                procedure=procedure,
                handling_agency=agency,
                channel=Channel.ONLINE,
                by=by,
                applicant=applicant,
                form_data=form_data,
                filing_key=filing_key,
                problems=typed,
                filing=True,  # filed below, or nothing is kept
                version=version,
            )
            spec = dossier.procedure_version.spec
            # The new row is this transaction's alone until it commits: the steps below
            # need not read and lock it again, each in turn.
            with holding(dossier):
                made["files"], attach_errors = _attach_all(dossier, by, uploads)
                errors = {**upload_errors, **typed, **attach_errors}
                if forwarded and not errors:
                    # Before the filing: its sync to the portal names the portal's code.
                    try:
                        dossier_mark_forwarded(dossier=dossier, portal_code=forwarded)
                    except ValidationError as exc:
                        errors = error_dict(exc)
                if errors:
                    for field, messages in dossier_filing_problems(dossier).items():
                        errors.setdefault(field, list(messages))
                else:
                    try:
                        dossier = work.application_submit(dossier=dossier, by=by)
                    except ValidationError as exc:
                        # Never empty: the failed filing has doomed the transaction, and
                        # only raising here keeps a 201 from answering for it.
                        errors = error_dict(exc) or {"__all__": [str(NOT_FILED)]}
            if errors:
                raise ValidationError(_error_paths(errors, spec, form_data))
            return dossier

        try:
            # With a key, inside _idempotent's transaction.
            dossier = _atomically(
                run,
                new_files=lambda: [c.file.name for c in made.get("files", ())],
                savepoint=key is None,
            )
        except ValidationError as exc:
            self._fix_paths(exc)
            raise
        note_dossier(self.request, dossier)
        location = reverse("api:dossier-detail", args=[dossier.pk])
        headers = {"Location": self.request.build_absolute_uri(location)}
        # Filed now: the status read's answer, from what this request wrote (nothing of the
        # new dossier can have changed since: the flow's first task was only just offered).
        dossier.current_files = made["files"]
        dossier.has_result = False
        data = DossierSerializer(dossier, context=self.get_serializer_context()).data
        return Response(data, status=201, headers=headers)

    @staticmethod
    def _fix_paths(exc) -> None:
        """dossier_create's own field name is the request's ``agency``."""
        if hasattr(exc, "error_dict") and "handling_agency" in exc.error_dict:
            exc.error_dict["agency"] = exc.error_dict.pop("handling_agency")

    def _idempotent(self, client, key: str, fingerprint: str, submit) -> Response:
        filed_before = False
        for _attempt in range(3):
            try:
                with transaction.atomic():
                    # None: taken, by a request now finished (the insert waited for it).
                    record = _take_key(client, key, fingerprint)
                    if record is not None:
                        response = submit(filed_before)
                        record.status_code = response.status_code
                        record.response = json.loads(json.dumps(response.data, default=str))
                        record.dossier_id = response.data.get("id")
                        record.save(update_fields=["status_code", "response", "dossier_id"])
                        return response
            except IntegrityError:
                # The dossier's filing key is taken: a dossier filed under this key whose
                # record is gone (the filing takes no savepoint: dossier_create, filing=True;
                # all of this transaction is rolled back), or so it seems: once more, answering
                # with that dossier if there is one (any other failure comes back then).
                if filed_before:
                    raise
                filed_before = True
                continue
            earlier = IdempotentRequest.objects.filter(client=client, key=key).first()
            if earlier is None:
                continue  # the other request failed and kept nothing: file this one
            if earlier.fingerprint != fingerprint:
                return problem(
                    422,
                    _("This Idempotency-Key was used for a different request."),
                    request=self.request,
                    kind="idempotency-key-reused",
                )
            if earlier.response is None:
                return problem(
                    409,
                    _("A request with this Idempotency-Key is still being processed."),
                    request=self.request,
                )
            if earlier.dossier_id:
                note_dossier(self.request, earlier.dossier_id)
            return Response(
                earlier.response,
                status=earlier.status_code,
                headers={"Idempotent-Replayed": "true"},
            )
        return problem(
            409,
            _("A request with this Idempotency-Key is still being processed."),
            request=self.request,
        )

    # --- The applicant's later steps ---

    @extend_schema(
        summary="Answer a supplement request",
        parameters=[ID_PARAMETER, RETRY_AFTER],
        request={
            "application/json": SupplementInputSerializer,
            "multipart/form-data": SUPPLEMENT_MULTIPART,
        },
        responses={200: DossierSerializer, **problems(400, 403, 404, 409, 413, 415)},
    )
    @action(detail=True, methods=["post"])
    def supplement(self, request, pk=None):
        """Changed form data and files (a component's files sent replace its current
        ones), with a comment: the dossier goes back to the desk. All or nothing, as a
        submit."""
        dossier = self._dossier(full=True)
        self._bounded(request)
        errors: dict[str, list[str]] = {}
        data = _object(request)
        form_data = _json_part(data, "form_data", errors, required=False) or {}
        applicant = _json_part(data, "applicant", errors, required=False)
        comment = _text_part(data, "comment", errors, limit=5000, required=False)
        if errors:
            raise exceptions.ValidationError(errors)
        self._own(dossier, _("Only the client that filed this dossier may answer for it."))
        upload_errors: dict[str, list[str]] = {}
        uploads = _uploads(request, upload_errors)
        by = request.auth.user

        def run():
            spec = dossier.procedure_version.spec
            # The files sent for a component replace all its current ones, a component
            # of several files (``count: 2``) too: they are taken off first, so the new
            # ones have their places (all or nothing: a failure puts them back).
            replaced = list(
                dossier.components.filter(
                    component_code__in=list(uploads), superseded_at__isnull=True
                ).values_list("pk", flat=True)
            )
            errors = {
                **upload_errors,
                **_save_all(dossier, by, applicant, form_data, uploads, remove=replaced),
            }
            if errors:
                for field, messages in dossier_filing_problems(dossier).items():
                    errors.setdefault(field, list(messages))
                raise ValidationError(_error_paths(errors, spec, form_data))
            try:
                return work.application_resubmit(dossier=dossier, by=by, comment=comment)
            except ValidationError as exc:
                raise ValidationError(_error_paths(error_dict(exc), spec, form_data)) from exc

        def locked_run():
            # The flow's process row first, then the dossier's (the files, the answer):
            # workflows.services.work's order. The other order could deadlock with an
            # officer (or a withdrawal) acting on this dossier at the same moment. A
            # plain, waiting lock: viewflow's own (nowait, retried) cannot be taken
            # inside this transaction (its failed attempt would abort it); the flow's
            # lock taken by the answer below then finds the row already ours.
            processes = flow_for(dossier).process_class._default_manager
            processes.select_for_update().filter(pk=dossier.process.pk).exists()
            return run()

        try:
            answered = _atomically(locked_run, dossier_id=lambda: dossier.pk)
        except FlowLockFailed as exc:
            raise work.TaskBusy(work.BUSY_MESSAGE) from exc
        return self._body(answered)

    @extend_schema(
        summary="Withdraw the dossier",
        parameters=[ID_PARAMETER, RETRY_AFTER],
        request=WithdrawSerializer,
        responses={200: DossierSerializer, **problems(400, 403, 404, 409, 415)},
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """At the applicant's request, before a decision: processing stops (national code
        8; the request itself is reported as 7 in the timeline)."""
        dossier = self._dossier()
        errors: dict[str, list[str]] = {}
        reason = _text_part(_object(request), "reason", errors, limit=5000, required=False)
        if errors:
            raise exceptions.ValidationError(errors)
        self._own(dossier, _("Only the client that filed this dossier may withdraw it."))
        withdrawn = work.application_withdraw(dossier=dossier, by=request.auth.user, reason=reason)
        return self._body(withdrawn)


class TooLarge(exceptions.APIException):
    status_code = 413
    default_detail = gettext_lazy("The request is too large.")
    default_code = "too_large"


def _status_ref(status: str):
    if not status:
        return None
    try:
        label = Status(status).label
    except ValueError:
        label = status
    return {"status": status, "label": str(label), "national_status": _national(status)}


def _status_read(pk):
    """The status read's dossier, as ``DossierViewSet.get_queryset`` reads it but by id
    alone (the client's scope is checked on the row: ``_read``)."""
    last = HistoryEntry.objects.filter(dossier=OuterRef("pk")).order_by("-seq").values("at")
    return (
        Dossier.objects.filter(pk=pk)
        .exclude(status__in=HIDDEN)
        .select_related("procedure_version__procedure", "handling_agency")
        .annotate(updated_at=Subquery(last[:1]), has_result=Exists(current_results()))
        .defer("form_data", "procedure_version__spec")
    )


# The reads every status call makes, their SQL built once per database connection
# (workflows.compiled): building the dossier's query took longer than running it.
_STATUS_READ = CompiledQuery(Dossier, _status_read, placeholders=(-1_999_999_014,))
_CURRENT_FILES = CompiledQuery(
    DossierComponent,
    lambda pk: current_files(DossierComponent.objects.filter(dossier_id=pk)),
    placeholders=(-1_999_999_015,),
)


def _read(client: ApiClient, pk: int) -> Dossier | None:
    """A filed dossier of the client's agencies (its own and those below it: the path
    prefix ``Agency.subtree_q`` filters on), with its current files; else None."""
    found = _STATUS_READ(pk)
    if not found or not found[0].handling_agency.path.startswith(client.agency.path):
        return None
    dossier = found[0]
    dossier.current_files = _CURRENT_FILES(dossier.pk)
    return dossier


def current_results():
    """A signed result of the dossier (for ``result.available``)."""
    from documents.models import Document

    return Document.objects.filter(
        dossier=OuterRef("pk"),
        kind=Kind.RESULT,
        status=DocumentStatus.SIGNED,
        erased_at__isnull=True,
    )


__all__ = ["DossierViewSet"]
