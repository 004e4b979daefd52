"""The disaster-recovery runbook of each environment, generated from its config and synthesized stacks.

Every name in it (servers, namespaces, alias, accounts, vault, backup instance, gateway, resource groups)
is read from the synthesized JSON, so the runbook cannot drift from what Terraform deploys; targets
(RTO/RPO), retention and the paired region come from config/<environment>.toml.

    python -m tools.docgen.dr_runbook SYNTH_DIR --environment staging   # print one environment's runbook
    python -m tools.docgen.dr_runbook SYNTH_DIR --write                 # (re)write docs/dr-runbook-<env>.md
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from config.loader import load_environment
from config.schema import EnvironmentConfig
from constructs.backup import TRUSTED_ACCESS_ROLE
from tools.docgen.diagram import ENVIRONMENTS, load_stack, one_block

DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"
REGENERATE = "scripts/synth && .venv/bin/python -m tools.docgen.dr_runbook cdktf.out --write"
GEO_REPLICATION = ("GRS", "RAGRS", "GZRS", "RAGZRS")  # accounts a customer-initiated failover applies to
_REFERENCE = re.compile(r"^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.(name|id|versionless_id|metadata\[0\]\.name)\}$")


class Stack:
    """One synthesized stack, with references (`${type.address.name}`) resolved to literal names."""

    def __init__(self, json_body: dict[str, Any], subscription_id: str = "<subscription-id>") -> None:
        self.resources: dict[str, dict[str, Any]] = json_body.get("resource", {})
        self.subscription_id = subscription_id

    def all(self, resource_type: str) -> list[dict[str, Any]]:
        return [body for _, body in sorted(self.resources.get(resource_type, {}).items())]

    def one(self, resource_type: str) -> dict[str, Any]:
        found = self.all(resource_type)
        if len(found) != 1:
            raise ValueError(f"runbook: expected one {resource_type} in the stack, found {len(found)}")
        return found[0]

    def referenced(self, value: str) -> dict[str, Any]:
        match = _REFERENCE.match(value)
        if not match:
            raise ValueError(f"runbook: {value!r} is not a reference to another resource")
        return self.resources[match.group(1)][match.group(2)]

    def name(self, value: str) -> str:
        """A literal name, or the name of the resource a reference points at."""
        if not value.startswith("${"):
            return value
        body = self.referenced(value)
        return one_block(body["metadata"])["name"] if "metadata" in body else body["name"]


POSTGRES_ZONE = "privatelink.postgres.database.azure.com"


class LandingZone:
    """The DR landing zone in the paired region (`constructs/dr_network.py`), read from the infra stack."""

    def __init__(self, infra: Stack, vnet: dict[str, Any], subnets: dict[str, dict[str, Any]]) -> None:
        self.vnet: str = vnet["name"]
        self.resource_group = infra.name(vnet["resource_group_name"])
        self._subnets = subnets
        self._infra = infra
        endpoint_subnet = subnets["private_endpoints"]
        self.endpoints = [
            e["name"]
            for e in infra.all("azurerm_private_endpoint")
            if e["subnet_id"].startswith("${") and infra.referenced(e["subnet_id"]) is endpoint_subnet
        ]

    def subnet(self, key: str) -> str:
        return self._subnets[key]["name"]

    def dns_zone_id(self, zone_name: str) -> str:
        (zone,) = [z for z in self._infra.all("azurerm_private_dns_zone") if z["name"] == zone_name]
        return (
            f"/subscriptions/{self._infra.subscription_id}/resourceGroups/"
            f"{self._infra.name(zone['resource_group_name'])}/providers/Microsoft.Network/privateDnsZones/{zone_name}"
        )

    def summary(self) -> str:
        endpoints = ", ".join(f"`{name}`" for name in self.endpoints)
        return (
            f"The landing zone stands in the paired region: VNet `{self.vnet}` (resource group "
            f"`{self.resource_group}`, peered with the primary hub, linked to the privatelink zones) with the "
            f"private endpoints {endpoints} and subnets reserved for the PostgreSQL geo-restore and the rebuilt "
            "cluster."
        )


def landing_zone(infra: Stack, paired: str) -> LandingZone:
    vnets = [v for v in infra.all("azurerm_virtual_network") if v["location"] == paired]
    if len(vnets) != 1:
        raise ValueError(f"runbook: expected one VNet in the paired region {paired}, found {len(vnets)}")
    subnets = {
        body["//"]["metadata"]["path"].rsplit("/", 1)[1].removesuffix("-subnet"): body
        for body in infra.all("azurerm_subnet")
        if "/dr-landing-zone/" in body["//"]["metadata"]["path"]
    }
    return LandingZone(infra, vnets[0], subnets)


DRILLS_PAGE = "dr-drills.md"  # docs/dr-drills.md, next to the runbooks


def _proven_by(config: EnvironmentConfig, *drills: str) -> str:
    """The line that links a step to the restore drills that rehearse it, and says when they run here."""
    settings = config.recovery.drills
    when = f"every {settings.weekday.capitalize()} {settings.time_utc} UTC"
    parts = [
        f"[`{drill}`]({DRILLS_PAGE}#{drill}) ("
        + (
            f"{when} in {config.name}"
            if drill in settings.enabled
            else "not scheduled here: on demand after an approved change, `--approved-by`"
        )
        + ")"
        for drill in drills
    ]
    return "\n\n**Proven by** " + ", ".join(parts) + ": the last measured RTO/RPO is in `DrDrillResults_CL` (below)."


def _code(*lines: str) -> str:
    return "```bash\n" + "\n".join(lines) + "\n```"


def render(config: EnvironmentConfig, infra_json: dict[str, Any], cluster_json: dict[str, Any]) -> str:
    infra, cluster = Stack(infra_json, config.subscription_id), Stack(cluster_json)
    recovery, paired = config.recovery, config.paired_location
    sub = config.subscription_id

    server = infra.one("azurerm_postgresql_flexible_server")
    server_rg = infra.name(server["resource_group_name"])
    server_id = (
        f"/subscriptions/{sub}/resourceGroups/{server_rg}"
        f"/providers/Microsoft.DBforPostgreSQL/flexibleServers/{server['name']}"
    )
    geo_keys = server.get("customer_managed_key", {})

    pairing = infra.one("azurerm_eventhub_namespace_disaster_recovery_config")
    primary_namespace = infra.name(pairing["namespace_name"])
    secondary = infra.referenced(pairing["partner_namespace_id"])
    secondary_rg = infra.name(secondary["resource_group_name"])

    accounts = [a for a in infra.all("azurerm_storage_account") if a["account_replication_type"] in GEO_REPLICATION]
    cluster_resource = infra.one("azurerm_kubernetes_cluster")
    vault = infra.one("azurerm_data_protection_backup_vault")
    vault_rg = infra.name(vault["resource_group_name"])
    aks_instance = infra.one("azurerm_data_protection_backup_instance_kubernetes_cluster")
    aks_policy = infra.referenced(aks_instance["backup_policy_id"])
    blob_instance = infra.one("azurerm_data_protection_backup_instance_blob_storage")
    blob_account = infra.referenced(blob_instance["storage_account_id"])
    gateway = infra.one("azurerm_application_gateway")
    gateway_rg = infra.name(gateway["resource_group_name"])
    public_ips = [
        infra.referenced(c["public_ip_address_id"])
        for c in _blocks(gateway.get("frontend_ip_configuration"))
        if "public_ip_address_id" in c
    ]
    ip_names = ", ".join(f"`{ip['name']}`" for ip in public_ips)
    zone = landing_zone(infra, paired)
    locks = infra.all("azurerm_management_lock")

    sections = [
        f"# {config.name.capitalize()} disaster-recovery runbook",
        f"<!-- Generated from config/{config.name}.toml and the synthesized stacks by tools/docgen/dr_runbook.py; "
        f"do not edit. Regenerate: {REGENERATE} -->",
        "## Targets and what they rest on\n\n"
        f"- **RTO {recovery.rto_hours} h**: steps 0-5 below, with the Azure CLI and the cdktf pipeline.\n"
        f"- **RPO {recovery.rpo_hours} h**: AKS and vaulted blob backups run daily at {recovery.backup_time_utc} UTC "
        f"(`recovery.backup_time_utc`), so the newest restore point can be a day old; PostgreSQL geo-backups, "
        f"storage geo-replication and Event Hubs metadata replicate continuously and lose less.\n"
        f"- Primary region `{config.location}`, paired region `{paired}`. Backup vault `{vault['name']}` "
        f"(resource group `{vault_rg}`, {vault['redundancy']}, cross-region restore "
        f"{'on' if vault.get('cross_region_restore_enabled') else 'off'}).\n"
        + (
            f"- {len(locks)} `CanNotDelete` locks protect the stateful resources. Failover and restore create or "
            "promote resources and are not blocked; removing a locked resource afterwards needs "
            "`az lock delete` first."
            if locks
            else "- No management locks in this environment (`data.protect_from_destroy = false`)."
        ),
        "## 0. Declare the disaster\n\n"
        f"Confirm the regional outage on Azure Service Health for `{config.location}`, note the time (RTO clock "
        "starts) and freeze deployments. "
        + zone.summary()
        + " No cluster stands there: step 4 builds it and is the longest step, so start it in parallel with "
        "steps 1-3.",
        _step_postgres(server, server_rg, server_id, paired, geo_keys, infra, zone, secondary_rg)
        + _proven_by(config, "postgres_geo_restore", "postgres_point_in_time"),
        "## 2. Event Hubs: fail the geo-DR alias over to the secondary namespace\n\n"
        f"Alias `{pairing['name']}` (`data.event_hubs.disaster_recovery_alias`) points at `{primary_namespace}`; "
        f"failover is run on the secondary `{secondary['name']}` (`{secondary['location']}`) and makes it primary. "
        "Only metadata (event hubs, consumer groups) is replicated: events not yet consumed in the primary "
        "are not copied"
        + _captured(infra)
        + ". Clients using the alias connection string follow without changes; in the paired "
        f"region they reach `{secondary['name']}` through its private endpoint in `{zone.vnet}` "
        f"(subnet `{zone.subnet('private_endpoints')}`).\n\n"
        + _code(
            f"az eventhubs georecovery-alias fail-over --resource-group {secondary_rg} "
            f"--namespace-name {secondary['name']} --alias {pairing['name']}",
            "# verify: role is PrimaryNotReplicating on the former secondary",
            f"az eventhubs georecovery-alias show --resource-group {secondary_rg} "
            f"--namespace-name {secondary['name']} --alias {pairing['name']} --query role",
        )
        + _proven_by(config, "event_hubs_failover", "event_hubs_capture"),
        "## 3. Storage: customer-initiated failover\n\n"
        "Each geo-replicated account below fails over to its secondary region; writes made after the "
        "*last sync time* are lost, so read it first. Afterwards the account is locally redundant in the new "
        "primary: set its replication back to the configured value once the region is healthy.\n\n"
        + "\n\n".join(
            f"- `{account['name']}` ({account['account_replication_type']}, resource group "
            f"`{infra.name(account['resource_group_name'])}`)\n\n"
            + _code(
                f"az storage account show --name {account['name']} --expand geoReplicationStats "
                "--query geoReplicationStats.lastSyncTime",
                f"az storage account failover --name {account['name']} "
                f"--resource-group {infra.name(account['resource_group_name'])} --yes",
                "# verify: primaryLocation is the former secondary and statusOfPrimary is available",
                f"az storage account show --name {account['name']}"
                ' --query "{primary:primaryLocation,status:statusOfPrimary}"',
            )
            for account in accounts
        )
        + f"\n\nBlob backup instance `{blob_instance['name']}` keeps daily vaulted copies of `{blob_account['name']}` "
        f"for {recovery.blobs.vault_retention_days} days and a {recovery.blobs.operational_retention_days}-day "
        "point-in-time restore window in the account itself: use them for corruption or deletion, not for region loss."
        + _proven_by(config, "blob_point_in_time")
        + " The account failover itself is not drilled: it leaves the account locally redundant until it is "
        "converted back, so it is rehearsed only in a DR exercise.",
        "## 4. AKS: rebuild the cluster, restore from the backup vault\n\n"
        f"Backup instance `{aks_instance['name']}` protects `{cluster_resource['name']}` daily with policy "
        f"`{aks_policy['name']}`: restore points stay {recovery.aks.retention_days} days in the operational tier "
        f"(volume snapshots and the extension's blob container, in `{config.location}`: cluster loss) and the first "
        f"backup of each day is copied at once to the vault tier and kept {recovery.aks.vault_retention_days} days "
        f"({vault['redundancy']}: readable in `{paired}` through cross-region restore: region loss). For region "
        f"loss, build the cluster in `{paired}` from code into the landing zone's reserved subnets (`{zone.vnet}`: "
        f"system pool `{zone.subnet('aks_system')}`, user pools `{zone.subnet('aks_user')}`; `network.dr` in the "
        "config), let this vault reach it, and restore the newest vault-tier point into it; the ERP's databases and "
        "blobs come from steps 1-3. Restores from the vault tier stage disks and the extension's objects in a "
        f"resource group and a storage account of `{paired}` (the spec's `KubernetesClusterVaultTierRestoreCriteria`: "
        "`stagingResourceGroupId`, `stagingStorageAccountId`; set them in restore.json). The drill below restores "
        "from the operational tier; the cross-region restore from the vault tier is not drilled yet "
        "([dr-drills.md](dr-drills.md#vault-tier-aks-backups-what-was-built)).\n\n"
        + _code(
            f'# region loss: a config for {paired} (location = "{paired}", its own unique_suffix, spoke subnets',
            f"# = network.dr aks_system/aks_user of {zone.vnet}), then",
            "cdktf deploy <paired>-alerting <paired>-infra <paired>-cluster",
            f"az aks trustedaccess rolebinding create --resource-group <new cluster rg> --cluster-name <new cluster> "
            f"--name {vault['name']} --source-resource-id <id of {vault['name']}> --roles {TRUSTED_ACCESS_ROLE}",
            f"az dataprotection recovery-point list --resource-group {vault_rg} --vault-name {vault['name']} "
            f"--backup-instance-name {aks_instance['name']} --use-secondary-region true",
            "az dataprotection backup-instance restore initialize-for-data-recovery --datasource-type "
            f"AzureKubernetesService --restore-location {paired} --source-datastore VaultStore "
            "--recovery-point-id <id> --target-resource-id <new-cluster-id> > restore.json",
            "# restore.json: restoreCriteria objectType KubernetesClusterVaultTierRestoreCriteria with",
            f"# stagingResourceGroupId and stagingStorageAccountId in {paired}",
            f"az dataprotection backup-instance validate-for-restore --resource-group {vault_rg} --vault-name "
            f"{vault['name']} --backup-instance-name {aks_instance['name']} --restore-request-object restore.json "
            "--use-secondary-region true",
            f"az dataprotection backup-instance restore trigger --resource-group {vault_rg} --vault-name "
            f"{vault['name']} --backup-instance-name {aks_instance['name']} --restore-request-object restore.json "
            "--use-secondary-region true",
            "# cluster loss: the same in the primary region from the operational tier (no --use-secondary-region,",
            f"# --restore-location {config.location} --source-datastore OperationalStore)",
            "# verify",
            "kubectl get nodes && kubectl get pods --all-namespaces --field-selector status.phase!=Running",
        )
        + _proven_by(config, "aks_restore")
        + _exports(config, infra, cluster),
        "## 5. Cutover: Application Gateway and DNS\n\n"
        f"`{gateway['name']}` (resource group `{gateway_rg}`, public IP "
        f"{ip_names or 'none'}) serves `{config.app_gateway.host_name}`. "
        "Deploy the gateway in the new region with the infra stack of step 4, then point the public DNS "
        f"record of `{config.app_gateway.host_name}` at the new gateway's public IP.\n\n"
        + _code(
            "az network public-ip show --resource-group <new-workloads-rg> --name <new-gateway-public-ip>"
            " --query ipAddress",
            "# verify: the availability test endpoint answers from the new region",
            f"curl --fail --silent --show-error {config.observability.availability_test.url}",
        ),
        _keys(config, infra),
        "## Verification and rehearsal\n\n"
        "The restore drills (docs/dr-drills.md, workflow `dr-drills`) "
        f"restore each component every {recovery.drills.weekday.capitalize()} at {recovery.drills.time_utc} UTC "
        f"({', '.join(f'`{d}`' for d in recovery.drills.enabled)}), verify a canary, and record the measured "
        f"RPO and RTO against the targets (RTO {recovery.rto_hours} h, RPO {recovery.rpo_hours} h); alerts fire "
        "when a drill fails, is missing, or exceeds a target. The last measured values:\n\n"
        + "```kusto\n"
        + f"DrDrillResults_CL | where Environment == '{config.name}'\n"
        + "| summarize arg_max(TimeGenerated, *) by Drill\n"
        + "| project Drill, Component, LastRun = TimeGenerated, Succeeded, RpoMinutes, RtoMinutes, Detail\n"
        + "```\n\n"
        "A full exercise of steps 0-5 (region loss) is still the only proof of the end-to-end RTO: time it the "
        "same way and record it in the exercise report.",
    ]
    return "\n\n".join(sections) + "\n"


def _captured(infra: Stack) -> str:
    """Where Event Hubs Capture archives the events (the copy that survives the region), if it does."""
    archives = sorted(
        {
            (infra.referenced(d["storage_account_id"])["name"], d["blob_container_name"])
            for hub in infra.all("azurerm_eventhub")
            for d in _blocks(_capture_destination(hub))
        }
    )
    if not archives:
        return ""
    where = ", ".join(f"`{account}/{container}`" for account, container in archives)
    return (
        f"; Event Hubs Capture archives every hub's events (Avro, 5-minute files) in {where}, a geo-redundant "
        "account: after its failover (step 3) the events up to the last capture window are read from there"
    )


def _exports(config: EnvironmentConfig, infra: Stack, cluster: Stack) -> str:
    """Where the cluster's object definitions are archived daily, and how to apply them to a new cluster."""
    jobs = [job for job in cluster.all("kubernetes_cron_job_v1") if job["metadata"]["name"] == "cluster-backup"]
    containers = [c for c in infra.all("azurerm_storage_container") if c["name"] == config.baseline.exports_container]
    if not jobs or len(containers) != 1:
        return ""
    account = infra.referenced(containers[0]["storage_account_id"])
    name, container = account["name"], containers[0]["name"]
    namespace = cluster.name(jobs[0]["metadata"]["namespace"])
    return (
        f"\n\nObject definitions without volume data (Deployments, Services, ConfigMaps, quotas; no Secrets) are "
        f"also archived daily by the `cluster-backup` CronJob (namespace `{namespace}`, "
        f"schedule `{jobs[0]['spec']['schedule']}`) into container `{container}` of `{name}` "
        f"({account['account_replication_type']}: after the account's failover in step 3 they are read in `"
        f"{config.paired_location}`). For a rebuilt cluster with no Backup for AKS restore point:\n\n"
        + _code(
            f"az storage blob list --auth-mode login --account-name {name} --container-name {container} "
            '--query "sort_by(@, &properties.creationTime)[-1].name" -o tsv',
            f"az storage blob download --auth-mode login --account-name {name} --container-name {container} "
            "--name <newest>.tar.gz --file exports.tar.gz && tar -xzf exports.tar.gz",
            "kubectl apply -f <stamp>/namespaces.yaml && kubectl apply -f <stamp>/",
        )
    )


