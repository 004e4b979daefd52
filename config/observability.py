"""Observability settings: log and trace retention, managed Grafana, notification receivers, alert
thresholds and the SLA availability test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from config.base import Guid, KeyedValueError, Section
from config.prometheus_alerts import PrometheusAlerts

# The only retention periods Azure accepts for Application Insights (and for Log Analytics above 30 days
# it accepts any value from 30 to 730, so the workspace is checked by range).
APP_INSIGHTS_RETENTION_DAYS = (30, 60, 90, 120, 180, 270, 365, 550, 730)
SEVERITIES = ("critical", "warning")
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")]
# Availability test locations (Azure's ids for its probe sites), e.g. us-va-ash-azr (East US).
TestLocation = Annotated[str, Field(pattern=r"^[a-z]{2,4}-[a-z]{2}-[a-z0-9]{3}-(azr|edge)$")]


class PhoneNumber(Section):
    """An SMS or voice receiver: Azure takes the country calling code and the national number separately."""

    country_code: str = Field(pattern=r"^[1-9][0-9]{0,2}$", description="e.g. 1, 44, 49 (no '+')")
    number: str = Field(pattern=r"^[0-9]{4,14}$", description="digits only, no spaces or leading '+'")


# Azure's per-action-group limits (Microsoft Learn, "Azure Monitor service limits", action groups).
MAX_SMS = MAX_VOICE = MAX_APP_PUSH = 10
MAX_EMAILS = 1000


class Receivers(Section):
    """Who hears about alerts of one severity, on which channels (constructs/observability.py, docs/operations.md).

    `webhook_name` names the chat or paging channel its webhook URL reaches: `pagerduty` (the action group's
    webhook receiver posts the common alert schema to PagerDuty's Azure integration URL), `slack` or `teams`
    (through a Logic App adapter, constructs/notifications.py). The URL carries a secret and so is never in
    config: it comes from the sensitive Terraform variable `<severity>_alert_webhook_url`, validated at plan
    time against the channel's URL format."""

    short_name: str = Field(pattern=r"^[A-Za-z0-9-]{1,12}$", description="Action group short name (SMS/email)")
    webhook_name: Literal["pagerduty", "slack", "teams"] = Field(
        description="The channel the webhook reaches (URL: Terraform variable `<severity>_alert_webhook_url`)"
    )
    emails: tuple[Email, ...] = Field(
        default=(), max_length=MAX_EMAILS, description="Addresses the action group e-mails (common alert schema)"
    )
    sms: tuple[PhoneNumber, ...] = Field(default=(), max_length=MAX_SMS, description="Phones the action group texts")
    voice: tuple[PhoneNumber, ...] = Field(
        default=(), max_length=MAX_VOICE, description="Phones the action group calls"
    )
    # Azure mobile app push: the e-mail address of the Azure account signed in to the app.
    azure_app_push: tuple[Email, ...] = Field(default=(), max_length=MAX_APP_PUSH)

    @model_validator(mode="after")
    def _a_person_is_reached(self) -> Receivers:
        if not (self.emails or self.sms or self.voice or self.azure_app_push):
            raise KeyedValueError(
                "emails",
                self.emails,
                "a severity needs at least one person channel (emails, sms, voice or "
                "azure_app_push) besides its webhook",
            )
        return self


class AlertThresholds(Section):
    """Where each alert fires (docs/platform/observability.md table). Percentages are 0-100."""

    aks_node_cpu_percent: int = Field(
        default=80, ge=1, le=100, description="Warning: AKS node CPU usage (average over 5 minutes) above this (%)"
    )
    aks_node_memory_working_set_percent: int = Field(
        default=80,
        ge=1,
        le=100,
        description="Warning: AKS node memory working set (average over 5 minutes) above this (%)",
    )
    aks_pod_restarts_per_15_minutes: int = Field(
        default=3,
        ge=1,
        description="Warning: a pod restarted more than this many times in 15 minutes (Prometheus rule)",
    )
    aks_not_ready_node_minutes: int = Field(
        default=5,
        ge=1,
        le=60,
        description="Critical: a node stays not ready this many minutes (the Prometheus rule's `for`)",
    )
    postgres_cpu_percent: int = Field(
        default=80, ge=1, le=100, description="Warning: PostgreSQL CPU (average over 5 minutes) above this (%)"
    )
    postgres_storage_percent: int = Field(
        default=85,
        ge=1,
        le=100,
        description="Critical: PostgreSQL storage used (average over 5 minutes) above this (%)",
    )
    postgres_active_connections: int = Field(
        default=400, ge=1, description="Warning: PostgreSQL active connections (average over 5 minutes) above this"
    )
    eventhub_throttled_requests: int = Field(
        default=10, ge=1, description="Warning: Event Hubs throttled requests (total over 5 minutes) above this"
    )
    eventhub_server_errors: int = Field(
        default=5, ge=1, description="Critical: Event Hubs server errors (total over 5 minutes) above this"
    )
    storage_availability_percent: float = Field(
        default=99.9, gt=0, le=100, description="Critical: storage availability (average over 5 minutes) below this (%)"
    )
    key_vault_availability_percent: float = Field(
        default=99.9,
        gt=0,
        le=100,
        description="Critical: Key Vault availability (average over 5 minutes) below this (%)",
    )
    firewall_health_percent: int = Field(
        default=90, ge=1, le=100, description="Critical: firewall health (average over 5 minutes) below this (%)"
    )
    firewall_snat_port_utilization_percent: int = Field(
        default=80,
        ge=1,
        le=100,
        description="Warning: firewall SNAT port utilisation (maximum over 5 minutes) above this (%)",
    )
    app_gateway_unhealthy_hosts: int = Field(
        default=0,
        ge=0,
        description="Critical once app_gateway.edge_live (warning before): unhealthy backend hosts above this",
    )


# The Azure Monitor baseline alerts the platform deploys (reference/amba.json, refreshed by
# tools/maintenance/refdata/refresh_amba.py): metric alert key "<Provider>/<type>[/<service>]/<metric>" (AMBA's
# services/ path) and activity-log alert key "<Provider>/<type>/activity/<operation>" → AMBA's definition.
_AMBA = json.loads((Path(__file__).resolve().parent.parent / "reference" / "amba.json").read_text())
AMBA_ALERTS: dict[str, dict[str, Any]] = _AMBA["alerts"]
AMBA_ACTIVITY_ALERTS: dict[str, dict[str, Any]] = _AMBA["activity_log"]


class AmbaOverride(Section):
    """One AMBA metric alert's local values; unset fields keep AMBA's (severity 0 = Critical ... 4 = Verbose).
    `threshold` applies to a static-threshold alert, `sensitivity` to a dynamic-threshold one."""

    severity: int | None = Field(default=None, ge=0, le=4, description="The alert's severity instead of AMBA's")
    threshold: float | None = Field(default=None, description="A static-threshold alert's threshold instead of AMBA's")
    sensitivity: Literal["Low", "Medium", "High"] | None = Field(
        default=None, description="A dynamic-threshold alert's sensitivity instead of AMBA's"
    )


class AmbaAlerts(Section):
    """The AMBA alerts (docs/operations.md "2.3 AMBA metric alerts"): AMBA's severity and threshold unless
    overridden here; `disabled` names an alert not to create, with the reason."""

    overrides: dict[str, AmbaOverride] = Field(
        default_factory=dict, description="Per AMBA alert key (`<Provider>/<type>/<metric>`): local values"
    )
    disabled: dict[str, str] = Field(
        default_factory=dict, description="AMBA alert key -> why it is not created (a reason is required)"
    )

    @model_validator(mode="after")
    def _known_alerts(self) -> AmbaAlerts:
        unknown = sorted((set(self.overrides) | set(self.disabled)) - set(AMBA_ALERTS) - set(AMBA_ACTIVITY_ALERTS))
        if unknown:
            raise ValueError(f"unknown AMBA alerts {unknown} (reference/amba.json lists the known ones)")
        activity = sorted(set(self.overrides) & set(AMBA_ACTIVITY_ALERTS))
        if activity:
            raise ValueError(f"AMBA activity-log alerts {activity} have no severity or threshold: disable one instead")
        for key, override in self.overrides.items():
            dynamic = "dynamic" in AMBA_ALERTS[key]
            if dynamic and override.threshold is not None:
                raise ValueError(f"AMBA alert {key} has a dynamic threshold: override its sensitivity, not a threshold")
            if not dynamic and override.sensitivity is not None:
                raise ValueError(f"AMBA alert {key} has a static threshold: override its threshold, not a sensitivity")
        if [key for key, reason in self.disabled.items() if not reason.strip()]:
            raise ValueError("every disabled AMBA alert needs a reason")
        return self

    def resolved(self, key: str) -> tuple[int, float | None]:
        """(severity, threshold) of an AMBA metric alert: the override, else AMBA's value (None: a dynamic one)."""
        amba, override = AMBA_ALERTS[key], self.overrides.get(key, AmbaOverride())
        severity = amba["severity"] if override.severity is None else override.severity
        threshold = amba["threshold"] if override.threshold is None else override.threshold
        return severity, threshold

    def sensitivity(self, key: str) -> str:
        """The sensitivity of a dynamic-threshold AMBA alert: the override, else AMBA's."""
        override = self.overrides.get(key, AmbaOverride()).sensitivity
        return override or AMBA_ALERTS[key]["dynamic"]["alert_sensitivity"]


class AvailabilityTest(Section):
    """The SLA probe: an Application Insights standard web test against the public endpoint."""

    url: str = Field(
        pattern=r"^https://[a-z0-9.-]+\.[a-z]{2,}(/\S*)?$", description="https only: the probe checks TLS too"
    )
    sla_percent: float = Field(
        default=99.9, gt=90, lt=100, description="The SLA (%) whose error budget the burn-rate alerts measure"
    )
    frequency_seconds: int = Field(default=300, description="How often each location probes: 300, 600 or 900 s")
    locations: tuple[TestLocation, ...] = Field(
        default=("us-va-ash-azr", "us-ca-sjc-azr", "us-tx-sn1-azr", "us-il-ch1-azr", "emea-nl-ams-azr"),
        min_length=5,  # Azure's guidance: five locations, alert when two fail
        description="Azure's probe sites the test runs from (ids such as us-va-ash-azr)",
    )
    failed_locations_for_alert: int = Field(
        default=2, ge=1, description="The availability alert fires when this many locations fail"
    )
    # Error-budget burn-rate alerts on the SLA (Google SRE workbook, "Alerting on SLOs", multiwindow,
    # multi-burn-rate): page when the last hour and the last 5 minutes both burn the budget this many times
    # faster than allowed (14.4: 2 % of a 30-day budget in one hour); open a ticket (warning) when the last 6
    # hours and 30 minutes both burn it `slow_burn_rate` times faster (6: 5 % in 6 hours).
    fast_burn_rate: float = Field(default=14.4, gt=1)
    slow_burn_rate: float = Field(
        default=6.0,
        gt=1,
        description="Warning: the last 6 hours and 30 minutes burn the budget this many times too fast",
    )

    @field_validator("frequency_seconds")
    @classmethod
    def _azure_frequency(cls, value: int) -> int:
        if value not in (300, 600, 900):
            raise ValueError("must be 300, 600 or 900 (the frequencies Azure accepts)")
        return value

    @model_validator(mode="after")
    def _fast_burn_above_slow(self) -> AvailabilityTest:
        if self.fast_burn_rate <= self.slow_burn_rate:
            raise KeyedValueError(
                "fast_burn_rate", self.fast_burn_rate, f"must exceed slow_burn_rate ({self.slow_burn_rate})"
            )
        return self

    @model_validator(mode="after")
    def _alert_below_location_count(self) -> AvailabilityTest:
        if self.failed_locations_for_alert > len(self.locations):
            raise KeyedValueError(
                "failed_locations_for_alert",
                self.failed_locations_for_alert,
                f"must not exceed the number of locations ({len(self.locations)})",
            )
        return self


AccessMode = Literal["Open", "PrivateOnly"]


class PrivateLinkScope(Section):
    """The Azure Monitor Private Link Scope (AMPLS) through which the virtual networks reach Log Analytics,
    Application Insights and the Prometheus collection endpoint (constructs/monitor_private_link.py).
    Access modes apply to the networks linked to the scope: `PrivateOnly` lets them send only to resources
    in the scope (no exfiltration to other workspaces); `Open` lets them reach others publicly too."""

    ingestion_access_mode: AccessMode = Field(
        default="PrivateOnly",
        description="PrivateOnly: the linked networks send only to resources in the scope; Open: to others too",
    )
    query_access_mode: AccessMode = Field(
        default="Open",
        description="PrivateOnly: the linked networks query only resources in the scope; Open: others too",
    )


class TracingConfig(Section):
    """OpenTelemetry traces from the `applications` namespace to Application Insights (constructs/tracing.py)."""

    # Percentage of traces kept: the SDK's sampler (OTEL_TRACES_SAMPLER_ARG = percentage / 100) and the
    # component's ingestion sampling for telemetry that arrives unsampled. Application Insights counts each
    # kept item as 100/percentage items, so the percentage must be 100/N for a whole N (100, 50, 25, 20, 10...).
    sampling_percentage: float = Field(default=100.0, gt=0, le=100)
    namespace: str = Field(
        default="applications",
        pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
        description="The baseline namespace (its key) whose workloads send traces as the publisher identity",
    )
    # The service account a traced workload runs as: workload identity federated with the publisher identity.
    service_account_name: str = Field(default="telemetry-publisher", pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    # Pods carrying this label (value "enabled") may reach the private endpoint and Entra ID on 443.
    pod_label: str = Field(default="erp.platform/telemetry", pattern=r"^[a-z0-9./-]{1,63}$")
    # The in-cluster OpenTelemetry collector (constructs/tracing.py `OtelCollector`): OTLP in from every
    # application namespace, tail of the pipeline samples `sampling_percentage` %, Application Insights out.
    collector_namespace: str = Field(default="monitoring", pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    collector_replicas: int = Field(default=2, ge=1, le=10, description="Replicas of the collector Deployment")
    # otelcol-contrib (it carries the azuremonitor exporter), imported into the environment's registry.
    collector_source_repository: str = "docker.io/otel/opentelemetry-collector-contrib"
    collector_version: str = Field(
        default="0.141.0", pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$", description="The collector release: the image tag"
    )
    collector_repository: str = Field(
        default="platform/otel-collector-contrib",
        description="Repository in the environment's registry the image is imported into and pulled from",
    )

    @field_validator("sampling_percentage")
    @classmethod
    def _whole_divisor_of_100(cls, value: float) -> float:
        items = 100 / value
        if abs(items - round(items)) > 0.01:
            raise ValueError(
                "must be 100/N for a whole N (100, 50, 33.3, 25, 20, 12.5, 10, 5, 1...): Application Insights "
                "counts each sampled item as 100/percentage items"
            )
        return value


class ContainerInsights(Section):
    """Container insights collection (the ContainerInsights data collection rule's `dataCollectionSettings`)."""

    # How often the agent collects inventory and performance data: 1m to 30m in whole minutes (Azure's range).
    interval: str = Field(default="1m", pattern=r"^([1-9]|[12][0-9]|30)m$")
    # Off: every namespace; Include/Exclude: only / all but `namespaces` (Azure's three modes).
    namespace_filtering_mode: Literal["Off", "Include", "Exclude"] = "Off"
    namespaces: tuple[Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")], ...] = Field(
        default=(), description="The namespaces Include or Exclude names (empty when the mode is Off)"
    )

    @model_validator(mode="after")
    def _namespaces_match_mode(self) -> ContainerInsights:
        if (self.namespace_filtering_mode == "Off") != (not self.namespaces):
            raise KeyedValueError(
                "namespaces",
                self.namespaces,
                "must be empty when namespace_filtering_mode is 'Off' and non-empty for 'Include' or 'Exclude'",
            )
        return self


class ObservabilityConfig(Section):
    log_retention_days: int = Field(ge=30, le=730, description="Log Analytics workspace retention")
    application_insights_retention_days: int = Field(description="Application Insights retention (days Azure accepts)")
    # Public ingestion/query of the workspace, Application Insights and the Prometheus endpoint. Ingestion can
    # be closed because the private link scope carries it from the virtual networks; query stays open unless
    # every reader (portal users, Grafana) comes through a linked network (docs/platform/observability.md "Tracing").
    internet_ingestion_enabled: bool = True
    internet_query_enabled: bool = Field(
        default=True, description="Public query of the workspace, Application Insights and the Prometheus workspace"
    )
    private_link: PrivateLinkScope = PrivateLinkScope()
    tracing: TracingConfig = TracingConfig()
    # The one major version Azure still offers: 10 is retired and 11 was retired on 2026-06-15 with an
    # irreversible upgrade to 12 (reference/versions.json). azurerm accepts "12" from 4.62.0; the stacks
    # require 4.81.0 (stacks/common.py).
    grafana_major_version: Literal["12"] = "12"
    grafana_zone_redundant: bool = Field(default=False, description="Zone-redundant Managed Grafana in `location`")
    # Who may see dashboards: the Grafana Admin role is given to this Entra ID group.
    grafana_admin_group_object_id: Guid
    receivers: dict[str, Receivers] = Field(description="Who is notified, per severity: critical and warning")
    thresholds: AlertThresholds = AlertThresholds()
    amba: AmbaAlerts = AmbaAlerts()
    prometheus_alerts: PrometheusAlerts = Field(
        default_factory=PrometheusAlerts,
        description="Microsoft's recommended Prometheus alert rules for the cluster: overrides and disabled rules",
    )
    availability_test: AvailabilityTest
    container_insights: ContainerInsights = ContainerInsights()

    @field_validator("application_insights_retention_days")
    @classmethod
    def _app_insights_retention(cls, value: int) -> int:
        if value not in APP_INSIGHTS_RETENTION_DAYS:
            raise ValueError(
                f"must be one of {', '.join(map(str, APP_INSIGHTS_RETENTION_DAYS))} (the values Azure accepts)"
            )
        return value

    @field_validator("receivers")
    @classmethod
    def _one_receiver_per_severity(cls, value: dict[str, Receivers]) -> dict[str, Receivers]:
        if sorted(value) != sorted(SEVERITIES):
            raise ValueError(f"must configure exactly the severities {list(SEVERITIES)}; got {sorted(value)}")
        return value
