"""Links in messages sent by the outbox's workers (no request) start with SITE_URL."""

from __future__ import annotations

import re

from django.core import mail

from notifications.models import Preference
from tests.conftest import new_draft
from workflows.services import work


def test_a_mail_sent_without_a_request_links_to_the_site_url(
    settings, procedure, province, citizen, django_capture_on_commit_callbacks
):
    settings.MOTCUA = {**settings.MOTCUA, "SITE_URL": "http://127.0.0.1:8102"}
    citizen.email = "mai@example.org"
    citizen.save()
    Preference.objects.create(user=citizen, language="vi", email=True, sms=False)
    dossier = new_draft(procedure, province, citizen)
    with django_capture_on_commit_callbacks(execute=True):
        work.application_submit(dossier=dossier, by=citizen)
    assert len(mail.outbox) == 1
    links = re.findall(r"https?://\S+", mail.outbox[0].body)
    assert links, mail.outbox[0].body
    assert all(link.startswith("http://127.0.0.1:8102/") for link in links), links