def _capture_destination(hub: dict[str, Any]) -> Any:
    capture = hub.get("capture_description")
    capture = capture[0] if isinstance(capture, list) else capture
    return (capture or {}).get("destination") if (capture or {}).get("enabled") else None


def _keys(config: EnvironmentConfig, infra: Stack) -> str:
    vaults = {body["name"]: body for body in infra.all("azurerm_key_vault")}
    geo = [name for name, body in vaults.items() if body["location"] == config.paired_location]
    title = "## Keys: the geo key vault\n\n"
    if not geo:
        return title + "No key vault stands in the paired region: keys cannot be restored there."
    primary = [name for name in vaults if name not in geo]
    return title + (
        f"Key Vault backups restore only into a vault of the same Azure geography and subscription: "
        f"`{geo[0]}` in `{config.paired_location}`. Back up each key of {', '.join(f'`{n}`' for n in primary)} "
        "while the primary region is up (a backup blob per key, stored outside the failed region), and restore "
        "into the geo vault when needed. The PostgreSQL geo-backup key already lives there.\n\n"
        + _code(
            "az keyvault key backup --vault-name <primary vault> --name <key> --file <key>.keybackup",
            f"az keyvault key restore --vault-name {geo[0]} --file <key>.keybackup",
        )
        + _proven_by(config, "key_vault_backup")
    )


