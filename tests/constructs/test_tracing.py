"""Tracing over private networking: the Azure Monitor private link scope holds every Azure Monitor resource that
receives data, one `azuremonitor` endpoint registers in the five zones linked to hub and spoke, public ingestion
follows config; traced workloads publish with a federated identity, and the cluster stack hands them the
connection string in a ConfigMap fed by a cross-stack output (never a literal), plus the sampler. The cluster
stack manages no Kubernetes Secret: the plan identity cannot read Secrets (issue #27)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import cdktf
import pytest

from config.loader import ConfigError, load_environment, parse_environment
from config.observability import TracingConfig
from constructs.image_pins import import_source, pinned, registry_copy
from constructs.monitor_private_link import AZURE_MONITOR_DNS_ZONES, MonitorPrivateLink, MonitorPrivateLinkProps
from constructs.naming import Naming
from constructs.private_endpoint import PrivateEndpointPlacement
from constructs.tracing import (
    AUTH_PROXY_IMAGE,
    COLLECTOR_NAME,
    CONNECTION_STRING_KEY,
    ENDPOINT_CONFIG_MAP,
    PUBLISHER_ROLE,
    TracingExporterSettings,
    TracingExporterSettingsProps,
    sampling_ratio,
)
from stacks.app import build_app
from stacks.cluster import PLATFORM_NAMESPACES
from tests.config.test_loader import set_key
from tests.conftest import StackJson, only_resource, resources_of
from tools.checks.otelcol_config import collector_configs
from tools.checks.otelcol_config import main as otelcol_main
from tools.checks.otelcol_config import problems as otelcol_problems

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
    # Both environments close public ingestion now that the scope carries it (docs/platform/observability.md "Tracing").
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
    # Only Terraform's regex patterns name the keys: no key value and no endpoint is a literal.
    assert not re.search(r"InstrumentationKey=[0-9a-f]{8}-|IngestionEndpoint=https", text)


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


# --- The in-cluster collector (issue #29) ----------------------------------------------------------------------


def application_namespaces(cluster: StackJson, collector_namespace: str) -> set[str]:
    names = {n["metadata"]["name"] for n in resources_of(cluster, "kubernetes_namespace_v1").values()}
    return names - PLATFORM_NAMESPACES - {collector_namespace}


def namespace_of(resource: dict[str, Any], cluster: StackJson) -> str:
    """The namespace name a resource's `metadata.namespace` reference points at."""
    namespace = resource["metadata"]["namespace"]
    for address, candidate in resources_of(cluster, "kubernetes_namespace_v1").items():
        if namespace == f"${{kubernetes_namespace_v1.{address}.metadata[0].name}}":
            return candidate["metadata"]["name"]
    return namespace


def unwired_namespaces(cluster: StackJson, collector_namespace: str) -> list[str]:
    """Application namespaces lacking the collector endpoint ConfigMap or the egress policy to the collector."""
    wired_config = {
        namespace_of(c, cluster)
        for c in resources_of(cluster, "kubernetes_config_map_v1").values()
        if c["metadata"]["name"] == ENDPOINT_CONFIG_MAP
        and c["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith(f"http://{COLLECTOR_NAME}.{collector_namespace}.svc")
    }
    wired_egress = {
        namespace_of(p, cluster)
        for p in resources_of(cluster, "kubernetes_network_policy_v1").values()
        if p["metadata"]["name"] == "allow-otlp-to-collector"
    }
    return sorted(application_namespaces(cluster, collector_namespace) - (wired_config & wired_egress))


def test_every_application_namespace_is_wired_to_the_collector(cluster: StackJson, environment: str) -> None:
    tracing = load_environment(environment).observability.tracing
    assert application_namespaces(cluster, tracing.collector_namespace) == {"applications"}
    assert unwired_namespaces(cluster, tracing.collector_namespace) == []


def test_a_namespace_without_the_tracing_wiring_is_reported(cluster: StackJson, environment: str) -> None:
    tracing = load_environment(environment).observability.tracing
    broken = copy.deepcopy(cluster)
    broken["resource"]["kubernetes_namespace_v1"]["payments"] = {"metadata": {"name": "payments"}}
    assert unwired_namespaces(broken, tracing.collector_namespace) == ["payments"]
    policies = broken["resource"]["kubernetes_network_policy_v1"]
    for address in [a for a, p in policies.items() if p["metadata"]["name"] == "allow-otlp-to-collector"]:
        del policies[address]
    assert unwired_namespaces(broken, tracing.collector_namespace) == ["applications", "payments"]


def test_a_new_application_namespace_in_config_is_wired_by_default(raw_config, tmp_path: Path) -> None:
    """Config adds a namespace; the synthesized cluster stack wires it without any other change."""
    data = raw_config("staging")
    data["baseline"]["namespaces"]["payments"] = dict(data["baseline"]["namespaces"]["applications"])
    config = parse_environment(data, "config/staging.toml")
    build_app(tmp_path, [config]).synth()
    cluster = json.loads((tmp_path / "stacks" / "staging-cluster" / "cdk.tf.json").read_text())
    assert application_namespaces(cluster, config.observability.tracing.collector_namespace) == {
        "applications",
        "payments",
    }
    assert unwired_namespaces(cluster, config.observability.tracing.collector_namespace) == []


def test_the_collector_configuration_passes_the_collectors_schemas(cluster: StackJson, environment: str) -> None:
    tracing = load_environment(environment).observability.tracing
    (config,) = collector_configs(cluster).values()
    assert otelcol_problems(config) == []
    assert config["processors"]["probabilistic_sampler"]["sampling_percentage"] == tracing.sampling_percentage
    assert (
        config["exporters"]["azuremonitor"]["instrumentation_key"] == "${env:APPLICATIONINSIGHTS_INSTRUMENTATION_KEY}"
    )
    assert config["service"]["pipelines"]["traces"]["exporters"] == ["azuremonitor"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda c: c["exporters"]["azuremonitor"].update(connection_strin="x"), "unknown key 'connection_strin'"),
        (lambda c: c["processors"]["probabilistic_sampler"].update(sampling_percentage="25%"), "is not a number"),
        (lambda c: c["processors"]["batch"].update(timeout="five seconds"), "is not a duration"),
        (lambda c: c["processors"]["probabilistic_sampler"].update(mode="random"), "is not one of"),
        (lambda c: c["service"]["pipelines"]["traces"]["exporters"].append("jaeger"), "'jaeger' is not defined"),
        (lambda c: c["exporters"].update({"zipkin": {}}), "unknown component type 'zipkin'"),
        (lambda c: c.update(servise={}), "unknown top-level section 'servise'"),
        (lambda c: c.pop("service"), "no pipeline is defined"),
        (lambda c: c.clear(), "nothing to evaluate"),
    ],
)
def test_a_broken_collector_configuration_is_reported(cluster: StackJson, change: Any, problem: str) -> None:
    (config,) = copy.deepcopy(collector_configs(cluster)).values()
    change(config)
    assert any(problem in found for found in otelcol_problems(config)), otelcol_problems(config)


