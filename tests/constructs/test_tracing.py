"""Tracing over private networking: the Azure Monitor private link scope holds every Azure Monitor resource that
receives data, one `azuremonitor` endpoint registers in the five zones linked to hub and spoke, public ingestion
follows config; traced workloads publish with a federated identity, and the cluster stack hands them the
connection string in a ConfigMap fed by a cross-stack output (never a literal), plus the sampler. The cluster
stack manages no Kubernetes Secret: the plan identity cannot read Secrets (issue #27)."""

from __future__ import annotations

import copy
import json
from typing import Any

import cdktf
import pytest

from config.loader import ConfigError, load_environment, parse_environment
from config.observability import TracingConfig
from constructs.monitor_private_link import AZURE_MONITOR_DNS_ZONES, MonitorPrivateLink, MonitorPrivateLinkProps
from constructs.naming import Naming
from constructs.private_endpoint import PrivateEndpointPlacement
from constructs.tracing import (
    CONNECTION_STRING_KEY,
    PUBLISHER_ROLE,
    TracingExporterSettings,
    TracingExporterSettingsProps,
    sampling_ratio,
)
from tests.config.test_loader import set_key
from tests.conftest import StackJson, only_resource, resources_of

# Azure Monitor resources that receive data, and the argument that opens them to public ingestion.
INGESTING_TYPES = {
    "azurerm_log_analytics_workspace": "internet_ingestion_enabled",
    "azurerm_application_insights": "internet_ingestion_enabled",
    "azurerm_monitor_data_collection_endpoint": "public_network_access_enabled",
}


def ref(resource_type: str, address: str, attribute: str = "id") -> str:
    return f"${{{resource_type}.{address}.{attribute}}}"


def unscoped_monitor_resources(stack: StackJson) -> list[str]:
    """Azure Monitor resources of the stack that no private link scope holds (they cannot be reached privately)."""
    scoped = {
        service["linked_resource_id"]
        for service in resources_of(stack, "azurerm_monitor_private_link_scoped_service").values()
    }
    return sorted(
        f"{resource_type}.{address}"
        for resource_type in INGESTING_TYPES
        for address in resources_of(stack, resource_type)
        if ref(resource_type, address) not in scoped
    )


@pytest.fixture
def infra(stacks: dict[str, StackJson], environment: str) -> StackJson:
    return stacks[f"{environment}-infra"]


@pytest.fixture
def cluster(stacks: dict[str, StackJson], environment: str) -> StackJson:
    return stacks[f"{environment}-cluster"]


def test_every_ingesting_monitor_resource_is_in_the_scope(infra: StackJson) -> None:
    assert resources_of(infra, "azurerm_monitor_data_collection_endpoint")  # the Prometheus endpoint exists
    assert unscoped_monitor_resources(infra) == []


def test_a_monitor_resource_left_out_of_the_scope_is_reported(infra: StackJson) -> None:
    broken = copy.deepcopy(infra)
    services = broken["resource"]["azurerm_monitor_private_link_scoped_service"]
    (app_insights_link,) = [
        key for key, value in services.items() if "application_insights" in value["linked_resource_id"]
    ]
    del services[app_insights_link]
    (component,) = resources_of(infra, "azurerm_application_insights")
    assert unscoped_monitor_resources(broken) == [f"azurerm_application_insights.{component}"]


def test_scope_access_modes_and_public_ingestion_follow_config(infra: StackJson, environment: str) -> None:
    config = load_environment(environment).observability
    scope = only_resource(infra, "azurerm_monitor_private_link_scope")
    assert scope["ingestion_access_mode"] == config.private_link.ingestion_access_mode
    assert scope["query_access_mode"] == config.private_link.query_access_mode
    for resource_type, argument in INGESTING_TYPES.items():
        for resource in resources_of(infra, resource_type).values():
            assert resource[argument] is config.internet_ingestion_enabled, (resource_type, resource["name"])
    # Both environments close public ingestion now that the scope carries it (README "Tracing").
    assert config.internet_ingestion_enabled is False and config.private_link.ingestion_access_mode == "PrivateOnly"


