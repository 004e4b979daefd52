"""Every Kubernetes object the cluster stacks declare validates (strict) against the Kubernetes OpenAPI
schema of its cluster's version, with kubernetes-validate (its own tool venv, created by scripts/setup).

`kubernetes_manifest` bodies are free-form and checked as they are. The typed `kubernetes_*_v1` resources
(all the stacks have today) are turned into the manifests the provider sends: Terraform's snake_case
arguments in camelCase, its singular block names (`container`, `volume_mount`, `rule`) in the API's plural,
the numbers it takes as strings (`run_as_user`, `default_mode`) as integers, provider-only arguments
(`wait_for_completion`) dropped. The provider's types check each argument alone; this checks the objects
against the API server's schema (unknown fields, types, required fields).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from config.loader import ENVIRONMENTS, load_all

PROJECT_ROOT = Path(__file__).resolve().parents[2]
KUBERNETES_VALIDATE = PROJECT_ROOT / ".cache" / "tools" / "kubernetes-validate" / "bin" / "kubernetes-validate"


pytestmark = pytest.mark.requires_tool(KUBERNETES_VALIDATE)  # tests/assurance/conftest.py


# Custom resources have no schema in the Kubernetes OpenAPI spec; each kind must be listed here on purpose.
# NginxIngressController: the AKS application routing add-on's CRD (approuting.kubernetes.azure.com/v1alpha1);
# CiliumNetworkPolicy: Cilium's CRD (cilium.io/v2), installed by AKS with the Cilium dataplane.
CUSTOM_KINDS_WITHOUT_SCHEMA: set[str] = {"NginxIngressController", "CiliumNetworkPolicy"}


# Typed resource type → (apiVersion, kind).
KINDS = {
    "kubernetes_namespace_v1": ("v1", "Namespace"),
    "kubernetes_config_map_v1": ("v1", "ConfigMap"),
    "kubernetes_secret_v1": ("v1", "Secret"),
    "kubernetes_service_account_v1": ("v1", "ServiceAccount"),
    "kubernetes_limit_range_v1": ("v1", "LimitRange"),
    "kubernetes_resource_quota_v1": ("v1", "ResourceQuota"),
    "kubernetes_persistent_volume_claim_v1": ("v1", "PersistentVolumeClaim"),
    "kubernetes_network_policy_v1": ("networking.k8s.io/v1", "NetworkPolicy"),
    "kubernetes_cluster_role_v1": ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    "kubernetes_cluster_role_binding_v1": ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    "kubernetes_role_v1": ("rbac.authorization.k8s.io/v1", "Role"),
    "kubernetes_role_binding_v1": ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    "kubernetes_job_v1": ("batch/v1", "Job"),
    "kubernetes_cron_job_v1": ("batch/v1", "CronJob"),
    "kubernetes_deployment_v1": ("apps/v1", "Deployment"),
    "kubernetes_service_v1": ("v1", "Service"),
}
# Arguments of the provider, not of the object.
PROVIDER_ONLY = {"//", "depends_on", "lifecycle", "provider", "count", "for_each", "timeouts", "connection"}
PROVIDER_ONLY |= {"wait_for_completion", "wait_until_bound", "wait_for_rollout", "wait_for_default_secret"}
# Write-only arguments (never in state): the provider sends `data_wo` as the object's `data`.
WRITE_ONLY = {"data_wo": "data", "binary_data_wo": "binary_data"}
PROVIDER_ONLY |= {"data_wo_revision"}
# Maps whose keys are data (label names, resource names, file names): kept as they are.
VERBATIM = {"labels", "annotations", "data", "binary_data", "hard", "limits", "requests", "default"}
VERBATIM |= {"default_request", "max", "min", "max_limit_request_ratio", "match_labels", "node_selector"}
# Terraform's singular block names whose API field is plural (only when the value is a list).
PLURAL = {
    "container": "containers",
    "init_container": "initContainers",
    "volume": "volumes",
    "volume_mount": "volumeMounts",
    "port": "ports",
    "limit": "limits",
    "rule": "rules",
    "subject": "subjects",
    "secret": "secrets",
    "image_pull_secret": "imagePullSecrets",
    "toleration": "tolerations",
    "match_expression": "matchExpressions",
}
INTEGER_STRINGS = {"run_as_user", "run_as_group", "fs_group", "port", "replicas"}  # the provider parses them
OCTAL_STRINGS = {"default_mode", "mode"}


def camel(key: str) -> str:
    first, *rest = key.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


# Blocks of at most one item that the provider sends as an object (a probe's tcp_socket).
SINGLE_BLOCKS = {"tcp_socket"}


def api_value(key: str, value: object) -> object:
    if key in VERBATIM:
        return value
    if key in SINGLE_BLOCKS and isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, dict):
        value = {WRITE_ONLY.get(k, k): v for k, v in value.items()}
        return {api_key(k, v): api_value(k, v) for k, v in value.items() if k not in PROVIDER_ONLY}
    if isinstance(value, list):
        return [api_value(key, item) for item in value]
    if isinstance(value, str) and key in INTEGER_STRINGS and value.isdigit():
        return int(value)
    if isinstance(value, str) and key in OCTAL_STRINGS and value.isdigit():
        return int(value, 8)
    return value


def api_key(key: str, value: object) -> str:
    return PLURAL[key] if key in PLURAL and isinstance(value, list) else camel(key)


def manifest_of(resource_type: str, body: dict) -> dict:
    """The object the provider sends for a typed resource's Terraform arguments."""
    api_version, kind = KINDS[resource_type]
    if isinstance(metadata := body.get("metadata"), list) and len(metadata) == 1:
        # kubernetes 3.x (CDK Terrain) writes namespace_v1's metadata as a list block: the same one block
        body = {**body, "metadata": metadata[0]}
    converted = api_value("", body)
    assert isinstance(converted, dict)
    return {"apiVersion": api_version, "kind": kind, **converted}


