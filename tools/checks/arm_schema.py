"""Checks an ARM request body against an excerpt of its REST API spec (Swagger 2.0 definitions), the way azapi's
plan-time schema validation does for the fields the excerpt covers: required properties, enums, JSON types,
unknown properties, read-only properties, and `objectType` discriminators resolved to their subtype.

Used on the body of the AKS vault-tier backup policy (reference/dataprotection_backup_policy.json).
"""

from __future__ import annotations

from typing import Any

LOCAL = "#/definitions/"
JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}


def _name(ref: str) -> str:
    return ref[len(LOCAL) :]


def _flatten(definitions: dict[str, Any], name: str) -> tuple[dict[str, Any], set[str], str | None]:
    """(properties, required, discriminator) of `name` with its allOf bases merged in."""
    node = definitions[name]
    properties: dict[str, Any] = {}
    required: set[str] = set()
    discriminator = node.get("discriminator")
    for part in node.get("allOf", []):
        props, req, disc = _flatten(definitions, _name(part["$ref"]))
        properties |= props
        required |= req
        discriminator = discriminator or disc
    return properties | node.get("properties", {}), required | set(node.get("required", [])), discriminator


def _subtype(definitions: dict[str, Any], base: str, value: Any) -> str | None:
    """The definition whose discriminator value is `value` and that derives from `base` (directly or not)."""

    def derives(name: str) -> bool:
        return name == base or any(derives(_name(p["$ref"])) for p in definitions[name].get("allOf", []))

    matches = [n for n, d in definitions.items() if d.get("x-ms-discriminator-value") == value and derives(n)]
    return matches[0] if matches else None


def violations(body: Any, definitions: dict[str, Any], root: str, path: str = "") -> list[str]:
    """What in `body` the definitions reject, as "path: reason" lines (empty: accepted)."""
    return _check(body, {"$ref": LOCAL + root}, definitions, path or "body")


def _check(value: Any, schema: dict[str, Any], definitions: dict[str, Any], path: str) -> list[str]:
    if "$ref" in schema:
        return _check_definition(value, _name(schema["$ref"]), definitions, path)
    expected = schema.get("type")
    if expected:
        # bool is an int in Python, never in JSON.
        ok = isinstance(value, bool) if expected == "boolean" else isinstance(value, JSON_TYPES[expected])
        if not ok or (expected != "boolean" and isinstance(value, bool)):
            return [f"{path}: expected {expected}, got {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: {value!r} is not one of {schema['enum']}"]
    if expected == "array":
        return [
            e
            for i, item in enumerate(value)
            for e in _check(item, schema.get("items", {}), definitions, f"{path}[{i}]")
        ]
    return []


def _check_definition(value: Any, name: str, definitions: dict[str, Any], path: str) -> list[str]:
    node = definitions[name]
    if node.get("type") != "object":
        return _check(value, node, definitions, path)
    if not isinstance(value, dict):
        return [f"{path}: expected object ({name}), got {type(value).__name__}"]
    properties, required, discriminator = _flatten(definitions, name)
    if discriminator:
        tag = value.get(discriminator)
        concrete = _subtype(definitions, name, tag)
        if concrete is None:
            return [f"{path}.{discriminator}: {tag!r} names no subtype of {name}"]
        if concrete != name:
            properties, required, _ = _flatten(definitions, concrete)
            name = concrete
    errors = [f"{path}: {name} requires {key!r}" for key in sorted(required - set(value))]
    for key, item in value.items():
        if key not in properties:
            errors.append(f"{path}.{key}: not a property of {name}")
        elif properties[key].get("readOnly"):
            errors.append(f"{path}.{key}: read-only in {name}")
        else:
            errors += _check(item, properties[key], definitions, f"{path}.{key}")
    return errors
