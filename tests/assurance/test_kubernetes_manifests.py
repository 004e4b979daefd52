"""Every kubernetes_manifest body validates (strict) against the Kubernetes OpenAPI schema of its
cluster's version, with kubernetes-validate (its own tool venv, created by scripts/setup).

Typed kubernetes_* resources are checked by the provider's jsii types and checkov's CKV_K8S_* checks;
kubernetes_manifest bodies are free-form, so this is their only schema check. Until a stack declares
one, the test asserts explicitly that there are none, and starts checking as soon as one appears.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from config.loader import load_all
from tests.assurance.checkers import require_tool

PROJECT_ROOT = Path(__file__).resolve().parents[2]
KUBERNETES_VALIDATE = PROJECT_ROOT / ".cache" / "tools" / "kubernetes-validate" / "bin" / "kubernetes-validate"


@pytest.fixture(autouse=True)
def _checker_installed() -> None:
    require_tool(KUBERNETES_VALIDATE)


# Custom resources have no schema in the Kubernetes OpenAPI spec; each kind must be listed here on purpose.
# NginxIngressController: the AKS application routing add-on's CRD (approuting.kubernetes.azure.com/v1alpha1);
# CiliumNetworkPolicy: Cilium's CRD (cilium.io/v2), installed by AKS with the Cilium dataplane.
CUSTOM_KINDS_WITHOUT_SCHEMA: set[str] = {"NginxIngressController", "CiliumNetworkPolicy"}


def manifests_by_stack(stacks: dict) -> dict[str, dict[str, dict]]:
    return {
        stack_name: {name: resource["manifest"] for name, resource in found.items()}
        for stack_name, stack in stacks.items()
        if (found := stack.get("resource", {}).get("kubernetes_manifest"))
    }


def kubernetes_version(stack_name: str) -> str:
    versions = {config.name: config.aks.kubernetes_version for config in load_all()}
    environment = next(name for name in versions if stack_name.startswith(f"{name}-"))
    return f"{versions[environment]}.0"


def validate(manifests: dict[str, dict], version: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    files = []
    for name, manifest in manifests.items():
        path = workdir / f"{name}.json"
        path.write_text(json.dumps(manifest))
        files.append(str(path))
    return subprocess.run(
        [str(KUBERNETES_VALIDATE), "--strict", "--kubernetes-version", version, *files],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_every_kubernetes_manifest_matches_the_cluster_schema(stacks: dict, tmp_path: Path) -> None:
    found = manifests_by_stack(stacks)
    if not found:
        assert sum(len(stack.get("resource", {}).get("kubernetes_manifest", {})) for stack in stacks.values()) == 0
        return
    for stack_name, manifests in found.items():
        workdir = tmp_path / stack_name
        workdir.mkdir()
        result = validate(manifests, kubernetes_version(stack_name), workdir)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        unchecked = {m["kind"] for m in manifests.values()} - CUSTOM_KINDS_WITHOUT_SCHEMA
        assert [
            line
            for line in output.splitlines()
            if "Couldn't find schema" in line and any(f"kind {kind} " in line for kind in unchecked)
        ] == []


def test_validator_rejects_an_unknown_field(tmp_path: Path) -> None:
    bad = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "erp", "owner": "platform"}}
    result = validate({"bad": bad}, "1.33.0", tmp_path)
    assert result.returncode != 0
    assert "'owner' was unexpected" in result.stdout + result.stderr
