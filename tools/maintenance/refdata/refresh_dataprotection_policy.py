"""reference/dataprotection_backup_policy.json: the request schema of a Backup vault policy
(`Microsoft.DataProtection/backupVaults/backupPolicies`) from Azure/azure-rest-api-specs, read by
tests/constructs/test_aks_vault_tier.py to check the body the AKS vault-tier policy sends through azapi.

Keeps the definitions reachable from `BaseBackupPolicyResource` (with every discriminator subtype of a reachable
base), without descriptions or `x-ms-enum` blocks, and without the common-types envelope (`ProxyResource`: id,
name, type and systemData are read-only and set by azapi from `name`/`parent_id`).

    .venv/bin/python -m tools.maintenance.refdata.refresh_dataprotection_policy <dataprotection.json> <commit>

The file is `specification/dataprotection/resource-manager/Microsoft.DataProtection/stable/<api>/dataprotection.json`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tools.maintenance.refdata.common import meta, write

ROOT = "BaseBackupPolicyResource"
ARM_TYPE = "Microsoft.DataProtection/backupVaults/backupPolicies"
SPEC_REPO = "Azure/azure-rest-api-specs"
SPEC_PATH = "specification/dataprotection/resource-manager/Microsoft.DataProtection/stable/{api}/dataprotection.json"
KEPT = ("type", "properties", "items", "required", "allOf", "discriminator", "x-ms-discriminator-value", "enum")
KEPT_LEAF = ("$ref", "type", "items", "enum", "format", "readOnly")
LOCAL = "#/definitions/"


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"][len(LOCAL) :]] if str(node.get("$ref", "")).startswith(LOCAL) else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def _strip(node: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in keys:
        if key not in node:
            continue
        value = node[key]
        if key == "properties":
            value = {name: _strip(prop, KEPT_LEAF) for name, prop in value.items()}
        elif key == "items":
            value = _strip(value, KEPT_LEAF)
        elif key == "allOf":
            value = [part for part in value if str(part.get("$ref", "")).startswith(LOCAL)]
            if not value:
                continue
        out[key] = value
    return out


def extract(spec: dict[str, Any]) -> dict[str, Any]:
    """The definitions reachable from ROOT, discriminator subtypes included, trimmed to what validates a body."""
    definitions = spec["definitions"]
    subtypes: dict[str, list[str]] = {}
    for name, node in definitions.items():
        for part in node.get("allOf", []):
            if str(part.get("$ref", "")).startswith(LOCAL) and "x-ms-discriminator-value" in node:
                subtypes.setdefault(part["$ref"][len(LOCAL) :], []).append(name)
    kept: dict[str, Any] = {}
    pending = [ROOT]
    while pending:
        name = pending.pop()
        if name in kept:
            continue
        kept[name] = _strip(definitions[name], KEPT)
        pending += _refs(kept[name]) + subtypes.get(name, [])
    return dict(sorted(kept.items()))


def main(argv: list[str]) -> int:
    spec_file, commit = Path(argv[0]), argv[1]
    spec = json.loads(spec_file.read_text())
    api = spec["info"]["version"]
    sources = [{"repo": SPEC_REPO, "path": SPEC_PATH.format(api=api), "commit": commit}]
    data = {
        "_meta": meta(sources=sources, script="tools.maintenance.refdata.refresh_dataprotection_policy"),
        "api_version": api,
        "arm_type": ARM_TYPE,
        "root": ROOT,
        "definitions": extract(spec),
    }
    write("dataprotection_backup_policy.json", data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
