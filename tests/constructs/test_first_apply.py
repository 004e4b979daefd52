"""First apply in one pass (each construct orders its own resources: `after_access` in constructs/interfaces.py,
`writes_after` on the data-plane writers, the firewall's rules) and the infra side of the deploy path
(constructs/deployer_access.py), asserted on every resource of the types concerned, in both environments."""

from __future__ import annotations

import itertools
import json

import cdktf
import pytest
from cdktf_cdktf_provider_azurerm.provider import AzurermProvider
from cdktf_cdktf_provider_azurerm.role_assignment import RoleAssignment
from cdktf_cdktf_provider_azurerm.storage_account import StorageAccount

from config.loader import load_environment
from constructs.deployer_access import APPLY_CLUSTER_ROLE, DeployerAccess, DeployerAccessProps
from constructs.deployment import deployment_names
from constructs.interfaces import CREATE_TIME_ACCESS_CHECKS, RBAC_PROPAGATION, after_access
from constructs.naming import Naming
from stacks.app import stack_names
from tests.conftest import resources_of


def _address(resource_type: str, key: str) -> str:
    return f"{resource_type}.{key}"


def test_data_plane_objects_wait_for_their_endpoint_dns_links_peering_and_role(stacks, environment: str) -> None:
    infra = stacks[stack_names(environment)[0]]
    endpoints = resources_of(infra, "azurerm_private_endpoint")
    runner_peerings = {
        _address("azurerm_virtual_network_peering", key)
        for key in resources_of(infra, "azurerm_virtual_network_peering")
        if key.startswith("deployer-access_")
    }
    assert runner_peerings
    links = resources_of(infra, "azurerm_private_dns_zone_virtual_network_link")
    key_vault_links = {_address("azurerm_private_dns_zone_virtual_network_link", k) for k in links if "key_vault" in k}
    assert len(key_vault_links) == 3  # hub, spoke and the DR landing zone
    # the deployment network resolves the vaults through A records in bootstrap's zone (one zone name per VNet)
    key_vault_records = {
        _address("azurerm_private_dns_a_record", k)
        for k, record in resources_of(infra, "azurerm_private_dns_a_record").items()
        if record["zone_name"] == "privatelink.vaultcore.azure.net"
    }
    assert len(key_vault_records) == len(resources_of(infra, "azurerm_key_vault"))
    objects = {**resources_of(infra, "azurerm_key_vault_key"), **resources_of(infra, "azurerm_key_vault_certificate")}
    assert objects
    for key, item in objects.items():
        depends_on = set(item["depends_on"])
        vault_endpoints = {
            _address("azurerm_private_endpoint", name)
            for name, endpoint in endpoints.items()
            if endpoint["private_service_connection"]["private_connection_resource_id"] == item["key_vault_id"]
        }
        assert vault_endpoints and vault_endpoints <= depends_on, key
        assert key_vault_links <= depends_on, key
        assert runner_peerings <= depends_on, key  # the runner reaches the endpoint only once peered
        assert key_vault_records <= depends_on, key
        assert any(d.startswith("time_sleep.") for d in depends_on), key
        assert any(d.startswith("azurerm_role_assignment.") for d in depends_on), key


def test_firewall_and_cluster_wait_for_every_rule_collection_group(stacks, environment: str) -> None:
    infra = stacks[stack_names(environment)[0]]
    groups = sorted(resources_of(infra, "azurerm_firewall_policy_rule_collection_group"))
    assert groups
    for resource_type in ("azurerm_firewall", "azurerm_kubernetes_cluster"):
        for key, resource in resources_of(infra, resource_type).items():
            addresses = {_address("azurerm_firewall_policy_rule_collection_group", g) for g in groups}
            assert addresses <= set(resource["depends_on"]), key
    for earlier, later in itertools.pairwise(groups):  # policy writes one at a time
        later_group = resources_of(infra, "azurerm_firewall_policy_rule_collection_group")[later]
        assert _address("azurerm_firewall_policy_rule_collection_group", earlier) in later_group["depends_on"]


def test_every_create_time_check_waits_after_exactly_its_role_assignments(stacks, environment: str) -> None:
    infra = stacks[stack_names(environment)[0]]
    sleeps = resources_of(infra, "time_sleep")
    assert infra["terraform"]["required_providers"]["time"]["source"] == "hashicorp/time"
    used: set[str] = set()
    for resource_type in CREATE_TIME_ACCESS_CHECKS:
        for key, resource in resources_of(infra, resource_type).items():
            grants = [d for d in resource.get("depends_on", []) if d.startswith("azurerm_role_assignment.")]
            if not grants:
                continue
            [sleep] = [d.removeprefix("time_sleep.") for d in resource["depends_on"] if d.startswith("time_sleep.")]
            assert sleeps[sleep]["create_duration"] == RBAC_PROPAGATION
            assert sorted(sleeps[sleep]["depends_on"]) == sorted(grants), key
            assert sorted(sleeps[sleep]["triggers"].values()) == sorted(f"${{{g}.id}}" for g in grants)
            used.add(sleep)
    # storage x2, PostgreSQL, disk encryption set, App Gateway, AKS, the keys of 3 vaults, the certificates:
    # resources waiting on the same grants share one wait, and no wait is left unused.
    assert used == set(sleeps) and len(sleeps) >= 9


