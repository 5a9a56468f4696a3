"""The population register's sandbox: answers look-ups for the invented people of
connectors/sandbox_people.yaml, in the shape the production adapter reads
(connectors.population.national.WIRE), behind the same bearer token check.

Faults besides the common ones (connectors.sandbox): ``"wrong-shape"`` answers a found
person whose record breaks the published fields (an ethnic group outside the 54, no date
of birth), as a register that changed its format would.
"""

from __future__ import annotations

import re

from connectors.sandbox import Request, Response, Sandbox, people, register

from .national import WIRE

# The token the sandbox accepts unless told another (``token=``); the DEBUG settings send it.
TOKEN = "sandbox-population-token"  # noqa: S105 (a sandbox's, public by design)
SEX_CODES = {"male": "1", "female": "2"}


def wire_record(person: dict) -> dict:
    names = WIRE["fields"]
    return {
        names["id_number"]: person["id_number"],
        names["full_name"]: person["full_name"],
        names["date_of_birth"]: person["date_of_birth"].strftime(WIRE["date_format"]),
        names["sex"]: SEX_CODES.get(person.get("sex", ""), ""),
        names["ethnic_group"]: person["ethnic_group"],
        names["religion"]: person.get("religion") or "",
        names["home_town"]: person.get("home_town") or "",
        names["permanent_address"]: person.get("permanent_address") or "",
        names["current_address"]: person.get("current_address") or "",
        names["household_head"]: person.get("household_head") or "",
    }


@register
class PopulationSandbox(Sandbox):
    name = "population"
    port_offset = 1

    def __init__(self, **options):
        super().__init__(**options)
        self.token = options.get("token") or TOKEN
        self.people = {p["id_number"]: p for p in people()}

    def route(self, request: Request) -> Response | None:
        if request.path != WIRE["path"]:
            return None
        if request.method != "POST":
            return Response.json({WIRE["result_code"]: "405"}, status=405)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Response.json(
                {WIRE["result_code"]: "401", "ThongBao": "Xác thực không hợp lệ"}, status=401
            )
        try:
            body = request.json()
        except ValueError:
            body = None
        id_number = body.get(WIRE["request_id"]) if isinstance(body, dict) else None
        if not isinstance(id_number, str) or not re.fullmatch(r"[0-9]{12}", id_number):
            return Response.json(
                {WIRE["result_code"]: "400", "ThongBao": "Số định danh không hợp lệ"}, status=400
            )
        person = self.people.get(id_number)
        if person is None:
            return Response.json(
                {WIRE["result_code"]: WIRE["not_found"], "ThongBao": "Không tìm thấy công dân"}
            )
        record = wire_record(person)
        if self.fault == "wrong-shape":
            record[WIRE["fields"]["ethnic_group"]] = "99"
            record.pop(WIRE["fields"]["date_of_birth"])
        return Response.json({WIRE["result_code"]: WIRE["found"], WIRE["person"]: record})
