"""Every URL of the URLconf, for every kind of actor, answers what the table below says.

The URL list is read from ``get_resolver()``: a URL that is not in ``MATRIX`` fails the test
with its name. Adding one is one line in ``MATRIX``: its name, the objects its arguments
come from (a key of ``ARGS``), and the outcome for each actor in ``ACTORS`` order, for GET
and for an empty POST. Outcomes:

    ok   200                      L    redirect to a login page (allauth's or the admin's)
    R    any other redirect       4xx  that status (400 bad form, 403, 404, 405 wrong method)

Each request runs in a transaction that is rolled back, so every actor meets the same world
(a claim by one does not change what the next sees). The admin is covered per registered
model (its list, add and change pages) rather than by name.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest
from allauth.mfa.webauthn.internal.auth import WebAuthn
from django.contrib import admin
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from procedures.models import Agency
from procedures.roles import Role
from tests.conftest import APPLICANT, make_officer, make_user, new_draft, sign_in, walk_to
from tests.security.softkey import SoftKey
from workflows import services
from workflows.models import Channel, DossierTask, Status
from workflows.services import work

# Who asks. "outsider": the head of another province; "department": a specialist of a
# department of the dossiers' province; "other": a citizen who owns none of the dossiers.
ACTORS = (
    "anon",
    "citizen",
    "other",
    "reception",
    "specialist",
    "head",
    "signer",
    "outsider",
    "department",
    "supervisor",
    "admin",
)

#: name: (arguments from ARGS, GET outcomes, empty-POST outcomes), outcomes in ACTORS order.
#: The POST is left out ("") for pages that do the same for a POST as for a GET.
# fmt: off
MATRIX: dict[str, tuple[str, str, str]] = {
    # name                                  args           "ano cit oth rec spe hea sig out dep sup adm"  (GET, then an empty POST; "" = not sent)
    "set_language":                         ("",           "R   R   R   R   R   R   R   R   R   R   R  ", "R   R   R   R   R   R   R   R   R   R   R"),
    # Probes and metrics (config.health, config.metrics); /metrics from the test client's 127.0.0.1.
    "health_live":                          ("",           "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", "405 405 405 405 405 405 405 405 405 405 405"),
    "health_ready":                         ("",           "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", "405 405 405 405 405 405 405 405 405 405 405"),
    "metrics":                              ("",           "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", "405 405 405 405 405 405 405 405 405 405 405"),
    "account_login":                        ("",           "ok  R   R   R   R   R   R   R   R   R   R  ", "ok  R   R   R   R   R   R   R   R   R   R"),
    "account_logout":                       ("",           "R   ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", "R   R   R   R   R   R   R   R   R   R   R"),
    "account_inactive":                     ("",           "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", ""),
    "account_signup":                       ("",           "ok  R   R   R   R   R   R   R   R   R   R  ", "ok  R   R   R   R   R   R   R   R   R   R"),
    "account_reauthenticate":               ("",           "L   ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", "L   ok  ok  ok  ok  ok  ok  ok  ok  ok  ok"),
    "account_email":                        ("",           "L   ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", "L   R   R   R   R   R   R   R   R   R   R"),
    "account_email_verification_sent":      ("",           "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", ""),
    "account_change_password":              ("",           "L   ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", "L   ok  ok  ok  ok  ok  ok  ok  ok  ok  ok"),
    "account_set_password":                 ("",           "L   R   R   R   R   R   R   R   R   R   R  ", "L   R   R   R   R   R   R   R   R   R   R"),
    "account_reset_password":               ("",           "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok"),
    "account_confirm_login_code":           ("",           "L   R   R   R   R   R   R   R   R   R   R  ", "L   R   R   R   R   R   R   R   R   R   R"),
    "account_confirm_email":                ("email_key",  "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", "404 404 404 404 404 404 404 404 404 404 404"),
    "account_reset_password_from_key_done": ("",           "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", ""),
    "account_reset_password_from_key":      ("reset_key",  "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok"),
    "account_reset_password_done":          ("",           "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", ""),
    "mfa_index":                            ("",           "L   ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", "L   405 405 405 405 405 405 405 405 405 405"),
    "mfa_authenticate":                     ("",           "L   R   R   R   R   R   R   R   R   R   R  ", "L   R   R   R   R   R   R   R   R   R   R"),
    "mfa_reauthenticate":                   ("",           "L   R   R   ok  ok  ok  ok  ok  ok  ok  ok ", "L   R   R   ok  ok  ok  ok  ok  ok  ok  ok"),
    "mfa_activate_totp":                    ("",           "L   R   R   R   R   R   R   R   R   R   R  ", "L   R   R   R   R   R   R   R   R   R   R"),
    "mfa_deactivate_totp":                  ("",           "L   404 404 ok  ok  ok  ok  ok  ok  ok  ok ", "L   404 404 R   R   R   R   R   R   R   R"),
    "mfa_view_recovery_codes":              ("",           "L   404 404 ok  ok  ok  ok  ok  ok  ok  ok ", "L   405 405 405 405 405 405 405 405 405 405"),
    "mfa_generate_recovery_codes":          ("",           "L   R   R   ok  ok  ok  ok  ok  ok  ok  ok ", "L   R   R   R   R   R   R   R   R   R   R"),
    "mfa_download_recovery_codes":          ("",           "L   404 404 ok  ok  ok  ok  ok  ok  ok  ok ", "L   404 404 405 405 405 405 405 405 405 405"),
    # Security keys: a citizen (no password typed in these sessions) is first asked to
    # reauthenticate; only the head has a key ("key"): another's key is a 404; a failed key
    # reauthentication is sent to the login page by allauth itself.
    "mfa_list_webauthn":                    ("",           "L   ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", "L   405 405 405 405 405 405 405 405 405 405"),
    "mfa_add_webauthn":                     ("",           "L   R   R   ok  ok  ok  ok  ok  ok  ok  ok ", "L   R   R   ok  ok  ok  ok  ok  ok  ok  ok"),
    "mfa_reauthenticate_webauthn":          ("",           "L   R   R   R   R   ok  R   R   R   R   R  ", "L   R   R   R   R   L   R   R   R   R   R"),
    "mfa_edit_webauthn":                    ("key",        "L   R   R   404 404 ok  404 404 404 404 404", "L   R   R   404 404 ok  404 404 404 404 404"),
    "mfa_remove_webauthn":                  ("key",        "L   R   R   404 404 ok  404 404 404 404 404", "L   R   R   404 404 R   404 404 404 404 404"),
    # National sign-in (connectors.identity): off in the tests' settings, so 404; the
    # connections page is the account's own (linking is refused to staff at the callback).
    "openid_connect_login":                 ("provider",   "404 404 404 404 404 404 404 404 404 404 404", "404 404 404 404 404 404 404 404 404 404 404"),
    "openid_connect_callback":              ("provider",   "404 404 404 404 404 404 404 404 404 404 404", "404 404 404 404 404 404 404 404 404 404 404"),
    "socialaccount_connections":            ("",           "L   ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", "L   ok  ok  ok  ok  ok  ok  ok  ok  ok  ok"),
    "socialaccount_signup":                 ("",           "L   L   L   L   L   L   L   L   L   L   L  ", "L   L   L   L   L   L   L   L   L   L   L"),
    "socialaccount_login_cancelled":        ("",           "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", ""),
    "socialaccount_login_error":            ("",           "401 401 401 401 401 401 401 401 401 401 401", ""),
    "workspace:access_log":                 ("",           "L   403 403 403 403 ok  403 ok  403 ok  403", "L   403 403 403 403 ok  403 ok  403 ok  403"),
    "workspace:home":                       ("",           "L   403 403 R   R   R   R   R   R   R   403", ""),
    "workspace:queue":                      ("",           "L   403 403 ok  ok  ok  ok  ok  ok  ok  403", ""),
    "workspace:bulk_claim":                 ("",           "L   403 403 405 405 405 405 405 405 405 403", "L   403 403 R   R   R   R   R   R   R   403"),
    "workspace:inbox":                      ("",           "L   403 403 ok  ok  ok  ok  ok  ok  ok  403", ""),
    "workspace:done":                       ("",           "L   403 403 ok  ok  ok  ok  ok  ok  ok  403", ""),
    "workspace:team":                       ("",           "L   403 403 404 404 ok  404 ok  404 ok  403", ""),
    "workspace:dashboard":                  ("",           "L   403 403 403 403 ok  403 ok  403 ok  403", ""),
    "workspace:dashboard_dossiers":         ("",           "L   403 403 403 403 ok  403 ok  403 ok  403", ""),
    "workspace:service_index":              ("",           "L   403 403 403 403 ok  403 ok  403 ok  403", ""),
    "workspace:task":                       ("task",       "L   403 403 ok  404 ok  404 404 404 ok  403", ""),
    "workspace:claim":                      ("task",       "L   403 403 405 405 405 405 405 405 405 403", "L   403 403 R   404 R   404 404 404 R   403"),
    "workspace:release":                    ("task",       "L   403 403 405 405 405 405 405 405 405 403", "L   403 403 R   404 R   404 404 404 R   403"),
    "workspace:assign":                     ("task",       "L   403 403 405 405 405 405 405 405 405 403", "L   403 403 403 404 400 404 404 404 400 403"),
    "workspace:act":                        ("task",       "L   403 403 405 405 405 405 405 405 405 403", "L   403 403 R   404 R   404 404 404 R   403"),
    "workspace:dossier":                    ("submitted",  "L   403 403 ok  ok  ok  ok  404 ok  ok  403", ""),
    "workspace:reschedule":                 ("submitted",  "L   403 403 405 405 405 405 405 405 405 403", "L   403 403 403 403 403 403 404 403 403 403"),
    # The desk records a fee's payment; the submitted dossier's procedure is free (no fee: 404 for the desk).
    "workspace:fee_confirm":                ("submitted",  "L   403 403 405 405 405 405 405 405 405 403", "L   403 403 404 403 403 403 404 403 403 403"),
    "workspace:file_download":              ("component",  "L   403 403 ok  ok  ok  ok  404 ok  ok  403", ""),
    "workspace:certificate":                ("",           "L   403 403 ok  ok  ok  ok  ok  ok  ok  403", "L   403 403 400 400 400 400 400 400 400 403"),
    "workspace:file":                       ("",           "L   403 403 ok  403 403 403 403 403 403 403", ""),
    "workspace:file_new":                   ("desk",       "L   403 403 ok  403 403 403 403 403 403 403", "L   403 403 R   403 403 403 403 403 403 403"),
    "workspace:draft":                      ("desk_draft", "L   403 403 ok  404 404 404 404 404 404 403", "L   403 403 R   404 404 404 404 404 404 403"),
    "notifications:centre":                 ("",           "L   ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", ""),
    "notifications:mark_read":              ("",           "L   405 405 405 405 405 405 405 405 405 405", "L   R   R   R   R   R   R   R   R   R   R"),
    "notifications:preferences":            ("",           "L   ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", "L   ok  ok  ok  ok  ok  ok  ok  ok  ok  ok"),
    "notifications:sms_receipt":            ("",           "405 405 405 405 405 405 405 405 405 405 405", "404 404 404 404 404 404 404 404 404 404 404"),
    "documents:download":                   ("document",   "404 ok  404 ok  ok  ok  ok  404 ok  ok  404", ""),
    # The development CA's revocation list: public, as every CRL is; 404 here (no dev CA).
    "documents:crl":                        ("",           "404 404 404 404 404 404 404 404 404 404 404", "405 405 405 405 405 405 405 405 405 405 405"),
    "documents:verify":                     ("",           "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok"),
    "documents:verify_check":               ("",           "405 405 405 405 405 405 405 405 405 405 405", "400 400 400 400 400 400 400 400 400 400 400"),
    "documents:verify_code":                ("code",       "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", ""),
    "documents:verify_download":            ("code",       "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", ""),
    # The integration API (api/): a key, never a session; the schema and its docs are public.
    "api:schema":                           ("",           "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", "405 405 405 405 405 405 405 405 405 405 405"),
    "api:docs":                             ("",           "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", "405 405 405 405 405 405 405 405 405 405 405"),
    "api:agency-list":                      ("",           "401 401 401 401 401 401 401 401 401 401 401", "401 401 401 401 401 401 401 401 401 401 401"),
    "api:agency-detail":                    ("agency",     "401 401 401 401 401 401 401 401 401 401 401", "401 401 401 401 401 401 401 401 401 401 401"),
    "api:procedure-list":                   ("",           "401 401 401 401 401 401 401 401 401 401 401", "401 401 401 401 401 401 401 401 401 401 401"),
    "api:procedure-detail":                 ("procedure",  "401 401 401 401 401 401 401 401 401 401 401", "401 401 401 401 401 401 401 401 401 401 401"),
    "api:procedure-form-schema":            ("procedure",  "401 401 401 401 401 401 401 401 401 401 401", "401 401 401 401 401 401 401 401 401 401 401"),
    "api:procedure-version":                ("version",    "401 401 401 401 401 401 401 401 401 401 401", "401 401 401 401 401 401 401 401 401 401 401"),
    "api:dossier-list":                     ("",           "401 401 401 401 401 401 401 401 401 401 401", "401 401 401 401 401 401 401 401 401 401 401"),
    "api:dossier-detail":                   ("submitted",  "401 401 401 401 401 401 401 401 401 401 401", "401 401 401 401 401 401 401 401 401 401 401"),
    "api:dossier-timeline":                 ("submitted",  "401 401 401 401 401 401 401 401 401 401 401", "401 401 401 401 401 401 401 401 401 401 401"),
    "api:dossier-result":                   ("submitted",  "401 401 401 401 401 401 401 401 401 401 401", "401 401 401 401 401 401 401 401 401 401 401"),
    "api:dossier-supplement":               ("submitted",  "401 401 401 401 401 401 401 401 401 401 401", "401 401 401 401 401 401 401 401 401 401 401"),
    "api:dossier-withdraw":                 ("submitted",  "401 401 401 401 401 401 401 401 401 401 401", "401 401 401 401 401 401 401 401 401 401 401"),
    "api:statistics":                       ("",           "401 401 401 401 401 401 401 401 401 401 401", "401 401 401 401 401 401 401 401 401 401 401"),
    # Open statistics: public; a POST is refused (405).
    "opendata:index":                       ("",           "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", "405 405 405 405 405 405 405 405 405 405 405"),
    "opendata:json":                        ("",           "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", "405 405 405 405 405 405 405 405 405 405 405"),
    "opendata:csv":                         ("",           "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", "405 405 405 405 405 405 405 405 405 405 405"),
    "portal:home":                          ("",           "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", ""),
    "portal:procedure":                     ("procedure",  "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", ""),
    "portal:apply":                         ("procedure",  "L   ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", "L   ok  ok  ok  ok  ok  ok  ok  ok  ok  ok"),
    "portal:lookup":                        ("",           "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", "400 400 400 400 400 400 400 400 400 400 400"),
    "portal:after_login":                   ("",           "L   R   R   R   R   R   R   R   R   R   R  ", ""),
    "portal:profile":                       ("",           "L   ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", "L   ok  ok  ok  ok  ok  ok  ok  ok  ok  ok"),
    "portal:my_dossiers":                   ("",           "L   ok  ok  ok  ok  ok  ok  ok  ok  ok  ok ", ""),
    "portal:dossier":                       ("submitted",  "L   ok  404 404 404 404 404 404 404 404 404", ""),
    "portal:edit":                          ("draft",      "L   ok  404 404 404 404 404 404 404 404 404", "L   R   404 404 404 404 404 404 404 404 404"),
    "portal:review":                        ("draft",      "L   ok  404 404 404 404 404 404 404 404 404", "L   400 404 404 404 404 404 404 404 404 404"),
    "portal:receipt":                       ("issued",     "L   ok  404 404 404 404 404 404 404 404 404", ""),
    "portal:withdraw":                      ("submitted",  "L   405 405 405 405 405 405 405 405 405 405", "L   400 404 404 404 404 404 404 404 404 404"),
    "portal:rate":                          ("issued",     "L   405 405 405 405 405 405 405 405 405 405", "L   400 404 404 404 404 404 404 404 404 404"),
    "portal:result":                        ("issued",     "L   404 404 404 404 404 404 404 404 404 404", ""),
    "portal:file":                          ("component",  "L   ok  404 404 404 404 404 404 404 404 404", ""),
    # Online payment (connectors.payment): the citizen's own fee only (this dossier has none:
    # 404); the platform's callback is off here (no backend configured: 404). A payment's
    # owner and the callback with a platform are covered by tests/connectors/test_payment.py.
    "payment:start":                        ("submitted",  "L   405 405 405 405 405 405 405 405 405 405", "L   404 404 404 404 404 404 404 404 404 404"),
    "payment:callback":                     ("",           "405 405 405 405 405 405 405 405 405 405 405", "404 404 404 404 404 404 404 404 404 404 404"),
    "payment:return":                       ("payment",    "L   404 404 404 404 404 404 404 404 404 404", "L   405 405 405 405 405 405 405 405 405 405"),
    "payment:receipt":                      ("payment",    "L   404 404 404 404 404 404 404 404 404 404", "L   405 405 405 405 405 405 405 405 405 405"),
    # Webhook subscriptions (api.subscriptions): a session is no API key.
    "api:subscription-list":                ("",           "401 401 401 401 401 401 401 401 401 401 401", "401 401 401 401 401 401 401 401 401 401 401"),
    "api:subscription-detail":              ("subscription", "401 401 401 401 401 401 401 401 401 401 401", "401 401 401 401 401 401 401 401 401 401 401"),
    "api:subscription-deliveries":          ("subscription", "401 401 401 401 401 401 401 401 401 401 401", "401 401 401 401 401 401 401 401 401 401 401"),
    "api:subscription-resume":              ("subscription", "401 401 401 401 401 401 401 401 401 401 401", "401 401 401 401 401 401 401 401 401 401 401"),
    "api:subscription-rotate-secret":       ("subscription", "401 401 401 401 401 401 401 401 401 401 401", "401 401 401 401 401 401 401 401 401 401 401"),
    "api:subscription-replay":              ("delivery",   "401 401 401 401 401 401 401 401 401 401 401", "401 401 401 401 401 401 401 401 401 401 401"),
}
# fmt: on


# --- The world -------------------------------------------------------------------------------


@dataclass
class World:
    actors: dict
    objects: dict


@pytest.fixture
def world(
    procedure, province, other_province, citizen, officers, django_capture_on_commit_callbacks
):
    outsider = make_officer(Role.HEAD, other_province)
    department = make_officer(
        Role.SPECIALIST, Agency.objects.filter(parent=province).order_by("code").first()
    )
    with django_capture_on_commit_callbacks(execute=True):  # its receipt is rendered
        received = walk_to(Status.RECEIVED, procedure, province, citizen, officers)
    issued = walk_to(Status.ISSUED, procedure, province, citizen, officers)
    submitted = work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
    draft = new_draft(procedure, province, citizen)
    desk_draft = services.dossier_create(
        procedure=procedure,
        handling_agency=province,
        channel=Channel.DESK,
        by=officers["reception"],
        applicant=APPLICANT,
    )
    document = received.documents.order_by("pk").first()
    actors = {
        "anon": None,
        "citizen": citizen,
        "other": make_user("other-citizen"),
        **{role: officers[role] for role in ("reception", "specialist", "head", "signer")},
        "outsider": outsider,
        "department": department,
        "supervisor": officers["supervisor"],
        "admin": make_user("root", is_staff=True, is_superuser=True),
    }
    objects = {
        "procedure": procedure,
        "province": province,
        "issued": issued,
        "submitted": submitted,
        "draft": draft,
        "desk_draft": desk_draft,
        "task": DossierTask.objects.get(dossier=submitted, stage="reception"),
        "component": submitted.components.order_by("pk").first(),
        "document": document,
        # The head's security key, stored as allauth stores one.
        "key": WebAuthn.add(
            officers["head"],
            "USB key",
            SoftKey().register(
                {"publicKey": {"rp": {"id": "testserver"}, "challenge": b"0" * 16}}
            ),
        ).instance,
    }
    return World(actors, objects)


#: How to fill each kind of URL's arguments from the world.
ARGS = {
    "": lambda o: {},
    "task": lambda o: {"pk": o["task"].pk},
    "submitted": lambda o: {"pk": o["submitted"].pk},
    "issued": lambda o: {"pk": o["issued"].pk},
    "draft": lambda o: {"pk": o["draft"].pk},
    "desk_draft": lambda o: {"pk": o["desk_draft"].pk},
    "component": lambda o: {"pk": o["submitted"].pk, "component_pk": o["component"].pk},
    "document": lambda o: {"pk": o["document"].pk},
    "code": lambda o: {"code": o["document"].verification_code},
    "procedure": lambda o: {"code": o["procedure"].code},
    "agency": lambda o: {"code": o["province"].code},
    "version": lambda o: {"code": o["procedure"].code, "number": 1},
    "desk": lambda o: {"agency_code": o["province"].code, "procedure_code": o["procedure"].code},
    "email_key": lambda o: {"key": "no-such-key"},
    "reset_key": lambda o: {"uidb36": "zz", "key": "no-such-key"},
    "key": lambda o: {"pk": o["key"].pk},
    "provider": lambda o: {"provider_id": "vneid"},
    "subscription": lambda o: {"pk": 1},
    "delivery": lambda o: {"delivery_id": "00000000-0000-0000-0000-000000000000"},
    "payment": lambda o: {"reference": "MCNOSUCHPAYMENT"},
}


def _routes(resolver=None, namespace=""):
    """(name, pattern) of every named route, with its namespace."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = entry.namespace or ""
            yield from _routes(entry, f"{namespace}:{inner}".strip(":") if inner else namespace)
        elif isinstance(entry, URLPattern):
            # An unnamed route cannot be listed: name it in its URLconf.
            name = entry.name or f"<unnamed {entry.pattern}>"
            yield (f"{namespace}:{name}" if namespace else name), str(entry.pattern)


