"""reference/policy_definitions.json: the built-in Azure Policy initiatives (policy set definitions) and policy
definitions the synthesized stacks assign or reference, with every parameter's type, default and allowed values.

Source: a snapshot of https://github.com/Azure/azure-policy (`built-in-policies/policySetDefinitions/**` and
`built-in-policies/policyDefinitions/**`, Azure public cloud only; the `Azure Government` and `Azure China`
folders are skipped). The ids come from the synthesized JSON (`policy_definition_id` of assignments,
`policy_definition_reference` of set definitions), so a new assignment is picked up by the next refresh.

    git clone --filter=blob:none https://github.com/Azure/azure-policy /tmp/azure-policy
    .venv/bin/python main.py
    .venv/bin/python -m tools.maintenance.refdata.refresh_policy /tmp/azure-policy/.git cdktf.out
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tools.maintenance.refdata.common import git_commit, git_show, meta, write

REPO = "Azure/azure-policy"
BUILT_IN = re.compile(r"^/providers/Microsoft\.Authorization/(policySetDefinitions|policyDefinitions)/([0-9a-f-]{36})$")
SOVEREIGN = ("Azure Government/", "Azure China/")


def referenced_ids(outdir: Path) -> set[str]:
    """Built-in definition ids (`/providers/Microsoft.Authorization/...`) anywhere in the synthesized stacks."""
    found: set[str] = set()
    for path in sorted((outdir / "stacks").glob("*/cdk.tf.json")):
        found |= set(
            re.findall(
                r"/providers/Microsoft\.Authorization/policy(?:Set)?Definitions/[0-9a-f-]{36}",
                path.read_text(),
            )
        )
    return found


def parameters(spec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, param in sorted(spec.get("parameters", {}).items()):
        entry: dict[str, Any] = {"type": param.get("type")}
        if "defaultValue" in param:
            entry["default"] = param["defaultValue"]
        if "allowedValues" in param:
            entry["allowed"] = param["allowedValues"]
        out[name] = entry
    return out


def find(git_dir: Path, commit: str, guid: str, kind: str) -> tuple[str, dict[str, Any]]:
    folder = f"built-in-policies/{kind}/"
    hits = subprocess.run(
        ["git", "--git-dir", str(git_dir), "grep", "-l", f'"name": "{guid}"', commit, "--", folder],
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    paths = [hit.split(":", 1)[1] for hit in hits if not any(part in hit for part in SOVEREIGN)]
    if not paths:
        raise SystemExit(f"{kind}/{guid} not found in {REPO}@{commit}")
    text = subprocess.run(
        ["git", "--git-dir", str(git_dir), "show", f"{commit}:{paths[0]}"], check=True, capture_output=True, text=True
    ).stdout
    return paths[0], json.loads(text)


def remediation_roles(git_dir: Path, commit: str) -> dict[str, list[str]]:
    """Built-in policy definition name (GUID) -> the `roleDefinitionIds` its deployIfNotExists/modify rule needs
    (`then.details.roleDefinitionIds`): what an assignment's managed identity must hold to remediate."""
    folder = "built-in-policies/policyDefinitions/"
    hits = subprocess.run(
        ["git", "--git-dir", str(git_dir), "grep", "-l", '"roleDefinitionIds"', commit, "--", folder],
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    roles: dict[str, list[str]] = {}
    for hit in hits:
        path = hit.split(":", 1)[1]
        if any(part in path for part in SOVEREIGN):
            continue
        doc = json.loads(git_show(git_dir, commit, path))
        details = doc["properties"].get("policyRule", {}).get("then", {}).get("details", {})
        ids = details.get("roleDefinitionIds") if isinstance(details, dict) else None
        if ids:
            roles[doc["name"]] = sorted({str(i).rsplit("/", 1)[-1].lower() for i in ids})
    return roles


def main(argv: list[str]) -> int:
    git_dir, outdir = Path(argv[0]), Path(argv[1])
    commit, date = git_commit(git_dir)
    definitions: dict[str, Any] = {}
    roles_of = remediation_roles(git_dir, commit)
    for definition_id in sorted(referenced_ids(outdir)):
        kind, guid = BUILT_IN.match(definition_id).groups()  # type: ignore[union-attr]
        path, doc = find(git_dir, commit, guid, kind)
        props = doc["properties"]
        definitions[definition_id] = {
            "display_name": props.get("displayName"),
            "version": props.get("metadata", {}).get("version"),
            "path": path,
            "parameters": parameters(props),
        }
        if kind == "policySetDefinitions":
            # Role definition GUIDs the members' deployIfNotExists/modify rules need (the assignment's identity).
            members = {m["policyDefinitionId"].rsplit("/", 1)[-1] for m in props.get("policyDefinitions", [])}
            definitions[definition_id]["remediation_role_definition_ids"] = sorted(
                {role for member in members for role in roles_of.get(member, [])}
            )
    data = {
        "_meta": meta(
            sources=[{"repo": REPO, "path": "built-in-policies/", "commit": commit, "date": date}],
            script="tools.maintenance.refdata.refresh_policy <azure-policy git dir> <cdktf.out>",
        ),
        "definitions": definitions,
    }
    print(write("policy_definitions.json", data))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
