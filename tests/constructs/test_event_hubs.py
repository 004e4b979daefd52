"""Event Hubs: two private, Entra ID-only Premium namespaces paired by geo-DR; hubs and consumer groups only
on the primary; anything declared in the secondary fails synth."""

from __future__ import annotations

import cdktf
import pytest
from cdktf_cdktf_provider_azurerm.eventhub import Eventhub
from cdktf_cdktf_provider_azurerm.eventhub_consumer_group import EventhubConsumerGroup

from config.loader import load_environment
from config.schema import EnvironmentConfig
from constructs.event_hubs import EventHubs, EventHubsProps
from constructs.naming import Naming
from constructs.private_endpoint import PrivateEndpointPlacement
from stacks.common import azurerm_provider
from tests.conftest import StackJson, only_resource, resources_of
from tests.constructs.data_stacks import addresses_with_path, endpoints_to, reference
from tests.constructs.environment_stacks import DIAGNOSTICS_SINK

NAMESPACE = "azurerm_eventhub_namespace"


def primary_and_secondary(data_stack: StackJson) -> tuple[str, str]:
    (primary,) = addresses_with_path(data_stack, NAMESPACE, "/event-hubs/primary")
    (secondary,) = addresses_with_path(data_stack, NAMESPACE, "/event-hubs/secondary")
    return primary, secondary


def test_every_namespace_is_private_premium_entra_only_tls12(data_stack: StackJson, config: EnvironmentConfig) -> None:
    namespaces = resources_of(data_stack, NAMESPACE)
    assert len(namespaces) == 2
    for address, namespace in namespaces.items():
        assert namespace["sku"] == "Premium", address
        assert namespace["capacity"] == config.data.event_hubs.capacity in (1, 2, 4, 8, 16), address
        assert namespace["local_authentication_enabled"] is False, address
        assert namespace["minimum_tls_version"] == "1.2", address
        assert namespace["public_network_access_enabled"] is False, address
        (rules,) = namespace["network_rulesets"]
        assert rules["default_action"] == "Deny" and rules["public_network_access_enabled"] is False, address
        assert namespace["lifecycle"]["prevent_destroy"] is config.data.protect_from_destroy, address
        assert "zone_redundant" not in namespace, "removed in azurerm 4.x: Premium is zone-redundant by itself"


def test_primary_is_in_the_region_and_secondary_in_the_paired_region(
    data_stack: StackJson, config: EnvironmentConfig
) -> None:
    primary, secondary = primary_and_secondary(data_stack)
    namespaces = resources_of(data_stack, NAMESPACE)
    assert namespaces[primary]["location"] == config.location
    assert namespaces[secondary]["location"] == config.paired_location


def test_both_namespaces_have_private_endpoints_before_they_are_paired(data_stack: StackJson) -> None:
    zones = resources_of(data_stack, "azurerm_private_dns_zone")
    endpoint_addresses = {
        body["private_service_connection"]["private_connection_resource_id"]: f"azurerm_private_endpoint.{address}"
        for address, body in resources_of(data_stack, "azurerm_private_endpoint").items()
    }
    pairing = only_resource(data_stack, "azurerm_eventhub_namespace_disaster_recovery_config")
    for address in resources_of(data_stack, NAMESPACE):
        (endpoint,) = endpoints_to(data_stack, NAMESPACE, address)
        assert endpoint["private_service_connection"]["subresource_names"] == ["namespace"]
        (zone_id,) = endpoint["private_dns_zone_group"]["private_dns_zone_ids"]
        zone = zones[zone_id.removeprefix("${azurerm_private_dns_zone.").removesuffix(".id}")]
        assert zone["name"] == "privatelink.servicebus.windows.net"
        assert endpoint_addresses[reference(data_stack, NAMESPACE, address)] in pairing["depends_on"]


def test_geo_disaster_recovery_pairs_primary_with_secondary_under_the_configured_alias(
    data_stack: StackJson, config: EnvironmentConfig
) -> None:
    primary, secondary = primary_and_secondary(data_stack)
    pairing = only_resource(data_stack, "azurerm_eventhub_namespace_disaster_recovery_config")
    assert pairing["name"] == config.data.event_hubs.disaster_recovery_alias
    assert pairing["namespace_name"] == reference(data_stack, NAMESPACE, primary, "name")
    assert pairing["partner_namespace_id"] == reference(data_stack, NAMESPACE, secondary)
    assert pairing["resource_group_name"] == resources_of(data_stack, NAMESPACE)[primary]["resource_group_name"]


