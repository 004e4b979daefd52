"""The AKS cluster of each environment: private, Entra ID-only, add-ons, identities and their role
assignments, Azure CNI Overlay behind the firewall, ephemeral host-encrypted node pools from config."""

from __future__ import annotations

import copy

from config.schema import EnvironmentConfig
from config.services import EPHEMERAL_OS_DISK_MAX_GB, MaintenanceWindow
from tests.conftest import StackJson, only_resource, resources_of, waited_dependencies
from tests.constructs.services_stacks import (
    DISK_ENCRYPTION_SET_ID,
    KMS_KEY,
    ROUTE_TABLE_ID,
    SPOKE,
    SUBNET_IDS,
    WORKSPACE_ID,
    ref,
)

CLUSTER = "azurerm_kubernetes_cluster"
POOL = "azurerm_kubernetes_cluster_node_pool"
IDENTITY = "azurerm_user_assigned_identity"


def test_cluster_is_private_in_the_aks_dns_zone(services: StackJson) -> None:
    cluster = only_resource(services, CLUSTER)
    assert cluster["private_cluster_enabled"] is True
    assert cluster["private_cluster_public_fqdn_enabled"] is False
    assert cluster["private_dns_zone_id"] == ref(services, "azurerm_private_dns_zone", "/zone-aks")
    assert "dns_prefix" not in cluster and cluster["dns_prefix_private_cluster"]


def test_entra_id_with_azure_rbac_only(services: StackJson, config: EnvironmentConfig) -> None:
    cluster = only_resource(services, CLUSTER)
    assert cluster["local_account_disabled"] is True
    assert cluster["azure_active_directory_role_based_access_control"] == {
        "azure_rbac_enabled": True,
        "tenant_id": config.tenant_id,
        "admin_group_object_ids": [],  # no standing admin group: PIM-eligible instead (constructs/human_access.py)
    }
    assert cluster["oidc_issuer_enabled"] is True and cluster["workload_identity_enabled"] is True


def test_add_ons_report_to_the_workspace(services: StackJson, config: EnvironmentConfig) -> None:
    cluster = only_resource(services, CLUSTER)
    assert cluster["azure_policy_enabled"] is True
    assert cluster["microsoft_defender"] == {"log_analytics_workspace_id": WORKSPACE_ID}
    assert cluster["oms_agent"] == {"log_analytics_workspace_id": WORKSPACE_ID, "msi_auth_for_monitoring_enabled": True}
    assert cluster["key_vault_secrets_provider"] == {"secret_rotation_enabled": True}
    assert cluster["monitor_metrics"] == {}  # the managed Prometheus agent runs
    assert cluster["image_cleaner_enabled"] is True
    assert cluster["image_cleaner_interval_hours"] == config.aks.image_cleaner_interval_hours
    assert cluster["disk_encryption_set_id"] == DISK_ENCRYPTION_SET_ID


def test_both_identities_are_user_assigned(services: StackJson) -> None:
    cluster = only_resource(services, CLUSTER)
    control_plane = ref(services, IDENTITY, "/aks/control-plane-identity")
    kubelet = ref(services, IDENTITY, "/aks/kubelet-identity")
    assert cluster["identity"] == {"type": "UserAssigned", "identity_ids": [control_plane]}
    assert cluster["kubelet_identity"] == {
        "user_assigned_identity_id": kubelet,
        "client_id": kubelet.replace(".id}", ".client_id}"),
        "object_id": kubelet.replace(".id}", ".principal_id}"),
    }


