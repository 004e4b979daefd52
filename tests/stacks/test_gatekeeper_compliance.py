"""The cluster stacks' own workloads pass the Gatekeeper policies the infra stacks assign to the cluster.

A baseline job that breaks one of them would be rejected at admission (effect deny) only after apply.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from config.loader import ENVIRONMENTS, load_environment
from constructs.aspects.pod_security import POD_SPEC_PATHS
from constructs.image_pins import BY_DIGEST
from constructs.kubernetes_policy import load_template
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


def digest_pattern() -> re.Pattern[str]:
    """The k8simagedigests template's own pattern (its `regex.match`), run here with Python's re: the Rego itself
    runs only in Gatekeeper (no opa or gator here), and this pattern means the same in RE2."""
    rego = load_template("k8simagedigests")["spec"]["targets"][0]["rego"]
    (pattern,) = re.findall(r'regex\.match\("([^"]+)", c\.image\)', rego)
    return re.compile(pattern)


def rejected(images: list[str], exempt: list[str]) -> list[str]:
    """What the digest rule rejects: an image not by digest and not exempted by exact name."""
    return [image for image in images if not digest_pattern().search(image) and image not in exempt]


def workload_namespace(cluster: StackJson, resource: dict[str, Any]) -> str:
    namespace = first(resource["metadata"])["namespace"]
    for key, candidate in cluster["resource"]["kubernetes_namespace_v1"].items():
        if namespace == f"${{kubernetes_namespace_v1.{key}.metadata[0].name}}":
            return str(first(candidate["metadata"])["name"])
    return str(namespace)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_platform_workloads_pass_the_digest_rule_and_a_tag_only_image_is_rejected(
    stacks: dict[str, StackJson], environment: str
) -> None:
    infra_name, cluster_name = stack_names(environment)
    cluster = stacks[cluster_name]
    values = policy_values(stacks[infra_name], "k8simagedigests")
    namespaces, exempt = values["namespaces"], values["exemptImages"]
    assert digest_pattern().pattern == BY_DIGEST.pattern  # admission and synth mean the same thing by "digest"
    images = []
    for kind in POD_SPEC_PATHS:
        for address, resource in cluster.get("resource", {}).get(kind, {}).items():
            assert workload_namespace(cluster, resource) in namespaces, f"{kind}.{address} is outside the rule"
    for _, _, pod in pod_templates(cluster):
        images += [container["image"] for container in pod["container"]]
    assert len(images) == 4 and rejected(images, exempt) == []
    # Failing examples: a platform image by tag only, and an open item without its exemption.
    tag_only = images[0].split("@")[0]
    assert rejected([tag_only], exempt) == [tag_only]
    assert exempt and rejected(exempt, []) == exempt
