"""PostgreSQL Flexible Server: private endpoint only, Entra ID authentication only (no password exists),
customer-managed keys, zone-redundant HA and geo-redundant backups as configured."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_azurerm.postgresql_flexible_server import (
    PostgresqlFlexibleServer,
    PostgresqlFlexibleServerAuthentication,
    PostgresqlFlexibleServerCustomerManagedKey,
    PostgresqlFlexibleServerHighAvailability,
    PostgresqlFlexibleServerIdentity,
    PostgresqlFlexibleServerMaintenanceWindow,
)
from cdktf_cdktf_provider_azurerm.postgresql_flexible_server_active_directory_administrator import (
    PostgresqlFlexibleServerActiveDirectoryAdministrator,
)
from cdktf_cdktf_provider_azurerm.postgresql_flexible_server_configuration import (
    PostgresqlFlexibleServerConfiguration,
)

from config.data import PostgresConfig
from constructs import Construct
from constructs.interfaces import DiagnosticsSink, after_access, delete_lock, diagnostics
from constructs.key_vault import CustomerManagedKey
from constructs.locks import why_locked
from constructs.naming import Naming
from constructs.private_endpoint import PrivateEndpointPlacement


@dataclass(frozen=True)
class PostgresProps:
    config: PostgresConfig
    naming: Naming
    location: str
    resource_group_name: str
    tenant_id: str
    customer_managed_key: CustomerManagedKey
    # Geo-redundant backups are encrypted with a key and identity in the paired region; required when
    # config.geo_redundant_backup is on.
    geo_backup_customer_managed_key: CustomerManagedKey | None
    private_endpoint: PrivateEndpointPlacement
    private_dns_zone_id: str  # privatelink.postgres.database.azure.com
    diagnostics: DiagnosticsSink  # where the diagnostic settings of its resources send (the workspace)
    protect_from_destroy: bool = True


class Postgres(Construct):
    """Exposes `server` and `server_id`."""

    def __init__(self, scope: Construct, id: str, *, props: PostgresProps) -> None:
        super().__init__(scope, id)
        config = props.config
        if config.geo_redundant_backup and props.geo_backup_customer_managed_key is None:
            raise ValueError(
                "postgres: geo_redundant_backup is on, so geo_backup_customer_managed_key (a key and identity in "
                "the paired region) is required: Azure refuses geo-redundant backups of a CMK server without one"
            )
        key = props.customer_managed_key
        geo_key = props.geo_backup_customer_managed_key if config.geo_redundant_backup else None
        keys = [key] + ([geo_key] if geo_key else [])
        self.server = PostgresqlFlexibleServer(
            self,
            "server",
            name=props.naming.global_name("app", "psql"),
            location=props.location,
            resource_group_name=props.resource_group_name,
            version=config.version,
            sku_name=config.sku_name,
            storage_mb=config.storage_mb,
            auto_grow_enabled=True,
            zone=config.zone,
            high_availability=PostgresqlFlexibleServerHighAvailability(
                mode="ZoneRedundant", standby_availability_zone=config.standby_zone
            )
            if config.standby_zone
            else None,
            backup_retention_days=config.backup_retention_days,
            geo_redundant_backup_enabled=config.geo_redundant_backup,
            public_network_access_enabled=False,  # reached only through the private endpoint
            authentication=PostgresqlFlexibleServerAuthentication(
                active_directory_auth_enabled=True, password_auth_enabled=False, tenant_id=props.tenant_id
            ),
            identity=PostgresqlFlexibleServerIdentity(type="UserAssigned", identity_ids=[k.identity_id for k in keys]),
            customer_managed_key=PostgresqlFlexibleServerCustomerManagedKey(
                key_vault_key_id=key.key_id,
                primary_user_assigned_identity_id=key.identity_id,
                geo_backup_key_vault_key_id=geo_key.key_id if geo_key else None,
                geo_backup_user_assigned_identity_id=geo_key.identity_id if geo_key else None,
            ),
            maintenance_window=PostgresqlFlexibleServerMaintenanceWindow(
                day_of_week=config.maintenance_window.day_of_week,
                start_hour=config.maintenance_window.start_hour,
                start_minute=config.maintenance_window.start_minute,
            ),
            depends_on=after_access(self, "rbac-wait", [k.access for k in keys]),
            lifecycle=TerraformResourceLifecycle(
                prevent_destroy=props.protect_from_destroy,
                # Azure moves the primary to the standby's zone on failover; do not fail it back on every apply.
                ignore_changes=["zone", "high_availability[0].standby_availability_zone"],
            ),
        )
        if props.protect_from_destroy:
            delete_lock(self, "lock", self.server, why=why_locked(self.server))
        diagnostics(self, "diagnostics", self.server, props.diagnostics)
        self.server_id = self.server.id
        props.private_endpoint.connect(
            self,
            "private-endpoint",
            name=props.naming.name("app-psql", "pe"),
            resource_id=self.server.id,
            subresource="postgresqlServer",
            private_dns_zone_id=props.private_dns_zone_id,
        )
        administrator = config.administrator
        PostgresqlFlexibleServerActiveDirectoryAdministrator(
            self,
            "entra-administrator",
            resource_group_name=props.resource_group_name,
            server_name=self.server.name,
            tenant_id=props.tenant_id,
            object_id=administrator.object_id,
            principal_name=administrator.principal_name,
            principal_type=administrator.principal_type,
        )
        for setting, value in {
            "require_secure_transport": "on",
            "ssl_min_protocol_version": config.minimum_tls_version,
        }.items():
            PostgresqlFlexibleServerConfiguration(
                self, setting.replace("_", "-"), name=setting, server_id=self.server.id, value=value
            )
