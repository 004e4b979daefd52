"""Gatekeeper policies as Azure Policy for Kubernetes: valid ConstraintTemplates embedded in custom definitions,
grouped in one initiative and assigned to the AKS cluster with the built-in restricted pod security initiative."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from config.governance import AKS_MANAGED_NAMESPACES
from config.schema import EnvironmentConfig
from constructs.image_pins import open_images
from constructs.kubernetes_policy import GATEKEEPER_POLICIES, POD_SECURITY_RESTRICTED, TEMPLATE_DIR, load_template
from tests.conftest import StackJson, only_resource, resources_of

CLUSTER_REFERENCE = re.compile(r"^\$\{azurerm_kubernetes_cluster\.[\w-]+\.id\}$")
# Terraform reads and Base64-encodes the template copied next to the stack (no Base64 blob in the JSON).
FILEBASE64 = re.compile(r'"\$\{filebase64\("(assets/[^"]+)"\)\}"')


def parse_rule(rule: str) -> tuple[dict, str]:
    """(policy rule with the template content replaced by "ASSET", the asset's path relative to the stack)."""
    (path,) = FILEBASE64.findall(rule)
    return json.loads(FILEBASE64.sub('"ASSET"', rule)), path


def test_every_template_file_is_used_once() -> None:
    assert sorted(p.stem for p in TEMPLATE_DIR.glob("*.json")) == sorted(p.template for p in GATEKEEPER_POLICIES)


@pytest.mark.parametrize("policy", GATEKEEPER_POLICIES, ids=lambda policy: policy.template)
def test_constraint_template_is_well_formed(policy) -> None:
    """Structure only: the Rego itself compiles only with opa/gator, which this environment does not have."""
    template = load_template(policy.template)
    assert template["apiVersion"] == "templates.gatekeeper.sh/v1" and template["kind"] == "ConstraintTemplate"
    name = template["metadata"]["name"]
    assert name == policy.template and name == name.lower()
    kind = template["spec"]["crd"]["spec"]["names"]["kind"]
    assert kind.lower() == name  # Gatekeeper requires metadata.name == lowercase(kind)
    (target,) = template["spec"]["targets"]
    assert target["target"] == "admission.k8s.gatekeeper.sh"
    assert target["rego"].startswith(f"package {name}\n") and "violation[" in target["rego"]
    properties = template["spec"]["crd"]["spec"]["validation"]["openAPIV3Schema"]["properties"]
    for parameter in properties:
        assert f"input.parameters.{parameter}" in target["rego"]


def test_definitions_embed_the_templates_for_the_add_on(
    infra: StackJson, config: EnvironmentConfig, synth_dir: Path, environment: str
) -> None:
    definitions = {d["name"]: d for d in resources_of(infra, "azurerm_policy_definition").values()}
    assert sorted(definitions) == sorted(f"{config.short_name}-{p.template}" for p in GATEKEEPER_POLICIES)
    for policy in GATEKEEPER_POLICIES:
        definition = definitions[f"{config.short_name}-{policy.template}"]
        assert definition["mode"] == "Microsoft.Kubernetes.Data" and definition["policy_type"] == "Custom"
        rule, asset = parse_rule(definition["policy_rule"])
        assert rule["if"] == {"field": "type", "in": ["Microsoft.ContainerService/managedClusters"]}
        assert rule["then"]["effect"] == "[parameters('effect')]"
        details = rule["then"]["details"]
        assert details["templateInfo"]["sourceType"] == "Base64Encoded"
        assert details["templateInfo"]["content"] == "ASSET" and asset.endswith(f"/{policy.template}.json")
        copied = synth_dir / "stacks" / f"{environment}-infra" / asset
        assert copied.read_bytes() == (TEMPLATE_DIR / f"{policy.template}.json").read_bytes()
        assert details["excludedNamespaces"] == "[parameters('excludedNamespaces')]"
        assert set(details["kinds"]) == {kind for kinds in policy.targets.values() for kind in kinds}
        parameters = json.loads(definition["parameters"])
        assert parameters["effect"]["allowedValues"] == ["audit", "deny", "disabled"]
        # Every constraint value is a definition parameter and a template property.
        properties = load_template(policy.template)["spec"]["crd"]["spec"]["validation"]["openAPIV3Schema"][
            "properties"
        ]
        scoped = {"namespaces"} if policy.namespaces else set()
        assert details.get("namespaces") == ("[parameters('namespaces')]" if scoped else None)
        assert set(details["values"]) == set(properties) == set(parameters) - {"effect", "excludedNamespaces"} - scoped


def test_initiative_fills_the_constraint_values_from_config(infra: StackJson, config: EnvironmentConfig) -> None:
    initiative = only_resource(infra, "azurerm_policy_set_definition")
    values = {
        ref["reference_id"]: json.loads(ref["parameter_values"]) for ref in initiative["policy_definition_reference"]
    }
    policy = config.governance.kubernetes_policy
    assert values["k8srequiredlabelsstrict"]["labels"]["value"] == list(policy.required_labels)
    assert values["k8scontainerlimitsrequired"]["resources"]["value"] == ["cpu", "memory"]
    registries = values["k8sallowedregistries"]["registries"]["value"]
    assert re.fullmatch(r"\$\{azurerm_container_registry\.[\w-]+\.login_server\}/", registries[0])
    assert registries[1:] == list(policy.additional_registries) and "mcr.microsoft.com/" in registries
    assert values["k8snamespacenetworkpolicy"]["label"]["value"] == policy.network_policy_label
    assert "password" in values["k8snoliteralsecretenv"]["namePattern"]["value"]
    # Digests in the platform's namespaces only; exempt: exactly the open items of reference/image_digests.json.
    assert values["k8simagedigests"]["namespaces"]["value"] == list(policy.digest_namespaces)
    assert values["k8simagedigests"]["exemptImages"]["value"] == list(open_images())
    for reference in values.values():
        assert reference["effect"] == {"value": "[parameters('effect')]"}


def test_cluster_gets_gatekeeper_and_restricted_pod_security(infra: StackJson, config: EnvironmentConfig) -> None:
    assignments = list(resources_of(infra, "azurerm_resource_policy_assignment").values())
    initiative = next(iter(resources_of(infra, "azurerm_policy_set_definition")))
    assert sorted(a["policy_definition_id"] for a in assignments) == sorted(
        [POD_SECURITY_RESTRICTED, f"${{azurerm_policy_set_definition.{initiative}.id}}"]
    )
    for assignment in assignments:
        assert CLUSTER_REFERENCE.match(assignment["resource_id"])
        parameters = json.loads(assignment["parameters"])
        assert parameters["effect"]["value"] == config.governance.kubernetes_policy.effect == "deny"
        assert parameters["excludedNamespaces"]["value"] == list(
            config.governance.kubernetes_policy.excluded_namespaces
        )
    assert (
        only_resource(infra, "azurerm_kubernetes_cluster")["azure_policy_enabled"] is True
    )  # the add-on runs Gatekeeper


def namespaces_aks_runs_pods_in(infra: StackJson) -> set[str]:
    """Namespaces that AKS, the enabled add-ons and the installed extensions run pods in, read from the stack."""
    (cluster,) = resources_of(infra, "azurerm_kubernetes_cluster").values()
    namespaces = {"kube-system", "aks-command"}  # core add-ons (ama-logs, ama-metrics, Defender, CSI); command invoke
    if cluster.get("azure_policy_enabled"):
        namespaces.add("gatekeeper-system")
    if cluster.get("web_app_routing"):
        namespaces.add("app-routing-system")
    namespaces |= {
        extension["release_namespace"]
        for extension in resources_of(infra, "azurerm_kubernetes_cluster_extension").values()
        if extension.get("release_namespace")
    }
    return namespaces


def unspared_namespaces(infra: StackJson) -> dict[str, list[str]]:
    """Deny-mode assignments on the cluster → the AKS-owned namespaces they would still evaluate."""
    needed = namespaces_aks_runs_pods_in(infra)
    found = {}
    for assignment in resources_of(infra, "azurerm_resource_policy_assignment").values():
        parameters = json.loads(assignment["parameters"])
        if parameters.get("effect", {}).get("value") != "deny":
            continue
        missing = sorted(needed - set(parameters.get("excludedNamespaces", {}).get("value", [])))
        if missing:
            found[assignment["name"]] = missing
    return found


def test_deny_assignments_spare_every_namespace_aks_and_its_extensions_own(infra: StackJson) -> None:
    assert namespaces_aks_runs_pods_in(infra) >= {"kube-system", "dataprotection-microsoft", "aks-command"}
    assert unspared_namespaces(infra) == {}
    for assignment in resources_of(infra, "azurerm_resource_policy_assignment").values():
        excluded = json.loads(assignment["parameters"])["excludedNamespaces"]["value"]
        assert set(AKS_MANAGED_NAMESPACES) <= set(excluded)


def test_unspared_namespace_check_rejects_the_old_four_namespace_list(infra: StackJson) -> None:
    """Failing example: the assignments as they were (four namespaces): the backup extension's and
    `az aks command invoke`'s pods would be rejected."""
    broken = copy.deepcopy(infra)
    old = ["kube-system", "gatekeeper-system", "azure-arc", "azure-extensions-usage-system"]
    for assignment in resources_of(broken, "azurerm_resource_policy_assignment").values():
        parameters = json.loads(assignment["parameters"])
        parameters["excludedNamespaces"]["value"] = old
        assignment["parameters"] = json.dumps(parameters)
    found = unspared_namespaces(broken)
    assert len(found) == 2
    for missing in found.values():
        assert {"aks-command", "dataprotection-microsoft"} <= set(missing)