def test_deployment_network_is_peered_both_ways_and_resolves_key_vault_and_aks(stacks, environment: str) -> None:
    infra = stacks[stack_names(environment)[0]]
    config = load_environment(environment)
    names = deployment_names(Naming(config.short_name, config.unique_suffix), config.deployment)
    deployment_id = names.virtual_network_id(config.subscription_id)
    peerings = resources_of(infra, "azurerm_virtual_network_peering")
    assert any(p["remote_virtual_network_id"] == deployment_id for p in peerings.values())
    assert any(
        p["virtual_network_name"] == names.virtual_network and p["resource_group_name"] == names.resource_group
        for p in peerings.values()
    )
    links = [
        link
        for link in resources_of(infra, "azurerm_private_dns_zone_virtual_network_link").values()
        if link["virtual_network_id"] == deployment_id
    ]
    zones = {
        f"${{azurerm_private_dns_zone.{k}.name}}": v["name"]
        for k, v in resources_of(infra, "azurerm_private_dns_zone").items()
    }
    assert sorted(zones[link["private_dns_zone_name"]] for link in links) == [
        f"privatelink.{config.location}.azmk8s.io"
    ]
    # not blob nor vault: the deployment network has its own zones of those names (bootstrap's; one per name per
    # VNet); each vault gets an A record, pointing at its private endpoint, in bootstrap's vault zone
    records = [
        r
        for r in resources_of(infra, "azurerm_private_dns_a_record").values()
        if r["resource_group_name"] == names.resource_group
    ]
    vaults = resources_of(infra, "azurerm_key_vault")
    assert sorted(r["name"] for r in records) == sorted(f"${{azurerm_key_vault.{k}.name}}" for k in vaults)
    for record in records:
        assert record["zone_name"] == "privatelink.vaultcore.azure.net"
        [address] = record["records"]
        assert address.startswith("${azurerm_private_endpoint.") and address.endswith(
            ".private_service_connection[0].private_ip_address}"
        )


def test_deploy_identities_hold_kubernetes_and_key_vault_roles(stacks, environment: str) -> None:
    infra = stacks[stack_names(environment)[0]]
    config = load_environment(environment)
    identities = {key: value["name"] for key, value in infra["data"]["azurerm_user_assigned_identity"].items()}
    principal = {
        f"${{data.azurerm_user_assigned_identity.{key}.principal_id}}": name for key, name in identities.items()
    }
    held: dict[str, set[tuple[str, str]]] = {}
    for assignment in resources_of(infra, "azurerm_role_assignment").values():
        name = principal.get(assignment["principal_id"])
        if name:
            held.setdefault(name, set()).add((assignment["role_definition_name"], assignment["scope"].split(".")[0]))
    plan, apply = (f"{config.short_name}-terraform-{role}-id-001" for role in ("plan", "apply"))
    cluster = "${azurerm_kubernetes_cluster"
    vault = "${azurerm_key_vault"
    assert held[apply] == {
        (APPLY_CLUSTER_ROLE, cluster),
        ("Key Vault Crypto Officer", vault),
        ("Key Vault Certificates Officer", vault),
    }
    assert held[plan] == {
        (f"{config.short_name}-kubernetes-plan-reader-role-001", cluster),
        ("Azure Kubernetes Service Cluster User Role", cluster),
        ("Key Vault Reader", vault),
    }
    assert "data_key-vault_terraform-runner" not in str(infra.get("data", {}))  # no client-config principal


def _stack() -> cdktf.TerraformStack:
    app = cdktf.App(outdir="/tmp/zero-unused")
    stack = cdktf.TerraformStack(app, "probe")
    AzurermProvider(stack, "azurerm", features=[{}])
    return stack


def test_after_access_waits_after_exactly_the_grants_and_follows_their_replacement() -> None:
    stack = _stack()
    grants = [
        RoleAssignment(stack, f"grant-{n}", scope="s", role_definition_name="Reader", principal_id="p") for n in (1, 2)
    ]
    StorageAccount(
        stack,
        "account",
        name="a",
        location="eastus",
        resource_group_name="rg",
        account_tier="Standard",
        account_replication_type="ZRS",
        depends_on=after_access(stack, "wait", grants),
    )
    synthesized = json.loads(cdktf.Testing.synth(stack))
    [(name, sleep)] = synthesized["resource"]["time_sleep"].items()
    assert sleep["depends_on"] == ["azurerm_role_assignment.grant-1", "azurerm_role_assignment.grant-2"]
    assert sleep["triggers"] == {f"grant-{n}": f"${{azurerm_role_assignment.grant-{n}.id}}" for n in (1, 2)}
    assert synthesized["resource"]["azurerm_storage_account"]["account"]["depends_on"] == [
        "azurerm_role_assignment.grant-1",
        "azurerm_role_assignment.grant-2",
        f"time_sleep.{name}",
    ]


def test_deployer_access_needs_every_zone_a_runner_resolves() -> None:
    config = load_environment("staging")
    names = deployment_names(Naming(config.short_name, config.unique_suffix), config.deployment)
    with pytest.raises(ValueError, match=r"no private DNS zone given for \['aks'\]"):
        DeployerAccess(
            _stack(),
            "deployer-access",
            props=DeployerAccessProps(
                names=names,
                subscription_id=config.subscription_id,
                principal_ids={"plan": "p", "apply": "a"},
                spoke_vnet_id="spoke",
                spoke_vnet_name="spoke",
                spoke_resource_group_name="rg",
                private_dns_zones={"key_vault": ("privatelink.vaultcore.azure.net", "rg")},
                key_vault_ids=[],
                key_vault_records=[],
                cluster_ids=[],
            ),
        )
