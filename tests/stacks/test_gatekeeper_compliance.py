"""The cluster stacks' own workloads pass the Gatekeeper policies the infra stacks assign to the cluster.

A baseline job that breaks one of them would be rejected at admission (effect deny) only after apply.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from config.loader import ENVIRONMENTS, load_environment
from constructs.aspects.pod_security import POD_SPEC_PATHS
from stacks.app import stack_names
from tests.conftest import StackJson


def first(value: Any) -> dict[str, Any]:
    return value[0] if isinstance(value, list) else value


def pod_templates(cluster: StackJson) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(address, template metadata, pod spec) of every workload, whatever its kind."""
    for kind, path in POD_SPEC_PATHS.items():
        for name, resource in cluster.get("resource", {}).get(kind, {}).items():
            node = resource
            for key in path[:-1]:
                node = first(node[key])
            yield f"{kind}.{name}", first(node.get("metadata", {})), first(node[path[-1]])


def policy_values(infra: StackJson, reference_id: str) -> dict[str, Any]:
    """The parameter values the Gatekeeper initiative passes to one of its policies."""
    for initiative in infra["resource"]["azurerm_policy_set_definition"].values():
        for reference in initiative["policy_definition_reference"]:
            if reference["reference_id"] == reference_id:
                return {name: value["value"] for name, value in json.loads(reference["parameter_values"]).items()}
    raise AssertionError(f"no {reference_id} policy in the Gatekeeper initiative")


def allowed_registries(infra: StackJson) -> list[str]:
    """The allowed-registries prefixes, with the registry's login server reference resolved to its name."""
    ((registry_key, registry),) = infra["resource"]["azurerm_container_registry"].items()
    login_server = f"${{azurerm_container_registry.{registry_key}.login_server}}"
    return [
        prefix.replace(login_server, f"{registry['name']}.azurecr.io")
        for prefix in policy_values(infra, "k8sallowedregistries")["registries"]
    ]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_baseline_workloads_carry_required_labels_and_images_from_allowed_registries(
    stacks: dict[str, StackJson], environment: str
) -> None:
    infra_name, cluster_name = stack_names(environment)
    required_labels = policy_values(stacks[infra_name], "k8srequiredlabelsstrict")["labels"]
    registries = allowed_registries(stacks[infra_name])
    templates = list(pod_templates(stacks[cluster_name]))
    assert len(templates) == 3  # backup, compliance, the OpenTelemetry collector
    for address, metadata, pod in templates:
        assert set(required_labels) <= set(metadata.get("labels", {})), address
        for container in pod["container"]:
            assert any(container["image"].startswith(prefix) for prefix in registries), (
                address,
                container["image"],
                registries,
            )
            assert {"cpu", "memory"} <= set(first(container["resources"])["limits"]), address


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_namespace_attests_its_default_deny_policy(stacks: dict[str, StackJson], environment: str) -> None:
    cluster = stacks[stack_names(environment)[1]]
    label = load_environment(environment).governance.kubernetes_policy.network_policy_label
    namespaces = cluster["resource"]["kubernetes_namespace_v1"]
    policies = cluster["resource"]["kubernetes_network_policy_v1"]
    for namespace in namespaces.values():
        name = first(namespace["metadata"])["name"]
        assert first(namespace["metadata"])["labels"][label] == "default-deny", name
        deny_all = [
            p
            for p in policies.values()
            if first(p["metadata"])["name"] == "default-deny-all" and name in first(p["metadata"])["namespace"]
        ]
        assert deny_all, f"{name} carries the label but has no default-deny-all policy"