def _outcome(response) -> str:
    code = response.status_code
    if code == 200:
        return "ok"
    if code in (301, 302, 303):
        where = response["Location"]
        return "L" if ("/accounts/login/" in where or "/admin/login/" in where) else "R"
    return str(code)


def _request(client, user, method: str, url: str) -> str:
    """One request as ``user``, in a transaction rolled back afterwards."""
    jar = copy.deepcopy(client.cookies)
    with transaction.atomic():
        response = getattr(client, method)(url)
        transaction.set_rollback(True)
    client.cookies = jar  # a logout (or a login) leaves the next request's session alone
    return _outcome(response)


def _signed_in(client_factory, user):
    client = client_factory()
    if user is not None:
        sign_in(client, user)
    return client


# --- The tests ---------------------------------------------------------------------------------


def test_every_route_is_in_the_matrix():
    names = {name for name, _pattern in _routes() if not name.startswith("admin:")}
    missing = sorted(names - set(MATRIX))
    assert not missing, (
        "URLs not in tests/config/test_url_matrix.py MATRIX (add one line each, with the "
        f"outcome for every actor): {', '.join(missing)}"
    )
    stale = sorted(set(MATRIX) - names)
    assert not stale, f"MATRIX names URLs that no longer exist: {', '.join(stale)}"


