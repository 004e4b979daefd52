"""checkov (terraform_json) on every synthesized stack: 0 failed checks; skips only in .checkov.yaml."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from config.loader import ENVIRONMENTS
from constructs.image_pins import BY_DIGEST, open_images
from tools.checks.checkov_gate import (
    CHECKOV,
    CONFIG_FILE,
    StackResult,
    check_stack,
    check_synth,
    format_results,
    main,
    resource_name,
    unevaluated,
)

pytestmark = pytest.mark.requires_tool(CHECKOV)  # tests/assurance/conftest.py


MAX_SKIPS = 15


def test_every_stack_is_evaluated_and_passes_checkov(synth_dir: Path) -> None:
    results = check_synth(synth_dir)
    print(format_results(results))  # counts per stack, shown with -rA / on failure
    assert {result.stack for result in results} == {p.parent.name for p in (synth_dir / "stacks").glob("*/cdk.tf.json")}
    assert [f"{r.stack}: {f.check_id} {f.resource}" for r in results for f in r.failures] == []
    assert [f"{r.stack}: {error}" for r in results for error in r.errors] == []
    for result in results:  # each stack on its own: a stack checkov cannot read must not hide behind the others
        # the github provider's environments, rulesets, variables, and the alerting stacks' action groups and Logic
        # App workflow: types no checkov check covers (their rules are the project's: tests/constructs)
        if result.stack == "github" or result.stack.endswith("-alerting"):
            assert result.passed == 0 and result.resources > 0
            continue
        assert result.passed > 0 and len(result.evaluated) > 0, result.stack
    # the infra stacks hold `moved` blocks: scanned without them, and then evaluated like the others
    assert {r.stack for r in results if any(block.startswith("moved") for block in r.stripped)} >= {
        name for name in (r.stack for r in results) if name.endswith("-infra")
    }


def _planted_stack(tmp_path: Path, stacks: dict, stack: str, mutate) -> Path:
    stack_json = copy.deepcopy(stacks[stack])
    mutate(stack_json)
    stack_dir = tmp_path / "stacks" / stack
    stack_dir.mkdir(parents=True)
    (stack_dir / "cdk.tf.json").write_text(json.dumps(stack_json))
    return stack_dir


def _open_storage_account(stack_json: dict) -> None:
    account = stack_json["resource"]["azurerm_storage_account"][DATA_ACCOUNT]
    account.update(public_network_access_enabled=True, min_tls_version="TLS1_0", shared_access_key_enabled=True)


DATA_ACCOUNT = "data_storage_account_D5690619"


def test_gate_fails_on_an_open_storage_account_planted_in_the_real_infra_stack(tmp_path: Path, stacks: dict) -> None:
    assert "moved" in stacks["staging-infra"]  # the stack checkov 3.3 could not parse before the gate stripped it
    result = check_stack(_planted_stack(tmp_path, stacks, "staging-infra", _open_storage_account))
    failed = {(failure.check_id, resource_name(failure.resource)) for failure in result.failures}
    assert {
        ("CKV_AZURE_44", DATA_ACCOUNT),  # TLS 1.2 minimum
        ("CKV_AZURE_59", DATA_ACCOUNT),  # public network access
        ("CKV2_AZURE_40", DATA_ACCOUNT),  # shared key authorisation
    } <= failed
    assert not result.ok


def test_gate_fails_when_checkov_cannot_parse_the_stack(tmp_path: Path, stacks: dict, monkeypatch) -> None:
    """The original fault: checkov reads `moved` as a parse error and reports 0 failed. Unstripped, the gate fails."""
    monkeypatch.setattr("tools.checks.checkov_gate.UNPARSEABLE_BLOCKS", ())
    result = check_stack(_planted_stack(tmp_path, stacks, "staging-infra", _open_storage_account))
    assert result.failed == 0  # what checkov alone says
    assert not result.ok and any("could not parse" in error for error in result.errors)


def test_gate_fails_on_a_missing_or_unreadable_stack(tmp_path: Path) -> None:
    missing = check_stack(tmp_path / "stacks" / "gone")
    assert not missing.ok and "cannot read" in missing.errors[0]
    broken = tmp_path / "stacks" / "broken"
    broken.mkdir(parents=True)
    (broken / "cdk.tf.json").write_text('{"resource": ')
    assert not check_stack(broken).ok
    assert main([str(tmp_path / "empty")]) == 2  # no synth at all: could not read, exit 2


def test_gate_fails_on_a_stack_where_nothing_was_evaluated(tmp_path: Path, stacks: dict, monkeypatch) -> None:
    """checkov silently evaluating nothing (a report without results) on types it has checks for is a failure."""
    from tools.checks import checkov_gate

    _planted_stack(tmp_path, stacks, "staging-infra", lambda stack_json: None)
    monkeypatch.setattr(checkov_gate, "run_checkov", lambda _: {"summary": {"passed": 0, "failed": 0}, "results": {}})
    result = check_stack(tmp_path / "stacks" / "staging-infra")
    assert not result.ok and "nothing evaluated" in result.errors[0] and "azurerm_storage_account" in result.errors[0]


def test_a_stack_of_types_without_checks_is_listed_not_failed(tmp_path: Path) -> None:
    stack_dir = tmp_path / "stacks" / "opaque"
    stack_dir.mkdir(parents=True)
    (stack_dir / "cdk.tf.json").write_text(json.dumps({"resource": {"terraform_data": {"x": {"input": "y"}}}}))
    result = check_stack(stack_dir)
    assert result.ok and (result.passed, result.failed) == (0, 0)


def test_gate_fails_on_a_resource_left_unevaluated(tmp_path: Path, stacks: dict) -> None:
    """A partial parse: checkov evaluates storage accounts in bootstrap but (say) skipped the infra stack's one."""
    for stack in ("staging-infra", "bootstrap"):
        _planted_stack(tmp_path, stacks, stack, lambda stack_json: None)
    infra = check_stack(tmp_path / "stacks" / "staging-infra")
    bootstrap = check_stack(tmp_path / "stacks" / "bootstrap")
    partial = StackResult(**{**infra.__dict__, "evaluated": infra.evaluated - {DATA_ACCOUNT}})
    missed = unevaluated(tmp_path, [bootstrap, partial])
    assert missed == {"bootstrap": [], "staging-infra": [f"azurerm_storage_account.{DATA_ACCOUNT}"]}


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
    assert sorted(tiers) == ["Basic"] * len(ENVIRONMENTS) + ["Premium"] * len(ENVIRONMENTS)


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
    assert len(primaries) == len(ENVIRONMENTS)
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


