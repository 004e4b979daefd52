"""A private endpoint for one PaaS resource, registered in its private DNS zone.

Every PaaS resource of the platform is reached only through one of these: the endpoint puts a private
IP for the resource in the endpoints subnet, and the DNS zone group writes the A record so the
resource's public host name resolves to that IP inside the virtual networks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf import TerraformProvider, TerraformResource
from cdktf_cdktf_provider_azurerm.private_dns_zone_virtual_network_link import PrivateDnsZoneVirtualNetworkLink
from cdktf_cdktf_provider_azurerm.private_endpoint import (
    PrivateEndpoint as AzurePrivateEndpoint,
)
from cdktf_cdktf_provider_azurerm.private_endpoint import (
    PrivateEndpointPrivateDnsZoneGroup,
    PrivateEndpointPrivateServiceConnection,
)

from constructs import Construct
from constructs.resource_types import address


@dataclass(frozen=True)
class PrivateEndpointProps:
    name: str
    location: str
    resource_group_name: str
    subnet_id: str
    resource_id: str
    subresource: str  # the resource's sub-resource ("group id"), e.g. "vault", "blob", "namespace", "registry"
    private_dns_zone_id: str
    # Services answering on several host names (Azure Monitor's private link scope) register in more zones.
    additional_private_dns_zone_ids: tuple[str, ...] = ()
    provider: TerraformProvider | None = None  # the bootstrap's per-environment provider; else the stack default


class PrivateEndpoint(Construct):
    """Exposes `id` and the underlying `endpoint`. The connection is approved automatically (not manual)."""

    def __init__(self, scope: Construct, id: str, *, props: PrivateEndpointProps) -> None:
        super().__init__(scope, id)
        if not props.subresource:
            raise ValueError(f"private endpoint '{props.name}': subresource must name the sub-resource, e.g. 'blob'")
        self.endpoint = AzurePrivateEndpoint(
            self,
            "endpoint",
            name=props.name,
            location=props.location,
            resource_group_name=props.resource_group_name,
            subnet_id=props.subnet_id,
            custom_network_interface_name=f"{props.name}-nic",
            private_service_connection=PrivateEndpointPrivateServiceConnection(
                name=f"{props.name}-connection",
                private_connection_resource_id=props.resource_id,
                subresource_names=[props.subresource],
                is_manual_connection=False,
            ),
            private_dns_zone_group=PrivateEndpointPrivateDnsZoneGroup(
                name="default",
                private_dns_zone_ids=[props.private_dns_zone_id, *props.additional_private_dns_zone_ids],
            ),
            provider=props.provider,
        )
        self.id = self.endpoint.id


@dataclass(frozen=True)
class PrivateEndpointPlacement:
    """Where a construct puts the private endpoints of its resources: the endpoints subnet, its region
    (an endpoint lives in its virtual network's region even when the resource is in another one) and
    the resource group that holds the endpoints."""

    subnet_id: str
    location: str
    resource_group_name: str
    provider: TerraformProvider | None = None  # the bootstrap's per-environment provider; else the stack default

    def connect(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        resource_id: str,
        subresource: str,
        private_dns_zone_id: str,
        additional_private_dns_zone_ids: tuple[str, ...] = (),
    ) -> PrivateEndpoint:
        return PrivateEndpoint(
            scope,
            id,
            props=PrivateEndpointProps(
                name=name,
                location=self.location,
                resource_group_name=self.resource_group_name,
                subnet_id=self.subnet_id,
                resource_id=resource_id,
                subresource=subresource,
                private_dns_zone_id=private_dns_zone_id,
                additional_private_dns_zone_ids=additional_private_dns_zone_ids,
                provider=self.provider,
            ),
        )


def link_private_dns_zone(
    owner: Construct,
    id: str,
    *,
    zone_name: str,
    resource_group_name: str,
    link_name: str,
    virtual_network_id: str,
    provider: TerraformProvider | None = None,
) -> PrivateDnsZoneVirtualNetworkLink:
    """Let `virtual_network_id` resolve the privatelink zone `zone_name`. Never with auto-registration: the zone
    holds only the A records its endpoints' DNS zone groups write, not the network's VMs."""
    return PrivateDnsZoneVirtualNetworkLink(
        owner,
        id,
        name=link_name,
        resource_group_name=resource_group_name,
        private_dns_zone_name=zone_name,
        virtual_network_id=virtual_network_id,
        registration_enabled=False,
        provider=provider,
    )


def data_plane_path(endpoint: PrivateEndpoint, network_path: Sequence[TerraformResource]) -> list[str]:
    """`depends_on` addresses for a write through a private data plane: the service's endpoint (its DNS zone group
    writes the A record) and the runner's network path to it (zone links, peering)."""
    return [address(resource) for resource in (endpoint.endpoint, *network_path)]
