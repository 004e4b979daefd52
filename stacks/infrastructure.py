"""One environment's Azure infrastructure (azurerm only). Wiring: config in, constructs out."""
from __future__ import annotations

from cdktf import TerraformStack
from cdktf_cdktf_provider_azurerm.resource_group import ResourceGroup
from constructs import Construct

from config.schema import EnvironmentConfig
from constructs.cluster import AksCluster, AksClusterProps
from constructs.data_platform import DataPlatform, DataPlatformProps
from constructs.naming import Naming
from constructs.network import Network, NetworkProps
from stacks.common import apply_environment_aspects, azurerm_provider, use_remote_state


class InfrastructureStack(TerraformStack):
    def __init__(self, scope: Construct, id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, id)
        azurerm_provider(self, config)
        use_remote_state(self, config)
        naming = Naming(config.short_name, config.unique_suffix)

        workloads = ResourceGroup(
            self, "workloads-rg", name=naming.name("workloads", "rg"), location=config.location
        )
        networking = ResourceGroup(
            self, "networking-rg", name=naming.name("networking", "rg"), location=config.location
        )
        self.network = Network(
            self,
            "network",
            props=NetworkProps(
                config=config.network,
                naming=naming,
                location=config.location,
                hub_resource_group_name=networking.name,
                spoke_resource_group_name=workloads.name,
            ),
        )
        data = ResourceGroup(self, "data-rg", name=naming.name("data", "rg"), location=config.location)
        security = ResourceGroup(self, "security-rg", name=naming.name("security", "rg"), location=config.location)
        # Geo-DR and geo-backup resources live in the paired region (Event Hubs secondary, geo-backup key vault).
        data_dr = ResourceGroup(self, "data-dr-rg", name=naming.name("data-dr", "rg"), location=config.paired_location)
        self.data = DataPlatform(
            self,
            "data",
            props=DataPlatformProps(
                config=config.data,
                naming=naming,
                tenant_id=config.tenant_id,
                location=config.location,
                paired_location=config.paired_location,
                resource_group_name=data.name,
                security_resource_group_name=security.name,
                paired_resource_group_name=data_dr.name,
                private_endpoint_subnet_id=self.network.subnet_ids["private_endpoints"],
                private_dns_zone_ids=self.network.private_dns_zone_ids,
            ),
        )
        self.aks = AksCluster(
            self,
            "aks",
            props=AksClusterProps(
                config=config.aks,
                naming=naming,
                location=config.location,
                resource_group_name=workloads.name,
                tenant_id=config.tenant_id,
            ),
        )
        apply_environment_aspects(self, config)
