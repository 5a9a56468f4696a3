"""schemathesis against the live API with a real key: generated requests (valid and
invalid) for every operation in /api/v1/schema/; no answer may be a server error, and every
answer must conform to the schema (status code, content type, headers, body)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import APPLICANT, new_draft

from .conftest import make_api_client

pytestmark = pytest.mark.django_db(transaction=True)

ST = Path(sys.executable).with_name("st")
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


def test_the_api_conforms_to_its_schema(live_server, province, procedure, citizen, tmp_path):
    _client, key = make_api_client(province, rate_limit=100_000)
    # Something to read: a dossier in the client's agency.
    new_draft(procedure, province, citizen)
    assert APPLICANT["name"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": ""}
    # Real identifiers for the path parameters, so that generated requests reach past
    # the look-up (a fuzzed code alone would be a 404 every time).
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        "\n".join(
            [
                "[[operations]]",
                'include-path-regex = "^/api/v1/agencies/"',
                f'parameters = {{ "path.code" = "{province.code}" }}',
                "[[operations]]",
                'include-path-regex = "^/api/v1/procedures/"',
                f'parameters = {{ "path.code" = "{procedure.code}", "path.number" = 1 }}',
            ]
        )
    )
    result = subprocess.run(  # noqa: S603 - schemathesis from our venv, fixed arguments
        [
            str(ST),
            "--config-file",
            str(config),
            "run",
            f"{live_server.url}/api/v1/schema/",
            "--header",
            f"Authorization: Bearer {key}",
            "--checks",
            CHECKS,
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            os.environ.get("MOTCUA_SCHEMATHESIS_EXAMPLES", "30"),
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--generation-deterministic",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-8000:]
    assert "passed" in output.lower() or "No issues found" in output, output[-3000:]
