"""The production path: static files collected by the manifest storage, pages served from
its manifest with DEBUG off, security headers, and motcua's own error pages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[2]
MANIFEST_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"


@pytest.fixture
def collected(settings, tmp_path):
    """collectstatic as the README runs it: the manifest storage production uses."""
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST_STORAGE}}
    call_command("collectstatic", interactive=False, verbosity=0)
    return settings.STATIC_ROOT


def test_collectstatic_succeeds_with_the_manifest_storage(collected):
    manifest = json.loads((collected / "staticfiles.json").read_text())["paths"]
    assert "css/motcua.css" in manifest
    assert "admin/css/base.css" in manifest  # the admin's own files are collected
    # viewflow's front end is not served: its CSS names fonts the package lacks.
    assert not any(name.startswith("viewflow/") for name in manifest)
    assert (collected / manifest["css/motcua.css"]).exists()


@pytest.mark.django_db
def test_pages_are_served_from_the_manifest_with_debug_off(client, collected, catalog):
    # Django's test signals reset the storage object when STORAGES changes.
    from django.contrib.staticfiles.storage import staticfiles_storage

    hashed = staticfiles_storage.url("css/motcua.css")
    assert re.search(r"motcua\.[0-9a-f]{12}\.css$", hashed)
    for url in ("/", "/lookup/", "/verify/", "/accounts/login/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert hashed in response.content.decode(), url


@pytest.mark.django_db
def test_security_headers(client, catalog):
    response = client.get("/")
    csp = response["Content-Security-Policy"]
    directives = {
        part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()
    }
    for name in ("default-src", "script-src", "style-src"):
        assert directives[name] == ["'self'"], name
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    policy = response["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
        assert feature in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


HTML_TEMPLATES = [
    path
    for path in (ROOT / "templates").rglob("*.html")
    # Papers are rendered to PDF by WeasyPrint, never served as pages.
    if not path.is_relative_to(ROOT / "templates" / "documents" / "pdf")
    and not path.is_relative_to(ROOT / "templates" / "documents" / "results")
    and not path.name.endswith("_pdf.html")  # e.g. payment/receipt_pdf.html
]


@pytest.mark.parametrize("path", HTML_TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_needs_unsafe_inline(path):
    """The policy has no 'unsafe-inline': an inline script, style element, style attribute
    or event handler in a page would be blocked by the browser."""
    text = path.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>"
    assert "<style" not in text, "<style> element"
    assert not re.search(r"\sstyle=", text), "style attribute"
    assert not re.search(r"\son[a-z]+=", text), "event handler attribute"
    assert "javascript:" not in text


@pytest.mark.django_db
@override_settings(ALLOWED_HOSTS=["testserver"])
def test_a_bad_request_gets_motcuas_own_page(client):
    """A suspicious request (here a forged Host header) is answered with motcua's 400 page
    in Vietnamese, not the page viewflow's templates ship ("Django Material")."""
    response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    body = response.content.decode()
    assert "Material" not in body
    assert "Không thể hiểu yêu cầu" in body or "could not be understood" in body
    assert 'lang="vi"' in body
