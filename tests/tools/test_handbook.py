"""tools.docgen.handbook: each environment's handbook has the five parts, names the synthesized resources in its
commands, takes windows, schedules and versions from the code, refuses to print secrets or unresolved references,
and the checked-in handbooks are fresh."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from config.loader import load_environment
from tools.docgen import handbook
from tools.docgen.diagram import ENVIRONMENTS
from tools.docgen.diagram import load_stack as stack

PARTS = (
    "## 1. Operational procedures",
    "## 2. Troubleshooting",
    "## 3. Security incident response",
    "## 4. Maintenance and updates",
    "## 5. Tracing",
)
TROUBLES = (
    "403",
    "MissingSubscriptionRegistration",
    "Private DNS",
    "RBAC propagation",
    "Policy denials",
    "Image pulls",
    "Backup failures",
    "A runner job cannot reach a host",  # the runners' egress firewall (bootstrap)
)


@pytest.fixture
def text(synth_dir: Path, environment: str) -> str:
    return handbook.environment_handbook(synth_dir, environment)


def render(synth_dir: Path, environment: str = "staging", **edit: Any) -> str:
    infra = stack(synth_dir, f"{environment}-infra")
    cluster = stack(synth_dir, f"{environment}-cluster")
    if "infra" in edit:
        edit["infra"](infra)
    if "cluster" in edit:
        edit["cluster"](cluster)
    alerting = stack(synth_dir, f"{environment}-alerting")
    if "alerting" in edit:
        edit["alerting"](alerting)
    env = handbook.Environment(load_environment(environment), infra, cluster, stack(synth_dir, "bootstrap"), alerting)
    workflow = (handbook.ROOT / ".github/workflows/deploy.yml").read_text()
    return handbook.render(env, workflow, handbook.tooling_pins(handbook.ROOT))


def names(synth_dir: Path, environment: str, resource_type: str) -> list[str]:
    resources = stack(synth_dir, f"{environment}-infra")["resource"].get(resource_type, {})
    return sorted(body["name"] for body in resources.values())


def test_the_five_parts_come_in_order_with_every_troubleshooting_case(text: str) -> None:
    positions = [text.index(part) for part in PARTS]
    assert positions == sorted(positions)
    troubleshooting = text[text.index(PARTS[1]) : text.index(PARTS[2])]
    headings = [line for line in troubleshooting.splitlines() if line.startswith("### ")]
    assert len(headings) == len(TROUBLES)
    for heading, case in zip(headings, TROUBLES, strict=True):
        assert case in heading
    for section in troubleshooting.split("### ")[1:]:
        assert "```bash" in section and "**Fix:**" in section  # each case: the command that shows it, and the fix


def test_commands_name_the_environments_resources(text: str, synth_dir: Path, environment: str) -> None:
    for resource_type in (
        "azurerm_kubernetes_cluster",
        "azurerm_container_registry",
        "azurerm_log_analytics_workspace",
        "azurerm_application_insights",
        "azurerm_bastion_host",
        "azurerm_key_vault_key",
        "azurerm_key_vault_certificate",
        "azurerm_monitor_action_group",
        "azurerm_user_assigned_identity",
        "azurerm_federated_identity_credential",
        "azurerm_data_protection_backup_vault",
        "azurerm_monitor_private_link_scope",
    ):
        for name in names(synth_dir, environment, resource_type):
            assert name in text, f"{resource_type} {name} missing"
    infra = stack(synth_dir, f"{environment}-infra")
    (cluster,) = infra["resource"]["azurerm_kubernetes_cluster"].values()
    invokes = [line for line in text.splitlines() if "az aks command invoke" in line and line.startswith("az ")]
    assert invokes and all(f"--name {cluster['name']} --command" in line for line in invokes)
    backend = infra["terraform"]["backend"]["azurerm"]
    assert f"--account-name {backend['storage_account_name']}" in text
    assert "${" not in text, "an unresolved Terraform reference leaked into the handbook"
    other = "production" if environment == "staging" else "staging"
    assert load_environment(other).short_name + "-" not in text  # no other environment's names


def test_windows_versions_and_schedules_come_from_the_code(text: str, environment: str) -> None:
    config = load_environment(environment)
    aks = config.aks
    assert f"| Kubernetes version | `{aks.kubernetes_version}` |" in text
    assert f"| cluster upgrade channel | `{aks.automatic_upgrade_channel}` |" in text
    assert f"Weekly {aks.auto_upgrade_window.day_of_week} {aks.auto_upgrade_window.start_time} UTC" in text
    assert f"Weekly {aks.node_os_upgrade_window.day_of_week} {aks.node_os_upgrade_window.start_time} UTC" in text
    assert f"CronJob `cluster-backup` in `backup-system`: `{config.baseline.backup_schedule}`" in text
    assert "`dr-test`" not in text
    assert f"daily at {config.recovery.backup_time_utc} UTC" in text
    assert "USD a month from the month of its first apply" in text
    assert "| Terraform provider `azurerm` | `4." in text and "(end of life 20" in text
    assert f"{config.observability.log_retention_days} days (`observability.log_retention_days`)" in text


def test_deploy_order_follows_the_workflow(text: str, environment: str) -> None:
    workflow = (handbook.ROOT / ".github/workflows/deploy.yml").read_text()
    jobs = handbook.deploy_jobs(workflow)
    # promotion order (config deploy_after), alerting before infra before cluster
    kinds = ("alerting", "infra", "cluster")
    assert [stack for stack, _ in jobs] == [f"{env}-{kind}" for env in ENVIRONMENTS for kind in kinds]
    assert f"`{environment}-alerting` → `{environment}-infra` → `{environment}-cluster`" in text
    assert text.index(f"| 1 | `{environment}-alerting`") < text.index(f"| 2 | `{environment}-infra`")
    # the alerting stack's state is in its own container (only the apply identity reads it)
    assert f"/alerting-tfstate/{environment}-alerting.tfstate`" in text


def test_tracing_part_tells_a_service_what_to_set(text: str, environment: str) -> None:
    tracing = load_environment(environment).observability.tracing
    part = text[text.index(PARTS[4]) :]
    assert f"Sampling {tracing.sampling_percentage:g} %" in part
    assert "ConfigMap `otel-exporter`" in part and "`APPLICATIONINSIGHTS_CONNECTION_STRING`" in part
    assert "secretRef" not in part  # the cluster stack manages no Secret (issue #27)
    assert f'serviceAccountName: "{tracing.service_account_name}"' in part
    assert f'{tracing.pod_label}: "enabled"' in part
    assert "az monitor app-insights query" in part


def test_every_resource_type_maps_to_a_resource_provider(synth_dir: Path, environment: str) -> None:
    types = stack(synth_dir, f"{environment}-infra")["resource"]
    assert [t for t in types if handbook.resource_provider(t) is None] == []


def test_an_unmapped_resource_type_is_named_for_a_manual_check(synth_dir: Path) -> None:
    def add_unknown(infra: dict[str, Any]) -> None:
        infra["resource"]["azurerm_made_up_thing"] = {"x": {"name": "x"}}

    assert "types not mapped by the handbook: `azurerm_made_up_thing`" in render(synth_dir, infra=add_unknown)


def test_a_literal_receiver_url_is_refused(synth_dir: Path) -> None:
    def leak(alerting: dict[str, Any]) -> None:
        groups = alerting["resource"]["azurerm_monitor_action_group"].values()
        receivers = [receiver for group in groups for receiver in group.get("webhook_receiver", [])]
        assert receivers  # the alerting stack's PagerDuty receiver: the handbook reads it
        for receiver in receivers:
            receiver["service_uri"] = "https://events.pagerduty.com/integration/abc/enqueue"

    with pytest.raises(ValueError, match="refusing to print a possible secret"):
        render(synth_dir, alerting=leak)


def test_missing_cluster_fails_loudly(synth_dir: Path) -> None:
    def drop(infra: dict[str, Any]) -> None:
        del infra["resource"]["azurerm_kubernetes_cluster"]

    with pytest.raises(ValueError, match="expected one azurerm_kubernetes_cluster"):
        render(synth_dir, infra=drop)


def test_without_the_tracing_objects_the_handbook_says_so(synth_dir: Path) -> None:
    def drop(cluster: dict[str, Any]) -> None:
        config_maps = cluster["resource"]["kubernetes_config_map_v1"]
        for address in [a for a, c in config_maps.items() if c["metadata"]["name"] == "otel-exporter"]:
            del config_maps[address]

    text = render(synth_dir, cluster=drop)
    assert "No tracing path is provisioned in this environment." in text


def test_bastion_tunnelling_decides_the_interactive_route(synth_dir: Path) -> None:
    assert not re.search(r"^az network bastion ssh", render(synth_dir), re.M)

    def tunnel(infra: dict[str, Any]) -> None:
        for bastion in infra["resource"]["azurerm_bastion_host"].values():
            bastion["tunneling_enabled"] = True

    assert re.search(r"^az network bastion ssh --resource-group \S+ --name \S+", render(synth_dir, infra=tunnel), re.M)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_checked_in_handbook_is_fresh(synth_dir: Path, environment: str) -> None:
    checked_in = handbook.handbook_path(environment)
    assert checked_in.exists() and checked_in.read_text() == handbook.environment_handbook(synth_dir, environment), (
        f"{checked_in} is stale; regenerate with: {handbook.REGENERATE}"
    )


def test_stack_json_is_not_mutated_by_rendering(synth_dir: Path) -> None:
    infra = stack(synth_dir, "staging-infra")
    before = copy.deepcopy(infra)
    handbook.render(
        handbook.Environment(load_environment("staging"), infra, stack(synth_dir, "staging-cluster"), {}),
        "",
        {},
    )
    assert infra == before
