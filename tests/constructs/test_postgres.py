"""PostgreSQL Flexible Server: SKU and HA from config, 35-day/geo backups, private endpoint only, Entra ID only
(no password anywhere), CMK for data and geo backups, TLS enforced, maintenance window, destroy protection."""

from __future__ import annotations

import json
from dataclasses import replace

import cdktf
import pytest
from cdktf_cdktf_provider_azurerm.role_assignment import RoleAssignment

from config.loader import load_environment
from config.schema import EnvironmentConfig
from constructs.key_vault import CustomerManagedKey
from constructs.naming import Naming
from constructs.postgres import Postgres, PostgresProps
from constructs.private_endpoint import PrivateEndpointPlacement
from tests.conftest import StackJson, resources_of, waited_dependencies
from tests.constructs.data_stacks import endpoints_to, reference
from tests.constructs.environment_stacks import DIAGNOSTICS_SINK

SERVER = "azurerm_postgresql_flexible_server"


def servers(data_stack: StackJson) -> dict[str, dict]:
    found = resources_of(data_stack, SERVER)
    assert found, "the application's PostgreSQL server"
    return found


def key_address(data_stack: StackJson, name: str) -> str:
    (address,) = [
        address for address, key in resources_of(data_stack, "azurerm_key_vault_key").items() if key["name"] == name
    ]
    return address


def test_every_server_has_sku_zone_and_high_availability_from_config(
    data_stack: StackJson, config: EnvironmentConfig
) -> None:
    postgres = config.data.postgres
    if config.name == "production":  # Story 0.1.5: zone-redundant HA with automatic failover
        assert postgres.standby_zone is not None
    for address, server in servers(data_stack).items():
        assert server["sku_name"] == postgres.sku_name and server["version"] == postgres.version, address
        assert server["zone"] == postgres.zone
        assert server["storage_mb"] == postgres.storage_mb and server["auto_grow_enabled"] is True
        if postgres.standby_zone is None:
            assert "high_availability" not in server, address
            continue
        assert server["sku_name"].startswith(("GP_", "MO_")), "Burstable cannot run HA"
        assert server["high_availability"] == {
            "mode": "ZoneRedundant",
            "standby_availability_zone": postgres.standby_zone,
        }
        assert server["high_availability"]["standby_availability_zone"] != server["zone"]


def test_every_server_keeps_geo_redundant_backups_for_the_configured_days(
    data_stack: StackJson, config: EnvironmentConfig
) -> None:
    for address, server in servers(data_stack).items():
        assert server["backup_retention_days"] == config.data.postgres.backup_retention_days, address
        assert 7 <= server["backup_retention_days"] <= 35
        assert server["geo_redundant_backup_enabled"] is config.data.postgres.geo_redundant_backup is True
        if config.name == "production":
            assert server["backup_retention_days"] == 35, "Story 0.1.5: 35-day retention"


def test_every_server_is_private_and_reached_through_its_endpoint(data_stack: StackJson) -> None:
    zones = resources_of(data_stack, "azurerm_private_dns_zone")
    for address, server in servers(data_stack).items():
        assert server["public_network_access_enabled"] is False, address
        assert "delegated_subnet_id" not in server and "private_dns_zone_id" not in server
        (endpoint,) = endpoints_to(data_stack, SERVER, address)
        assert endpoint["private_service_connection"]["subresource_names"] == ["postgresqlServer"]
        (zone_id,) = endpoint["private_dns_zone_group"]["private_dns_zone_ids"]
        zone = zones[zone_id.removeprefix("${azurerm_private_dns_zone.").removesuffix(".id}")]
        assert zone["name"] == "privatelink.postgres.database.azure.com"


def test_authentication_is_entra_id_only_with_the_configured_administrator(
    data_stack: StackJson, config: EnvironmentConfig
) -> None:
    administrators = resources_of(data_stack, "azurerm_postgresql_flexible_server_active_directory_administrator")
    expected = config.data.postgres.administrator
    for address, server in servers(data_stack).items():
        assert server["authentication"] == {
            "active_directory_auth_enabled": True,
            "password_auth_enabled": False,
            "tenant_id": config.tenant_id,
        }
        assert not {"administrator_login", "administrator_password", "administrator_password_wo"} & set(server)
        (administrator,) = [
            a for a in administrators.values() if a["server_name"] == reference(data_stack, SERVER, address, "name")
        ]
        assert administrator["object_id"] == expected.object_id
        assert administrator["principal_name"] == expected.principal_name
        assert administrator["principal_type"] == expected.principal_type
        assert administrator["tenant_id"] == config.tenant_id