def test_identities_get_exactly_the_roles_they_need_before_the_cluster_exists(services: StackJson) -> None:
    control_plane = ref(services, IDENTITY, "/aks/control-plane-identity", "principal_id")
    kubelet = ref(services, IDENTITY, "/aks/kubelet-identity", "principal_id")
    expected = {
        (SPOKE, "Network Contributor", control_plane),
        (ROUTE_TABLE_ID, "Network Contributor", control_plane),
        (ref(services, "azurerm_private_dns_zone", "/zone-aks"), "Private DNS Zone Contributor", control_plane),
        (DISK_ENCRYPTION_SET_ID, "Reader", control_plane),
        (ref(services, IDENTITY, "/aks/kubelet-identity"), "Managed Identity Operator", control_plane),
        (ref(services, "azurerm_container_registry", "/registry/registry"), "AcrPull", kubelet),
        (KMS_KEY.key_resource_id, "Key Vault Crypto User", control_plane),
        (KMS_KEY.key_vault_id, "Key Vault Contributor", control_plane),
    }
    grants = {
        address: grant
        for address, grant in resources_of(services, "azurerm_role_assignment").items()
        if grant["//"]["metadata"]["path"].split("/")[1] == "aks"
    }
    assert {(g["scope"], g["role_definition_name"], g["principal_id"]) for g in grants.values()} == expected
    assert all(grant["principal_type"] == "ServicePrincipal" for grant in grants.values())
    cluster = only_resource(services, CLUSTER)
    rules = [
        f"azurerm_firewall_policy_rule_collection_group.{key}"
        for key in resources_of(services, "azurerm_firewall_policy_rule_collection_group")
    ]
    [feature] = resources_of(services, "azurerm_resource_provider_feature_registration")
    assert sorted(waited_dependencies(services, cluster)) == sorted(
        [
            *(f"azurerm_role_assignment.{address}" for address in grants),
            *rules,
            f"azurerm_resource_provider_feature_registration.{feature}",
        ]
    )


def test_host_encrypted_pools_wait_for_the_encryption_at_host_feature(services: StackJson) -> None:
    [(address, feature)] = resources_of(services, "azurerm_resource_provider_feature_registration").items()
    assert (feature["provider_name"], feature["name"]) == ("Microsoft.Compute", "EncryptionAtHost")
    registration = f"azurerm_resource_provider_feature_registration.{address}"
    cluster = only_resource(services, CLUSTER)
    assert cluster["default_node_pool"]["host_encryption_enabled"] is True and registration in cluster["depends_on"]
    pools = resources_of(services, "azurerm_kubernetes_cluster_node_pool").values()
    assert pools and all(p["host_encryption_enabled"] is True and registration in p["depends_on"] for p in pools)


def test_azure_cni_overlay_with_network_policy_and_egress_through_the_firewall(
    services: StackJson, config: EnvironmentConfig
) -> None:
    profile = only_resource(services, CLUSTER)["network_profile"]
    network = config.network
    assert profile["network_plugin"] == "azure" and profile["network_plugin_mode"] == "overlay"
    assert profile["network_policy"] == config.aks.network_policy in {"azure", "cilium"}
    assert profile["network_data_plane"] == ("cilium" if config.aks.network_policy == "cilium" else "azure")
    assert profile["outbound_type"] == "userDefinedRouting"
    assert (profile["pod_cidr"], profile["service_cidr"], profile["dns_service_ip"]) == (
        network.aks_pod_cidr,
        network.aks_service_cidr,
        network.aks_dns_service_ip,
    )


def assert_hardened_pool(pool: dict, vm_size: str, os_disk_size_gb: int, max_pods: int) -> None:
    assert pool["zones"] == ["1", "2", "3"]
    assert pool["vm_size"] == vm_size
    assert pool["os_disk_type"] == "Ephemeral"
    assert pool["os_disk_size_gb"] == os_disk_size_gb <= EPHEMERAL_OS_DISK_MAX_GB[vm_size]
    assert pool["max_pods"] == max_pods >= 50
    assert pool["host_encryption_enabled"] is True
    assert pool["node_public_ip_enabled"] is False


def test_system_pool_runs_only_critical_add_ons_on_three_zones(services: StackJson, config: EnvironmentConfig) -> None:
    pool = only_resource(services, CLUSTER)["default_node_pool"]
    system = config.aks.system_pool
    assert_hardened_pool(pool, system.vm_size, system.os_disk_size_gb, system.max_pods)
    assert pool["only_critical_addons_enabled"] is True
    assert pool["node_count"] == system.node_count >= 3
    assert pool["vnet_subnet_id"] == SUBNET_IDS["aks_system"]


def test_user_pools_autoscale_across_zones_in_the_user_subnet(services: StackJson, config: EnvironmentConfig) -> None:
    pools = {pool["name"]: pool for pool in resources_of(services, POOL).values()}
    assert sorted(pools) == sorted(pool.name for pool in config.aks.user_pools)
    cluster_id = ref(services, CLUSTER, "/aks/cluster")
    for expected in config.aks.user_pools:
        pool = pools[expected.name]
        assert_hardened_pool(pool, expected.vm_size, expected.os_disk_size_gb, expected.max_pods)
        assert pool["kubernetes_cluster_id"] == cluster_id
        assert pool["mode"] == "User" and pool["vnet_subnet_id"] == SUBNET_IDS["aks_user"]
        assert pool["auto_scaling_enabled"] is True
        assert (pool["min_count"], pool["max_count"]) == (expected.min_count, expected.max_count)
        assert 3 <= pool["min_count"] <= pool["max_count"]
    if config.name == "production":  # the production floor and ceiling
        assert (pools["apps"]["min_count"], pools["apps"]["max_count"]) == (3, 10)