def test_every_custom_dns_server_is_a_dns_proxying_firewall(stacks: dict) -> None:
    """Stands in for CKV_AZURE_183 (wants the DNS server inside the VNet's own range): a spoke resolves through the
    hub's Azure Firewall DNS proxy, so its only DNS server is that firewall's private IP, with the proxy enabled."""
    checked = 0
    for stack in stacks.values():
        resources = stack.get("resource", {})
        for name, network in resources.get("azurerm_virtual_network", {}).items():
            for server in network.get("dns_servers", []):
                match = re.fullmatch(
                    r"\$\{azurerm_firewall\.([\w-]+)\.ip_configuration\[0\]\.private_ip_address\}", server
                )
                assert match, f"{name}: DNS server {server} is not a firewall in the same stack"
                firewall = resources["azurerm_firewall"][match[1]]
                policy = firewall["firewall_policy_id"].removeprefix("${azurerm_firewall_policy.").removesuffix(".id}")
                assert resources["azurerm_firewall_policy"][policy]["dns"]["proxy_enabled"] is True
                checked += 1
    assert checked >= 2  # the spoke of each environment


def test_nothing_evaluated_fails_only_where_checkov_has_checks_for_the_stacks_types() -> None:
    """The github stack's types have no checkov check (its registry says so); an azurerm stack always has some, so
    0 evaluated there is a parse failure, not a pass."""
    from tools.checks.checkov_gate import types_with_checks

    types = types_with_checks()
    assert {"azurerm_storage_account", "azurerm_key_vault", "github_repository"} <= types
    assert not {"github_repository_environment", "github_repository_ruleset", "github_actions_variable"} & types


def test_every_kubernetes_image_is_by_digest_or_an_open_item_from_an_allowed_registry(stacks: dict) -> None:
    """What backs the global CKV_K8S_43 skip (.checkov.yaml): every container image of every cluster stack is
    `<repository>:<tag>@sha256:<digest>`, or an open item of reference/image_digests.json by its exact name, from the
    environment's registry or Microsoft's MCR."""
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
        if not re.fullmatch(r"(\w+\.azurecr\.io|mcr\.microsoft\.com)/[\w./-]+:[\w.-]+", image.split("@")[0])
        or image.endswith(":latest")
    ]
    assert bad == []
    assert not re.fullmatch(r"(\w+\.azurecr\.io|mcr\.microsoft\.com)/[\w./-]+:[\w.-]+", "docker.io/otel/x:0.1")
    tag_only = sorted({image for image in images if not BY_DIGEST.search(image)})
    assert tag_only == list(open_images())
    # Failing example: a registry copy that lost its digest is neither by digest nor an open item.
    stripped = next(image for image in images if BY_DIGEST.search(image)).split("@")[0]
    assert stripped not in open_images() and not BY_DIGEST.search(stripped)


def _containers(node: object) -> list[dict]:
    if isinstance(node, dict):
        found = [c for c in node.get("container", []) if isinstance(c, dict) and "image" in c]
        return found + [c for key, value in node.items() if key != "container" for c in _containers(value)]
    if isinstance(node, list):
        return [c for item in node for c in _containers(item)]
    return []
