"""One environment's Azure infrastructure (azurerm only). Wiring: config in, constructs out."""

from __future__ import annotations

from cdktf import TerraformStack

from config.observability import SEVERITIES
from config.schema import EnvironmentConfig
from constructs import Construct
from constructs.alerts import Alerts, AlertsProps, SlaMonitoring, SlaMonitoringProps
from constructs.app_gateway import AppGateway, AppGatewayProps
from constructs.backup import AksBackup, AksBackupProps, BackupVault, BackupVaultProps, BlobBackup, BlobBackupProps
from constructs.baseline.jobs import COMPLIANCE_JOB
from constructs.baseline.platform import BACKUP_NAMESPACE, COMPLIANCE_NAMESPACE
from constructs.cluster import AksCluster, AksClusterProps, ClusterNetwork
from constructs.cluster_exports import ClusterExportsWriter, ClusterExportsWriterProps
from constructs.compliance_results import ComplianceResults, ComplianceResultsProps
from constructs.data_platform import (
    ETCD_KEY,
    POSTGRES_GEO_BACKUP_KEY,
    POSTGRES_KEY,
    STORAGE_KEY,
    DataPlatform,
    DataPlatformProps,
)
from constructs.deployer_access import (
    RUNNER_RESOLVED_ZONES,
    DeployerAccess,
    DeployerAccessProps,
    DeployerIdentities,
    DeployerIdentitiesProps,
)
from constructs.deployment import deployment_names
from constructs.diagnostics import DiagnosticsCoverage
from constructs.dr_network import DrLandingZone, DrLandingZoneProps
from constructs.drills import (
    DrillIdentity,
    DrillIdentityProps,
    DrillResults,
    DrillResultsProps,
    DrillScopes,
    RecoveryAlerts,
    RecoveryAlertsProps,
)
from constructs.governance import Governance, GovernanceProps
from constructs.image_pins import import_source
from constructs.interfaces import diagnostics_of_id
from constructs.key_vault import KeyVault
from constructs.kubernetes_policy import KubernetesPolicies, KubernetesPolicyProps
from constructs.locks import LockCoverage, LockCoverageProps
from constructs.monitor_private_link import MonitorPrivateLink, MonitorPrivateLinkProps
from constructs.naming import Naming
from constructs.network import Network, NetworkProps
from constructs.notifications import LOGIC_APP_TYPE, webhook_receiver_ids
from constructs.observability import (
    ContainerInsightsCollection,
    ContainerInsightsCollectionProps,
    LogAnalytics,
    LogAnalyticsProps,
    Observability,
    ObservabilityProps,
    OperatorQueries,
    OperatorQueriesProps,
    PrometheusCollection,
    PrometheusCollectionProps,
)
from constructs.platform_groups import PlatformGroup, forget_platform_groups, platform_groups
from constructs.private_endpoint import PrivateEndpointPlacement
from constructs.recommended_alerts import RecommendedAlerts, RecommendedAlertsProps
from constructs.recording_rules import RecordingRules, RecordingRulesProps
from constructs.registry import ImageImport, ImageImportProps, Registry, RegistryProps
from constructs.storage import Storage, StorageProps
from constructs.tracing import TracingPublisher, TracingPublisherProps
from constructs.workbooks import DashboardTargets, OperationsWorkbooks, OperationsWorkbooksProps
from stacks.common import apply_environment_aspects, azurerm_provider, use_remote_state


