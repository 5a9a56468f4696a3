"""Accessibility beyond the desktop window, in a real browser: the main citizen and officer
pages at a 360 px wide phone and at 200 % zoom (a 1280 px window zoomed: 640 CSS px at a
device scale of 2), each checked by axe-core with no serious or critical violation and
without a page-wide horizontal scroll (WCAG 1.4.10: tables scroll inside their own box);
then a login and a whole application done with the keyboard alone (Tab, Shift+Tab, Enter,
Space, arrows), the focus visible on every element it reaches."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from procedures.loader import load_agencies, load_procedures
from procedures.models import Agency, Procedure
from security import totp
from security.testing import TEST_TOTP_SECRET, sign_in, unused_code
from tests.conftest import make_officer, make_user, new_draft
from tests.security import vouched
from workflows.demo import minimal_pdf, minimal_png, sample_form_data
from workflows.models import Dossier, DossierTask, Status
from workflows.services import work

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "x-Pass-123!"

# A phone, and a 1280 × 800 window at 200 % zoom.
MODES = {
    "360px": {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2},
    "zoom200": {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2},
}

# The focused element and whether its focus indicator can be seen: an outline at least
# 2 px wide, or a ring of box-shadow, in a colour with a contrast of 3:1 or more against
# the background behind the element (WCAG 2.4.7, 1.4.11).
FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const rgb = (text) => {
    const m = (text || "").match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const [r, g, b, a] = m[1].split(",").map(Number);
    return a === 0 ? null : [r, g, b];
  };
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const contrast = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  let bg = null;
  for (let node = el.parentElement; node && !bg; node = node.parentElement) bg = rgb(getComputedStyle(node).backgroundColor);
  bg = bg || [255, 255, 255];
  const style = getComputedStyle(el);
  const colours = [];
  if (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2) colours.push(rgb(style.outlineColor));
  const shadow = style.boxShadow && style.boxShadow !== "none" ? style.boxShadow.match(/rgba?\\([^)]+\\)/g) || [] : [];
  shadow.forEach(c => colours.push(rgb(c)));
  const best = Math.max(0, ...colours.filter(Boolean).map(c => contrast(c, bg)));
  const label = el.id ? "#" + el.id : el.tagName.toLowerCase() + (el.name ? "[name=" + el.name + "]" : "") + (el.textContent ? " " + el.textContent.trim().slice(0, 30) : "");
  return {label, visible: best >= 3, contrast: Math.round(best * 10) / 10};
}"""

OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll("body *")].filter(el => {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 1) return false;
    // Inside a box that scrolls on its own (a table's), it is that box's business.
    for (let p = el.parentElement; p; p = p.parentElement) {
      if (["auto", "scroll"].includes(getComputedStyle(p).overflowX)) return false;
    }
    return true;
  });
  return {scroll: document.documentElement.scrollWidth - width,
          wide: wide.slice(0, 5).map(el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className ? "." + el.className : ""))};
}"""


def new_context(browser, base, *, mode="desktop", user=None):
    """A browser context of ``mode``, signed in as ``user`` with the session a finished
    login leaves (both factors for staff), refusing nothing the CSP refuses."""
    options = MODES.get(mode, {"viewport": {"width": 1280, "height": 900}})
    context = browser.new_context(locale="vi-VN", **options)
    if user is not None:
        client = sign_in(Client(), user)
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
    return context, page, refused


@pytest.fixture
def world(db):
    load_agencies()
    load_procedures()
    province = Agency.objects.get(code="H22")
    officers = {
        role: make_officer(role, province, f"{role}-a11y")
        for role in ("reception", "specialist", "head", "signer")
    }
    officers["specialist"].first_name = "Lò Thị Mai"
    officers["specialist"].save()
    citizen = vouched(make_user("citizen-a11y", first_name="Giàng A Páo"))
    procedure = Procedure.objects.get(code="1.012841")
    # One dossier at the review stage, held by the specialist; one just filed.
    dossier = work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
    task = DossierTask.objects.get(dossier=dossier, stage="reception")
    work.task_claim(task=task, by=officers["reception"])
    work.task_complete(task=task, by=officers["reception"], action="accept")
    review = DossierTask.objects.get(dossier=dossier, stage="review")
    work.task_claim(task=review, by=officers["specialist"])
    filed = work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
    return {
        "province": province,
        "officers": officers,
        "citizen": citizen,
        "procedure": procedure,
        "dossier": dossier,
        "filed": filed,
        "review": review,
    }


def pages(w) -> dict[str, list[tuple[str, str]]]:
    """(name, path) of the pages each kind of user uses most, by who sees them."""
    code = w["procedure"].code
    return {
        "anonymous": [
            ("catalog", "/"),
            ("procedure", f"/procedures/{code}/"),
            ("login", "/accounts/login/"),
            ("sign-up", "/accounts/signup/"),
            ("lookup", "/lookup/"),
            ("verify", "/verify/"),
        ],
        "citizen": [
            ("my dossiers", "/me/dossiers/"),
            ("dossier", f"/me/dossiers/{w['filed'].pk}/"),
            ("where to file", f"/procedures/{code}/apply/"),
            ("application form", f"/procedures/{code}/apply/?agency=H22"),
            ("profile", "/me/profile/"),
            ("notification preferences", "/notifications/preferences/"),
        ],
        "specialist": [
            ("queue", "/workspace/queue/"),
            ("inbox", "/workspace/inbox/"),
            ("done", "/workspace/done/"),
            ("task: propose", f"/workspace/tasks/{w['review'].pk}/"),
            ("dossier (officer)", f"/workspace/dossiers/{w['dossier'].pk}/"),
        ],
        "reception": [
            ("file at the desk", "/workspace/file/"),
            ("desk form", f"/workspace/file/H22/{code}/"),
        ],
        "head": [
            ("team", "/workspace/team/"),
            ("dashboard", "/workspace/dashboard/"),
            ("service index", "/workspace/service-index/"),
            ("who saw the dossiers", "/workspace/access/"),
        ],
        "signer": [("signing certificate", "/workspace/certificate/")],
    }


@pytest.mark.parametrize("mode", sorted(MODES))
def test_main_pages_on_a_phone_and_at_200_percent_zoom(browser, live_server, axe, world, mode):
    base = live_server.url
    problems: dict[str, object] = {}
    for who, visits in pages(world).items():
        user = None if who == "anonymous" else world["officers"].get(who, world["citizen"])
        context, page, refused = new_context(browser, base, mode=mode, user=user)
        try:
            for name, path in visits:
                response = page.goto(f"{base}{path}")
                assert response.status == 200, (name, path, response.status)
                assert page.locator("html").get_attribute("lang") == "vi"
                found = axe(page)
                if found:
                    problems[f"{name} (axe)"] = found
                overflow = page.evaluate(OVERFLOW)
                if overflow["scroll"] > 1:
                    problems[f"{name} (scrolls sideways)"] = overflow
        finally:
            context.close()
        assert not refused, refused
    assert problems == {}, problems


# --- The keyboard alone ----------------------------------------------------------------------


class Keyboard:
    """Tab through a page as a keyboard user does, noting every element that took the
    focus without showing it."""

    def __init__(self, page):
        self.page = page
        self.unseen: list[dict] = []
        self.visited: list[str] = []

    def press(self, key: str):
        self.page.keyboard.press(key)
        self._look()

    def _look(self):
        focus = self.page.evaluate(FOCUS)
        if focus is None:
            return
        self.visited.append(focus["label"])
        if not focus["visible"]:
            self.unseen.append({"url": self.page.url, **focus})

    def skip_to_content(self):
        """The first Tab reaches the skip link; Enter moves on to the page's content."""
        self.press("Tab")
        assert self.page.evaluate("document.activeElement.className") == "skip"
        self.page.keyboard.press("Enter")

    def tab_to(self, selector: str, limit: int = 40):
        for _ in range(limit):
            self.press("Tab")
            if self.page.evaluate("(s) => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"{selector} not reached with Tab from {self.visited[-limit:]}")


def test_logging_in_with_the_keyboard(browser, live_server, world):
    base = live_server.url
    officer = vouched(world["officers"]["head"])
    officer.set_password(PASSWORD)
    officer.save()
    totp.enrol(officer, TEST_TOTP_SECRET)
    context, page, refused = new_context(browser, base)
    try:
        page.goto(f"{base}/accounts/login/?next=/workspace/queue/")
        keys = Keyboard(page)
        keys.skip_to_content()
        keys.tab_to("#id_login")
        page.keyboard.type(officer.username)
        keys.tab_to("#id_password", limit=2)
        page.keyboard.type(PASSWORD)
        keys.tab_to("main form button[type=submit]")
        page.keyboard.press("Enter")  # leaves the page
        page.wait_for_url(f"{base}/accounts/2fa/authenticate/")
        keys.skip_to_content()
        keys.tab_to("#id_code")
        page.keyboard.type(unused_code(TEST_TOTP_SECRET, officer.username))
        page.keyboard.press("Enter")  # from the field: the form's own submit
        page.wait_for_url(f"{base}/workspace/queue/")
        # The workspace's tabs, filters and the task list by keyboard too.
        keys.skip_to_content()
        keys.tab_to("#id_q")
        keys.tab_to("form.filters button[type=submit]")
    finally:
        context.close()
    assert not refused, refused
    assert keys.unseen == [], keys.unseen


def _file_for(tmp_path, component) -> str:
    if "application/pdf" in component["content_types"]:
        path = tmp_path / f"{component['code']}.pdf"
        path.write_bytes(minimal_pdf(component["code"]))
    else:
        path = tmp_path / f"{component['code']}.png"
        path.write_bytes(minimal_png())
    return str(path)


def _date_order(page) -> str:
    """The order of a date field's parts in this browser: Chromium takes it from its own
    language (dd/mm/yyyy in a Vietnamese browser, mm/dd/yyyy in the test machine's),
    whatever the page's."""
    page.set_content('<input type="date" id="probe">')
    page.focus("#probe")
    page.keyboard.type("01022003")
    return {"2003-02-01": "dmy", "2003-01-02": "mdy"}[page.input_value("#probe")]


def _date_keys(iso: str, order: str) -> str:
    """What a user types into a date field, part after part as the field shows them."""
    year, month, day = iso.split("-")
    return {"dmy": f"{day}{month}{year}", "mdy": f"{month}{day}{year}"}[order]


def _choose_file(page):
    """The file dialog that Space opens on the focused file input. On a loaded machine
    Chromium now and then drops the first key press's activation (seen in CI, never
    alone): the citizen presses Space again, and so does the test, once."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(2):
        try:
            with page.expect_file_chooser(timeout=10_000) as chooser:
                page.keyboard.press("Space")
            return chooser.value
        except PlaywrightTimeout:
            if attempt:
                raise
    raise AssertionError("unreachable")


def test_applying_with_the_keyboard(browser, live_server, world, tmp_path):
    """The citizen's application, from the procedure page to the receipt: every field
    typed, a choice made with the arrows, a box ticked with Space, each file chosen from
    the dialog that Space opens, and the form sent with Enter."""
    base = live_server.url
    procedure = Procedure.objects.get(code="1.012843")  # full online, several field types
    spec = procedure.current_version.spec
    values = sample_form_data(spec)
    applicant = {
        "applicant_name": "Giàng A Páo",
        "applicant_id_number": "001190012345",
        "applicant_address": "Bản Cốc Lếu",
        "applicant_phone": "0987654321",
        "applicant_email": "pao@example.org",
    }
    files = {f"file_{c['code']}": _file_for(tmp_path, c) for c in spec["components"]}
    citizen = world["citizen"]
    context, page, refused = new_context(browser, base, user=citizen)
    try:
        order = _date_order(page)
        page.goto(f"{base}/procedures/{procedure.code}/")
        keys = Keyboard(page)
        keys.skip_to_content()
        keys.tab_to(f"a[href='/procedures/{procedure.code}/apply/']")
        page.keyboard.press("Enter")  # leaves the page
        page.wait_for_url(re.compile(r".*/apply/$"))
        # Where to file: the first agency's radio takes the focus; the arrows move the
        # choice to Lào Cai's committee (H22); Space confirms it.
        keys.skip_to_content()
        keys.tab_to("input[name=agency]")
        for _ in range(60):
            if page.evaluate("document.activeElement.value") == "H22":
                break
            keys.press("ArrowDown")
        keys.press("Space")
        assert page.is_checked("#agency-h22")
        keys.tab_to("main form button[type=submit]")
        page.keyboard.press("Enter")  # leaves the page
        page.wait_for_url(re.compile(r".*/apply/\?agency=H22$"))

        keys.skip_to_content()
        filled: dict[str, object] = {}
        for _ in range(80):
            keys.press("Tab")
            focused = page.evaluate(
                "() => { const e = document.activeElement;"
                " return {tag: e.tagName.toLowerCase(), type: e.type || '', name: e.name || '',"
                " id: e.id, value: e.value}; }"
            )
            name, kind = focused["name"], focused["type"]
            if focused["tag"] == "button" and name == "review":
                break
            if name in applicant:
                page.keyboard.press("Control+a")  # over what the profile filled in
                page.keyboard.type(applicant[name])
            elif name in files:
                chooser = _choose_file(page)
                chooser.set_files(files[name])
            elif focused["tag"] == "select" and name in values and not focused["value"]:
                keys.press("ArrowDown")
            elif kind == "date" and name in values:
                page.keyboard.type(_date_keys(values[name], order))
            elif kind == "checkbox" and name in values:
                keys.press("Space")
            elif focused["tag"] in ("input", "textarea") and name in values:
                page.keyboard.press("Control+a")
                page.keyboard.type(str(values[name]))
            else:
                continue
            filled[name] = page.evaluate("document.activeElement.value")
        else:
            raise AssertionError(f"never reached the button to file: {keys.visited[-20:]}")
        assert set(filled) == set(applicant) | set(files) | set(values), filled
        for name, value in applicant.items():
            assert page.input_value(f"[name={name}]") == value, name
        for field in spec["fields"]:
            typed = page.input_value(f"[name={field['name']}]")
            if field["type"] in ("choice", "ethnic_group"):
                assert typed, field["name"]  # the first choice, by the arrow
            else:
                assert typed == str(values[field["name"]]), field["name"]
        page.keyboard.press("Enter")  # leaves the page
        page.wait_for_url(re.compile(r".*/review/(#main)?$"))

        # The declaration, ticked with Space; Enter files the dossier.
        keys.skip_to_content()
        keys.tab_to("#id_declaration")
        keys.press("Space")
        assert page.is_checked("#id_declaration")
        keys.tab_to("main form button[type=submit]")
        page.keyboard.press("Enter")  # leaves the page
        # Filed: the dossier's page (its code and receipt come at reception); the skip
        # link's fragment stays through the redirect.
        page.wait_for_url(re.compile(r".*/me/dossiers/\d+/(#main)?$"))
    finally:
        context.close()
    assert not refused, refused
    dossier = Dossier.objects.filter(applicant_user=citizen, procedure_version__procedure=procedure)
    assert [d.status for d in dossier] == [Status.SUBMITTED]
    assert dossier.get().applicant_name == "Giàng A Páo"
    assert keys.unseen == [], keys.unseen
