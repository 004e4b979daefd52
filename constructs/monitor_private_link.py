"""Private ingestion into Azure Monitor: one Azure Monitor Private Link Scope (AMPLS) holding the environment's
Log Analytics workspace, Application Insights component and data collection endpoints, reached through one
private endpoint (`azuremonitor`) in the spoke's endpoint subnet.

Azure Monitor answers on shared global and regional host names (ingestion, query, agent configuration, the
agents' solution packs in blob storage), so the endpoint registers in five private DNS zones, all linked to hub
and spoke. That makes every Azure Monitor call from these networks go through the scope: with ingestion
`PrivateOnly`, they can send only to the resources in it (no exfiltration to another workspace), and the
resources can close public ingestion (`observability.internet_ingestion_enabled = false`). Design: one scope
per set of networks sharing DNS (Microsoft's "avoid DNS overrides" rule): hub and spoke share it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cdktf_cdktf_provider_azurerm.monitor_private_link_scope import MonitorPrivateLinkScope
from cdktf_cdktf_provider_azurerm.monitor_private_link_scoped_service import MonitorPrivateLinkScopedService
from cdktf_cdktf_provider_azurerm.private_dns_zone import PrivateDnsZone

from config.observability import PrivateLinkScope
from constructs import Construct
from constructs.naming import Naming
from constructs.private_endpoint import PrivateEndpointPlacement, link_private_dns_zone

AZURE_MONITOR_SUBRESOURCE = "azuremonitor"
# Zones the scope's endpoint writes records into (key → zone). The blob zone is shared with every storage
# endpoint of the network (agents fetch solution packs from a Microsoft storage account through it).
AZURE_MONITOR_DNS_ZONES: Mapping[str, str] = {
    "monitor": "privatelink.monitor.azure.com",  # global and regional ingestion/query, data collection endpoints
    "oms": "privatelink.oms.opinsights.azure.com",  # Log Analytics agent configuration
    "ods": "privatelink.ods.opinsights.azure.com",  # Log Analytics ingestion
    "agentsvc": "privatelink.agentsvc.azure-automation.net",  # agent service automation
    "blob": "privatelink.blob.core.windows.net",  # agent solution packs
}


@dataclass(frozen=True)
class MonitorPrivateLinkProps:
    config: PrivateLinkScope
    naming: Naming
    resource_group_name: str  # the scope, its links and its DNS zones
    private_endpoint: PrivateEndpointPlacement
    # Azure Monitor resources sent to through the scope (name → id): workspace, component, collection endpoints.
    scoped_resource_ids: Mapping[str, str]
    virtual_network_ids: Mapping[str, str]  # networks that resolve through the endpoint (hub, spoke)
    # Zones the network already holds and links (key of AZURE_MONITOR_DNS_ZONES → zone id); the rest are made here.
    existing_private_dns_zone_ids: Mapping[str, str]


class MonitorPrivateLink(Construct):
    """Exposes `scope_id`, `scope_name`, `private_endpoint_id` and `private_dns_zone_ids` (key → id)."""

    def __init__(self, scope: Construct, id: str, *, props: MonitorPrivateLinkProps) -> None:
        super().__init__(scope, id)
        if not props.scoped_resource_ids:
            raise ValueError("monitor private link: scoped_resource_ids is empty; a scope without resources is useless")
        unknown = sorted(set(props.existing_private_dns_zone_ids) - set(AZURE_MONITOR_DNS_ZONES))
        if unknown:
            raise ValueError(
                f"monitor private link: existing_private_dns_zone_ids has keys {unknown}; "
                f"allowed: {sorted(AZURE_MONITOR_DNS_ZONES)}"
            )
        naming = props.naming
        self.scope = MonitorPrivateLinkScope(
            self,
            "scope",
            name=naming.name("ops", "ampls"),
            resource_group_name=props.resource_group_name,
            ingestion_access_mode=props.config.ingestion_access_mode,
            query_access_mode=props.config.query_access_mode,
        )
        self.scope_id = self.scope.id
        self.scope_name = self.scope.name
        scoped = [
            MonitorPrivateLinkScopedService(
                self,
                f"scoped-{key}",
                name=f"{key}-scoped",
                resource_group_name=props.resource_group_name,
                scope_name=self.scope.name,
                linked_resource_id=resource_id,
            )
            for key, resource_id in sorted(props.scoped_resource_ids.items())
        ]
        zone_ids = dict(props.existing_private_dns_zone_ids)
        for key, zone_name in AZURE_MONITOR_DNS_ZONES.items():
            if key in zone_ids:
                continue
            zone = PrivateDnsZone(self, f"dns-{key}", name=zone_name, resource_group_name=props.resource_group_name)
            for network, network_id in sorted(props.virtual_network_ids.items()):
                link_private_dns_zone(
                    self,
                    f"dns-{key}-{network}",
                    zone_name=zone.name,
                    resource_group_name=props.resource_group_name,
                    link_name=f"{network}-link",
                    virtual_network_id=network_id,
                )
            zone_ids[key] = zone.id
        self.private_dns_zone_ids: Mapping[str, str] = zone_ids
        ordered = [zone_ids[key] for key in AZURE_MONITOR_DNS_ZONES]
        endpoint = props.private_endpoint.connect(
            self,
            "private-endpoint",
            name=naming.name("ops-ampls", "pe"),
            resource_id=self.scope.id,
            subresource=AZURE_MONITOR_SUBRESOURCE,
            private_dns_zone_id=ordered[0],
            additional_private_dns_zone_ids=tuple(ordered[1:]),
        )
        # The endpoint's DNS records cover the resources in the scope when it is created: scope them first.
        endpoint.endpoint.add_override(
            "depends_on", [f"{service.terraform_resource_type}.{service.friendly_unique_id}" for service in scoped]
        )
        self.private_endpoint_id = endpoint.id
