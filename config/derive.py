"""Values computed from others, so config/base.toml can state a rule once instead of each environment a value.

Two notations, resolved on the merged data before validation (so the schema's checks see final values):

- Placeholders: `{name}`, `{short_name}`, `{unique_suffix}` or any dotted key path in braces
  (`{network.spoke.api_server.address_prefix}`) inside a string is replaced by that key's final value:
  `storage_account_name = "{short_name}tfstate{unique_suffix}"` gives `stgtfstateerp01` in staging.
- Relative addresses: an address whose leading octets are `x` takes those octets from its network:
  a subnet's `address_prefix = "x.x.1.0/26"` inside `address_space = "10.241.0.0/16"` is `10.241.1.0/26`.
  Subnets are relative to their virtual network's `address_space`; `app_gateway.ingress_ip_address` to
  `network.spoke.address_space`.

A value that cannot be resolved (an unknown key, an invalid network) is left as written, and validation
then names its key.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")
RELATIVE = re.compile(r"^(x\.){1,3}")
# Values outside a virtual network's table that are relative to one: value key → the address space's key.
RELATIVE_TO = {("app_gateway", "ingress_ip_address"): ("network", "spoke", "address_space")}


def _get(data: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def relative_address(value: str, space: Any) -> str:
    """`x.x.1.0/26` within 10.241.0.0/16 → `10.241.1.0/26`; unchanged when not relative or space is invalid."""
    if not isinstance(space, str) or not RELATIVE.match(value):
        return value
    try:
        octets = str(ipaddress.IPv4Network(space, strict=True).network_address).split(".")
    except ValueError:
        return value
    parts = value.split(".")
    return ".".join(octets[index] if part == "x" else part for index, part in enumerate(parts))


Unresolved = dict[tuple[str, ...], tuple[str, ...]]


def _resolve_relative(data: dict[str, Any]) -> Unresolved:
    """Resolve in place; returns the relative addresses left as written → the address space they needed."""
    unresolved: Unresolved = {}

    def resolve(parent: dict[str, Any], path: tuple[str, ...], space_path: tuple[str, ...]) -> None:
        value = parent[path[-1]]
        parent[path[-1]] = relative_address(value, _get(data, space_path))
        if RELATIVE.match(parent[path[-1]]):
            unresolved[path] = space_path

    def walk(table: dict[str, Any], prefix: tuple[str, ...]) -> None:
        for key, value in table.items():
            if isinstance(value, dict):
                if "address_space" in table and isinstance(value.get("address_prefix"), str):
                    resolve(value, (*prefix, key, "address_prefix"), (*prefix, "address_space"))
                walk(value, (*prefix, key))

    walk(data, ())
    for path, space_path in RELATIVE_TO.items():
        parent = _get(data, path[:-1])
        if isinstance(parent, dict) and isinstance(parent.get(path[-1]), str):
            resolve(parent, path, space_path)
    return unresolved


def _fill(value: Any, data: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    if isinstance(value, list):
        return [_fill(item, data, seen) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, data, seen) for key, item in value.items()}
    if not isinstance(value, str) or "{" not in value:
        return value

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        found = _get(data, tuple(key.split(".")))
        if key in seen or not isinstance(found, str | int):
            return match.group(0)  # left for validation to report
        return str(_fill(found, data, (*seen, key)))

    return PLACEHOLDER.sub(replace, value)


def derive(data: dict[str, Any]) -> Unresolved:
    """Resolve relative addresses, then placeholders, in place. Keys keep the provenance of their template.
    Returns the relative addresses that could not be resolved → the key they depend on (for error messages)."""
    unresolved = _resolve_relative(data)
    resolved = _fill(data, data)
    data.clear()
    data.update(resolved)
    return unresolved
