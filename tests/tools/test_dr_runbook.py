"""tools.docgen.dr_runbook: the runbook names the real resources, in the right order, with the configured targets;
the checked-in runbooks are fresh."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from config.loader import load_environment
from tools.docgen import dr_runbook
from tools.docgen.diagram import ENVIRONMENTS
from tools.docgen.diagram import load_stack as stack


@pytest.fixture
def runbook(synth_dir: Path, environment: str) -> str:
    return dr_runbook.environment_runbook(synth_dir, environment)


def names(synth_dir: Path, environment: str, resource_type: str) -> list[str]:
    return sorted(body["name"] for body in stack(synth_dir, f"{environment}-infra")["resource"][resource_type].values())


def test_steps_run_in_the_failover_order(runbook: str) -> None:
    headings = [line for line in runbook.splitlines() if line.startswith("## ")]
    assert [heading.split(".")[0] for heading in headings[1:7]] == [f"## {step}" for step in range(6)]
    order = [
        "geo-restore",
        "georecovery-alias fail-over",
        "az storage account failover",
        "backup-instance restore trigger",
        "DNS",
    ]
    positions = [runbook.index(marker) for marker in order]
    assert positions == sorted(positions)


def test_runbook_names_the_synthesized_resources(runbook: str, synth_dir: Path, environment: str) -> None:
    config = load_environment(environment)
    for resource_type in (
        "azurerm_postgresql_flexible_server",
        "azurerm_eventhub_namespace",
        "azurerm_storage_account",
        "azurerm_data_protection_backup_vault",
        "azurerm_data_protection_backup_instance_kubernetes_cluster",
        "azurerm_data_protection_backup_instance_blob_storage",
        "azurerm_application_gateway",
        "azurerm_kubernetes_cluster",
    ):
        for name in names(synth_dir, environment, resource_type):
            assert f"`{name}`" in runbook or f" {name} " in runbook, f"{resource_type} {name} missing"
    assert f"--alias {config.data.event_hubs.disaster_recovery_alias}" in runbook
    assert f"--location {config.paired_location}" in runbook
    assert "${" not in runbook, "an unresolved Terraform reference leaked into the runbook"


def test_runbook_states_the_configured_targets_and_where_the_cluster_exports_are(
    runbook: str, environment: str
) -> None:
    config = load_environment(environment)
    assert f"**RTO {config.recovery.rto_hours} h**" in runbook and f"**RPO {config.recovery.rpo_hours} h**" in runbook
    assert f"daily at {config.recovery.backup_time_utc} UTC" in runbook
    assert (
        f"`cluster-backup` CronJob (namespace `backup-system`, schedule `{config.baseline.backup_schedule}`) into "
        f"container `{config.baseline.exports_container}` of `{config.short_name}appst{config.unique_suffix}` "
        f"({config.data.storage.replication}: after the account's failover" in runbook
    )
    assert "dr-test" not in runbook and "dry run" not in runbook  # the CronJob that only parsed YAML is gone


def test_locks_are_mentioned_only_where_they_exist(runbook: str, environment: str) -> None:
    protected = load_environment(environment).data.protect_from_destroy
    assert ("`CanNotDelete` locks protect" in runbook) is protected
    assert ("No management locks" in runbook) is (not protected)


def test_server_without_geo_backups_is_reported_as_not_geo_restorable(synth_dir: Path) -> None:
    infra = stack(synth_dir, "staging-infra")
    for server in infra["resource"]["azurerm_postgresql_flexible_server"].values():
        server["geo_redundant_backup_enabled"] = False
    text = dr_runbook.render(load_environment("staging"), infra, stack(synth_dir, "staging-cluster"))
    assert "has no geo-redundant backups" in text and "geo-restore --resource-group" not in text


def test_missing_resource_fails_loudly(synth_dir: Path) -> None:
    infra = stack(synth_dir, "staging-infra")
    del infra["resource"]["azurerm_data_protection_backup_vault"]
    with pytest.raises(ValueError, match="expected one azurerm_data_protection_backup_vault"):
        dr_runbook.render(load_environment("staging"), infra, stack(synth_dir, "staging-cluster"))


def test_runbook_uses_the_dr_landing_zone(runbook: str, environment: str) -> None:
    config = load_environment(environment)
    short = config.short_name
    dr = config.network.dr
    assert f"VNet `{short}-dr-vnet-001`" in runbook and "has no standing network" not in runbook
    assert f"`{short}-events-dr-pe-001`" in runbook and f"`{short}-datageo-kv-pe-001`" in runbook
    assert f"--vnet-name {short}-dr-vnet-001 --subnet {dr.private_endpoints.name}" in runbook
    assert f"`{dr.aks_system.name}`" in runbook and f"`{dr.postgres.name}`" in runbook
    assert "<paired-data-rg>" not in runbook


def test_missing_landing_zone_fails_loudly(synth_dir: Path) -> None:
    infra = stack(synth_dir, "staging-infra")
    paired = load_environment("staging").paired_location
    infra["resource"]["azurerm_virtual_network"] = {
        address: vnet
        for address, vnet in infra["resource"]["azurerm_virtual_network"].items()
        if vnet["location"] != paired
    }
    with pytest.raises(ValueError, match="expected one VNet in the paired region"):
        dr_runbook.render(load_environment("staging"), infra, stack(synth_dir, "staging-cluster"))


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_checked_in_runbook_is_fresh(synth_dir: Path, environment: str) -> None:
    checked_in = dr_runbook.runbook_path(environment)
    assert checked_in.exists() and checked_in.read_text() == dr_runbook.environment_runbook(synth_dir, environment), (
        f"{checked_in} is stale; regenerate with: {dr_runbook.REGENERATE}"
    )


def test_each_step_links_the_drill_that_proves_it_and_where_its_rto_rpo_is_read(runbook: str, environment: str) -> None:
    config = load_environment(environment)
    page = (Path(dr_runbook.DOCS_DIR) / dr_runbook.DRILLS_PAGE).read_text()
    anchors = {line.removeprefix("### ").strip() for line in page.splitlines() if line.startswith("### ")}
    sections = runbook.split("\n## ")
    proven = {
        section.split("\n")[0]: re.findall(r"\[`(\w+)`\]\(dr-drills\.md#(\w+)\)", section) for section in sections
    }
    expected = {
        "1. PostgreSQL": {"postgres_geo_restore", "postgres_point_in_time"},
        "2. Event Hubs": {"event_hubs_failover", "event_hubs_capture"},
        "3. Storage": {"blob_point_in_time"},
        "4. AKS": {"aks_restore"},
        "Keys": {"key_vault_backup"},
    }
    for prefix, drills in expected.items():
        (links,) = [links for title, links in proven.items() if title.startswith(prefix)]
        assert {name for name, _ in links} == drills, prefix
        assert all(name == anchor and anchor in anchors for name, anchor in links), (links, sorted(anchors))
    failover = "not scheduled here" in runbook.split("[`event_hubs_failover`]")[1].split("\n")[0]
    assert failover is ("event_hubs_failover" not in config.recovery.drills.enabled)
    assert f"DrDrillResults_CL | where Environment == '{environment}'" in runbook


def test_the_event_hubs_step_names_the_capture_archive(runbook: str, environment: str) -> None:
    container = load_environment(environment).data.event_hubs.capture_container
    assert container and f"/{container}`, a geo-redundant account" in runbook
