"""checkov (terraform_json) on every synthesized stack: 0 failed checks; skips only in .checkov.yaml."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from tools.checkov_gate import CHECKOV, CONFIG_FILE, check_stack, check_synth, format_results

pytestmark = pytest.mark.requires_tool(CHECKOV)  # tests/assurance/conftest.py


MAX_SKIPS = 15


def test_every_stack_passes_checkov(synth_dir: Path) -> None:
    results = check_synth(synth_dir)
    print(format_results(results))  # counts per stack, shown with -rA / on failure
    assert {result.stack for result in results} == {p.parent.name for p in (synth_dir / "stacks").glob("*/cdk.tf.json")}
    assert [f"{r.stack}: {f.check_id} {f.resource}" for r in results for f in r.failures] == []
    assert sum(result.passed for result in results) > 0


def test_gate_reports_a_planted_failure(tmp_path: Path) -> None:
    stack_dir = tmp_path / "stacks" / "planted"
    stack_dir.mkdir(parents=True)
    insecure_account = {
        "name": "plantedinsecure01",
        "resource_group_name": "rg",
        "location": "eastus2",
        "account_tier": "Standard",
        "account_replication_type": "LRS",
        "min_tls_version": "TLS1_0",
        "https_traffic_only_enabled": False,
        "public_network_access_enabled": True,
    }
    (stack_dir / "cdk.tf.json").write_text(
        json.dumps({"resource": {"azurerm_storage_account": {"planted": insecure_account}}})
    )
    result = check_stack(stack_dir)
    assert result.failed > 0
    assert "CKV_AZURE_44" in {failure.check_id for failure in result.failures}  # TLS 1.2 minimum


def test_skip_list_is_short_and_every_skip_has_a_reason() -> None:
    lines = CONFIG_FILE.read_text().splitlines()
    skips = [line for line in lines if re.match(r"\s*-\s*CKV", line)]
    assert len(skips) <= MAX_SKIPS
    assert [line for line in skips if not re.search(r"#\s*\S.{10,}", line)] == []


# Compensating assertions for global skips in .checkov.yaml that only some resources need.
def as_blocks(value: dict | list | None) -> list[dict]:
    """A nested block in synthesized JSON: one block is written as an object, several as a list."""
    return [] if value is None else [value] if isinstance(value, dict) else value


def _reference(resource_type: str, name: str) -> str:
    return "${" + f"{resource_type}.{name}.id" + "}"


def test_state_accounts_are_locked_down_instead(stacks: dict) -> None:
    accounts = stacks["bootstrap"]["resource"]["azurerm_storage_account"]
    assert accounts
    for account in accounts.values():
        assert account["network_rules"]["default_action"] == "Deny"
        assert account["public_network_access_enabled"] is False  # private endpoint only (CKV_AZURE_59, CKV2_AZURE_33)
        assert account["shared_access_key_enabled"] is False
        assert account["infrastructure_encryption_enabled"] is True


def test_every_other_storage_account_is_private_encrypted_with_a_customer_key_and_logged(stacks: dict) -> None:
    problems = []
    for stack_name, stack in stacks.items():
        if stack_name == "bootstrap":
            continue
        resources = stack.get("resource", {})
        endpoint_targets = {
            connection["private_connection_resource_id"]
            for endpoint in resources.get("azurerm_private_endpoint", {}).values()
            for connection in as_blocks(endpoint.get("private_service_connection"))
        }
        cmk_targets = {
            cmk["storage_account_id"]
            for cmk in resources.get("azurerm_storage_account_customer_managed_key", {}).values()
        }
        diagnostic_targets = {
            setting["target_resource_id"]
            for setting in resources.get("azurerm_monitor_diagnostic_setting", {}).values()
        }
        for name, account in resources.get("azurerm_storage_account", {}).items():
            reference = _reference("azurerm_storage_account", name)
            if account.get("public_network_access_enabled") is not False:
                problems.append(f"{stack_name}/{name}: public_network_access_enabled must be false")
            if reference not in endpoint_targets:
                problems.append(f"{stack_name}/{name}: no private endpoint")
            if reference not in cmk_targets and not account.get("customer_managed_key", {}).get("key_vault_key_id"):
                problems.append(f"{stack_name}/{name}: no customer-managed key")
            for service in ("blobServices", "queueServices"):  # stands in for CKV_AZURE_33 and CKV2_AZURE_21
                if not any(
                    reference.removesuffix("}") in target and service in target for target in diagnostic_targets
                ):
                    problems.append(f"{stack_name}/{name}: no diagnostic setting on its {service}")
    assert problems == []


def test_every_firewall_takes_threat_intelligence_deny_from_its_policy(stacks: dict) -> None:
    """Stands in for CKV_AZURE_216 (reads threat_intel_mode on the firewall, not on its policy) and CKV_AZURE_220
    (IDPS, Premium only): the hub's Premium policies deny both; the runners' Basic policies run threat intelligence
    in Alert, the only mode Basic has, and have no IDPS (their FQDN allow list is the control)."""
    tiers: list[str] = []
    for stack in stacks.values():
        resources = stack.get("resource", {})
        policies = resources.get("azurerm_firewall_policy", {})
        for firewall in resources.get("azurerm_firewall", {}).values():
            policy_name = firewall["firewall_policy_id"].removeprefix("${azurerm_firewall_policy.").removesuffix(".id}")
            policy = policies[policy_name]
            assert "threat_intel_mode" not in firewall  # a policy-attached firewall takes it from the policy
            assert policy["sku"] == firewall["sku_tier"]
            if firewall["sku_tier"] == "Basic":
                assert policy["threat_intelligence_mode"] == "Alert"
                assert "intrusion_detection" not in policy
            else:
                assert firewall["sku_tier"] == "Premium"
                assert policy["threat_intelligence_mode"] == "Deny"
                assert policy["intrusion_detection"]["mode"] == "Deny"
            tiers.append(firewall["sku_tier"])
    # one hub firewall (infra stack) and one runners' firewall (bootstrap) per environment
    assert sorted(tiers) == ["Basic", "Basic", "Premium", "Premium"]


# Azure's own subnets that take no NSG (the Azure Landing Zones "subnets without NSG" policy exempts the same).
SUBNETS_WITHOUT_NSG = frozenset({"GatewaySubnet", "AzureFirewallSubnet", "AzureFirewallManagementSubnet"})


def subnets_without_nsg(stacks: dict) -> tuple[list[str], int]:
    """(subnets that need an NSG and have none, subnets checked)."""
    problems, checked = [], 0
    for stack_name, stack in stacks.items():
        resources = stack.get("resource", {})
        associated = {
            association["subnet_id"]
            for association in resources.get("azurerm_subnet_network_security_group_association", {}).values()
        }
        for key, subnet in resources.get("azurerm_subnet", {}).items():
            if subnet["name"] in SUBNETS_WITHOUT_NSG:
                continue
            checked += 1
            if _reference("azurerm_subnet", key) not in associated:
                problems.append(f"{stack_name}/{key} ({subnet['name']}): no network security group")
    return problems, checked


def test_every_other_subnet_has_a_network_security_group(stacks: dict) -> None:
    """Stands in for CKV2_AZURE_31, skipped because it does not know AzureFirewallManagementSubnet."""
    problems, checked = subnets_without_nsg(stacks)
    assert problems == []
    assert checked > 10


def test_a_subnet_without_its_nsg_is_named(stacks: dict) -> None:
    broken = copy.deepcopy(stacks)
    associations = broken["bootstrap"]["resource"]["azurerm_subnet_network_security_group_association"]
    [key] = [k for k in associations if k.startswith("staging-deployment_runners-nsg-association")]
    del associations[key]
    problems, _ = subnets_without_nsg(broken)
    assert len(problems) == 1 and problems[0].startswith("bootstrap/staging-deployment_runners-subnet")


def test_every_event_hubs_primary_is_in_a_region_with_zones(stacks: dict) -> None:
    """Stands in for CKV_AZURE_228 on primaries: only the geo-DR secondary may sit in a region without zones."""
    zonal_regions = {"eastus", "eastus2", "centralus", "westus2", "westus3", "southcentralus"}
    primaries = [
        namespace
        for stack in stacks.values()
        for address, namespace in stack.get("resource", {}).get("azurerm_eventhub_namespace", {}).items()
        if "secondary" not in address
    ]
    assert len(primaries) == 2
    assert [namespace["name"] for namespace in primaries if namespace["location"] not in zonal_regions] == []


def test_every_registry_is_zone_redundant_and_replicas_wherever_their_region_has_zones(stacks: dict) -> None:
    """Stands in for CKV_AZURE_233, which also demands zone-redundant replicas in regions without zones (issue #15)."""
    from config.base import REGIONS_WITH_ZONES
    from config.loader import ENVIRONMENTS

    registries = [
        registry
        for stack in stacks.values()
        for registry in stack.get("resource", {}).get("azurerm_container_registry", {}).values()
    ]
    assert len(registries) == 2 * len(
        ENVIRONMENTS
    )  # per environment: the workloads' (infra) and the runners' (bootstrap)
    for registry in registries:
        assert registry["zone_redundancy_enabled"] is True
        for replica in registry.get("georeplications", []):
            assert replica["zone_redundancy_enabled"] is (replica["location"] in REGIONS_WITH_ZONES), replica


def test_every_workloads_registry_is_geo_replicated_to_the_paired_region(stacks: dict) -> None:
    """Stands in for CKV_AZURE_165 (skipped for the bootstrap's runner registries, which serve one region's runners
    and are rebuilt from runner-image/ by one command): the registries the clusters pull from are replicated."""
    from config.loader import ENVIRONMENTS, load_environment

    for environment in ENVIRONMENTS:
        config = load_environment(environment)
        registries = stacks[f"{environment}-infra"]["resource"]["azurerm_container_registry"].values()
        assert len(registries) == 1
        for registry in registries:
            assert config.registry.replicate_to_paired_region is True
            assert [replica["location"] for replica in as_blocks(registry.get("georeplications"))] == [
                config.paired_location
            ]


def test_every_kubernetes_image_is_a_pinned_version_from_an_allowed_registry(stacks: dict) -> None:
    """What backs the global CKV_K8S_43 skip (.checkov.yaml): every container image of every cluster stack has a
    version tag (never `latest`, never untagged) from the environment's registry or Microsoft's MCR."""
    images = [
        container["image"]
        for name, stack in stacks.items()
        if name.endswith("-cluster")
        for resource_type, by_name in stack.get("resource", {}).items()
        if resource_type.startswith("kubernetes_")
        for body in by_name.values()
        for container in _containers(body)
    ]
    assert len(images) >= 8  # 3 jobs and the collector's 2 containers, per environment
    bad = [
        image
        for image in images
        if not re.fullmatch(r"(\w+\.azurecr\.io|mcr\.microsoft\.com)/[\w./-]+:[\w.-]+", image)
        or image.endswith(":latest")
    ]
    assert bad == []
    assert not re.fullmatch(r"(\w+\.azurecr\.io|mcr\.microsoft\.com)/[\w./-]+:[\w.-]+", "docker.io/otel/x:0.1")


def _containers(node: object) -> list[dict]:
    if isinstance(node, dict):
        found = [c for c in node.get("container", []) if isinstance(c, dict) and "image" in c]
        return found + [c for key, value in node.items() if key != "container" for c in _containers(value)]
    if isinstance(node, list):
        return [c for item in node for c in _containers(item)]
    return []
