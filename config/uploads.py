"""Refuse an upload that is too large before reading it.

Django reads a whole multipart body (spooling files to disk) before a form sees that a
file is over its component's limit. Here a request is refused up front from its
Content-Length, and while streaming a file as soon as it passes the largest size any
field of that page accepts, with a page that says so (413). The precise per-component
limit is still checked afterwards, by the service (workflows.uploads).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils import formats
from django.utils.translation import gettext as _

MB = 1_048_576


def upload_limits(path: str) -> tuple[int, int]:
    """(per file, whole body) limits in bytes for a multipart post to ``path``."""
    try:
        name = resolve(path).view_name
    except Resolver404:
        name = ""
    fields = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
    if name == "documents:verify_check":
        check = settings.MOTCUA["DOCUMENTS"]["CHECK_MAX_BYTES"]
        return check, check + fields
    from procedures.selectors import upload_limits as catalog_upload_limits  # models: apps ready

    per_file, files = catalog_upload_limits()
    return per_file, files + fields


API_PREFIX = "/api/v1/"


def _mb(size: int) -> str:
    return formats.number_format(round(size / MB, 1), decimal_pos=1)


class TooLarge(StopUpload):
    def __init__(self, per_file: int, body: int):
        super().__init__(connection_reset=True)  # stop reading; the rest is not drained
        self.per_file, self.body = per_file, body


class LimitedUploadHandler(FileUploadHandler):
    """Counts each file's bytes as they stream in and stops past ``per_file``."""

    def __init__(self, request=None, *, per_file: int, body: int):
        super().__init__(request)
        self.per_file, self.body, self.received = per_file, body, 0

    def new_file(self, *args, **kwargs):
        self.received = 0
        super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.per_file:
            self.request._upload_refused = (self.per_file, self.body)
            raise TooLarge(self.per_file, self.body)
        return raw_data  # on to the next handler, which keeps the bytes

    def file_complete(self, file_size):
        return None


def _refuse(request, per_file: int, body: int):
    # No "Connection: close" here: WSGI forbids hop-by-hop headers from the application;
    # the server decides what to do with the unread rest of the body.
    if request.path_info.startswith(API_PREFIX):
        from api.errors import problem  # the API's own error format (problem details)

        return problem(
            413,
            _("A file may be at most %(per_file)s MB, and the whole request %(body)s MB.")
            % {"per_file": _mb(per_file), "body": _mb(body)},
            request=request,
        )
    return render(
        request,
        "413.html",
        {"per_file_mb": round(per_file / MB, 1), "body_mb": round(body / MB, 1)},
        status=413,
    )


class UploadLimitMiddleware:
    """Before CSRF (which parses the post): refuse by Content-Length, and install the
    streaming limit; after it, say so if a file went past the limit while streaming."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.content_type == "multipart/form-data":
            per_file, body = upload_limits(request.path_info)
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > body:
                return _refuse(request, per_file, body)
            request.upload_handlers.insert(
                0, LimitedUploadHandler(request, per_file=per_file, body=body)
            )
        return self.get_response(request)

    def process_view(self, request, view, args, kwargs):
        if request.method == "POST" and request.content_type == "multipart/form-data":
            try:
                request.POST  # noqa: B018  parse now, so a refused file is known before the view
            except (MultiPartParserError, SuspiciousOperation) as exc:
                if not request.path_info.startswith(API_PREFIX):
                    raise
                from api.errors import problem

                too_big = isinstance(exc, RequestDataTooBig)
                return problem(
                    413 if too_big else 400,
                    _("The multipart body could not be read: %(error)s") % {"error": exc},
                    request=request,
                )
            refused = getattr(request, "_upload_refused", None)
            if refused:
                return _refuse(request, *refused)
        return None