def test_one_azuremonitor_endpoint_registers_in_the_five_zones_linked_to_hub_and_spoke(infra: StackJson) -> None:
    zones = resources_of(infra, "azurerm_private_dns_zone")
    zone_refs = {zone["name"]: ref("azurerm_private_dns_zone", address) for address, zone in zones.items()}
    scope_ref = ref(
        "azurerm_monitor_private_link_scope", next(iter(resources_of(infra, "azurerm_monitor_private_link_scope")))
    )
    (endpoint,) = [
        endpoint
        for endpoint in resources_of(infra, "azurerm_private_endpoint").values()
        if endpoint["private_service_connection"]["private_connection_resource_id"] == scope_ref
    ]
    assert endpoint["private_service_connection"]["subresource_names"] == ["azuremonitor"]
    assert endpoint["subnet_id"].startswith("${azurerm_subnet.network_spoke-private_endpoints-subnet")
    assert endpoint["private_dns_zone_group"]["private_dns_zone_ids"] == [
        zone_refs[name] for name in AZURE_MONITOR_DNS_ZONES.values()
    ]
    # The network's blob zone is reused: one zone per name in the stack.
    names = [zone["name"] for zone in zones.values()]
    assert len(names) == len(set(names))
    links = resources_of(infra, "azurerm_private_dns_zone_virtual_network_link").values()
    for name in AZURE_MONITOR_DNS_ZONES.values():
        linked = {
            link["virtual_network_id"]
            for link in links
            if link["private_dns_zone_name"].startswith(zone_refs[name].removesuffix(".id}"))
        }
        assert len(linked) == 2, name  # hub and spoke
    assert all(service.startswith("azurerm_monitor_private_link_scoped_service.") for service in endpoint["depends_on"])


def test_publisher_identity_is_federated_with_the_service_account_and_may_only_publish(
    infra: StackJson, cluster: StackJson, environment: str
) -> None:
    tracing = load_environment(environment).observability.tracing
    (identity_address,) = [
        address
        for address, identity in resources_of(infra, "azurerm_user_assigned_identity").items()
        if identity["name"].endswith("-telemetry-id-001")
    ]
    credentials = [
        credential
        for credential in resources_of(infra, "azurerm_federated_identity_credential").values()
        if credential["parent_id"] == ref("azurerm_user_assigned_identity", identity_address)
    ]
    (credential,) = credentials
    (cluster_address,) = resources_of(infra, "azurerm_kubernetes_cluster")
    assert credential["issuer"] == ref("azurerm_kubernetes_cluster", cluster_address, "oidc_issuer_url")
    assert credential["audience"] == ["api://AzureADTokenExchange"]
    (account,) = [
        account
        for account in resources_of(cluster, "kubernetes_service_account_v1").values()
        if account["metadata"]["name"] == tracing.service_account_name
    ]
    assert "applications-namespace" in account["metadata"]["namespace"]
    assert credential["subject"] == f"system:serviceaccount:{tracing.namespace}:{account['metadata']['name']}"
    grants = [
        grant
        for grant in resources_of(infra, "azurerm_role_assignment").values()
        if grant["principal_id"] == ref("azurerm_user_assigned_identity", identity_address, "principal_id")
    ]
    (component,) = resources_of(infra, "azurerm_application_insights")
    assert [(grant["role_definition_name"], grant["scope"]) for grant in grants] == [
        (PUBLISHER_ROLE, ref("azurerm_application_insights", component))
    ]


def test_application_insights_samples_and_keeps_traces_as_configured(infra: StackJson, environment: str) -> None:
    config = load_environment(environment).observability
    component = only_resource(infra, "azurerm_application_insights")
    assert component["sampling_percentage"] == config.tracing.sampling_percentage
    assert component["retention_in_days"] == config.application_insights_retention_days


def kubernetes_secrets(stack: StackJson) -> list[str]:
    """Every Kubernetes Secret a stack declares, as resource or data source (the plan identity reads neither)."""
    return sorted(
        f"{block}.{resource_type}.{address}"
        for block in ("resource", "data")
        for resource_type, instances in stack.get(block, {}).items()
        if resource_type.startswith("kubernetes_secret")
        for address in instances
    )


def test_no_cluster_stack_manages_a_kubernetes_secret(stacks: dict[str, StackJson]) -> None:
    cluster_stacks = [name for name in stacks if name.endswith("-cluster")]
    assert len(cluster_stacks) == 2
    assert {name: kubernetes_secrets(stacks[name]) for name in cluster_stacks} == {name: [] for name in cluster_stacks}


def test_a_secret_planted_in_the_cluster_stack_is_reported(cluster: StackJson) -> None:
    broken = copy.deepcopy(cluster)
    broken["resource"]["kubernetes_secret_v1"] = {"tracing_connection-string": {"metadata": {"name": "x"}}}
    broken.setdefault("data", {})["kubernetes_secret"] = {"token": {}}
    assert kubernetes_secrets(broken) == [
        "data.kubernetes_secret.token",
        "resource.kubernetes_secret_v1.tracing_connection-string",
    ]


def exporter_settings(cluster: StackJson) -> dict[str, str]:
    (settings,) = [
        config_map
        for config_map in resources_of(cluster, "kubernetes_config_map_v1").values()
        if config_map["metadata"]["name"] == "otel-exporter"
    ]
    return settings["data"]