class InfrastructureStack(TerraformStack):
    def __init__(self, scope: Construct, id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, id)
        azurerm_provider(self, config)
        use_remote_state(self, config)
        self._config = config
        self._naming = Naming(config.short_name, config.unique_suffix)
        # One step per capability, each wiring config into constructs; a step reads what earlier steps built.
        for step in (
            self._resource_groups,
            self._log_analytics,  # first: every construct below declares its diagnostic settings to its sink
            self._network,
            self._deployer_identities,
            self._dr_landing_zone,
            self._data_platform,
            self._observability,
            self._registry,
            self._cluster,
            self._app_gateway,
            self._deployer_access,
            self._monitoring_collection,
            self._governance,
            self._backup,
            self._alerting,  # after backup: its alerts watch the AKS backup storage account too
            self._drills,
            self._dashboards,
            self._data_plane_writes_after_runner_path,
            self._coverage_checks,
        ):
            step()
        apply_environment_aspects(self, config)

    def _resource_groups(self) -> None:
        # The resource groups are bootstrap's (constructs/platform_groups.py): the apply identity holds Contributor on
        # them only. This stack forgets the ones it created before (no destroy).
        self.groups = platform_groups(self._config)
        forget_platform_groups(self, self.groups)

    def _log_analytics(self) -> None:
        config = self._config
        self.log_analytics = LogAnalytics(
            self,
            "log-analytics",
            props=LogAnalyticsProps(
                config=config.observability,
                naming=self._naming,
                location=config.location,
                resource_group_name=self.groups["monitoring"].name,
                protect_from_destroy=config.data.protect_from_destroy,
            ),
        )
        self._sink = self.log_analytics.sink

    def _network(self) -> None:
        config = self._config
        self.network = Network(
            self,
            "network",
            props=NetworkProps(
                config=config.network,
                naming=self._naming,
                location=config.location,
                hub_resource_group_name=self.groups["networking"].name,
                spoke_resource_group_name=self.groups["workloads"].name,
                diagnostics=self._sink,
                # The deploy runners reach the API server and the Key Vault endpoints (constructs/data_paths.py).
                peer_sources={"runners": config.deployment.network.runners.address_prefix},
            ),
        )

    def _deployer_identities(self) -> None:
        """The deploy identities and network bootstrap created, looked up by their config-derived names."""
        self._deployment = deployment_names(self._naming, self._config.deployment)
        self._deployer = DeployerIdentities(
            self, "deployer-identities", props=DeployerIdentitiesProps(names=self._deployment)
        )

    def _dr_landing_zone(self) -> None:
        config = self._config
        self.dr_landing_zone = DrLandingZone(
            self,
            "dr-landing-zone",
            props=DrLandingZoneProps(
                config=config.network.dr,
                naming=self._naming,
                location=config.paired_location,
                resource_group_name=self.groups["dr-networking"].name,
                hub_vnet_id=self.network.hub_vnet_id,
                private_dns_zone_ids=self.network.private_dns_zone_ids,
                diagnostics=self._sink,
            ),
        )

    def _data_platform(self) -> None:
        config, groups = self._config, self.groups
        self.data = DataPlatform(
            self,
            "data",
            props=DataPlatformProps(
                config=config.data,
                naming=self._naming,
                tenant_id=config.tenant_id,
                location=config.location,
                paired_location=config.paired_location,
                resource_group_name=groups["data"].name,
                security_resource_group_name=groups["security"].name,
                paired_resource_group_name=groups["data-dr"].name,
                private_endpoint_subnet_id=self.network.subnet_ids["private_endpoints"],
                private_dns_zone_ids=self.network.private_dns_zone_ids,
                diagnostics=self._sink,
                key_administrator_principal_id=self._deployer.principal_ids["apply"],
                # Operational blob backup (BlobBackup below) restores within this window.
                point_in_time_restore_days=config.recovery.blobs.operational_retention_days,
                # Paired-region endpoints in the DR landing zone, in the paired region's data resource group.
                paired_private_endpoints=PrivateEndpointPlacement(
                    subnet_id=self.dr_landing_zone.private_endpoint_subnet_id,
                    location=config.paired_location,
                    resource_group_name=groups["data-dr"].name,
                ),
            ),
        )

    def _observability(self) -> None:
        config, monitoring = self._config, self.groups["monitoring"]
        # The webhook channels (secret addresses) are the alerting stack's, applied before this one: named by their
        # config-derived ids, so this stack neither holds nor reads a secret (docs/security-model.md).
        self._webhooks = webhooks = webhook_receiver_ids(
            self._naming,
            {severity: config.observability.receivers[severity].webhook_name for severity in SEVERITIES},
            config.subscription_id,
            monitoring.name,
        )
        for severity, workflow_id in webhooks.adapter_workflow_ids.items():
            diagnostics_of_id(self, f"{severity}-adapter-diagnostics", LOGIC_APP_TYPE, workflow_id, self._sink)
        self.observability = Observability(
            self,
            "observability",
            props=ObservabilityProps(
                config=config.observability,
                naming=self._naming,
                location=config.location,
                resource_group_name=monitoring.name,
                log_analytics_workspace_id=self.log_analytics.workspace_id,
                diagnostics=self._sink,
                webhook_action_group_ids=webhooks.action_group_ids,
                private_endpoint=self._private_endpoint_in(monitoring, config),
                virtual_network_ids={"hub": self.network.hub_vnet_id, "spoke": self.network.spoke_vnet_id},
                metrics_retention_days=config.baseline.monitoring.retention_days,
            ),
        )

    def _registry(self) -> None:
        """The registry, and the images the cluster stack runs imported into it (the only registry it admits)."""
        config, workloads = self._config, self.groups["workloads"]
        self.registry = Registry(
            self,
            "registry",
            props=RegistryProps(
                config=config.registry,
                naming=self._naming,
                location=config.location,
                paired_location=config.paired_location,
                resource_group_name=workloads.name,
                private_endpoint=self._private_endpoint_in(workloads, config),
                private_dns_zone_id=self.network.private_dns_zone_ids["acr"],
                diagnostics=self._sink,
                protect_from_destroy=config.data.protect_from_destroy,
            ),
        )
        job_image, job_image_tag = (
            config.baseline.job_image,
            config.baseline.job_image.tag(config.aks.kubernetes_version),
        )
        tracing = config.observability.tracing
        imports = {
            "job-image-import": (job_image.source_repository, job_image.repository, job_image_tag),
            # the OpenTelemetry collector (cluster stack)
            "collector-image-import": (
                tracing.collector_source_repository,
                tracing.collector_repository,
                tracing.collector_version,
            ),
        }
        for construct_id, (source, target, tag) in imports.items():
            ImageImport(
                self,
                construct_id,
                props=ImageImportProps(
                    registry_name=self.registry.registry_name,
                    resource_group_name=workloads.name,
                    subscription_id=config.subscription_id,
                    source=import_source(f"{source}:{tag}"),
                    target=f"{target}:{tag}",
                ),
            )

    def _cluster(self) -> None:
        config, network = self._config, self.network
        self.aks = AksCluster(
            self,
            "aks",
            props=AksClusterProps(
                config=config.aks,
                naming=self._naming,
                location=config.location,
                resource_group_name=self.groups["workloads"].name,
                tenant_id=config.tenant_id,
                log_analytics_workspace_id=self.log_analytics.workspace_id,
                network=ClusterNetwork(
                    system_subnet_id=network.subnet_ids["aks_system"],
                    user_subnet_id=network.subnet_ids["aks_user"],
                    vnet_id=network.spoke_vnet_id,
                    route_table_id=network.route_table_id,
                    private_dns_zone_id=network.private_dns_zone_ids["aks"],
                    api_server_subnet_id=network.subnet_ids["api_server"],
                    service_cidr=config.network.aks_service_cidr,
                    dns_service_ip=config.network.aks_dns_service_ip,
                    pod_cidr=config.network.aks_pod_cidr,
                ),
                disk_encryption_set_id=self.data.disk_encryption_set_id,
                kms_key=self.data.kms_key_vault.encryption_keys[ETCD_KEY],
                registry_id=self.registry.registry_id,
                diagnostics=self._sink,
                egress_rules=network.egress_rules,
            ),
        )

    def _app_gateway(self) -> None:
        config = self._config
        self.app_gateway = AppGateway(
            self,
            "app-gateway",
            props=AppGatewayProps(
                config=config.app_gateway,
                naming=self._naming,
                location=config.location,
                resource_group_name=self.groups["workloads"].name,
                subnet_id=self.network.subnet_ids["app_gateway"],
                key_vault_id=self.data.key_vault.key_vault_id,
                certificate_administrator_principal_id=self._deployer.principal_ids["apply"],
                ingress_identity_principal_id=self.aks.ingress_identity_principal_id,
                dns_vnet_ids={"hub": self.network.hub_vnet_id, "spoke": self.network.spoke_vnet_id},
                diagnostics=self._sink,
            ),
        )

    def _vaults(self) -> list[KeyVault]:
        vaults = (self.data.key_vault, self.data.kms_key_vault, self.data.geo_key_vault)
        return [vault for vault in vaults if vault is not None]

    def _deployer_access(self) -> None:
        network, dr = self.network, self.dr_landing_zone
        self.deployer_access = DeployerAccess(
            self,
            "deployer-access",
            props=DeployerAccessProps(
                names=self._deployment,
                subscription_id=self._config.subscription_id,
                principal_ids=self._deployer.principal_ids,
                spoke_vnet_id=network.spoke_vnet_id,
                spoke_vnet_name=network.spoke_vnet_name,
                spoke_resource_group_name=self.groups["workloads"].name,
                private_dns_zones={
                    key: (network.private_dns_zone_names[key], self.groups["networking"].name)
                    for key in RUNNER_RESOLVED_ZONES
                },
                key_vault_ids=[vault.key_vault_id for vault in self._vaults()],
                key_vault_records=[
                    (vault.vault.name, vault.private_endpoint.endpoint.private_service_connection.private_ip_address)
                    for vault in self._vaults()
                ],
                cluster_ids=[self.aks.cluster_id],
                other_endpoint_vnets={"dr": (dr.vnet_id, dr.vnet_name, dr.resource_group_name)},
            ),
        )

    def _monitoring_collection(self) -> None:
        """Managed Prometheus and Container Insights collect from the cluster; Azure Monitor over private link."""
        PrometheusCollection(
            self,
            "prometheus-collection",
            props=PrometheusCollectionProps(
                cluster_id=self.aks.cluster_id,
                data_collection_rule_id=self.observability.data_collection_rule_id,
                data_collection_endpoint_id=self.observability.data_collection_endpoint_id,
            ),
        )
        self._private_monitoring()
        self._cluster_exports()
        self._compliance_results()
        ContainerInsightsCollection(
            self,
            "container-insights",
            props=ContainerInsightsCollectionProps(
                cluster_id=self.aks.cluster_id,
                container_insights_rule_id=self.observability.container_insights_rule_id,
            ),
        )

    def _alerting(self) -> None:
        """Metric and Prometheus alerts, operator queries, recording rules, the SLA test (docs/operations.md)."""
        config, naming, monitoring, observability = (
            self._config,
            self._naming,
            self.groups["monitoring"],
            self.observability,
        )
        Alerts(
            self,
            "alerts",
            props=AlertsProps(
                thresholds=config.observability.thresholds,
                naming=naming,
                location=config.location,
                resource_group_name=monitoring.name,
                action_group_ids=observability.action_group_ids,
                targets={
                    "aks": self.aks.cluster_id,
                    "postgres": self.data.postgres.server_id,
                    "event_hubs": self.data.event_hubs.namespace_id,
                    "storage": self.data.storage.storage_account_id,
                    "key_vault": self.data.key_vault.key_vault_id,
                    "firewall": self.network.firewall_id,
                    "app_gateway": self.app_gateway.gateway_id,
                    "registry": self.registry.registry_id,
                    "bastion": self.network.bastion_id,
                    "route_table": self.network.route_table_id,
                    "log_analytics": self.log_analytics.workspace_id,
                },
                peers={
                    "storage": {"aks-backup": self.aks_backup_storage.storage_account_id},
                    "key_vault": {
                        "kms": self.data.kms_key_vault.key_vault_id,
                        **({"geo": self.data.geo_key_vault.key_vault_id} if self.data.geo_key_vault else {}),
                    },
                    "event_hubs": {"secondary": self.data.event_hubs.secondary.id},
                },
                instances={
                    "chat_adapter": dict(self._webhooks.adapter_workflow_ids),  # the alerting stack's, by id
                    "network_security_group": self.network.network_security_group_ids,
                    "private_dns_zone": {
                        **self.network.private_dns_zone_ids,
                        **self.monitor_private_link.private_dns_zone_ids,  # its "blob" is the network's zone
                        "app-gateway-backend": self.app_gateway.backend_dns_zone_id,
                        "grafana": observability.grafana_dns_zone_id,
                    },
                    "public_ip": {**self.network.public_ip_ids, "app-gateway": self.app_gateway.public_ip_id},
                    "virtual_network": {
                        "hub": self.network.hub_vnet_id,
                        "spoke": self.network.spoke_vnet_id,
                        "dr": self.dr_landing_zone.vnet_id,
                    },
                },
                cluster_id=self.aks.cluster_id,
                prometheus_cluster_label=config.prometheus_cluster_label,
                monitor_workspace_id=observability.monitor_workspace_id,
                backup_alerts_severity=config.recovery.backup_alerts_severity,
                edge_live=config.app_gateway.edge_live,
                subscription_id=config.subscription_id,
                cost_anomaly_emails=config.governance.budget.contact_emails,
                amba=config.observability.amba,
            ),
        )
        OperatorQueries(
            self,
            "operator-queries",
            props=OperatorQueriesProps(log_analytics_workspace_id=self.log_analytics.workspace_id),
        )
        RecordingRules(
            self,
            "recording-rules",
            props=RecordingRulesProps(
                naming=naming,
                location=config.location,
                resource_group_name=monitoring.name,
                cluster_id=self.aks.cluster_id,
                prometheus_cluster_label=config.prometheus_cluster_label,
                monitor_workspace_id=observability.monitor_workspace_id,
            ),
        )
        RecommendedAlerts(
            self,
            "recommended-alerts",
            props=RecommendedAlertsProps(
                config=config.observability.prometheus_alerts,
                location=config.location,
                resource_group_name=monitoring.name,
                cluster_id=self.aks.cluster_id,
                prometheus_cluster_label=config.prometheus_cluster_label,
                monitor_workspace_id=observability.monitor_workspace_id,
                action_group_ids=observability.action_group_ids,
            ),
        )
        SlaMonitoring(
            self,
            "sla",
            props=SlaMonitoringProps(
                config=config.observability.availability_test,
                naming=naming,
                location=config.location,
                resource_group_name=monitoring.name,
                application_insights_id=observability.application_insights_id,
                action_group_ids=observability.action_group_ids,
                edge_live=config.app_gateway.edge_live,
                drill_results_workspace_id=self.log_analytics.workspace_id,
            ),
        )

    def _governance(self) -> None:
        """Azure Policy, Defender and budget on the subscription; Gatekeeper policies on the cluster."""
        config = self._config
        Governance(
            self,
            "governance",
            props=GovernanceProps(
                config=config.governance,
                naming=self._naming,
                subscription_id=config.subscription_id,
                location=config.location,
                log_analytics_workspace_id=self.log_analytics.workspace_id,
                allowed_image_prefixes=(
                    f"{self.registry.name}.azurecr.io/",
                    *config.governance.kubernetes_policy.additional_registries,
                ),
                budget_action_group_ids=self.observability.action_group_ids["warning"],
            ),
        )
        KubernetesPolicies(
            self,
            "kubernetes-policy",
            props=KubernetesPolicyProps(
                config=config.governance.kubernetes_policy,
                naming=self._naming,
                cluster_id=self.aks.cluster_id,
                registry_login_server=self.registry.login_server,
            ),
        )

    def _dashboards(self) -> None:
        """The operations team's workbooks and saved queries (docs/operations.md "2.2 Dashboards")."""
        config, data, network = self._config, self.data, self.network
        OperationsWorkbooks(
            self,
            "workbooks",
            props=OperationsWorkbooksProps(
                naming=self._naming,
                location=config.location,
                resource_group_name=self.groups["monitoring"].name,
                log_analytics_workspace_id=self.log_analytics.workspace_id,
                targets=DashboardTargets(
                    postgres_server_id=data.postgres.server_id,
                    event_hubs_namespace_ids=(data.event_hubs.primary.id, data.event_hubs.secondary.id),
                    storage_account_ids=(data.storage.storage_account_id, self.aks_backup_storage.storage_account_id),
                    key_vault_ids=tuple(vault.key_vault_id for vault in self._vaults()),
                    app_gateway_id=self.app_gateway.gateway_id,
                    firewall_id=network.firewall_id,
                    public_ip_ids=(*network.public_ip_ids.values(), self.app_gateway.public_ip_id),
                    cluster_id=self.aks.cluster_id,
                    application_insights_id=self.observability.application_insights_id,
                ),
                rto_hours=config.recovery.rto_hours,
                rpo_hours=config.recovery.rpo_hours,
            ),
        )

    def _data_plane_writes_after_runner_path(self) -> None:
        """Terraform writes keys and certificates through each vault's private data plane: they wait for the
        runner's path to it (the vault's endpoint, the privatelink zone's links, the A records the runners resolve
        the vaults by in bootstrap's zone, the peering to the runners)."""
        runner_path = [
            *self.network.private_dns_zone_links["key_vault"],
            self.dr_landing_zone.private_dns_zone_links["key_vault"],
            *self.deployer_access.records["key_vault"],
            *self.deployer_access.peerings,
        ]
        for vault in self._vaults():
            vault.writes_after(runner_path)
        self.app_gateway.writes_after(self.data.key_vault.private_endpoint, runner_path)

    def _coverage_checks(self) -> None:
        # Each construct locks its own stateful resources (data.protect_from_destroy); this checks none is missed.
        LockCoverage(self, "locks", props=LockCoverageProps(enabled=self._config.data.protect_from_destroy))
        # Each construct declares its resources' diagnostic settings (to its sink); this checks none is missed.
        self.node.add_validation(DiagnosticsCoverage(self))

    def _private_endpoint_in(
        self, resource_group: PlatformGroup, config: EnvironmentConfig
    ) -> PrivateEndpointPlacement:
        """Private endpoints sit in the spoke's endpoint subnet, in the resource group of the service they serve."""
        return PrivateEndpointPlacement(
            subnet_id=self.network.subnet_ids["private_endpoints"],
            location=config.location,
            resource_group_name=resource_group.name,
        )

    def _private_monitoring(self) -> None:
        """Azure Monitor over private link, and the identity traced workloads publish as
        (docs/platform/observability.md "Tracing")."""
        config, naming, monitoring, observability = (
            self._config,
            self._naming,
            self.groups["monitoring"],
            self.observability,
        )
        self.monitor_private_link = MonitorPrivateLink(
            self,
            "monitor-private-link",
            props=MonitorPrivateLinkProps(
                config=config.observability.private_link,
                naming=naming,
                resource_group_name=monitoring.name,
                private_endpoint=self._private_endpoint_in(monitoring, config),
                scoped_resource_ids={
                    "log-analytics": self.log_analytics.workspace_id,
                    "application-insights": observability.application_insights_id,
                    "prometheus-endpoint": observability.data_collection_endpoint_id,
                },
                virtual_network_ids={"hub": self.network.hub_vnet_id, "spoke": self.network.spoke_vnet_id},
                existing_private_dns_zone_ids={"blob": self.network.private_dns_zone_ids["blob"]},
            ),
        )
        self.tracing = TracingPublisher(
            self,
            "tracing",
            props=TracingPublisherProps(
                config=config.observability.tracing,
                naming=naming,
                location=config.location,
                resource_group_name=monitoring.name,
                application_insights_id=observability.application_insights_id,
                oidc_issuer_url=self.aks.oidc_issuer_url,
                collector_principal_id=self.aks.kubelet_identity_object_id,
            ),
        )

    def _cluster_exports(self) -> None:
        """The backup CronJob's exports go to geo-redundant blob storage (docs/dr-drills.md)."""
        exports = self._config.baseline.exports_container
        self.cluster_exports = ClusterExportsWriter(
            self,
            "cluster-exports",
            props=ClusterExportsWriterProps(
                naming=self._naming,
                location=self._config.location,
                resource_group_name=self.groups["monitoring"].name,
                container_id=self.data.storage.containers[exports].resource_manager_id,
                blob_endpoint=self.data.storage.account.primary_blob_endpoint,
                container_name=exports,
                oidc_issuer_url=self.aks.oidc_issuer_url,
                namespace=BACKUP_NAMESPACE,
            ),
        )

    def _compliance_results(self) -> None:
        """The in-cluster compliance CronJob posts its results to Log Analytics (docs/operations.md)."""
        config, observability = self._config, self.observability
        self.compliance_results = ComplianceResults(
            self,
            "compliance-results",
            props=ComplianceResultsProps(
                naming=self._naming,
                environment=config.name,
                location=config.location,
                resource_group_name=self.groups["monitoring"].name,
                log_analytics_workspace_id=self.log_analytics.workspace_id,
                data_collection_endpoint_id=observability.data_collection_endpoint_id,
                oidc_issuer_url=self.aks.oidc_issuer_url,
                namespace=COMPLIANCE_NAMESPACE,
                service_account=COMPLIANCE_JOB,
                action_group_ids=observability.action_group_ids,
            ),
        )

    def _backup(self) -> None:
        """Azure Backup for the cluster and the application blobs (docs/platform/backup-dr.md)."""
        config, naming = self._config, self._naming
        recovery = config.recovery
        backup, snapshots = self.groups["backup"], self.groups["aks-snapshots"]
        self.backup_vault = BackupVault(
            self,
            "backup-vault",
            props=BackupVaultProps(
                config=recovery.vault,
                naming=naming,
                location=config.location,
                resource_group_name=backup.name,
                diagnostics=self.log_analytics.sink,
                protect_from_destroy=config.data.protect_from_destroy,
            ),
        )
        self.aks_backup_storage = aks_backup_storage = Storage(
            self,
            "aks-backup-storage",
            props=StorageProps(
                config=recovery.aks.storage,
                naming=naming,
                workload="aksbkp",
                location=config.location,
                resource_group_name=backup.name,
                customer_managed_key=self.data.key_vault.customer_managed_keys[STORAGE_KEY],
                private_endpoint=self._private_endpoint_in(backup, config),
                private_dns_zone_id=self.network.private_dns_zone_ids["blob"],
                diagnostics=self.log_analytics.sink,
                protect_from_destroy=config.data.protect_from_destroy,
            ),
        )
        self.aks_backup = AksBackup(
            self,
            "aks-backup",
            props=AksBackupProps(
                config=recovery.aks,
                naming=naming,
                backup_time_utc=recovery.backup_time_utc,
                vault=self.backup_vault,
                cluster_id=self.aks.cluster_id,
                cluster_identity_principal_id=self.aks.control_plane_identity_principal_id,
                snapshot_resource_group_id=snapshots.id(config.subscription_id),
                snapshot_resource_group_name=snapshots.name,
                storage=aks_backup_storage,
                subscription_id=config.subscription_id,
                tenant_id=config.tenant_id,
            ),
        )
        self.blob_backup = BlobBackup(
            self,
            "blob-backup",
            props=BlobBackupProps(
                config=recovery.blobs,
                naming=naming,
                backup_time_utc=recovery.backup_time_utc,
                vault=self.backup_vault,
                storage=self.data.storage,
            ),
        )

    def _drills(self) -> None:
        """Restore drills: their identity, their results table and the RTO/RPO alerts (docs/dr-drills.md)."""
        config, naming, monitoring = self._config, self._naming, self.groups["monitoring"]
        recovery, data = config.recovery, self.data
        scratch, geo_scratch = self.groups["drill"], self.groups["drill-dr"]
        canary_container = data.storage.containers[config.data.storage.containers[0]]
        capture = config.data.event_hubs.capture_container
        geo_keys = data.geo_key_vault.customer_managed_keys if data.geo_key_vault is not None else {}
        identity = DrillIdentity(
            self,
            "drill-identity",
            props=DrillIdentityProps(
                config=recovery,
                naming=naming,
                location=config.location,
                resource_group_name=monitoring.name,
                repository=config.deployment.repository,
                environment=config.name,
                scopes=DrillScopes(
                    postgres_server=data.postgres.server_id,
                    postgres_identity=data.key_vault.customer_managed_keys[POSTGRES_KEY].identity_id,
                    postgres_geo_identity=geo_keys[POSTGRES_GEO_BACKUP_KEY].identity_id
                    if POSTGRES_GEO_BACKUP_KEY in geo_keys
                    else None,
                    postgres_zone=self.network.private_dns_zone_ids["postgres"],
                    endpoint_subnet=self.network.subnet_ids["private_endpoints"],
                    dr_endpoint_subnet=self.dr_landing_zone.private_endpoint_subnet_id,
                    scratch=scratch.id(config.subscription_id),
                    geo_scratch=geo_scratch.id(config.subscription_id),
                    storage_account=data.storage.storage_account_id,
                    canary_container=canary_container.resource_manager_id,
                    backup_vault=self.backup_vault.vault_id,
                    cluster=self.aks.cluster_id,
                    key_vault=data.key_vault.key_vault_id,
                    geo_key_vault=data.geo_key_vault.key_vault_id if data.geo_key_vault is not None else None,
                    event_hubs_secondary=data.event_hubs.secondary.id,
                    capture_container=data.storage.containers[capture].resource_manager_id if capture else None,
                ),
                sample_namespace=recovery.drills.aks_sample_namespace,
                scratch_namespace=recovery.drills.aks_scratch_namespace,
            ),
        )
        self.drill_results = DrillResults(
            self,
            "drill-results",
            props=DrillResultsProps(
                naming=naming,
                location=config.location,
                resource_group_name=monitoring.name,
                log_analytics_workspace_id=self.log_analytics.workspace_id,
                data_collection_endpoint_id=self.observability.data_collection_endpoint_id,
                publisher_principal_id=identity.principal_id,
            ),
        )
        RecoveryAlerts(
            self,
            "recovery-alerts",
            props=RecoveryAlertsProps(
                config=recovery,
                environment=config.name,
                naming=naming,
                location=config.location,
                resource_group_name=monitoring.name,
                log_analytics_workspace_id=self.log_analytics.workspace_id,
                action_group_ids=self.observability.action_group_ids,
                results_table=self.drill_results.table,
            ),
        )
