"""The one home of migration addresses: where resources lived before a refactor moved them.

A construct id is part of a Terraform address. When a refactor moves a stateful (or slow-to-recreate) resource,
its construct declares a `moved` block from the old address, taken from here, so Terraform moves it in state
instead of destroying and re-creating it. `tests/stacks/test_address_stability.py` checks the stateful ones.
"""

from __future__ import annotations

# The types the whole-stack walker (constructs/locks.py before per-construct locks) locked, under
# `<stack>/locks/<resource path joined by '-'>`: a construct's lock on one of them declares a `moved` block
# from that address, so Terraform moves the live lock in state instead of deleting and re-creating it.
# The locks production held when a whole-stack walker created them (`<stack>/locks/<path>`): each moves in
# state to its construct's lock. Only these: a lock on a resource added later has nothing to move from.
LIVE_LOCKS_BEFORE = frozenset(
    {
        "azurerm_management_lock.locks_aks-backup-storage-account_385CF24B",
        "azurerm_management_lock.locks_backup-vault-vault_6A6495C5",
        "azurerm_management_lock.locks_data-event-hubs-primary_A561C14E",
        "azurerm_management_lock.locks_data-event-hubs-secondary_A43099FE",
        "azurerm_management_lock.locks_data-geo-key-vault-vault_629434C5",
        "azurerm_management_lock.locks_data-key-vault-vault_FAAC1D34",
        "azurerm_management_lock.locks_data-postgres-server_F61F97E5",
        "azurerm_management_lock.locks_data-storage-account_A622EA28",
    }
)

