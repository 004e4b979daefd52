"""The platform's container registry: Azure Container Registry Premium, reachable only through its private
endpoint, Entra ID-only (no admin user, no anonymous pull), zone-redundant and optionally geo-replicated."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_azurerm.container_registry import ContainerRegistry, ContainerRegistryGeoreplications

from config.services import RegistryConfig
from constructs import Construct
from constructs.interfaces import delete_lock
from constructs.locks import why_locked
from constructs.naming import Naming
from constructs.private_endpoint import PrivateEndpointPlacement


@dataclass(frozen=True)
class RegistryProps:
    config: RegistryConfig
    naming: Naming
    location: str
    paired_location: str  # where the replica lives when config.replicate_to_paired_region
    resource_group_name: str
    private_endpoint: PrivateEndpointPlacement
    private_dns_zone_id: str  # privatelink.azurecr.io
    protect_from_destroy: bool = True  # a cannot-delete lock: the images a rebuild of the clusters deploys


class Registry(Construct):
    """Exposes `registry_id`, `login_server` and the underlying `registry`."""

    def __init__(self, scope: Construct, id: str, *, props: RegistryProps) -> None:
        super().__init__(scope, id)
        config = props.config
        replicas = (
            [
                ContainerRegistryGeoreplications(
                    location=props.paired_location,
                    zone_redundancy_enabled=config.zone_redundancy_enabled,
                    regional_endpoint_enabled=True,
                )
            ]
            if config.replicate_to_paired_region
            else None
        )
        self.registry = ContainerRegistry(
            self,
            "registry",
            name=props.naming.compact("workloads", "acr"),
            location=props.location,
            resource_group_name=props.resource_group_name,
            sku="Premium",
            admin_enabled=False,  # pulls and pushes use Entra ID identities (AcrPull/AcrPush role assignments)
            anonymous_pull_enabled=False,
            public_network_access_enabled=False,
            # Images cannot be exported out of the private registry (needs public access off).
            export_policy_enabled=False,
            # Trusted Azure services (Defender vulnerability scanning, ACR Tasks) keep access over the backbone.
            network_rule_bypass_option="AzureServices",
            # Dedicated data endpoints (<name>.<region>.data.azurecr.io) give the layer downloads a private
            # IP of their own and a narrow FQDN for firewall rules instead of *.blob.core.windows.net.
            data_endpoint_enabled=True,
            zone_redundancy_enabled=config.zone_redundancy_enabled,
            retention_policy_in_days=config.untagged_manifest_retention_days,
            georeplications=replicas,
        )
        if props.protect_from_destroy:
            delete_lock(self, "lock", self.registry, why=why_locked(self.registry))
        self.registry_id = self.registry.id
        self.login_server = self.registry.login_server
        props.private_endpoint.connect(
            self,
            "private-endpoint",
            name=props.naming.name("workloads-acr", "pe"),
            resource_id=self.registry.id,
            subresource="registry",
            private_dns_zone_id=props.private_dns_zone_id,
        )
