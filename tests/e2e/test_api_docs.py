"""The API's documentation pages render in Chromium from motcua's own files, under the
site's Content-Security-Policy (the `page` fixture fails on any CSP refusal), with no
request leaving the server."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_docs_render_locally(live_server, page, tmp_path):
    path = "/api/v1/docs/"
    origin = urlparse(live_server.url).netloc
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda request: (
            elsewhere.append(request.url)
            if urlparse(request.url).netloc not in (origin, "")
            and not request.url.startswith(("data:", "blob:"))
            else None
        ),
    )
    page.goto(live_server.url + path)
    # Swagger UI lists the operations once it has read the schema.
    page.get_by_text("/api/v1/procedures/", exact=False).first.wait_for()
    page.screenshot(path=str(tmp_path / "docs.png"), full_page=False)
    assert not elsewhere, elsewhere
