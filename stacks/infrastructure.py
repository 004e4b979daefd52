"""One environment's Azure infrastructure (azurerm only). Wiring: config in, constructs out."""
from __future__ import annotations

from cdktf import TerraformStack
from cdktf_cdktf_provider_azurerm.resource_group import ResourceGroup
from constructs import Construct

from config.schema import EnvironmentConfig
from constructs.cluster import AksCluster, AksClusterProps
from constructs.naming import Naming
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
