"""Which Azure resource provider namespace each Terraform resource type needs registered in a subscription.

Pure data, no cdktf import: bootstrap registers exactly these namespaces (constructs/deployment.py,
stacks/bootstrap.py), and the operator handbook's troubleshooting reads the same table (tools/docgen/handbook.py).
"""

from __future__ import annotations

# Terraform type prefix -> the resource provider namespace it needs registered (longest prefix wins). A type no
# prefix matches fails tests/stacks/test_bootstrap.py, so a new kind of resource cannot be forgotten here.
RESOURCE_PROVIDER_OF_TYPE: dict[str, str | None] = {
    "azurerm_application_gateway": "Microsoft.Network",
    "azurerm_application_insights": "Microsoft.Insights",
    "azurerm_bastion_host": "Microsoft.Network",
    "azurerm_consumption_": "Microsoft.Consumption",
    "azurerm_container_app": "Microsoft.App",
    "azurerm_container_registry": "Microsoft.ContainerRegistry",
    "azurerm_cost_anomaly_alert": "Microsoft.CostManagement",
    "azurerm_dashboard_grafana": "Microsoft.Dashboard",
    "azurerm_data_protection_": "Microsoft.DataProtection",
    "azurerm_disk_encryption_set": "Microsoft.Compute",
    "azurerm_dns_": "Microsoft.Network",
    "azurerm_eventhub": "Microsoft.EventHub",
    "azurerm_federated_identity_credential": "Microsoft.ManagedIdentity",
    "azurerm_firewall": "Microsoft.Network",
    "azurerm_key_vault": "Microsoft.KeyVault",
    "azurerm_kubernetes_cluster": "Microsoft.ContainerService",
    "azurerm_kubernetes_cluster_extension": "Microsoft.KubernetesConfiguration",
    "azurerm_kubernetes_flux_configuration": "Microsoft.KubernetesConfiguration",
    "azurerm_log_analytics_": "Microsoft.OperationalInsights",
    "azurerm_logic_app_": "Microsoft.Logic",  # the chat adapters (constructs/notifications.py)
    "azurerm_management_lock": None,  # Microsoft.Authorization: registered in every subscription
    "azurerm_monitor_": "Microsoft.Insights",
    "azurerm_monitor_alert_processing_rule_": "Microsoft.AlertsManagement",  # Microsoft.AlertsManagement/actionRules
    "azurerm_monitor_alert_prometheus_rule_group": "Microsoft.AlertsManagement",
    "azurerm_monitor_workspace": "Microsoft.Monitor",
    "azurerm_network_": "Microsoft.Network",
    "azurerm_policy_": None,  # Microsoft.Authorization
    "azurerm_postgresql_flexible_server": "Microsoft.DBforPostgreSQL",
    "azurerm_private_dns_": "Microsoft.Network",
    "azurerm_private_endpoint": "Microsoft.Network",
    "azurerm_public_ip": "Microsoft.Network",
    "azurerm_resource_group": None,  # Microsoft.Resources: registered in every subscription
    "azurerm_resource_policy_": None,  # Microsoft.Authorization
    "azurerm_resource_provider_feature_registration": None,  # Microsoft.Features: registered everywhere
    "azurerm_resource_provider_registration": None,
    "azurerm_pim_eligible_role_assignment": None,  # Microsoft.Authorization
    "azurerm_role_assignment": None,  # Microsoft.Authorization
    "azurerm_role_definition": None,  # Microsoft.Authorization
    "azurerm_route_table": "Microsoft.Network",
    "azurerm_security_center_": "Microsoft.Security",
    "azurerm_storage_": "Microsoft.Storage",
    "azurerm_subnet": "Microsoft.Network",
    "azurerm_subscription_policy_": None,  # Microsoft.Authorization
    "azurerm_user_assigned_identity": "Microsoft.ManagedIdentity",
    "azurerm_virtual_network": "Microsoft.Network",
    "azurerm_web_application_firewall_policy": "Microsoft.Network",
}
# Namespaces no Terraform type names but a service needs: the AKS Azure Policy add-on reports through
# Microsoft.PolicyInsights; Container insights' legacy solution path uses Microsoft.OperationsManagement.
INDIRECT_RESOURCE_PROVIDERS = ("Microsoft.PolicyInsights", "Microsoft.OperationsManagement")
# Subscription features a resource needs before it can be created: (namespace, feature) -> who needs it. The construct
# creating that resource registers them (`azurerm_resource_provider_feature_registration`, whose create registers the
# feature and polls every 10 s until Azure reports `Registered`, for up to 30 minutes; an auto-approved feature only)
# and its resources depend on the registration: no sleep, no manual `az feature register`.
REQUIRED_FEATURES: dict[tuple[str, str], str] = {
    ("Microsoft.Compute", "EncryptionAtHost"): "host_encryption_enabled on every AKS node pool (constructs/cluster.py)",
}


def resource_provider_of(terraform_type: str) -> str | None:
    """The namespace `terraform_type` needs registered; KeyError when no prefix knows the type."""
    matches = [prefix for prefix in RESOURCE_PROVIDER_OF_TYPE if terraform_type.startswith(prefix)]
    if not matches:
        raise KeyError(terraform_type)
    return RESOURCE_PROVIDER_OF_TYPE[max(matches, key=len)]


def required_resource_providers() -> tuple[str, ...]:
    """Every namespace registered per subscription (sorted): all the type table names plus the indirect ones."""
    named = {namespace for namespace in RESOURCE_PROVIDER_OF_TYPE.values() if namespace}
    return tuple(sorted(named | set(INDIRECT_RESOURCE_PROVIDERS)))