def test_no_password_appears_anywhere_in_the_stack(data_stack: StackJson) -> None:
    text = json.dumps(data_stack).lower()
    assert "administrator_password" not in text and "administrator_login" not in text


def test_data_and_geo_backups_are_encrypted_with_customer_managed_keys(
    data_stack: StackJson, config: EnvironmentConfig
) -> None:
    vaults = resources_of(data_stack, "azurerm_key_vault")
    for address, server in servers(data_stack).items():
        key = server["customer_managed_key"]
        assert key["key_vault_key_id"] == reference(
            data_stack, "azurerm_key_vault_key", key_address(data_stack, "postgres-cmk"), "versionless_id"
        )
        geo_key = key_address(data_stack, "postgres-geo-backup-cmk")
        assert key["geo_backup_key_vault_key_id"] == reference(
            data_stack, "azurerm_key_vault_key", geo_key, "versionless_id"
        )
        geo_vault_ref = resources_of(data_stack, "azurerm_key_vault_key")[geo_key]["key_vault_id"]
        geo_vault = vaults[geo_vault_ref.removeprefix("${azurerm_key_vault.").removesuffix(".id}")]
        assert geo_vault["location"] == config.paired_location, "geo-backup key must be in the paired region"
        identities = [key["primary_user_assigned_identity_id"], key["geo_backup_user_assigned_identity_id"]]
        assert server["identity"] == {"type": "UserAssigned", "identity_ids": identities}
        geo_identity = identities[1].removeprefix("${azurerm_user_assigned_identity.").removesuffix(".id}")
        assert (
            resources_of(data_stack, "azurerm_user_assigned_identity")[geo_identity]["location"]
            == config.paired_location
        )
        grants = {
            role["principal_id"]: f"azurerm_role_assignment.{name}"
            for name, role in resources_of(data_stack, "azurerm_role_assignment").items()
        }
        assert waited_dependencies(data_stack, server) == [
            grants[i.replace(".id}", ".principal_id}")] for i in identities
        ], address


def test_every_server_enforces_tls_and_has_a_maintenance_window(
    data_stack: StackJson, config: EnvironmentConfig
) -> None:
    settings = resources_of(data_stack, "azurerm_postgresql_flexible_server_configuration").values()
    window = config.data.postgres.maintenance_window
    for address, server in servers(data_stack).items():
        own = {s["name"]: s["value"] for s in settings if s["server_id"] == reference(data_stack, SERVER, address)}
        assert own == {
            "require_secure_transport": "on",
            "ssl_min_protocol_version": config.data.postgres.minimum_tls_version,
        }
        assert server["maintenance_window"] == {
            "day_of_week": window.day_of_week,
            "start_hour": window.start_hour,
            "start_minute": window.start_minute,
        }
        assert server["lifecycle"]["prevent_destroy"] is config.data.protect_from_destroy


def test_geo_redundant_backup_without_a_paired_region_key_is_rejected() -> None:
    staging = load_environment("staging")
    stack = cdktf.TerraformStack(cdktf.Testing.app(), "test")
    grant = RoleAssignment(stack, "grant", scope="key", role_definition_name="role", principal_id="principal")
    key = CustomerManagedKey(key_id="key", identity_id="identity", identity_principal_id="principal", access=grant)
    props = PostgresProps(
        config=staging.data.postgres,
        naming=Naming(staging.short_name, staging.unique_suffix),
        location=staging.location,
        resource_group_name="rg",
        tenant_id=staging.tenant_id,
        customer_managed_key=key,
        geo_backup_customer_managed_key=None,
        private_endpoint=PrivateEndpointPlacement("subnet", staging.location, "rg"),
        private_dns_zone_id="zone",
        diagnostics=DIAGNOSTICS_SINK,
    )
    assert props.config.geo_redundant_backup
    with pytest.raises(ValueError, match="postgres: geo_redundant_backup is on, so geo_backup_customer_managed_key"):
        Postgres(stack, "postgres", props=props)
    without_geo_backup = replace(props, config=staging.data.postgres.model_copy(update={"geo_redundant_backup": False}))
    server = Postgres(stack, "postgres-without-geo-backup", props=without_geo_backup).server
    assert server.geo_redundant_backup_enabled_input is False
