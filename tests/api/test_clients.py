"""API clients: keys shown once and stored hashed, scopes, revocation, rotation, the rate
limit, the record of calls, and problem details for every error."""

from __future__ import annotations

import io

import pytest
import time_machine
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from api import keys
from api.models import ApiCall, ApiClient
from api.services import api_client_create, api_client_revoke, api_client_rotate

from .conftest import Api, make_api_client

pytestmark = pytest.mark.django_db

SCHEMA = "/api/v1/schema/"


def test_the_key_is_stored_only_as_its_hash(province):
    client, key = make_api_client(province, ["catalog:read"])
    stored = ApiClient.objects.get(pk=client.pk)
    assert key not in (stored.key_hash, stored.key_prefix)
    assert stored.key_hash == keys.hash_key(key)
    assert key.startswith(f"mc_{stored.key_prefix}_")
    assert stored.user.has_usable_password() is False


def test_bad_scopes_and_names_are_refused(province):
    with pytest.raises(ValidationError) as exc:
        api_client_create(name="x", agency=province, scopes=["catalog:write"])
    assert "catalog:write" in str(exc.value)
    with pytest.raises(ValidationError):
        api_client_create(name="y", agency=province, scopes=[])
    make_api_client(province, name="same")
    with pytest.raises(ValidationError):
        make_api_client(province, name="same")


def test_command_creates_rotates_and_revokes(province):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "api_client",
        "create",
        "Cổng DVC",
        "--agency",
        province.code,
        "--scopes",
        "catalog:read,dossiers:read",
        stdout=out,
        stderr=err,
    )
    key = out.getvalue().strip()
    client = ApiClient.objects.get(name="Cổng DVC")
    assert keys.matches(key, client.key_hash)
    assert client.scopes == ["catalog:read", "dossiers:read"]
    out = io.StringIO()
    call_command("api_client", "rotate", "Cổng DVC", stdout=out, stderr=io.StringIO())
    new_key = out.getvalue().strip()
    assert new_key != key
    assert Api(key).get("/api/v1/schema/").status_code == 200  # the schema is public
    call_command("api_client", "revoke", "Cổng DVC", stdout=io.StringIO())
    assert ApiClient.objects.get(name="Cổng DVC").is_active is False
    with pytest.raises(CommandError, match="No agency"):
        call_command("api_client", "create", "x", "--agency", "NOPE", "--scopes", "catalog:read")
    with pytest.raises(CommandError, match="Unknown scope"):
        call_command(
            "api_client", "create", "x", "--agency", province.code, "--scopes", "everything"
        )