def weekly(window: MaintenanceWindow) -> dict:
    return {
        "frequency": "Weekly",
        "interval": 1,
        "day_of_week": window.day_of_week,
        "start_time": window.start_time,
        "duration": window.duration_hours,
        "utc_offset": window.utc_offset,
    }


def test_sla_upgrades_and_maintenance_windows_from_config(services: StackJson, config: EnvironmentConfig) -> None:
    cluster = only_resource(services, CLUSTER)
    aks = config.aks
    assert cluster["sku_tier"] == aks.sku_tier
    if config.name == "production":
        assert cluster["sku_tier"] in {"Standard", "Premium"}  # paid uptime SLA
    assert cluster["kubernetes_version"] == aks.kubernetes_version
    assert cluster["automatic_upgrade_channel"] == aks.automatic_upgrade_channel
    assert cluster["node_os_upgrade_channel"] == aks.node_os_upgrade_channel
    assert cluster["maintenance_window_auto_upgrade"] == weekly(aks.auto_upgrade_window)
    assert cluster["maintenance_window_node_os"] == weekly(aks.node_os_upgrade_window)


def test_infrastructure_stack_wires_the_cluster_to_network_data_registry_and_workspace(
    stacks: dict[str, StackJson], environment: str
) -> None:
    infra = stacks[f"{environment}-infra"]
    cluster = only_resource(infra, CLUSTER)
    associations = resources_of(infra, "azurerm_subnet_route_table_association")
    by_path = {body["//"]["metadata"]["path"].rsplit("/", 1)[1]: address for address, body in associations.items()}
    # Subnet ids taken from the route-table associations: the cluster waits for the firewall route.
    route_via = "azurerm_subnet_route_table_association.{}.subnet_id"
    assert cluster["default_node_pool"]["vnet_subnet_id"] == "${" + route_via.format(by_path["aks_system-routes"]) + "}"
    (pool,) = resources_of(infra, POOL).values()
    assert pool["vnet_subnet_id"] == "${" + route_via.format(by_path["aks_user-routes"]) + "}"
    assert cluster["disk_encryption_set_id"] == ref(
        infra, "azurerm_disk_encryption_set", "/key-vault/disk-encryption-set"
    )
    workspace = ref(infra, "azurerm_log_analytics_workspace", "")
    assert cluster["oms_agent"]["log_analytics_workspace_id"] == workspace
    assert cluster["microsoft_defender"]["log_analytics_workspace_id"] == workspace
    assert cluster["private_dns_zone_id"] == ref(infra, "azurerm_private_dns_zone", "/network/dns-aks")


def _scope_kind(scope: str) -> str:
    """ "key" for a Key Vault key (ARM id or reference), "vault" for a vault, "" otherwise."""
    if "/keys/" in scope or (
        scope.startswith("${azurerm_key_vault_key.") and scope.endswith(".resource_versionless_id}")
    ):
        return "key"
    if "/providers/Microsoft.KeyVault/vaults/" in scope or scope.startswith("${azurerm_key_vault."):
        return "vault"
    return ""