def manifests_by_stack(stacks: dict) -> dict[str, dict[str, dict]]:
    """Stack → name → manifest, for every kubernetes_manifest and typed kubernetes_* resource."""
    found: dict[str, dict[str, dict]] = {}
    for stack_name, stack in stacks.items():
        for resource_type, by_name in stack.get("resource", {}).items():
            if not resource_type.startswith("kubernetes_"):
                continue
            for name, body in by_name.items():
                if resource_type == "kubernetes_manifest":
                    manifest = body["manifest"]
                else:
                    assert resource_type in KINDS, f"{resource_type}: add its apiVersion and kind to KINDS"
                    manifest = manifest_of(resource_type, body)
                found.setdefault(stack_name, {})[f"{resource_type}.{name}"] = manifest
    return found


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


def schema_problems(stacks: dict, workdir: Path) -> list[str]:
    """Every schema error of every cluster stack's objects; a cluster stack without objects, or a kind without a
    schema that is not listed as custom, is a problem too (the validator could not check it)."""
    problems = []
    found = manifests_by_stack(stacks)
    for stack_name in sorted(name for name in stacks if name.endswith("-cluster")):
        manifests = found.get(stack_name, {})
        if not manifests:
            problems.append(f"{stack_name}: no Kubernetes objects to validate")
            continue
        stack_dir = workdir / stack_name
        stack_dir.mkdir(parents=True)
        result = validate(manifests, kubernetes_version(stack_name), stack_dir)
        output = result.stdout + result.stderr
        if result.returncode != 0:
            problems.append(f"{stack_name}: kubernetes-validate exit {result.returncode}\n{output}")
        unchecked = {m["kind"] for m in manifests.values()} - CUSTOM_KINDS_WITHOUT_SCHEMA
        problems += [
            f"{stack_name}: {line}"
            for line in output.splitlines()
            if "Couldn't find schema" in line and any(f"kind {kind} " in line for kind in unchecked)
        ]
    return problems


def test_every_kubernetes_object_matches_the_cluster_schema(stacks: dict, tmp_path: Path) -> None:
    found = manifests_by_stack(stacks)
    assert sorted(found) == sorted(f"{environment}-cluster" for environment in ENVIRONMENTS)
    assert all(len(manifests) > 30 for manifests in found.values())
    assert schema_problems(stacks, tmp_path) == []


def test_validator_rejects_an_unknown_field(tmp_path: Path) -> None:
    bad = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "erp", "owner": "platform"}}
    result = validate({"bad": bad}, "1.33.0", tmp_path)
    assert result.returncode != 0
    assert "'owner' was unexpected" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("container.0.security_context.run_as_user", "root", "'root' is not of type 'integer'"),
        ("host_network_mode", True, "'hostNetworkMode' was unexpected"),
    ],
)
def test_a_wrong_field_in_a_typed_resource_fails_the_check(
    stacks: dict, tmp_path: Path, field: str, value: object, message: str
) -> None:
    """Failing examples on a real CronJob: a user name where the API wants a number, an unknown argument."""
    body = next(iter(stacks["production-cluster"]["resource"]["kubernetes_cron_job_v1"].values()))
    broken = json.loads(json.dumps(body))
    target = broken["spec"]["job_template"]["spec"]["template"]["spec"]
    *path, last = field.split(".")
    for part in path:
        target = target[int(part)] if part.isdigit() else target[part]
    target[last] = value
    result = validate({"cron": manifest_of("kubernetes_cron_job_v1", broken)}, "1.33.0", tmp_path)
    assert result.returncode != 0 and message in result.stdout + result.stderr, result.stdout + result.stderr


def test_typed_resources_become_api_objects() -> None:
    body = {
        "metadata": {"name": "p", "labels": {"app_name": "x"}},
        "spec": {"template": {"spec": {"container": [{"volume_mount": [{"mount_path": "/a"}]}]}}},
        "wait_for_completion": False,
    }
    assert manifest_of("kubernetes_job_v1", body) == {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "p", "labels": {"app_name": "x"}},
        "spec": {"template": {"spec": {"containers": [{"volumeMounts": [{"mountPath": "/a"}]}]}}},
    }