def test_schema_and_docs_are_served_without_a_cdn(client):
    schema = client.get(SCHEMA, HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    assert "drf_spectacular_sidecar" in html or "/static/" in html


def test_unknown_endpoint_is_a_problem_document(client):
    response = client.get("/api/v1/no-such-thing/", HTTP_ACCEPT_LANGUAGE="vi")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404 and body["instance"] == "/api/v1/no-such-thing/"


def test_revoked_and_rotated_keys_stop_working(province, django_user_model):
    client, key = make_api_client(province, ["catalog:read"])
    probe = "/api/v1/agencies/"
    assert Api(key).get(probe).status_code == 200
    new_key = api_client_rotate(client=client)
    old = Api(key).get(probe)
    assert old.status_code == 401
    assert old["Content-Type"] == "application/problem+json"
    assert old["WWW-Authenticate"].startswith("Bearer")
    assert Api(new_key).get(probe).status_code == 200
    api_client_revoke(client=client)
    revoked = Api(new_key, language="vi").get(probe)
    assert revoked.status_code == 401
    assert "thu hồi" in revoked.json()["detail"]


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer mc_zz_zz", "Bearer " + "x" * 5000],
)
def test_malformed_keys_are_401_never_500(province, client, header):
    response = client.get("/api/v1/agencies/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_no_key_is_401_and_wrong_scope_is_403(province):
    assert Api(None).get("/api/v1/agencies/").status_code == 401
    _client, key = make_api_client(province, ["dossiers:read"])
    response = Api(key).get("/api/v1/agencies/")
    assert response.status_code == 403
    assert "catalog:read" in response.json()["detail"]


@time_machine.travel("2026-11-30 09:00:10+07:00", tick=False)  # well inside one minute
def test_the_rate_limit_answers_429_with_retry_after(province, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    _client, key = make_api_client(province, ["catalog:read"], rate_limit=3)
    api = Api(key)
    codes = [api.get("/api/v1/agencies/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    throttled = api.get("/api/v1/agencies/")
    assert throttled["Content-Type"] == "application/problem+json"
    assert int(throttled["Retry-After"]) == 50  # the rest of the minute
    # Another client has its own budget.
    _other, other_key = make_api_client(province, ["catalog:read"], rate_limit=3)
    assert Api(other_key).get("/api/v1/agencies/").status_code == 200


@time_machine.travel("2026-11-30 09:00:10+07:00", tick=False)
def test_calls_refused_for_their_scope_count_against_the_rate_limit(province, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()  # another test's count, under the same client id and minute
    _client, key = make_api_client(province, ["dossiers:read"], rate_limit=3)
    api = Api(key)
    codes = [api.get("/api/v1/agencies/").status_code for _ in range(4)]  # no catalog:read
    assert codes == [403, 403, 403, 429]
    assert int(api.get("/api/v1/agencies/")["Retry-After"]) == 50
    # The same budget for the calls it may make: spent.
    assert api.get("/api/v1/dossiers/").status_code == 429


@time_machine.travel("2026-11-30 09:00:10+07:00", tick=False)
def test_an_allowed_call_is_counted_once(province, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    _client, key = make_api_client(province, ["catalog:read"], rate_limit=2)
    api = Api(key)
    assert [api.get("/api/v1/agencies/").status_code for _ in range(3)] == [200, 200, 429]
    assert Api(key).get("/api/v1/procedures/").status_code == 429


def test_every_call_is_recorded_without_bodies(province):
    client, key = make_api_client(province, ["dossiers:read"])
    Api(key).get("/api/v1/agencies/")  # 403: recorded too
    call = ApiCall.objects.get(client=client)
    assert call.method == "GET"
    assert call.endpoint == "/api/v1/agencies/"
    assert call.status_code == 403
    assert not hasattr(call, "body")
    client.refresh_from_db()
    assert client.last_used_at is not None


def test_errors_follow_accept_language(province):
    _client, key = make_api_client(province, ["dossiers:read"])
    vi = Api(key, language="vi").get("/api/v1/agencies/").json()
    en = Api(key, language="en").get("/api/v1/agencies/").json()
    assert vi["title"] != en["title"]


def test_old_call_records_and_idempotency_keys_are_pruned(province, settings):
    import datetime as dt

    from django.utils import timezone

    from api.models import IdempotentRequest
    from api.services import api_records_prune
    from api.tasks import prune_api_records

    client, _key = make_api_client(province, ["catalog:read"])
    now = timezone.now()
    days = settings.MOTCUA["API"]
    old_call = ApiCall.objects.create(client=client, method="GET", endpoint="/x", status_code=200)
    new_call = ApiCall.objects.create(client=client, method="GET", endpoint="/y", status_code=200)
    ApiCall.objects.filter(pk=old_call.pk).update(
        at=now - dt.timedelta(days=days["CALL_LOG_DAYS"] + 1)
    )
    old_key = IdempotentRequest.objects.create(client=client, key="a", fingerprint="f")
    new_key = IdempotentRequest.objects.create(client=client, key="b", fingerprint="f")
    IdempotentRequest.objects.filter(pk=old_key.pk).update(
        created_at=now - dt.timedelta(days=days["IDEMPOTENCY_DAYS"] + 1)
    )
    assert api_records_prune(now=now) == {"calls": 1, "idempotency_keys": 1, "deliveries": 0}
    assert list(ApiCall.objects.values_list("pk", flat=True)) == [new_call.pk]
    assert list(IdempotentRequest.objects.values_list("pk", flat=True)) == [new_key.pk]
    # The beat task
    assert prune_api_records() == {"calls": 0, "idempotency_keys": 0, "deliveries": 0}
