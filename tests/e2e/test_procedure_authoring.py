"""A catalog administrator in a browser: checks a broken YAML, previews the form and the
flow graph (drawn: the SVG image loads under the page's CSP), publishes a new version and
compares it with the old one."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from procedures.models import Procedure
from tests.conftest import make_user, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def admin_page(browser, live_server, catalog):
    base = live_server.url
    root = make_user("root", is_staff=True, is_superuser=True)
    client = sign_in(Client(), root)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}]
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    refused: list[str] = []
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    yield page, base
    context.close()
    assert not refused, refused


def test_check_preview_publish_and_compare(admin_page, tmp_path):
    page, base = admin_page
    procedure = Procedure.objects.get(code="1.012841")
    page.goto(base + reverse("admin:procedures_procedure_change", args=[procedure.pk]))
    page.click(f"a[href='{reverse('admin:procedures_procedure_yaml', args=[procedure.pk])}']")
    source = page.locator("#id_source")
    text = source.input_value()
    assert text.startswith('code: "1.012841"')

    broken = text.replace("time_limit_days: ", "time_limit_days: fifteen #", 1)
    source.fill(broken)
    page.click("button[value=check]")
    row = page.locator("#problems tr.problem")
    # The check answers with a new page: wait for it (a count taken at once can race it).
    expect(row).to_have_count(1)
    assert "time_limit_days" in row.locator("code").inner_text()
    assert page.locator("#id_source").input_value() == broken

    changed = text.replace("time_limit_days: ", "time_limit_days: 1", 1)
    page.locator("#id_source").fill(changed)
    page.click("button[value=preview]")
    expect(page.locator("#preview fieldset[disabled] input[name=full_name]")).to_have_count(1)
    graph = page.locator("#preview .flow-graph img")
    graph.wait_for()
    width = graph.evaluate("img => img.complete && img.naturalWidth")
    assert width and width > 100
    if os.environ.get("MOTCUA_E2E_SCREENSHOTS"):
        page.screenshot(path=str(tmp_path / "preview.png"), full_page=True)

    day = timezone.localdate() + dt.timedelta(days=10)
    page.fill("#id_effective_from", day.strftime("%d/%m/%Y"))
    page.click("button[value=publish]")
    page.wait_for_url(base + reverse("admin:procedures_procedure_versions", args=[procedure.pk]))
    assert page.locator("#diff .diff-add").filter(has_text="time_limit_days: 1").count() == 1
    assert page.locator("#diff .diff-remove").filter(has_text="time_limit_days: ").count() == 1
    assert procedure.versions.count() == 2
    if os.environ.get("MOTCUA_E2E_SCREENSHOTS"):
        page.screenshot(path=str(tmp_path / "versions.png"), full_page=True)
