"""Event Hubs Premium with geo-disaster recovery: a primary namespace holding the event hubs, an empty
secondary namespace in the paired region, and the alias that pairs them.

Geo-DR replicates the primary's metadata (event hubs, consumer groups) into the secondary; Azure
refuses the pairing when the secondary already has entities, and anything declared there would fight
the replication. So the hubs are declared on the primary only, and a synth-time validation rejects any
event hub, consumer group, authorization rule or schema group that targets the secondary.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsii
from cdktf import (
    DefaultTokenResolver,
    StringConcat,
    TerraformResource,
    TerraformResourceLifecycle,
    TerraformStack,
    Tokenization,
)
from cdktf_cdktf_provider_azurerm.eventhub import (
    Eventhub,
    EventhubCaptureDescription,
    EventhubCaptureDescriptionDestination,
)
from cdktf_cdktf_provider_azurerm.eventhub_consumer_group import EventhubConsumerGroup
from cdktf_cdktf_provider_azurerm.eventhub_namespace import (
    EventhubNamespace,
    EventhubNamespaceIdentity,
    EventhubNamespaceNetworkRulesets,
)
from cdktf_cdktf_provider_azurerm.eventhub_namespace_disaster_recovery_config import (
    EventhubNamespaceDisasterRecoveryConfig,
)

from config.data import EventHubsConfig
from constructs import Construct, IValidation
from constructs.interfaces import DiagnosticsSink, Grants, RoleGrant, delete_lock, diagnostics
from constructs.locks import why_locked
from constructs.naming import Naming
from constructs.private_endpoint import PrivateEndpoint, PrivateEndpointPlacement
from constructs.resource_types import resource_type

# Resource types that create entities inside a namespace: none of them may target the geo-DR secondary.
NAMESPACE_ENTITY_TYPES = frozenset(
    {
        "azurerm_eventhub",
        "azurerm_eventhub_consumer_group",
        "azurerm_eventhub_authorization_rule",
        "azurerm_eventhub_namespace_authorization_rule",
        "azurerm_eventhub_namespace_schema_group",
    }
)

# Name parts of the primary and the secondary namespace (and their private endpoints).
WORKLOADS = ("events", "events-dr")


# Event Hubs Capture (docs/dr-drills.md "Cross-region copies"): Avro files every 5 minutes or 300 MiB, empty
# windows skipped, written with the namespace's managed identity (the account allows Entra ID only).
CAPTURE_DESTINATION = "EventHubArchive.AzureBlockBlob"
CAPTURE_ARCHIVE_NAME = "{Namespace}/{EventHub}/{PartitionId}/{Year}/{Month}/{Day}/{Hour}/{Minute}/{Second}"
CAPTURE_INTERVAL_SECONDS = 300
CAPTURE_SIZE_LIMIT_BYTES = 314572800


@dataclass(frozen=True)
class EventHubsCapture:
    """Where Capture archives the events: a container of a geo-redundant storage account."""

    storage_account_id: str
    container_name: str
    container_id: str  # the container's ARM id: each namespace identity may write there only


@dataclass(frozen=True)
class EventHubsProps:
    config: EventHubsConfig
    naming: Naming
    location: str
    resource_group_name: str
    secondary_location: str  # the paired region
    secondary_resource_group_name: str
    private_endpoint: PrivateEndpointPlacement
    private_dns_zone_id: str  # privatelink.servicebus.windows.net
    diagnostics: DiagnosticsSink  # where the diagnostic settings of its resources send (the workspace)
    protect_from_destroy: bool = True
    # Where the secondary's endpoint goes (the DR landing zone in the paired region); None: with the primary's.
    secondary_private_endpoint: PrivateEndpointPlacement | None = None
    capture: EventHubsCapture | None = None  # None: events are not archived


@jsii.implements(IValidation)
class SecondaryNamespaceStaysEmpty:
    """Fails synth when any resource in the stack declares an entity in the geo-DR secondary namespace."""

    def __init__(self, secondary: EventhubNamespace) -> None:
        self._secondary = secondary

    def validate(self) -> list[str]:
        stack = TerraformStack.of(self._secondary)

        def resolve(value: object) -> Any:
            return Tokenization.resolve(
                value, scope=stack, preparing=False, resolver=DefaultTokenResolver(StringConcat())
            )

        # "${azurerm_eventhub_namespace.<address>." starts every reference to the secondary's attributes.
        reference = resolve(self._secondary.id).removesuffix("id}")
        secondary_name = self._secondary.name_input
        errors = []
        for node in stack.node.find_all():
            if not isinstance(node, TerraformResource) or resource_type(node) not in NAMESPACE_ENTITY_TYPES:
                continue
            (arguments,) = resolve(node.to_terraform())["resource"][resource_type(node)].values()
            if reference in json.dumps(arguments) or arguments.get("namespace_name") == secondary_name:
                errors.append(
                    f"{resource_type(node)} '{node.node.path}' targets the geo-DR secondary namespace "
                    f"'{secondary_name}': the secondary must stay empty (geo-DR replicates the primary's "
                    "entities into it); declare it on the primary namespace"
                )
        return errors


class EventHubs(Construct):
    """Exposes `primary` and `secondary` (namespaces), `namespace_id` (the primary's), `event_hub_ids` by
    name and `alias` (the geo-DR alias name clients connect to)."""

    def __init__(self, scope: Construct, id: str, *, props: EventHubsProps) -> None:
        super().__init__(scope, id)
        config = props.config
        naming = props.naming
        if config.disaster_recovery_alias in (naming.global_name(workload, "evhns") for workload in WORKLOADS):
            raise ValueError(
                f"event hubs: disaster_recovery_alias '{config.disaster_recovery_alias}' must differ from the "
                "namespace names (the alias is a host name of its own)"
            )
        primary_workload, secondary_workload = WORKLOADS
        self.primary, primary_endpoint = self._namespace(
            "primary", primary_workload, props.location, props.resource_group_name, props
        )
        self.secondary, secondary_endpoint = self._namespace(
            "secondary", secondary_workload, props.secondary_location, props.secondary_resource_group_name, props
        )
        self.node.add_validation(SecondaryNamespaceStaysEmpty(self.secondary))
        self.namespace_id = self.primary.id
        # Pairing fails unless both namespaces already have their private endpoints.
        self.disaster_recovery = EventhubNamespaceDisasterRecoveryConfig(
            self,
            "geo-disaster-recovery",
            name=config.disaster_recovery_alias,
            namespace_name=self.primary.name,
            resource_group_name=props.resource_group_name,
            partner_namespace_id=self.secondary.id,
            depends_on=[primary_endpoint.endpoint, secondary_endpoint.endpoint],
        )
        self.alias = config.disaster_recovery_alias
        capture, capture_grants = props.capture, Grants(self, "capture-grants")
        if capture is not None:
            # Both namespaces: after a failover the former secondary holds the hubs and keeps capturing.
            for role, namespace in (("primary", self.primary), ("secondary", self.secondary)):
                capture_grants.add(
                    f"{role}-capture-writer",
                    RoleGrant(
                        capture.container_id,
                        "Storage Blob Data Contributor",
                        namespace.identity.principal_id,
                        "Event Hubs Capture writes the events to the geo-redundant container",
                    ),
                )
        event_hub_ids: dict[str, str] = {}
        for hub in config.event_hubs:
            event_hub = Eventhub(
                self,
                f"hub-{hub.name}",
                name=hub.name,
                namespace_id=self.primary.id,
                partition_count=hub.partition_count,
                message_retention=hub.retention_days,
                capture_description=EventhubCaptureDescription(
                    enabled=True,
                    encoding="Avro",
                    interval_in_seconds=CAPTURE_INTERVAL_SECONDS,
                    size_limit_in_bytes=CAPTURE_SIZE_LIMIT_BYTES,
                    skip_empty_archives=True,
                    destination=EventhubCaptureDescriptionDestination(
                        name=CAPTURE_DESTINATION,
                        archive_name_format=CAPTURE_ARCHIVE_NAME,
                        blob_container_name=capture.container_name,
                        storage_account_id=capture.storage_account_id,
                    ),
                )
                if capture is not None
                else None,
                depends_on=capture_grants.all or None,  # Azure checks the write access when capture is enabled
            )
            if capture is not None:
                # azurerm 4.81 (the provider the stacks pin) has the argument; the 4.55 bindings do not.
                event_hub.add_override("capture_description.destination.storage_authentication_type", "SystemAssigned")
            event_hub_ids[hub.name] = event_hub.id
            for group in hub.consumer_groups:
                EventhubConsumerGroup(
                    self,
                    f"hub-{hub.name}-group-{group}",
                    name=group,
                    eventhub_name=event_hub.name,
                    namespace_name=self.primary.name,
                    resource_group_name=props.resource_group_name,
                )
        self.event_hub_ids: Mapping[str, str] = event_hub_ids

    def _namespace(
        self, role: str, workload: str, location: str, resource_group_name: str, props: EventHubsProps
    ) -> tuple[EventhubNamespace, PrivateEndpoint]:
        """A private, Entra ID-only Premium namespace. Premium namespaces are zone-redundant wherever the
        region has availability zones (azurerm 4.x has no zone_redundant argument any more)."""
        namespace = EventhubNamespace(
            self,
            role,
            name=props.naming.global_name(workload, "evhns"),
            location=location,
            resource_group_name=resource_group_name,
            sku="Premium",
            capacity=props.config.capacity,
            local_authentication_enabled=False,  # no SAS keys: Entra ID (managed identities) only
            minimum_tls_version="1.2",
            public_network_access_enabled=False,
            identity=EventhubNamespaceIdentity(type="SystemAssigned") if props.capture is not None else None,
            network_rulesets=[
                EventhubNamespaceNetworkRulesets(
                    default_action="Deny", public_network_access_enabled=False, trusted_service_access_enabled=False
                )
            ],
            lifecycle=TerraformResourceLifecycle(prevent_destroy=props.protect_from_destroy),
        )
        if props.protect_from_destroy:
            delete_lock(self, f"{role}-lock", namespace, why=why_locked(namespace))
        diagnostics(self, f"{role}-diagnostics", namespace, props.diagnostics)
        placement = props.private_endpoint
        if role == "secondary" and props.secondary_private_endpoint is not None:
            placement = props.secondary_private_endpoint
        endpoint = placement.connect(
            self,
            f"{role}-private-endpoint",
            name=props.naming.name(workload, "pe"),
            resource_id=namespace.id,
            subresource="namespace",
            private_dns_zone_id=props.private_dns_zone_id,
        )
        return namespace, endpoint
