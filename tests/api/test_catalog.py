"""The catalog over the API: agencies in the client's reach, procedures with their
versions, and each form as a JSON Schema that agrees with the web form's validation."""

from __future__ import annotations

import jsonschema
import pytest
from django.core.exceptions import ValidationError

from procedures.forms import clean_form_data
from procedures.jsonschema import form_json_schema
from procedures.models import Agency, Procedure
from workflows.demo import sample_form_data

from .conftest import Api, make_api_client

pytestmark = pytest.mark.django_db


def _all(api: Api, url: str, **params) -> list[dict]:
    """Every row of a list, page by page along the cursor."""
    rows, page = [], api.get(url, {"page_size": 1, **params})
    while True:
        assert page.status_code == 200, page.content
        body = page.json()
        rows += body["results"]
        if not body["next"]:
            return rows
        page = api.http.get(body["next"], headers=api.headers())


def test_agencies_are_those_in_reach(province, other_province):
    _client, key = make_api_client(province, ["catalog:read"])
    api = Api(key)
    codes = {row["code"] for row in _all(api, "/api/v1/agencies/")}
    expected = set(Agency.objects.filter(province.subtree_q()).values_list("code", flat=True))
    assert codes == expected and province.code in codes
    assert other_province.code not in codes
    assert api.get(f"/api/v1/agencies/{province.code}/").json()["code"] == province.code
    assert api.get(f"/api/v1/agencies/{other_province.code}/").status_code == 404
    assert api.get("/api/v1/agencies/", {"kind": "nonsense"}).status_code == 400


def test_procedures_are_those_handled_in_reach(province):
    central = Agency.objects.filter(kind=Agency.Kind.CENTRAL).first()
    _client, key = make_api_client(province, ["catalog:read"])
    codes = {row["code"] for row in _all(Api(key), "/api/v1/procedures/")}
    levels = {"province": set(), "central": set()}
    for p in Procedure.objects.select_related("current_version"):
        levels[p.current_version.agency_level].add(p.code)
    assert codes == levels["province"]
    _client, key = make_api_client(central, ["catalog:read"])
    assert {row["code"] for row in _all(Api(key), "/api/v1/procedures/")} == (
        levels["province"] | levels["central"]
    )


def test_a_version_lists_fields_components_and_stages(api, procedure):
    body = api.get(f"/api/v1/procedures/{procedure.code}/versions/1/").json()
    spec = procedure.current_version.spec
    assert [f["name"] for f in body["fields"]] == [f["name"] for f in spec["fields"]]
    assert [c["code"] for c in body["components"]] == [c["code"] for c in spec["components"]]
    assert [s["code"] for s in body["stages"]] == [s["code"] for s in spec["stages"]]
    assert api.get(f"/api/v1/procedures/{procedure.code}/versions/99/").status_code == 404
    bad = api.get(f"/api/v1/procedures/{procedure.code}/form-schema/", {"version": "x"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "version"


def _as_json(spec: dict, data: dict) -> dict:
    """The web form's sample values as an API client would send them (JSON types)."""
    kinds = {f["name"]: f["type"] for f in spec["fields"]}
    out = {}
    for name, value in data.items():
        if kinds[name] == "integer":
            value = int(value)
        elif kinds[name] == "decimal":
            value = float(value)
        elif kinds[name] == "boolean":
            value = bool(value)
        out[name] = value
    return out


@pytest.mark.parametrize("code", ["1.012841", "1.012842", "1.012843", "1.012844", "1.012845"])
def test_the_form_schema_agrees_with_the_web_form(catalog, code):
    # A central client reaches every procedure of the catalog.
    _client, key = make_api_client(Agency.objects.get(kind=Agency.Kind.CENTRAL), ["catalog:read"])
    api = Api(key)
    procedure = Procedure.objects.get(code=code)
    spec = procedure.current_version.spec
    schema = api.get(f"/api/v1/procedures/{code}/form-schema/").json()
    assert schema == form_json_schema(spec)
    jsonschema.Draft202012Validator.check_schema(schema)
    good = _as_json(spec, sample_form_data(spec))
    jsonschema.validate(good, schema)
    clean_form_data(spec, good)  # the web form's validation accepts it too
    # A missing required field, and a field the form does not have: both refuse.
    required = schema["required"]
    if required:
        bad = {k: v for k, v in good.items() if k != required[0]}
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
        with pytest.raises(ValidationError):
            clean_form_data(spec, bad)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**good, "no_such_field": "x"}, schema)
    with pytest.raises(ValidationError):
        clean_form_data(spec, {**good, "no_such_field": "x"})
