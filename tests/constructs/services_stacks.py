"""Fixtures shared by the platform-service construct tests (AKS, registry, Application Gateway).

Each environment's Registry, AksCluster and AppGateway are synthesized in a stack of their own with the
environment's config, provider and Aspects. Private DNS zones stand in for the network construct's
(so references to them can be checked); the other ids the constructs receive are plain ARM ids, as the
stack would hand them over after apply. `app.synth()` fails on Aspect errors, as main.py does.
"""

from __future__ import annotations

from pathlib import Path

import cdktf
from cdktf_cdktf_provider_azurerm.private_dns_zone import PrivateDnsZone

from config.schema import EnvironmentConfig
from constructs.app_gateway import AppGateway, AppGatewayProps
from constructs.cluster import AksCluster, AksClusterProps, ClusterNetwork
from constructs.key_vault import EncryptionKey
from constructs.naming import Naming
from constructs.private_endpoint import PrivateEndpointPlacement
from constructs.registry import Registry, RegistryProps
from tests.conftest import StackJson
from tests.constructs.environment_stacks import DIAGNOSTICS_SINK, synth_per_environment

SPOKE = "/subscriptions/s/resourceGroups/workloads/providers/Microsoft.Network/virtualNetworks/spoke"
HUB = "/subscriptions/s/resourceGroups/networking/providers/Microsoft.Network/virtualNetworks/hub"
SUBNET_IDS = {
    key: f"{SPOKE}/subnets/{key}"
    for key in ("aks_system", "aks_user", "private_endpoints", "app_gateway", "api_server")
}
ROUTE_TABLE_ID = "/subscriptions/s/resourceGroups/workloads/providers/Microsoft.Network/routeTables/egress"
DISK_ENCRYPTION_SET_ID = "/subscriptions/s/resourceGroups/security/providers/Microsoft.Compute/diskEncryptionSets/disks"
WORKSPACE_ID = "/subscriptions/s/resourceGroups/monitoring/providers/Microsoft.OperationalInsights/workspaces/logs"
KEY_VAULT_ID = "/subscriptions/s/resourceGroups/security/providers/Microsoft.KeyVault/vaults/data"
KMS_VAULT_ID = "/subscriptions/s/resourceGroups/security/providers/Microsoft.KeyVault/vaults/kms"
KMS_KEY = EncryptionKey(
    key_id="https://kms.vault.azure.net/keys/etcd-cmk/0123456789abcdef0123456789abcdef",
    key_resource_id=f"{KMS_VAULT_ID}/keys/etcd-cmk",
    key_vault_id=KMS_VAULT_ID,
)
DNS_ZONES = {"aks": "privatelink.eastus.azmk8s.io", "acr": "privatelink.azurecr.io"}


def synth_services_stacks(outdir: Path) -> dict[str, StackJson]:
    def build(stack: cdktf.TerraformStack, config: EnvironmentConfig, naming: Naming) -> None:
        workloads = naming.name("workloads", "rg")
        zones = {
            key: PrivateDnsZone(stack, f"zone-{key}", name=zone, resource_group_name="net").id
            for key, zone in DNS_ZONES.items()
        }
        registry = Registry(
            stack,
            "registry",
            props=RegistryProps(
                config=config.registry,
                naming=naming,
                location=config.location,
                paired_location=config.paired_location,
                resource_group_name=workloads,
                private_endpoint=PrivateEndpointPlacement(SUBNET_IDS["private_endpoints"], config.location, workloads),
                private_dns_zone_id=zones["acr"],
                diagnostics=DIAGNOSTICS_SINK,
            ),
        )
        aks = AksCluster(
            stack,
            "aks",
            props=AksClusterProps(
                config=config.aks,
                naming=naming,
                location=config.location,
                resource_group_name=workloads,
                tenant_id=config.tenant_id,
                network=ClusterNetwork(
                    system_subnet_id=SUBNET_IDS["aks_system"],
                    user_subnet_id=SUBNET_IDS["aks_user"],
                    vnet_id=SPOKE,
                    route_table_id=ROUTE_TABLE_ID,
                    private_dns_zone_id=zones["aks"],
                    api_server_subnet_id=SUBNET_IDS["api_server"],
                    service_cidr=config.network.aks_service_cidr,
                    dns_service_ip=config.network.aks_dns_service_ip,
                    pod_cidr=config.network.aks_pod_cidr,
                ),
                disk_encryption_set_id=DISK_ENCRYPTION_SET_ID,
                registry_id=registry.registry_id,
                log_analytics_workspace_id=WORKSPACE_ID,
                kms_key=KMS_KEY,
                diagnostics=DIAGNOSTICS_SINK,
            ),
        )
        AppGateway(
            stack,
            "app-gateway",
            props=AppGatewayProps(
                config=config.app_gateway,
                naming=naming,
                location=config.location,
                resource_group_name=workloads,
                subnet_id=SUBNET_IDS["app_gateway"],
                key_vault_id=KEY_VAULT_ID,
                ingress_identity_principal_id=aks.ingress_identity_principal_id,
                dns_vnet_ids={"hub": HUB, "spoke": SPOKE},
                diagnostics=DIAGNOSTICS_SINK,
            ),
        )

    return synth_per_environment(outdir, build)


def ref(stack: StackJson, resource_type: str, path_suffix: str, attribute: str = "id") -> str:
    """`${type.address.attribute}` of the one resource of a type whose construct path ends with `path_suffix`."""
    (address,) = [
        address
        for address, body in stack["resource"][resource_type].items()
        if body["//"]["metadata"]["path"].endswith(path_suffix)
    ]
    return f"${{{resource_type}.{address}.{attribute}}}"
