"""Drill coverage: read an environment's synthesized infra stack and report what would leave a restore
drill unable to run or its results unwatched (docs/dr-drills.md).

Rules (each finding names the rule, the resource address and what is wrong):

- DRILL-IDENTITY  one drill identity, trusted (federated credential) for the `<env>-drills` GitHub environment
- DRILL-ROLE      the identity holds every role `constructs/drills.DRILL_ROLES` gives each enabled drill,
                  none for a drill that is not enabled, nothing at subscription scope, and Monitoring Metrics
                  Publisher on the results' data collection rule
- DRILL-ALERT     every log search and metric alert of the stack sends to an action group; the recovery alerts
                  (drill failed / missing, RTO and RPO above the config targets, backup older than the RPO)
                  exist with the config's thresholds; Azure Backup's alerts of the vault are routed by exactly
                  one alert processing rule, to the `recovery.backup_alerts_severity` group
- DRILL-EXPORTS   the cluster exports reach geo-redundant storage: the exports identity holds only Storage
                  Blob Data Contributor, on the `baseline.exports_container` container of a GZRS/RA-GZRS account,
                  trusted for the backup job's service account; in the cluster stack the backup CronJob uploads
                  there (no volume claim) and no job only dry-runs YAML (`--dry-run=client` proves a parse, not
                  a restore)

    .venv/bin/python -m tools.checks.drill_coverage cdktf.out     # exit 1 on any finding
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from config.loader import ENVIRONMENTS, load_environment
from config.schema import EnvironmentConfig
from constructs.alerts import BACKUP_MONITOR_SERVICE
from constructs.baseline.platform import BACKUP_NAMESPACE
from constructs.cluster_exports import EXPORTS_SERVICE_ACCOUNT, WRITER_ROLE, exports_subject
from constructs.drills import DRILL_ROLES, RESULTS_ROLE, oidc_subject
from drills.results import STREAM

StackJson = dict[str, Any]
SUBSCRIPTION_SCOPE = re.compile(r"^/subscriptions/[^/]+/?$")
GEO_ZONE_REPLICATION = frozenset({"GZRS", "RAGZRS"})  # Story 3.1: geo-replicated, zone-redundant in each region
BACKUP_VAULT_KIND = "azurerm_data_protection_backup_vault"
RECOVERY_ALERTS = ("drill-failed", "drill-missing", "rto-exceeded", "rpo-exceeded", "backup-older-than-rpo")


def _resources(stack: StackJson, kind: str) -> dict[str, dict[str, Any]]:
    return stack.get("resource", {}).get(kind, {})


def _blocks(value: Any) -> list[dict[str, Any]]:
    return [] if value is None else value if isinstance(value, list) else [value]


def _drill_identity(stack: StackJson) -> str | list[str]:
    """The drill identity's address, or the finding that there is not exactly one."""
    identities = [
        address
        for address, body in _resources(stack, "azurerm_user_assigned_identity").items()
        if "dr-drills" in body["name"]
    ]
    if len(identities) != 1:
        return [f"DRILL-IDENTITY: expected one drill identity, found {sorted(identities)}"]
    return identities[0]


def _federation_findings(stack: StackJson, config: EnvironmentConfig, address: str) -> list[str]:
    reference = f"${{azurerm_user_assigned_identity.{address}"
    subject = oidc_subject(config.deployment.repository, config.name)
    if any(
        body.get("parent_id", "").startswith(reference) and body.get("subject") == subject
        for body in _resources(stack, "azurerm_federated_identity_credential").values()
    ):
        return []
    return [f"DRILL-IDENTITY: {address} has no federated credential for subject {subject}"]


def _held_roles(stack: StackJson, address: str) -> dict[str, list[tuple[str, str]]]:
    """role -> [(assignment address, scope)] of the drill identity."""
    reference = f"${{azurerm_user_assigned_identity.{address}"
    held: dict[str, list[tuple[str, str]]] = {}
    for assignment, body in _resources(stack, "azurerm_role_assignment").items():
        if body.get("principal_id", "").startswith(reference):
            held.setdefault(body["role_definition_name"], []).append((assignment, body["scope"]))
    return held


def _role_findings(held: dict[str, list[tuple[str, str]]], enabled: tuple[str, ...]) -> list[str]:
    wanted = {role for drill in enabled for _, role, _ in DRILL_ROLES[drill]} | {RESULTS_ROLE}
    findings = [
        f"DRILL-ROLE: {drill}: the drill identity lacks '{role}' ({why})"
        for drill in enabled
        for _, role, why in DRILL_ROLES[drill]
        if role not in held
    ]
    for role, assignments in sorted(held.items()):
        for assignment, scope in assignments:
            if role not in wanted:
                findings.append(f"DRILL-ROLE: {assignment}: '{role}' serves no enabled drill")
            if SUBSCRIPTION_SCOPE.match(scope):
                findings.append(f"DRILL-ROLE: {assignment}: '{role}' at subscription scope {scope}")
    return findings