# The settings the whole-stack walker (`DiagnosticSettings`, construct `<stack>/diagnostics/<resource path joined
# by '-'>[-<service>]`) created, as in the synthesized output of bf67751 (the last commit with the walker;
# identical in staging-infra and production-infra). Each construct's setting moves in state from one of these
# (`diagnostics()` in constructs/interfaces.py): a delete and a create of a setting with the same name on the
# same resource race in Azure. The address is computed from the resource's path (`walker_address`, as for the
# locks) AND looked up here: the computation alone would give a setting on a resource added later a moved
# block from an address no state holds; this list alone would not tie an address to its resource.
SETTINGS_BEFORE = frozenset(
    {
        "azurerm_monitor_diagnostic_setting.diagnostics_aks-backup-storage-account-blobServices_F0032191",
        "azurerm_monitor_diagnostic_setting.diagnostics_aks-backup-storage-account-fileServices_F8EF60C3",
        "azurerm_monitor_diagnostic_setting.diagnostics_aks-backup-storage-account-queueServices_0D39AD0F",
        "azurerm_monitor_diagnostic_setting.diagnostics_aks-backup-storage-account-tableServices_63F12726",
        "azurerm_monitor_diagnostic_setting.diagnostics_aks-backup-storage-account_AC911F17",
        "azurerm_monitor_diagnostic_setting.diagnostics_aks-cluster_85516E41",
        "azurerm_monitor_diagnostic_setting.diagnostics_app-gateway-gateway_68558372",
        "azurerm_monitor_diagnostic_setting.diagnostics_app-gateway-public-ip_95EB00AA",
        "azurerm_monitor_diagnostic_setting.diagnostics_backup-vault-vault_39E825F2",
        "azurerm_monitor_diagnostic_setting.diagnostics_data-event-hubs-primary_FF50BFDD",
        "azurerm_monitor_diagnostic_setting.diagnostics_data-event-hubs-secondary_70419F03",
        "azurerm_monitor_diagnostic_setting.diagnostics_data-geo-key-vault-vault_3601D619",
        "azurerm_monitor_diagnostic_setting.diagnostics_data-key-vault-vault_4EEFC482",
        "azurerm_monitor_diagnostic_setting.diagnostics_data-kms-key-vault-vault_62798CFB",
        "azurerm_monitor_diagnostic_setting.diagnostics_data-postgres-server_C46DA187",
        "azurerm_monitor_diagnostic_setting.diagnostics_data-storage-account-blobServices_541DAFBB",
        "azurerm_monitor_diagnostic_setting.diagnostics_data-storage-account-fileServices_64DB075F",
        "azurerm_monitor_diagnostic_setting.diagnostics_data-storage-account-queueServices_1A463E09",
        "azurerm_monitor_diagnostic_setting.diagnostics_data-storage-account-tableServices_376DEF86",
        "azurerm_monitor_diagnostic_setting.diagnostics_data-storage-account_D3904BFC",
        "azurerm_monitor_diagnostic_setting.diagnostics_dr-landing-zone-aks_system-nsg_E0325DEB",
        "azurerm_monitor_diagnostic_setting.diagnostics_dr-landing-zone-aks_user-nsg_888FFD0A",
        "azurerm_monitor_diagnostic_setting.diagnostics_dr-landing-zone-postgres-nsg_F52A5D9C",
        "azurerm_monitor_diagnostic_setting.diagnostics_dr-landing-zone-private_endpoints-nsg_E1C74D14",
        "azurerm_monitor_diagnostic_setting.diagnostics_dr-landing-zone-vnet_3580AF05",
        "azurerm_monitor_diagnostic_setting.diagnostics_network-aks_system-nsg_5EC59CB5",
        "azurerm_monitor_diagnostic_setting.diagnostics_network-aks_user-nsg_F2106D43",
        "azurerm_monitor_diagnostic_setting.diagnostics_network-api_server-nsg_49BB9167",
        "azurerm_monitor_diagnostic_setting.diagnostics_network-app_gateway-nsg_A0120B66",
        "azurerm_monitor_diagnostic_setting.diagnostics_network-bastion-nsg_6CC9F524",
        "azurerm_monitor_diagnostic_setting.diagnostics_network-bastion-public-ip_F718408B",
        "azurerm_monitor_diagnostic_setting.diagnostics_network-bastion_D3802030",
        "azurerm_monitor_diagnostic_setting.diagnostics_network-firewall-firewall_658C3DBA",
        "azurerm_monitor_diagnostic_setting.diagnostics_network-firewall-public-ip_CBFE383A",
        "azurerm_monitor_diagnostic_setting.diagnostics_network-hub-vnet_1EA209EB",
        "azurerm_monitor_diagnostic_setting.diagnostics_network-private_endpoints-nsg_B3D2BF93",
        "azurerm_monitor_diagnostic_setting.diagnostics_network-shared_services-nsg_AB1E334F",
        "azurerm_monitor_diagnostic_setting.diagnostics_network-spoke-vnet_3A62C396",
        "azurerm_monitor_diagnostic_setting.diagnostics_observability-grafana_08E81C6F",
        "azurerm_monitor_diagnostic_setting.diagnostics_observability-log-analytics_0EC76C77",
        "azurerm_monitor_diagnostic_setting.diagnostics_registry-registry_C710F0B3",
    }
)

# Where the workspace was, inside `Observability`, before it became the first construct of the stack: it, its
# lock and its diagnostic setting move in state from there (the workspace holds the audit trail).
WORKSPACE_PATH_BEFORE = "observability/log-analytics"
WORKSPACE_BEFORE = "azurerm_log_analytics_workspace.observability_log-analytics_FA79034E"
WORKSPACE_LOCK_BEFORE = "azurerm_management_lock.observability_log-analytics-lock_F3C177F4"

# The resource groups the infra stack created (top-level constructs `<key>-rg`) until bootstrap took them over
# (constructs/platform_groups.py): the infra stack forgets them with `removed` blocks, bootstrap imports them.
PLATFORM_GROUPS_BEFORE = {
    "workloads": "azurerm_resource_group.workloads-rg",
    "networking": "azurerm_resource_group.networking-rg",
    "monitoring": "azurerm_resource_group.monitoring-rg",
    "data": "azurerm_resource_group.data-rg",
    "security": "azurerm_resource_group.security-rg",
    "data-dr": "azurerm_resource_group.data-dr-rg",
    "dr-networking": "azurerm_resource_group.dr-networking-rg",
    "backup": "azurerm_resource_group.backup-rg",
    "aks-snapshots": "azurerm_resource_group.aks-snapshots-rg",
    "drill": "azurerm_resource_group.drill-rg",
    "drill-dr": "azurerm_resource_group.drill-dr-rg",
}
