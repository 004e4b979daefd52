"""Run an environment's restore drills and record their results (docs/dr-drills.md).

Every name and id the drills act on is read from the synthesized infra stack (so the drills cannot drift from
what Terraform deploys); which drills run, the targets and the schedule come from config/<environment>.toml
(`recovery`, `recovery.drills`). The results go to Log Analytics (DrDrillResults_CL) and to stdout as JSON
lines; the exit code is 1 when any drill failed.

    python -m drills.run --environment staging --synth cdktf.out                  # every enabled drill
    python -m drills.run --environment staging --synth cdktf.out --drill aks_restore
    python -m drills.run --environment production --synth cdktf.out \\
        --drill event_hubs_failover --approved-by "CHG-1234 (jane.doe)"         # disruptive: approval required
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.loader import load_environment
from config.recovery import DISRUPTIVE_DRILLS, DRILLS
from config.schema import EnvironmentConfig
from drills import aks, event_hubs, key_vault, postgres, storage
from drills.boundary import Cloud, CommandLineCloud
from drills.database import Database
from drills.event_hubs import CaptureTarget
from drills.results import DrillResult, publish
from tools.docgen.diagram import load_stack
from tools.docgen.dr_runbook import POSTGRES_ZONE, Stack

DRILL_DATABASE = "postgres"  # the canary schema `dr_drill` lives in the server's default database


@dataclass(frozen=True)
class Targets:
    postgres: postgres.PostgresTarget
    blobs: storage.BlobTarget
    aks: aks.AksTarget
    key_vault: key_vault.KeyVaultTarget | None
    event_hubs: event_hubs.EventHubsTarget
    capture: CaptureTarget | None  # None: no hub captures
    results_endpoint_name: str  # data collection endpoint (its ingestion URL is read at run time)
    results_endpoint_resource_group: str
    results_rule_name: str
    results_rule_resource_group: str
    drill_identity_name: str


def _by_name(infra: Stack, kind: str, contains: str) -> dict[str, Any]:
    (found,) = [(a, b) for a, b in sorted(infra.resources.get(kind, {}).items()) if contains in a]
    return found[1]


def _arm_id(sub: str, rg: str, provider: str, *names: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{provider}/" + "/".join(names)


def targets(config: EnvironmentConfig, infra_json: dict[str, Any]) -> Targets:
    infra, sub = Stack(infra_json, config.subscription_id), config.subscription_id
    recovery = config.recovery

    def subnet_id(contains: str) -> str:
        subnet = _by_name(infra, "azurerm_subnet", contains)
        return _arm_id(
            sub,
            infra.name(subnet["resource_group_name"]),
            "Microsoft.Network",
            f"virtualNetworks/{infra.name(subnet['virtual_network_name'])}",
            f"subnets/{subnet['name']}",
        )

    def scratch_group(grant: str) -> str:
        """The drills' scratch group: bootstrap creates it (constructs/platform_groups.py); the infra stack grants the
        drill identity Contributor on it by id (`drill-identity/<grant>`), which is where the drill may write."""
        [scope] = [
            body["scope"]
            for address, body in infra.resources["azurerm_role_assignment"].items()
            if address.startswith(f"drill-identity_{grant}_")
        ]
        return str(scope).rsplit("/resourceGroups/", 1)[1]

    server = infra.one("azurerm_postgresql_flexible_server")
    server_rg = infra.name(server["resource_group_name"])
    zone = next(z for z in infra.all("azurerm_private_dns_zone") if z["name"] == POSTGRES_ZONE)
    identities = {b["name"]: b for b in infra.all("azurerm_user_assigned_identity")}
    drill_identity = next(name for name in identities if "dr-drills" in name)
    keys = server.get("customer_managed_key", {})
    geo_key_id = geo_identity_id = None
    if "geo_backup_key_vault_key_id" in keys:
        key = infra.referenced(keys["geo_backup_key_vault_key_id"])
        vault = infra.referenced(key["key_vault_id"])
        identity = infra.referenced(keys["geo_backup_user_assigned_identity_id"])
        geo_key_id = f"https://{vault['name']}.vault.azure.net/keys/{key['name']}"
        geo_identity_id = _arm_id(
            sub,
            infra.name(identity["resource_group_name"]),
            "Microsoft.ManagedIdentity",
            f"userAssignedIdentities/{identity['name']}",
        )
    account = infra.referenced(infra.one("azurerm_data_protection_backup_instance_blob_storage")["storage_account_id"])
    vault = infra.one("azurerm_data_protection_backup_vault")
    cluster = infra.one("azurerm_kubernetes_cluster")
    vaults = {a: b for a, b in infra.resources.get("azurerm_key_vault", {}).items()}
    primary_vault = next(b for a, b in vaults.items() if "data_key-vault" in a)
    geo_vault = next((b for a, b in vaults.items() if "geo-key-vault" in a), None)
    pairing = infra.one("azurerm_eventhub_namespace_disaster_recovery_config")
    secondary = infra.referenced(pairing["partner_namespace_id"])
    captured = [(hub, destination) for hub in infra.all("azurerm_eventhub") if (destination := _capture(hub))]
    endpoint = _by_name(infra, "azurerm_monitor_data_collection_endpoint", "")
    rule = next(r for r in infra.all("azurerm_monitor_data_collection_rule") if "dr-drills" in r["name"])
    return Targets(
        postgres=postgres.PostgresTarget(
            server_id=_arm_id(sub, server_rg, "Microsoft.DBforPostgreSQL", f"flexibleServers/{server['name']}"),
            server_name=server["name"],
            fqdn=f"{server['name']}.postgres.database.azure.com",
            database=DRILL_DATABASE,
            user=drill_identity,
            location=config.location,
            scratch_resource_group=scratch_group("scratch-contributor"),
            endpoint_subnet_id=subnet_id("network_spoke-private_endpoints"),
            paired_location=config.paired_location,
            geo_scratch_resource_group=scratch_group("geo-scratch-contributor"),
            geo_endpoint_subnet_id=subnet_id("dr-landing-zone_private_endpoints"),
            private_dns_zone_id=_arm_id(
                sub, infra.name(zone["resource_group_name"]), "Microsoft.Network", f"privateDnsZones/{zone['name']}"
            ),
            rpo_target=datetime.timedelta(hours=recovery.rpo_hours),
            geo_key_id=geo_key_id,
            geo_identity_id=geo_identity_id,
        ),
        blobs=storage.BlobTarget(
            account_name=account["name"],
            resource_group=infra.name(account["resource_group_name"]),
            container=config.data.storage.containers[0],
        ),
        aks=aks.AksTarget(
            vault_name=vault["name"],
            vault_resource_group=infra.name(vault["resource_group_name"]),
            backup_instance_name=infra.one("azurerm_data_protection_backup_instance_kubernetes_cluster")["name"],
            cluster_id=_arm_id(
                sub,
                infra.name(cluster["resource_group_name"]),
                "Microsoft.ContainerService",
                f"managedClusters/{cluster['name']}",
            ),
            location=config.location,
            sample_namespace=recovery.drills.aks_sample_namespace,
            scratch_namespace=recovery.drills.aks_scratch_namespace,
        ),
        key_vault=key_vault.KeyVaultTarget(primary_vault["name"], geo_vault["name"]) if geo_vault else None,
        event_hubs=event_hubs.EventHubsTarget(
            alias=pairing["name"],
            secondary_namespace=secondary["name"],
            secondary_resource_group=infra.name(secondary["resource_group_name"]),
        ),
        capture=event_hubs.CaptureTarget(
            account_name=infra.referenced(captured[0][1]["storage_account_id"])["name"],
            container=captured[0][1]["blob_container_name"],
            namespace=infra.referenced(captured[0][0]["namespace_id"])["name"],
            hubs=tuple((hub["name"], hub["partition_count"]) for hub, _ in captured),
            rpo_target=datetime.timedelta(hours=recovery.rpo_hours),
        )
        if captured
        else None,
        results_endpoint_name=endpoint["name"],
        results_endpoint_resource_group=infra.name(endpoint["resource_group_name"]),
        results_rule_name=rule["name"],
        results_rule_resource_group=infra.name(rule["resource_group_name"]),
        drill_identity_name=drill_identity,
    )


def _capture(hub: dict[str, Any]) -> dict[str, Any] | None:
    capture = hub.get("capture_description") or {}
    return capture.get("destination") if capture.get("enabled") else None


def entra_database(target: postgres.PostgresTarget) -> postgres.Connect:
    def connect(host: str, token: str) -> Database:
        return Database(host=host, dbname=target.database, user=target.user, password=token)

    return connect


Runner = Callable[[Cloud, Targets, str, str], DrillResult]
RUNNERS: dict[str, Runner] = {
    "postgres_point_in_time": lambda c, t, e, r: postgres.point_in_time(
        c, t.postgres, environment=e, run_id=r, connect=entra_database(t.postgres)
    ),
    "postgres_geo_restore": lambda c, t, e, r: postgres.geo_restore(
        c, t.postgres, environment=e, run_id=r, connect=entra_database(t.postgres)
    ),
    "blob_point_in_time": lambda c, t, e, r: storage.point_in_time(c, t.blobs, environment=e, run_id=r),
    "aks_restore": lambda c, t, e, r: aks.restore(c, t.aks, environment=e, run_id=r),
    "key_vault_backup": lambda c, t, e, r: (
        key_vault.backup_restore(c, t.key_vault, environment=e, run_id=r)
        if t.key_vault
        else DrillResult("key_vault_backup", "key_vault", e, r, c.now(), details=["no geo key vault"])
    ),
    "event_hubs_failover": lambda c, t, e, r: event_hubs.failover(c, t.event_hubs, environment=e, run_id=r),
    "event_hubs_capture": lambda c, t, e, r: (
        event_hubs.capture_read_back(c, t.capture, environment=e, run_id=r)
        if t.capture
        else DrillResult("event_hubs_capture", "event_hubs", e, r, c.now(), details=["no hub captures"])
    ),
}
assert set(RUNNERS) == set(DRILLS)


def selected(config: EnvironmentConfig, requested: Sequence[str], approved_by: str | None) -> list[str]:
    """The drills to run: the requested ones (default: every enabled one), refusing a disruptive drill the
    environment does not allow unless someone approved it (production's Event Hubs failover)."""
    drills = config.recovery.drills
    chosen = list(requested) or list(drills.enabled)
    for name in chosen:
        if name not in DRILLS:
            raise SystemExit(f"error: unknown drill {name!r} (known: {', '.join(DRILLS)})")
        if name in DISRUPTIVE_DRILLS and not drills.allow_disruptive and not approved_by:
            raise SystemExit(
                f"error: {name} disrupts {config.name} and recovery.drills.allow_disruptive is false: run it only "
                "after an approved change, with --approved-by '<change id> (<approver>)'"
            )
    return chosen


def run(
    cloud: Cloud,
    config: EnvironmentConfig,
    infra_json: dict[str, Any],
    drills: Sequence[str],
    run_id: str,
    approved_by: str | None = None,
) -> list[DrillResult]:
    found = targets(config, infra_json)
    results = []
    for name in drills:
        result = RUNNERS[name](cloud, found, config.name, run_id)
        if approved_by and name in DISRUPTIVE_DRILLS:
            result.details.append(f"approved by {approved_by}")
        results.append(result)
    endpoint = cloud.az(
        "monitor",
        "data-collection",
        "endpoint",
        "show",
        "--name",
        found.results_endpoint_name,
        "--resource-group",
        found.results_endpoint_resource_group,
    )
    rule = cloud.az(
        "monitor",
        "data-collection",
        "rule",
        "show",
        "--name",
        found.results_rule_name,
        "--resource-group",
        found.results_rule_resource_group,
    )
    publish(cloud, endpoint["logsIngestion"]["endpoint"], rule["immutableId"], results)
    return results


def main(argv: list[str] | None = None, cloud: Cloud | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--environment", required=True)
    parser.add_argument("--synth", type=Path, default=Path("cdktf.out"))
    parser.add_argument("--drill", action="append", default=[], help="a drill to run (repeatable)")
    parser.add_argument("--run-id", help="default: the UTC time, e.g. 20261208t0530")
    parser.add_argument("--approved-by", help="change id and approver of a disruptive drill the config disallows")
    args = parser.parse_args(argv)
    cloud = cloud or CommandLineCloud()
    config = load_environment(args.environment)
    drills = selected(config, args.drill, args.approved_by)
    run_id = args.run_id or cloud.now().strftime("%Y%m%dt%H%M")
    infra_json = load_stack(args.synth, f"{args.environment}-infra")
    results = run(cloud, config, infra_json, drills, run_id, args.approved_by)
    for result in results:
        print(json.dumps(result.row(), sort_keys=True))
    return 0 if all(r.succeeded and r.teardown_succeeded for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