def _results_role_findings(stack: StackJson, held: dict[str, list[tuple[str, str]]]) -> list[str]:
    rules = {
        address
        for address, body in _resources(stack, "azurerm_monitor_data_collection_rule").items()
        if any(d.get("stream_name") == STREAM for d in _blocks(body.get("stream_declaration")))
    }
    if any(
        scope.startswith(f"${{azurerm_monitor_data_collection_rule.{rule}.")
        for rule in rules
        for _, scope in held.get(RESULTS_ROLE, [])
    ):
        return []
    return [f"DRILL-ROLE: no '{RESULTS_ROLE}' on the data collection rule of stream {STREAM}"]


def _unrouted_alert_findings(stack: StackJson) -> list[str]:
    return [
        f"DRILL-ALERT: {kind}.{alert} sends to no action group"
        for kind in ("azurerm_monitor_scheduled_query_rules_alert_v2", "azurerm_monitor_metric_alert")
        for alert, body in _resources(stack, kind).items()
        if not [g for action in _blocks(body.get("action")) for g in _groups(action)]
    ]


def _recovery_alert_findings(stack: StackJson, config: EnvironmentConfig) -> list[str]:
    queries = {
        body["name"]: " ".join(c["query"] for c in _blocks(body.get("criteria")))
        for body in _resources(stack, "azurerm_monitor_scheduled_query_rules_alert_v2").values()
    }
    recovery = config.recovery
    thresholds = {
        "rto-exceeded": f"RtoMinutes > {recovery.rto_hours * 60}",
        "rpo-exceeded": f"RpoMinutes > {recovery.rpo_hours * 60}",
        "backup-older-than-rpo": f"ago({min(recovery.rpo_hours, 47)}h)",
        "drill-missing": f"{recovery.drills.missing_after_hours}h",
        "drill-failed": "Succeeded == false",
    }
    findings = []
    for key in RECOVERY_ALERTS:
        matching = [query for name, query in queries.items() if f"dr-{key}" in name]
        if not matching:
            findings.append(f"DRILL-ALERT: no '{key}' alert")
        elif thresholds[key] not in matching[0]:
            findings.append(f"DRILL-ALERT: the '{key}' alert does not test '{thresholds[key]}'")
    return findings


def _backup_routes(stack: StackJson, severity: str) -> list[str]:
    """Exactly one alert processing rule routes Azure Backup's alerts of the backup vault, to `severity`'s group:
    two rules on overlapping scopes would notify twice, at two severities."""
    vaults = [f"${{azurerm_data_protection_backup_vault.{a}.id}}" for a in _resources(stack, BACKUP_VAULT_KIND)]
    routes = sorted(
        address
        for address, body in _resources(stack, "azurerm_monitor_alert_processing_rule_action_group").items()
        if body.get("add_action_group_ids")
        and any(_covers(scope, vault) for scope in body.get("scopes", []) for vault in vaults)
        and any(
            BACKUP_MONITOR_SERVICE in m.get("values", [])
            for c in _blocks(body.get("condition"))
            for m in _blocks(c.get("monitor_service"))
        )
    )
    if not routes:
        return ["DRILL-ALERT: Azure Backup job failures of the backup vault reach no action group"]
    if len(routes) > 1:
        return [f"DRILL-ALERT: {len(routes)} rules route the same Azure Backup alerts: {', '.join(routes)}"]
    groups = _resources(stack, "azurerm_monitor_action_group")
    rule = _resources(stack, "azurerm_monitor_alert_processing_rule_action_group")[routes[0]]
    names = [
        groups[ref.split(".")[1]]["name"] if ref.startswith("${azurerm_monitor_action_group.") else ref
        for ref in rule["add_action_group_ids"]
    ]
    if not all(f"-{severity}-" in name for name in names):
        return [f"DRILL-ALERT: {routes[0]} sends Azure Backup alerts to {names}, not the {severity} group"]
    return []


def check(stack: StackJson, config: EnvironmentConfig) -> list[str]:
    address = _drill_identity(stack)
    if isinstance(address, list):
        return address
    held = _held_roles(stack, address)
    return [
        *_federation_findings(stack, config, address),
        *_role_findings(held, config.recovery.drills.enabled),
        *_results_role_findings(stack, held),
        *_unrouted_alert_findings(stack),
        *_recovery_alert_findings(stack, config),
        *_backup_routes(stack, config.recovery.backup_alerts_severity),
    ]


def _covers(scope: str, resource: str) -> bool:
    """A subscription scope covers every resource of the stack (one subscription per environment)."""
    return scope == resource or bool(SUBSCRIPTION_SCOPE.match(scope))