def test_every_row_names_every_actor():
    for name, (args, get, post) in MATRIX.items():
        assert args in ARGS, f"{name}: unknown arguments {args!r}"
        assert len(get.split()) == len(ACTORS), f"{name} GET: one outcome per actor"
        assert post == "" or len(post.split()) == len(ACTORS), f"{name} POST: one per actor"
        for cell in (get + " " + post).split():
            assert cell in ("ok", "L", "R") or cell.isdigit(), f"{name}: unknown outcome {cell}"


def test_every_route_for_every_actor(world):
    from django.test import Client

    failures, actual = [], {}
    for actor in ACTORS:
        client = _signed_in(Client, world.actors[actor])
        for name, (args, get, post) in MATRIX.items():
            url = reverse(name, kwargs=ARGS[args](world.objects))
            for method, cells in (("get", get), ("post", post)):
                if not cells:
                    continue
                want = cells.split()[ACTORS.index(actor)]
                got = _request(client, world.actors[actor], method, url)
                actual.setdefault((name, method), {})[actor] = got
                if got != want:
                    failures.append(f"{method.upper()} {name} as {actor}: {got}, table says {want}")
    table = "\n".join(
        f'    "{name}" {method}: "{" ".join(cells[a] for a in ACTORS)}"'
        for (name, method), cells in actual.items()
    )
    assert not failures, "\n".join(failures) + "\n\nWhat each actor got:\n" + table


