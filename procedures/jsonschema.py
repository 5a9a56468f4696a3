"""A procedure version's form as a JSON Schema (draft 2020-12), so that an outside portal
can render the form and check it before submitting. The web form (procedures.forms) stays
the judge: what it refuses, the API refuses, with the same messages."""

from __future__ import annotations

_TEXT_MAX = {"text": 255, "id_number": 255, "textarea": 5000, "email": 254, "phone": 20}


def _property(field: dict) -> dict:
    rules = field.get("validation") or {}
    kind = field["type"]
    prop: dict = {
        "title": field["label"]["vi"],
        "x-title-en": field["label"]["en"],
        "x-motcua-type": kind,
    }
    if field.get("prefill"):
        # Filled by motcua from a national register for a citizen whose ID number is
        # verified (procedures.prefill); with readonly, kept as the register gave it.
        prop["x-motcua-prefill"] = field["prefill"]
        prop["x-motcua-readonly-when-prefilled"] = bool(field.get("readonly"))
    if field.get("help"):
        prop["description"] = field["help"]["vi"]
        prop["x-description-en"] = field["help"]["en"]
    if kind in _TEXT_MAX:
        prop["type"] = "string"
        prop["maxLength"] = rules.get("max_length") or _TEXT_MAX[kind]
        if rules.get("min_length") is not None:
            prop["minLength"] = rules["min_length"]
        if rules.get("pattern"):
            prop["pattern"] = rules["pattern"]
        if kind == "email":
            prop["format"] = "email"
        if kind == "phone" and not rules.get("pattern"):
            prop["pattern"] = r"^\+?[0-9 .-]{8,15}$"
    elif kind in ("integer", "decimal"):
        prop["type"] = "integer" if kind == "integer" else "number"
        if rules.get("min_value") is not None:
            prop["minimum"] = rules["min_value"]
        if rules.get("max_value") is not None:
            prop["maximum"] = rules["max_value"]
    elif kind == "date":
        prop.update(type="string", format="date")
    elif kind == "choice":
        prop["type"] = "string"
        prop["oneOf"] = [
            {"const": c["value"], "title": c["label"]["vi"], "x-title-en": c["label"]["en"]}
            for c in field["choices"]
        ]
    elif kind == "multichoice":
        prop["type"] = "array"
        prop["uniqueItems"] = True
        prop["items"] = {
            "oneOf": [
                {"const": c["value"], "title": c["label"]["vi"], "x-title-en": c["label"]["en"]}
                for c in field["choices"]
            ]
        }
        if field.get("required"):
            prop["minItems"] = 1
    elif kind == "boolean":
        prop["type"] = "boolean"
        if field.get("required"):
            prop["const"] = True
    return prop


def form_json_schema(spec: dict) -> dict:
    """The JSON Schema of ``spec``'s form data (``ProcedureVersion.spec``)."""
    fields = spec["fields"]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:motcua:procedure:{spec['code']}:form",
        "title": spec["name"]["vi"],
        "x-title-en": spec["name"]["en"],
        "type": "object",
        "additionalProperties": False,
        "properties": {f["name"]: _property(f) for f in fields},
        "required": [f["name"] for f in fields if f.get("required")],
        # The files the dossier needs, by component code (sent as multipart parts
        # named file_<code>).
        "x-components": [
            {
                "code": c["code"],
                "name": c["name"],
                "mandatory": c["mandatory"],
                "content_types": c["content_types"],
                "max_size_mb": c["max_size_mb"],
                "count": c.get("count", 1),
            }
            for c in spec["components"]
        ],
    }
