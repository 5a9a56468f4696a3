"""The production adapter for the national population register.

Written to the published field list (domain.md, "Population register prefill"). The wire
names below are *unverified*: the real ones come with the deployment's connection
agreement (through the government data-exchange platform). They live in ``WIRE`` and
nowhere else, and the sandbox (connectors.population.sandbox) answers in the same shape,
so changing them here is the whole change.
"""

from __future__ import annotations

import datetime as dt
import re

from connectors import http
from procedures.ethnic_groups import ethnic_group_by_code

from .base import SYSTEM, Person, PopulationRegister, registry

WIRE = {
    # POST <URL><path> with {"<request_id>": "<12 digits>"}, the token as a bearer token.
    "path": "/api/v1/cong-dan/tra-cuu",
    "request_id": "SoDinhDanh",
    # The answer: a result code, and the person under "person" when found.
    "result_code": "MaKetQua",
    "found": "0",
    "not_found": "1",
    "person": "CongDan",
    # motcua's name -> the register's name
    "fields": {
        "id_number": "SoDinhDanh",
        "full_name": "HoVaTen",
        "date_of_birth": "NgaySinh",
        "sex": "GioiTinh",
        "ethnic_group": "DanToc",
        "religion": "TonGiao",
        "home_town": "QueQuan",
        "permanent_address": "NoiThuongTru",
        "current_address": "NoiOHienTai",
        "household_head": "ChuHo",
    },
    "date_format": "%Y%m%d",
    "sex_codes": {"1": "male", "2": "female", "": ""},
}

ID_NUMBER = re.compile(r"^[0-9]{12}$")
# Longer than any name or address the forms take: a longer one is not a person record.
TEXT_MAX = 500


def _malformed(detail: str) -> http.ConnectorError:
    return http.ConnectorError(SYSTEM, http.MALFORMED, detail)


def parse_person(record, id_number: str) -> Person:
    """The register's person record as a Person; MALFORMED names the first field at fault
    (never its value: the log must not carry personal data)."""
    if not isinstance(record, dict):
        raise _malformed("no person record")
    names = WIRE["fields"]
    values = {}
    for ours, theirs in names.items():
        value = record.get(theirs, "")
        if value is None:
            value = ""
        if not isinstance(value, str) or len(value) > TEXT_MAX:
            raise _malformed(theirs)
        values[ours] = value.strip()
    if values["id_number"] != id_number:  # an answer about someone else is no answer
        raise _malformed(names["id_number"])
    if not values["full_name"]:
        raise _malformed(names["full_name"])
    try:
        values["date_of_birth"] = dt.datetime.strptime(
            values["date_of_birth"], WIRE["date_format"]
        ).date()
    except ValueError:
        raise _malformed(names["date_of_birth"]) from None
    if values["sex"] not in WIRE["sex_codes"]:
        raise _malformed(names["sex"])
    values["sex"] = WIRE["sex_codes"][values["sex"]]
    if ethnic_group_by_code(values["ethnic_group"]) is None:
        raise _malformed(names["ethnic_group"])
    return Person(**values)


@registry.register("national")
class NationalPopulationRegister(PopulationRegister):
    """Options: URL (the register's base address), TOKEN (the bearer token the deployment
    obtains), TIMEOUT (seconds, default 3)."""

    def find(self, id_number: str) -> Person | None:
        if not ID_NUMBER.match(id_number or ""):
            raise http.ConnectorError(SYSTEM, http.REFUSED, "not a 12-digit ID number")
        url = str(self.options.get("URL") or "").rstrip("/")
        if not url:
            raise http.ConnectorError(SYSTEM, http.DOWN, "no URL configured")
        answer = http.call_json(
            SYSTEM,
            "POST",
            url + WIRE["path"],
            json={WIRE["request_id"]: id_number},
            headers={"Authorization": f"Bearer {self.options.get('TOKEN') or ''}"},
            timeout=self.timeout,
        )
        if not isinstance(answer, dict):
            raise _malformed("not an object")
        code = answer.get(WIRE["result_code"])
        if code == WIRE["not_found"]:
            return None
        if code != WIRE["found"]:
            if isinstance(code, str):
                raise http.ConnectorError(SYSTEM, http.REFUSED, f"result code {code[:20]}")
            raise _malformed(WIRE["result_code"])
        return parse_person(answer.get(WIRE["person"]), id_number)