def kms_problems(stack: StackJson) -> list[str]:
    """Why etcd secrets would not be encrypted with the Key Vault key, or the cluster would fail to use it:
    KMS needs the key (versioned id), private vault access, API server VNet integration in a subnet (KMS with
    a private vault supports no Konnectivity), and the control plane's Key Vault Crypto User (key) and Key
    Vault Contributor (vault: AKS creates its private endpoint) before the cluster exists."""
    cluster = next(iter(resources_of(stack, CLUSTER).values()))
    kms = cluster.get("key_management_service")
    if not kms:
        return ["no key_management_service: etcd secrets are not encrypted with a Key Vault key"]
    problems = []
    if kms.get("key_vault_network_access") != "Private":
        problems.append(f"key_vault_network_access is {kms.get('key_vault_network_access')!r}, not 'Private'")
    api = cluster.get("api_server_access_profile") or {}
    if not (api.get("virtual_network_integration_enabled") is True and api.get("subnet_id")):
        problems.append("no API server VNet integration (a private KMS vault needs it)")
    principal = cluster["identity"]["identity_ids"][0].replace(".id}", ".principal_id}")
    granted = {
        (g["role_definition_name"], g["scope"]): f"azurerm_role_assignment.{name}"
        for name, g in resources_of(stack, "azurerm_role_assignment").items()
        if g["principal_id"] == principal
    }
    key_id = kms["key_vault_key_id"]
    for role, scope_kind in (("Key Vault Crypto User", "key"), ("Key Vault Contributor", "vault")):
        found = [grant for (name, scope), grant in granted.items() if name == role and _scope_kind(scope) == scope_kind]
        if not found:
            problems.append(f"the control plane has no {role} for the KMS key")
        elif not set(found) <= set(cluster.get("depends_on", [])):
            problems.append(f"the cluster does not wait for {role}")
    if key_id.startswith("${") and not key_id.endswith(".id}"):
        problems.append(f"key_vault_key_id {key_id} is not the versioned key id")
    return problems


def test_kms_encrypts_etcd_with_a_key_in_a_private_vault(services: StackJson) -> None:
    cluster = only_resource(services, CLUSTER)
    assert cluster["key_management_service"] == {
        "key_vault_key_id": KMS_KEY.key_id,
        "key_vault_network_access": "Private",
    }
    assert cluster["api_server_access_profile"] == {
        "subnet_id": SUBNET_IDS["api_server"],
        "virtual_network_integration_enabled": True,
    }
    assert cluster["private_cluster_enabled"] is True
    assert kms_problems(services) == []


def test_kms_check_rejects_the_cluster_without_kms_or_its_prerequisites(services: StackJson) -> None:
    """Failing examples: the cluster as it was (no KMS), public vault access, no VNet integration, no role."""
    broken = copy.deepcopy(services)
    cluster = only_resource(broken, CLUSTER)
    del cluster["key_management_service"]
    assert kms_problems(broken) == ["no key_management_service: etcd secrets are not encrypted with a Key Vault key"]
    broken = copy.deepcopy(services)
    cluster = only_resource(broken, CLUSTER)
    cluster["key_management_service"]["key_vault_network_access"] = "Public"
    del cluster["api_server_access_profile"]
    grants = resources_of(broken, "azurerm_role_assignment")
    for name in [n for n, g in grants.items() if g["role_definition_name"] == "Key Vault Crypto User"]:
        del grants[name]
    assert kms_problems(broken) == [
        "key_vault_network_access is 'Public', not 'Private'",
        "no API server VNet integration (a private KMS vault needs it)",
        "the control plane has no Key Vault Crypto User for the KMS key",
    ]


def test_infrastructure_stack_gives_the_cluster_its_own_kms_vault_and_key(
    stacks: dict[str, StackJson], environment: str
) -> None:
    infra = stacks[f"{environment}-infra"]
    assert kms_problems(infra) == []
    cluster = only_resource(infra, CLUSTER)
    vaults = {a: v for a, v in resources_of(infra, "azurerm_key_vault").items() if "-kms-kv-" in v["name"]}
    ((vault_address, vault),) = vaults.items()
    assert vault["public_network_access_enabled"] is False and vault["purge_protection_enabled"] is True
    keys = {
        a: k
        for a, k in resources_of(infra, "azurerm_key_vault_key").items()
        if k["key_vault_id"] == f"${{azurerm_key_vault.{vault_address}.id}}"
    }
    ((key_address, key),) = keys.items()
    assert key["key_type"] == "RSA-HSM" and {"encrypt", "decrypt"} <= set(key["key_opts"])
    assert cluster["key_management_service"]["key_vault_key_id"] == f"${{azurerm_key_vault_key.{key_address}.id}}"
    subnet = cluster["api_server_access_profile"]["subnet_id"]
    ((subnet_body),) = [
        body
        for address, body in resources_of(infra, "azurerm_subnet").items()
        if subnet == f"${{azurerm_subnet.{address}.id}}"
    ]
    (delegation,) = subnet_body["delegation"]
    assert delegation["service_delegation"]["name"] == "Microsoft.ContainerService/managedClusters"
