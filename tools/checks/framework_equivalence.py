"""The app's synthesized output on CDK for Terraform and on CDK Terrain: the same except `DIFFERENCES`.

`compare(cdktf_dir, cdktn_dir)` reads both trees (e.g. `cdktf.out` of `.venv/bin/python main.py` and of
`ERP_FRAMEWORK=cdktn .venv-cdktn/bin/python main.py`) and returns every difference that is not listed:

- files the frameworks write (`manifest.json`, each stack's `cdk.tf.json`): each listed difference is
  put into one form, the JSON is rendered again, and the renderings must be byte-identical. Each file
  must itself be exactly that rendering, except the layout of empty objects and arrays;
- every other file (assets): byte-identical as written.

    .venv/bin/python -m tools.checks.framework_equivalence cdktf.out cdktn.out     # exit 1 on an unlisted difference

docs/cdk-terrain.md lists the same differences with their reasons; tests/test_framework.py
asserts them on the real app.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

# (where, what changes, why): the only differences between the two frameworks' output.
DIFFERENCES = (
    (
        "manifest.json `version`, each stack's `//.metadata.version`",
        "0.21.0 → 0.24.0",
        "the framework's own version (cdktf 0.21.0, cdktn 0.24.0); metadata only, Terraform ignores `//`",
    ),
    (
        "`terraform.required_providers.azurerm.version`",
        "4.55.0 → 4.81.0",
        "the version the prebuilt bindings were generated for (cdktf-cdktf-provider-azurerm 14.23.1, "
        "cdktn-provider-azurerm 17.0.0)",
    ),
    (
        "`terraform.required_providers.kubernetes.version`",
        "2.38.0 → 3.4.0",
        "likewise (cdktf-cdktf-provider-kubernetes 12.1.1, cdktn-provider-kubernetes 17.1.0)",
    ),
    (
        "`terraform.required_providers.github.version`",
        "6.9.0 → 6.13.0",
        "likewise (cdktf-cdktf-provider-github 15.3.1, cdktn-provider-github 18.0.0): the github stack",
    ),
    (
        "`terraform.required_providers.kubernetes.source`",
        '"kubernetes" → "hashicorp/kubernetes"',
        "the newer bindings spell the source out; Terraform expands both to registry.terraform.io/"
        "hashicorp/kubernetes, the provider address in the state",
    ),
    (
        "`resource.kubernetes_namespace_v1.*.metadata`",
        "{…} → [{…}]",
        "kubernetes 3.x serves `kubernetes_namespace_v1` from its plugin framework, where `metadata` is "
        "a list block (at most one); the same single block to Terraform, whose JSON syntax accepts both",
    ),
    (
        "layout of empty objects and arrays",
        '"{\\n    }" → "{}"',
        "cdktf 0.21's writer breaks empty containers over two lines; whitespace only",
    ),
)
FRAMEWORK_WRITTEN = re.compile(r"(^|/)(manifest\.json|cdk\.tf\.json)$")
EMPTY_OBJECT, EMPTY_ARRAY = re.compile(r"\{\n\s*\}"), re.compile(r"\[\n\s*\]")
VERSIONED_PROVIDERS = ("azurerm", "kubernetes", "github")
ONE_BLOCK_NOW_LIST = (("kubernetes_namespace_v1", "metadata"),)


def compare(cdktf_dir: Path, cdktn_dir: Path) -> list[str]:
    """Every difference between the trees that `DIFFERENCES` does not explain (empty: equivalent)."""
    files = {framework: _files(root) for framework, root in (("cdktf", cdktf_dir), ("cdktn", cdktn_dir))}
    problems = [
        f"{name}: only in the {framework} output"
        for framework, other in (("cdktf", "cdktn"), ("cdktn", "cdktf"))
        for name in sorted(set(files[framework]) - set(files[other]))
    ]
    for name in sorted(set(files["cdktf"]) & set(files["cdktn"])):
        ours, theirs = files["cdktf"][name], files["cdktn"][name]
        if not FRAMEWORK_WRITTEN.search(name):
            if ours != theirs:
                problems.append(f"{name}: differs")
            continue
        for framework, raw in (("cdktf", ours), ("cdktn", theirs)):
            if _collapsed(raw.decode()) != _render(json.loads(raw)):
                problems.append(f"{name}: the {framework} file is laid out differently from its JSON's rendering")
        left, right = normalised(json.loads(ours)), normalised(json.loads(theirs))
        if _render(left) != _render(right):
            problems.extend(f"{name}: {path}" for path in _differing_paths(left, right))
    return problems


def normalised(data: Any) -> Any:
    """`data` (a parsed manifest.json or cdk.tf.json) with each listed difference in one form."""
    if not isinstance(data, dict):
        return data
    if isinstance(data.get("version"), str) and "stacks" in data:  # manifest.json
        data["version"] = "<framework version>"
    metadata = data.get("//", {}).get("metadata", {})
    if isinstance(metadata, dict) and "version" in metadata:
        metadata["version"] = "<framework version>"
    required = data.get("terraform", {}).get("required_providers", {})
    for name in VERSIONED_PROVIDERS:
        if name in required:
            required[name]["version"] = f"<{name} version>"
    if required.get("kubernetes", {}).get("source") == "kubernetes":
        required["kubernetes"]["source"] = "hashicorp/kubernetes"
    for resource_type, block in ONE_BLOCK_NOW_LIST:
        for resource in data.get("resource", {}).get(resource_type, {}).values():
            value = resource.get(block)
            if isinstance(value, list) and len(value) == 1:
                resource[block] = value[0]
    return data


def addresses(root: Path) -> dict[str, list[str]]:
    """Per stack, the Terraform addresses its state would hold (resources and data sources) and its outputs."""
    found = {}
    for path in sorted((root / "stacks").glob("*/cdk.tf.json")):
        stack = json.loads(path.read_text())
        found[path.parent.name] = sorted(
            [f"{kind}.{name}" for kind, items in stack.get("resource", {}).items() for name in items]
            + [f"data.{kind}.{name}" for kind, items in stack.get("data", {}).items() for name in items]
            + [f"output.{name}" for name in stack.get("output", {})]
        )
    return found


def _files(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def _render(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def _collapsed(text: str) -> str:
    return EMPTY_ARRAY.sub("[]", EMPTY_OBJECT.sub("{}", text))


def _differing_paths(left: Any, right: Any, path: str = "", limit: int = 20) -> list[str]:
    if isinstance(left, dict) and isinstance(right, dict) and list(left) == list(right):
        found: list[str] = []
        for key in left:
            found += _differing_paths(left[key], right[key], f"{path}/{key}", limit - len(found))
            if len(found) >= limit:
                break
        return found
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        found = []
        for index, (one, other) in enumerate(zip(left, right, strict=True)):
            found += _differing_paths(one, other, f"{path}/{index}", limit - len(found))
        return found[:limit]
    if isinstance(left, dict) and isinstance(right, dict):
        return [f"{path or '/'}: keys {list(left)[:8]} (cdktf) != {list(right)[:8]} (cdktn)"]
    if left == right and type(left) is type(right):
        return []
    show = lambda value: json.dumps(value, ensure_ascii=False)[:120]  # noqa: E731
    return [f"{path or '/'}: {show(left)} (cdktf) != {show(right)} (cdktn)"]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tools.checks.framework_equivalence CDKTF_OUT CDKTN_OUT", file=sys.stderr)
        return 2
    problems = compare(Path(argv[0]), Path(argv[1]))
    for problem in problems:
        print(problem)
    if not problems:
        print(f"equivalent: only the {len(DIFFERENCES)} listed differences (docs/cdk-terrain.md)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