def check_exports(infra: StackJson, cluster: StackJson, config: EnvironmentConfig) -> list[str]:
    """DRILL-EXPORTS: the backup CronJob's exports land in one container of a geo-redundant account."""
    container = config.baseline.exports_container
    identities = [
        a for a, b in _resources(infra, "azurerm_user_assigned_identity").items() if "cluster-exports" in b["name"]
    ]
    if len(identities) != 1:
        return [f"DRILL-EXPORTS: expected one cluster exports identity, found {identities}"]
    reference = f"${{azurerm_user_assigned_identity.{identities[0]}."
    return [
        *_exports_federation_findings(infra, reference),
        *_exports_role_findings(infra, reference, container),
        *_exports_job_findings(cluster, container),
    ]


def _exports_federation_findings(infra: StackJson, reference: str) -> list[str]:
    subject = exports_subject(BACKUP_NAMESPACE)
    if any(
        b.get("parent_id", "").startswith(reference) and b.get("subject") == subject
        for b in _resources(infra, "azurerm_federated_identity_credential").values()
    ):
        return []
    return [f"DRILL-EXPORTS: the exports identity has no federated credential for {subject}"]


def _exports_role_findings(infra: StackJson, reference: str, container: str) -> list[str]:
    """Only the writer role, only on the exports container, of a geo-redundant account."""
    findings: list[str] = []
    containers = _resources(infra, "azurerm_storage_container")
    accounts = _resources(infra, "azurerm_storage_account")
    for address, body in _resources(infra, "azurerm_role_assignment").items():
        if not body.get("principal_id", "").startswith(reference):
            continue
        scope = re.fullmatch(r"\$\{azurerm_storage_container\.([^.]+)\.resource_manager_id\}", body["scope"])
        target = containers.get(scope.group(1), {}) if scope else {}
        if body["role_definition_name"] != WRITER_ROLE or target.get("name") != container:
            findings.append(
                f"DRILL-EXPORTS: {address}: '{body['role_definition_name']}' on {body['scope']}: the exports "
                f"identity may hold only '{WRITER_ROLE}' on the '{container}' container"
            )
            continue
        account = accounts.get(target["storage_account_id"].split(".")[1], {})
        if account.get("account_replication_type") not in GEO_ZONE_REPLICATION:
            findings.append(
                f"DRILL-EXPORTS: the '{container}' container's account {account.get('name')} is "
                f"{account.get('account_replication_type')}, not geo-redundant {sorted(GEO_ZONE_REPLICATION)}"
            )
    return findings


def _exports_job_findings(cluster: StackJson, container: str) -> list[str]:
    """The backup CronJob uploads to the container (no volume claim); no job script only dry-runs YAML."""
    findings: list[str] = []
    jobs = {b["metadata"]["name"]: b for b in _resources(cluster, "kubernetes_cron_job_v1").values()}
    backup = jobs.get(EXPORTS_SERVICE_ACCOUNT)
    if backup is None:
        findings.append(f"DRILL-EXPORTS: no '{EXPORTS_SERVICE_ACCOUNT}' CronJob in the cluster stack")
    else:
        pod = backup["spec"]["job_template"]["spec"]["template"]["spec"]
        if any("persistent_volume_claim" in volume for volume in _blocks(pod.get("volume"))):
            findings.append(f"DRILL-EXPORTS: CronJob {EXPORTS_SERVICE_ACCOUNT} writes to a volume claim (one region)")
        urls = [e["value"] for c in pod["container"] for e in c.get("env") or [] if e["name"] == "EXPORTS_URL"]
        if not urls or not urls[0].endswith(f"}}{container}"):
            findings.append(f"DRILL-EXPORTS: CronJob {EXPORTS_SERVICE_ACCOUNT} does not upload to '{container}'")
    for address, body in _resources(cluster, "kubernetes_config_map_v1").items():
        if any("--dry-run=client" in str(text) for text in (body.get("data") or {}).values()):
            findings.append(
                f"DRILL-EXPORTS: {address}: a job script only dry-runs YAML (proves a parse, not a restore)"
            )
    return findings


def _groups(action: dict[str, Any]) -> list[str]:
    return list(action.get("action_groups") or []) + (
        [action["action_group_id"]] if action.get("action_group_id") else []
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("synth_dir", type=Path)
    args = parser.parse_args(argv)
    failed = False
    for environment in ENVIRONMENTS:
        stacks = {
            kind: json.loads((args.synth_dir / "stacks" / f"{environment}-{kind}" / "cdk.tf.json").read_text())
            for kind in ("infra", "cluster")
        }
        config = load_environment(environment)
        for kind, findings in (
            ("infra", check(stacks["infra"], config)),
            ("cluster", check_exports(stacks["infra"], stacks["cluster"], config)),
        ):
            for finding in findings:
                print(f"{environment}-{kind}: {finding}")
            failed |= bool(findings)
    print("drill coverage: " + ("findings above" if failed else "every enabled drill can run and is watched"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