def test_event_hubs_and_consumer_groups_from_config_live_only_on_the_primary(
    data_stack: StackJson, config: EnvironmentConfig
) -> None:
    primary, _ = primary_and_secondary(data_stack)
    hubs = resources_of(data_stack, "azurerm_eventhub")
    expected = {hub.name: hub for hub in config.data.event_hubs.event_hubs}
    assert sorted(hub["name"] for hub in hubs.values()) == sorted(expected)
    for address, hub in hubs.items():
        assert hub["namespace_id"] == reference(data_stack, NAMESPACE, primary), address
        assert hub["partition_count"] == expected[hub["name"]].partition_count
        assert hub["message_retention"] == expected[hub["name"]].retention_days
    groups = resources_of(data_stack, "azurerm_eventhub_consumer_group").values()
    assert sorted((g["eventhub_name"], g["name"]) for g in groups) == sorted(
        (reference(data_stack, "azurerm_eventhub", address, "name"), group)
        for address, hub in hubs.items()
        for group in expected[hub["name"]].consumer_groups
    )
    assert all(group["namespace_name"] == reference(data_stack, NAMESPACE, primary, "name") for group in groups)


def build_event_hubs(alias: str | None = None) -> tuple[cdktf.App, EventHubs]:
    staging = load_environment("staging")
    settings = staging.data.event_hubs
    app = cdktf.Testing.app()
    stack = cdktf.TerraformStack(app, "test")
    azurerm_provider(stack, staging)
    event_hubs = EventHubs(
        stack,
        "event-hubs",
        props=EventHubsProps(
            config=settings.model_copy(update={"disaster_recovery_alias": alias}) if alias else settings,
            naming=Naming(staging.short_name, staging.unique_suffix),
            location=staging.location,
            resource_group_name="rg",
            secondary_location=staging.paired_location,
            secondary_resource_group_name="rg-dr",
            private_endpoint=PrivateEndpointPlacement("subnet", staging.location, "rg"),
            private_dns_zone_id="zone",
            diagnostics=DIAGNOSTICS_SINK,
        ),
    )
    return app, event_hubs


def test_the_stack_synthesizes_when_the_secondary_is_empty() -> None:
    app, _ = build_event_hubs()
    app.synth()


@pytest.mark.parametrize("target", ["namespace_id", "namespace_name"])
def test_an_event_hub_in_the_secondary_fails_synth(target: str) -> None:
    app, event_hubs = build_event_hubs()
    scope = cdktf.TerraformStack.of(event_hubs)
    if target == "namespace_id":
        Eventhub(
            scope,
            "stray-hub",
            name="stray",
            namespace_id=event_hubs.secondary.id,
            partition_count=1,
            message_retention=1,
        )
    else:
        EventhubConsumerGroup(
            scope,
            "stray-group",
            name="stray",
            eventhub_name="erp-events",
            namespace_name=event_hubs.secondary.name_input,
            resource_group_name="rg-dr",
        )
    with pytest.raises(
        RuntimeError, match=r"test/stray-\w+' targets the geo-DR secondary namespace 'stg-events-dr-evhns-erp01'"
    ):
        app.synth()


def test_alias_equal_to_a_namespace_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="disaster_recovery_alias 'stg-events-evhns-erp01' must differ"):
        build_event_hubs(alias="stg-events-evhns-erp01")


def test_every_hub_captures_its_events_into_the_geo_redundant_container_with_the_namespace_identity(
    data_stack: StackJson, config: EnvironmentConfig
) -> None:
    container = config.data.event_hubs.capture_container
    assert container in config.data.storage.containers and config.data.storage.replication in (
        "GZRS",
        "RAGZRS",
        "GRS",
        "RAGRS",
    )
    (container_address,) = [
        a for a, b in resources_of(data_stack, "azurerm_storage_container").items() if b["name"] == container
    ]
    grants = {
        address: body
        for address, body in resources_of(data_stack, "azurerm_role_assignment").items()
        if body["scope"] == f"${{azurerm_storage_container.{container_address}.resource_manager_id}}"
    }
    for namespace_address in primary_and_secondary(data_stack):
        assert resources_of(data_stack, NAMESPACE)[namespace_address]["identity"] == {"type": "SystemAssigned"}
        (grant,) = [
            (a, b)
            for a, b in grants.items()
            if b["principal_id"] == f"${{azurerm_eventhub_namespace.{namespace_address}.identity[0].principal_id}}"
        ]
        assert grant[1]["role_definition_name"] == "Storage Blob Data Contributor"
    hubs = resources_of(data_stack, "azurerm_eventhub")
    assert len(hubs) == len(config.data.event_hubs.event_hubs) > 0
    for hub in hubs.values():
        capture = hub["capture_description"]
        assert capture["enabled"] is True and capture["encoding"] == "Avro"
        destination = capture["destination"]
        assert destination["blob_container_name"] == container
        assert destination["storage_authentication_type"] == "SystemAssigned"  # the account has no shared keys
        assert sorted(hub["depends_on"]) == sorted(f"azurerm_role_assignment.{a}" for a in grants)


def test_a_capture_container_the_account_does_not_have_is_rejected(raw_config) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    from config.loader import ConfigError, parse_environment
    from tests.config.test_loader import set_key

    data = raw_config("production")
    set_key(data, "data.event_hubs.capture_container", "events")
    with pytest.raises(ConfigError, match=r"data.event_hubs.capture_container.*must be one of data.storage.containers"):
        parse_environment(data, Path("config/production.toml"))
