"""Validate FHIR R4 JSON against HL7's official R4 JSON schema (see ``fhir_r4/SOURCE.md``).

Each resource is checked against its own definition, chosen by ``resourceType`` as the schema's
own discriminator says, and the Bundle around them against the Bundle definition: the same
verdict as the schema's ``oneOf`` over all 146 resource types, in seconds instead of a minute,
and with messages that name the resource and the path.
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from pathlib import Path

import jsonschema

SCHEMA = Path(__file__).parent / "fhir_r4" / "fhir.schema.json.gz"


@lru_cache(maxsize=1)
def _schema() -> dict:
    with gzip.open(SCHEMA, "rt", encoding="utf-8") as handle:
        schema = json.load(handle)
    assert schema["id"] == "http://hl7.org/fhir/json-schema/4.0"
    return schema


@lru_cache(maxsize=None)
def _validator(kind: str) -> jsonschema.Draft6Validator:
    schema = _schema()
    if kind not in schema["discriminator"]["mapping"]:
        raise ValueError(f"{kind!r} is not a FHIR R4 resource type")
    return jsonschema.Draft6Validator({"$ref": f"#/definitions/{kind}", "definitions": schema["definitions"]})


def r4_errors(document: dict) -> list[str]:
    """Every schema violation of a resource or Bundle, as 'Type/id path: message'; [] when valid."""
    errors = []
    resources = [document]
    if document.get("resourceType") == "Bundle":
        entries = document.get("entry", [])
        shell = {**document, "entry": [{k: v for k, v in e.items() if k != "resource"} for e in entries]}
        errors += _errors(shell)
        resources = [e["resource"] for e in document.get("entry", []) if "resource" in e]
    for resource in resources:
        if resource is not document:
            errors += _errors(resource)
    return errors


def _errors(resource: dict) -> list[str]:
    kind = resource.get("resourceType")
    if not isinstance(kind, str):
        return [f"(no resourceType): {json.dumps(resource)[:100]}"]
    name = f"{kind}/{resource.get('id', '?')}"
    try:
        validator = _validator(kind)
    except ValueError as exc:
        return [f"{name}: {exc}"]
    return [f"{name} {'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}"
            for e in validator.iter_errors(resource)]