def _blocks(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _step_postgres(
    server: dict[str, Any],
    server_rg: str,
    server_id: str,
    paired: str,
    geo_keys: dict[str, Any],
    infra: Stack,
    zone: LandingZone,
    paired_rg: str,
) -> str:
    title = "## 1. PostgreSQL: geo-restore in the paired region\n\n"
    if not server.get("geo_redundant_backup_enabled"):
        return title + (
            f"`{server['name']}` has no geo-redundant backups (`data.postgres.geo_redundant_backup = "
            "false`): a regional outage cannot be recovered from backups; restore from the last export."
        )
    key_flags = ""
    if "geo_backup_key_vault_key_id" in geo_keys:
        key = infra.referenced(geo_keys["geo_backup_key_vault_key_id"])
        identity = infra.referenced(geo_keys["geo_backup_user_assigned_identity_id"])
        key_flags = f" --key <id of {key['name']} in {infra.name(key['key_vault_id'])}> --identity {identity['name']}"
    return title + (
        f"`{server['name']}` (resource group `{server_rg}`) keeps geo-redundant backups in `{paired}`, encrypted "
        "with the paired-region key: geo-restore creates a new server there from the latest geo-backup. Like "
        f"the source it has public access off and no endpoint: give it one in `{zone.vnet}` (subnet "
        f"`{zone.subnet('private_endpoints')}`), registered in the `{POSTGRES_ZONE}` zone linked to that VNet. "
        f"(Subnet `{zone.subnet('postgres')}` is delegated to PostgreSQL for a VNet-integrated restore instead.)\n\n"
        + _code(
            f"az postgres flexible-server geo-restore --resource-group {paired_rg} --name {server['name']}-dr "
            f"--source-server {server_id} --location {paired}{key_flags}",
            f"az network private-endpoint create --resource-group {paired_rg} --name {server['name']}-dr-pe "
            f"--location {paired} --vnet-name {zone.vnet} --subnet {zone.subnet('private_endpoints')} "
            f"--private-connection-resource-id $(az postgres flexible-server show --resource-group {paired_rg} "
            f"--name {server['name']}-dr --query id -o tsv) --group-id postgresqlServer "
            f"--connection-name {server['name']}-dr",
            f"az network private-endpoint dns-zone-group create --resource-group {paired_rg} "
            f"--endpoint-name {server['name']}-dr-pe --name default --zone-name postgres "
            f"--private-dns-zone {zone.dns_zone_id(POSTGRES_ZONE)}",
            "# verify: state Ready and the host name resolves to the new endpoint inside the DR VNet; then point",
            "# the application's connection settings at the new server",
            f"az postgres flexible-server show --resource-group {paired_rg} --name {server['name']}-dr --query state",
        )
    )


def environment_runbook(synth_dir: Path, environment: str) -> str:
    return render(
        load_environment(environment),
        load_stack(synth_dir, f"{environment}-infra"),
        load_stack(synth_dir, f"{environment}-cluster"),
    )


def runbook_path(environment: str) -> Path:
    return DOCS_DIR / f"dr-runbook-{environment}.md"


def per_environment_cli(
    argv: list[str] | None,
    *,
    description: str,
    render: Callable[[Path, str], str],
    path_of: Callable[[str], Path],
) -> int:
    """The command line of a generated per-environment document: print it, or `--write` it to `path_of(env)`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("synth_dir", type=Path, nargs="?", default=Path("cdktf.out"))
    parser.add_argument(
        "--environment", choices=ENVIRONMENTS, action="append", help="environment(s) to render (default: all)"
    )
    parser.add_argument("--write", action="store_true", help=f"write {path_of('<env>').relative_to(DOCS_DIR.parent)}")
    args = parser.parse_args(argv)
    try:
        documents = {env: render(args.synth_dir, env) for env in args.environment or ENVIRONMENTS}
    except FileNotFoundError as error:
        parser.error(str(error))
    for environment, text in documents.items():
        if args.write:
            path_of(environment).write_text(text)
        else:
            sys.stdout.write(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    return per_environment_cli(
        argv, description=__doc__.splitlines()[0], render=environment_runbook, path_of=runbook_path
    )


if __name__ == "__main__":
    raise SystemExit(main())