def test_the_checker_fails_when_it_finds_no_configuration(tmp_path: Path) -> None:
    empty = tmp_path / "cdk.tf.json"
    empty.write_text(json.dumps({"resource": {}}))
    assert otelcol_main([str(empty)]) == 1


def test_the_collector_runs_restricted_with_its_entra_proxy(cluster: StackJson, environment: str) -> None:
    config = load_environment(environment)
    tracing = config.observability.tracing
    (deployment,) = resources_of(cluster, "kubernetes_deployment_v1").values()
    assert namespace_of(deployment, cluster) == tracing.collector_namespace
    assert deployment["spec"]["replicas"] == str(tracing.collector_replicas)
    pod = deployment["spec"]["template"]["spec"]
    assert pod["automount_service_account_token"] is False
    collector, proxy = pod["container"]
    copy = collector["image"].split("@")[0]
    assert copy.endswith(f".azurecr.io/{tracing.collector_repository}:{tracing.collector_version}")
    assert collector["image"] == registry_copy(
        copy, f"{tracing.collector_source_repository}:{tracing.collector_version}"
    )
    assert proxy["image"] == pinned(AUTH_PROXY_IMAGE) and proxy["image"].startswith("mcr.microsoft.com/")
    for container in (collector, proxy):
        context = container["security_context"]
        assert context["read_only_root_filesystem"] and context["run_as_non_root"]
        assert context["allow_privilege_escalation"] is False and context["capabilities"] == {"drop": ["ALL"]}
        assert container["resources"]["limits"]
    env = {e["name"]: e["value"] for e in proxy["env"]}
    assert env["IDENTITY_TYPE"] == "userAssigned" and env["AUDIENCE"] == "https://monitor.azure.com/.default"
    assert "aks_kubelet-identity" in env["AAD_CLIENT_ID"] and env["AAD_CLIENT_ID"].endswith("client_id}")
    (service,) = [
        s for s in resources_of(cluster, "kubernetes_service_v1").values() if s["metadata"]["name"] == COLLECTOR_NAME
    ]
    assert sorted(p["port"] for p in service["spec"]["port"]) == [4317, 4318]


def test_only_application_namespaces_reach_the_collector(cluster: StackJson, environment: str) -> None:
    tracing = load_environment(environment).observability.tracing
    (policy,) = [
        p
        for p in resources_of(cluster, "kubernetes_network_policy_v1").values()
        if p["metadata"]["name"] == "allow-otel-collector"
    ]
    (ingress,) = policy["spec"]["ingress"]
    (source,) = ingress["from"]
    (expression,) = source["namespace_selector"]["match_expressions"]
    assert expression["values"] == sorted(application_namespaces(cluster, tracing.collector_namespace))
    assert sorted(p["port"] for p in ingress["ports"]) == ["4317", "4318"]


def test_the_collectors_identity_may_publish_and_its_image_is_imported(infra: StackJson, environment: str) -> None:
    tracing = load_environment(environment).observability.tracing
    (kubelet,) = [
        a for a, i in resources_of(infra, "azurerm_user_assigned_identity").items() if "aks-kubelet" in i["name"]
    ]
    grants = [
        g
        for g in resources_of(infra, "azurerm_role_assignment").values()
        if g["principal_id"] == ref("azurerm_user_assigned_identity", kubelet, "principal_id")
        and g["role_definition_name"] == PUBLISHER_ROLE
    ]
    (component,) = resources_of(infra, "azurerm_application_insights")
    assert [g["scope"] for g in grants] == [ref("azurerm_application_insights", component)]
    imports = json.dumps(infra.get("resource", {}).get("terraform_data", {}))
    assert import_source(f"{tracing.collector_source_repository}:{tracing.collector_version}") in imports