# Admin: for every registered model, its list, add and change pages. Only the administrator
# gets in; an officer or a citizen is sent to the admin's login page, never shown a 500.
ADMIN_ACTORS = ("anon", "citizen", "head", "supervisor", "admin")


def test_admin_pages_per_registered_model(world):
    from django.test import Client

    failures = []
    for actor in ADMIN_ACTORS:
        user = world.actors[actor]
        client = _signed_in(Client, user)
        for model, model_admin in admin.site._registry.items():
            meta = model._meta
            base = f"admin:{meta.app_label}_{meta.model_name}"
            obj = model._default_manager.order_by("pk").first()
            pages = [(f"{base}_changelist", [], "ok"), (f"{base}_add", [], "add")]
            if obj is not None:
                pages += [(f"{base}_change", [obj.pk], "ok"), (f"{base}_history", [obj.pk], "ok")]
            for name, args, kind in pages:
                got = _request(client, user, "get", reverse(name, args=args))
                if actor != "admin":
                    want = "L"
                elif kind == "add":
                    want = "ok" if model_admin.has_add_permission(_admin_request(user)) else "403"
                else:
                    want = "ok"
                if got != want:
                    failures.append(f"GET {name} as {actor}: {got}, expected {want}")
    assert not failures, "\n".join(failures)


def _admin_request(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request
