"""The resource-type catalogue: what the review and check tools know about Terraform resource types.

Standard library only: the pull-request comment runs on a bare runner Python.
"""

from __future__ import annotations

# Resources whose replacement or deletion loses data, identity or addresses: highlighted first.
STATEFUL_TYPES = frozenset(
    {
        "azurerm_container_registry",
        "azurerm_data_protection_backup_vault",
        "azurerm_eventhub",
        "azurerm_eventhub_namespace",
        "azurerm_key_vault",
        "azurerm_key_vault_key",
        "azurerm_kubernetes_cluster",
        "azurerm_kubernetes_cluster_node_pool",
        "azurerm_log_analytics_workspace",
        "azurerm_managed_disk",
        "azurerm_postgresql_flexible_server",
        "azurerm_postgresql_flexible_server_database",
        "azurerm_public_ip",
        "azurerm_recovery_services_vault",
        "azurerm_resource_group",
        "azurerm_storage_account",
        "azurerm_storage_container",
        "azurerm_user_assigned_identity",
        "kubernetes_namespace_v1",
        "kubernetes_persistent_volume_claim_v1",
    }
)

# Arguments that are ForceNew in azurerm 4.x / kubernetes 2.x (changing them destroys and recreates
# the resource). Deliberately small and conservative: arguments the provider docs mark "Changing this
# forces a new resource"; 4.x made node pool zones/VM size rotatable, so those are not listed. "*azurerm" applies
# to every azurerm resource that has the argument; paths use dots for nested blocks.
FORCE_NEW: dict[str, frozenset[str]] = {
    "*azurerm": frozenset({"name", "location", "resource_group_name"}),
    "*kubernetes": frozenset({"metadata.name", "metadata.namespace"}),
    "azurerm_firewall": frozenset({"zones", "sku_name"}),
    "azurerm_public_ip": frozenset({"zones", "sku", "ip_version"}),
    "azurerm_storage_account": frozenset({"account_tier", "infrastructure_encryption_enabled"}),
    "azurerm_postgresql_flexible_server": frozenset({"geo_redundant_backup_enabled"}),
    "azurerm_kubernetes_cluster": frozenset({"dns_prefix", "dns_prefix_private_cluster", "private_cluster_enabled"}),
    "azurerm_kubernetes_cluster_node_pool": frozenset({"kubernetes_cluster_id"}),
    "azurerm_subnet": frozenset({"virtual_network_name"}),
    "azurerm_private_endpoint": frozenset({"subnet_id", "private_service_connection"}),
    "azurerm_role_assignment": frozenset({"scope", "role_definition_name", "role_definition_id", "principal_id"}),
    "azurerm_key_vault_key": frozenset({"key_type", "key_size", "key_vault_id"}),
    # A new policy re-protects the cluster: the old instance's recovery points stay only as soft-deleted items.
    "azurerm_data_protection_backup_instance_kubernetes_cluster": frozenset(
        {"vault_id", "backup_policy_id", "kubernetes_cluster_id", "backup_datasource_parameters"}
    ),
    # azapi replaces on a new name or parent (a new `type` API version alone updates in place).
    "azapi_resource": frozenset({"name", "parent_id"}),
}