def test_connection_string_reaches_the_namespace_from_a_cross_stack_output(
    stacks: dict[str, StackJson], infra: StackJson, cluster: StackJson, environment: str
) -> None:
    value = exporter_settings(cluster)[CONNECTION_STRING_KEY]
    prefix = f"${{data.terraform_remote_state.cross-stack-reference-input-{environment}-infra.outputs."
    assert value.startswith(prefix)
    output = infra["output"][value.removeprefix(prefix).removesuffix("}")]
    assert output["value"].endswith(".connection_string}")
    text = json.dumps(stacks)
    assert "InstrumentationKey=" not in text and "IngestionEndpoint=" not in text


def test_exporter_settings_carry_the_sampler_and_entra_authentication(cluster: StackJson, environment: str) -> None:
    tracing = load_environment(environment).observability.tracing
    data = exporter_settings(cluster)
    assert data["OTEL_TRACES_SAMPLER"] == "microsoft.fixed_percentage"
    assert float(data["OTEL_TRACES_SAMPLER_ARG"]) == tracing.sampling_percentage / 100
    assert data["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"].startswith("Authorization=AAD;ClientId=${data.")


def test_labelled_pods_may_reach_the_private_endpoint_subnet_on_443(cluster: StackJson, environment: str) -> None:
    config = load_environment(environment)
    (policy,) = [
        policy
        for policy in resources_of(cluster, "kubernetes_network_policy_v1").values()
        if policy["metadata"]["name"] == "allow-telemetry-egress"
    ]
    spec = policy["spec"]
    assert spec["pod_selector"]["match_labels"] == {config.observability.tracing.pod_label: "enabled"}
    assert spec["policy_types"] == ["Egress"]
    blocks = [rule["to"][0]["ip_block"] for rule in spec["egress"]]
    assert blocks[0]["cidr"] == config.network.spoke.private_endpoints.address_prefix
    assert blocks[1]["cidr"] == "0.0.0.0/0" and "10.0.0.0/8" in blocks[1]["except"]
    assert all(rule["ports"] == [{"port": "443", "protocol": "TCP"}] for rule in spec["egress"])


def test_a_literal_connection_string_is_refused() -> None:
    stack = cdktf.TerraformStack(cdktf.Testing.app(), "test")
    with pytest.raises(ValueError, match="must be a Terraform reference"):
        TracingExporterSettings(
            stack,
            "tracing",
            props=TracingExporterSettingsProps(
                config=TracingConfig(),
                namespace="applications",
                connection_string="InstrumentationKey=00000000-0000-0000-0000-000000000000",
                client_id="client",
                private_endpoint_cidr="10.242.3.0/24",
            ),
        )


def _private_link(**changes: Any) -> MonitorPrivateLinkProps:
    base = {
        "config": load_environment("staging").observability.private_link,
        "naming": Naming("stg", "erp01"),
        "resource_group_name": "stg-monitoring-rg-001",
        "private_endpoint": PrivateEndpointPlacement(subnet_id="subnet", location="eastus", resource_group_name="rg"),
        "scoped_resource_ids": {"log-analytics": "workspace"},
        "virtual_network_ids": {"hub": "hub", "spoke": "spoke"},
        "existing_private_dns_zone_ids": {},
    }
    return MonitorPrivateLinkProps(**{**base, **changes})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"scoped_resource_ids": {}}, "scoped_resource_ids is empty"),
        ({"existing_private_dns_zone_ids": {"vault": "zone"}}, r"has keys \['vault'\]"),
    ],
)
def test_bad_private_link_props_are_refused(changes: dict[str, Any], message: str) -> None:
    stack = cdktf.TerraformStack(cdktf.Testing.app(), "test")
    with pytest.raises(ValueError, match=message):
        MonitorPrivateLink(stack, "ampls", props=_private_link(**changes))


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("observability.tracing.sampling_percentage", 30.0, "must be 100/N"),
        ("observability.tracing.sampling_percentage", 0.0, "greater than 0"),
        ("observability.private_link.ingestion_access_mode", "Closed", "'Open' or 'PrivateOnly'"),
    ],
)
def test_bad_tracing_settings_are_reported_with_the_key(raw_config, key: str, value: Any, expected: str) -> None:
    data = raw_config("staging")
    set_key(data, key, value)
    with pytest.raises(ConfigError) as error:
        parse_environment(data, "config/staging.toml")
    assert key in str(error.value) and expected in str(error.value)


@pytest.mark.parametrize(("percentage", "ratio"), [(100.0, "1"), (25.0, "0.25"), (12.5, "0.125"), (33.3, "0.333")])
def test_sampling_ratio_is_the_percentage_over_100(percentage: float, ratio: str) -> None:
    assert sampling_ratio(percentage) == ratio
