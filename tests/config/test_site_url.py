"""Links point where the site is (issue #16, item 4): MOTCUA_SITE_URL in production,
checked; under `make run PORT=N`, the address served."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core import mail
from django.core.checks import run_checks
from django.urls import reverse

from config.siteurl import problem, site_url, url_for_address

ROOT = Path(__file__).resolve().parents[2]


def test_make_run_on_another_port_gives_that_port():
    assert site_url({"MOTCUA_SERVED_AT": "127.0.0.1:8102"}) == "http://127.0.0.1:8102"
    # A wildcard address is opened as the loopback; a bare port as runserver takes it.
    assert site_url({"MOTCUA_SERVED_AT": "0.0.0.0:8102"}) == "http://127.0.0.1:8102"
    assert url_for_address("::1:8102") == "http://[::1]:8102"
    assert url_for_address("8102") == "http://127.0.0.1:8102"
    assert url_for_address("motcua.local:80") == "http://motcua.local"
    with pytest.raises(ValueError, match="port"):
        url_for_address("127.0.0.1")


def test_an_explicit_site_url_wins_and_nothing_gives_runservers_default():
    environ = {"MOTCUA_SITE_URL": "https://dvc.example.gov.vn/", "MOTCUA_SERVED_AT": "x:1"}
    assert site_url(environ) == "https://dvc.example.gov.vn"
    assert site_url({}) == "http://127.0.0.1:8000"


def test_make_run_tells_every_process_the_address_it_serves():
    makefile = (ROOT / "Makefile").read_text()
    assert "run: export MOTCUA_SERVED_AT = $(HOST):$(PORT)" in makefile
    # The demo's papers, rendered by `make demo`, carry the same address in their QR codes.
    assert "demo: export MOTCUA_SERVED_AT = $(HOST):$(PORT)" in makefile


@pytest.mark.parametrize(
    "url",
    [
        "dvc.example.gov.vn",
        "ftp://dvc.example.gov.vn",
        "https://",
        "https://dvc.vn/motcua/x",
        "https://dvc.vn/?a=1",
        "https://u:p@dvc.vn",
        "http://dvc.vn:port",
    ],
)
def test_a_site_url_that_is_no_site_address_is_an_error(settings, url):
    assert problem(url)
    settings.MOTCUA = {**settings.MOTCUA, "SITE_URL": url}
    assert "motcua.E011" in {m.id for m in run_checks()}


def test_valid_site_urls_pass(settings):
    for url in ("https://dvc.example.gov.vn", "http://127.0.0.1:8102/", "http://[::1]:8000"):
        assert problem(url) is None, url
    settings.MOTCUA = {**settings.MOTCUA, "SITE_URL": "https://dvc.example.gov.vn"}
    assert "motcua.E011" not in {m.id for m in run_checks()}


def test_a_deployment_must_set_its_site_url(settings):
    settings.DEBUG = False
    settings.SITE_URL_FROM_ENVIRONMENT = False
    ids = {m.id for m in run_checks(include_deployment_checks=True)}
    assert "motcua.E012" in ids
    settings.SITE_URL_FROM_ENVIRONMENT = True
    assert "motcua.E012" not in {m.id for m in run_checks(include_deployment_checks=True)}


def test_sign_up_mail_greets_with_the_sites_name(client, db, settings):
    settings.MOTCUA = {**settings.MOTCUA, "SITE_URL": "http://127.0.0.1:8102"}
    client.post(
        reverse("account_signup"),
        {
            "email": "pao@example.org",
            "username": "giangapao",
            "password1": "Núi-cao-suối-sâu-42",
            "password2": "Núi-cao-suối-sâu-42",
        },
        HTTP_ACCEPT_LANGUAGE="vi",
        HTTP_HOST="127.0.0.1:8102",
    )
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "motcua xin kính chào!" in body
    assert "127.0.0.1:8102 xin kính chào" not in body
    assert re.search(r"http://127\.0\.0\.1:8102/accounts/confirm-email/\S+/", body), body
