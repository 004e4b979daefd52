"""PostgreSQL drills: point-in-time restore (primary region) and geo-restore (paired region, the DR landing
zone) of the flexible server into a scratch server, verified through a canary row, then deleted.

Both restores keep the source's network settings (public access off), so the drill gives the scratch
server a private endpoint in the endpoint subnet of its region, registered in the privatelink zone, before
connecting. Teardown (endpoint, then server) is pushed before each create, so a half-created server is
removed too.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from drills.boundary import Cloud, unless_gone
from drills.database import Database, read_canary, write_canary
from drills.results import DrillResult, Teardown, recorded

# The Entra token audience of Azure Database for PostgreSQL (`az account get-access-token`).
TOKEN_RESOURCE_TYPE = "oss-rdbms"
NOT_FOUND = ("ResourceNotFound", "ResourceGroupNotFound", "was not found", "could not be found")


@dataclass(frozen=True)
class PostgresTarget:
    """The source server and where scratch servers go (read from the synthesized infra stack)."""

    server_id: str
    server_name: str
    fqdn: str
    database: str  # the database holding the drill's canary schema
    user: str  # the drill identity's PostgreSQL role (Entra principal name)
    location: str
    scratch_resource_group: str  # primary region
    endpoint_subnet_id: str  # primary region's private-endpoint subnet
    paired_location: str
    geo_scratch_resource_group: str  # paired region
    geo_endpoint_subnet_id: str  # the DR landing zone's private-endpoint subnet
    private_dns_zone_id: str  # privatelink.postgres.database.azure.com (hub, linked to both VNets)
    rpo_target: datetime.timedelta
    key_id: str | None = None  # customer-managed key of the source (restores reuse it)
    identity_id: str | None = None
    geo_key_id: str | None = None  # paired-region key and identity of the geo-backups
    geo_identity_id: str | None = None
    # Geo-backups reach the paired region up to an hour after the data (Azure documents geo-restore RPO < 1 h):
    # the geo drill waits this long after writing its canary before it asks for the restore.
    geo_backup_lag: datetime.timedelta = datetime.timedelta(minutes=65)


Connect = Callable[[str, str], Database]  # (host, Entra token) -> database of the drill on that host


def scratch_name(target: PostgresTarget, kind: str, run_id: str) -> str:
    """Server names are global DNS labels (3-63 characters, lowercase letters, digits, hyphens)."""
    return f"{target.server_name}-{kind}-{run_id}"[:63].rstrip("-").lower()


def _delete(cloud: Cloud, *args: str) -> None:
    """A delete that treats 'already gone' as done (the create may have failed before the resource existed)."""
    unless_gone(lambda: cloud.az(*args), *NOT_FOUND)


def _expose_and_verify(
    cloud: Cloud,
    target: PostgresTarget,
    teardown: Teardown,
    *,
    server: dict,
    name: str,
    resource_group: str,
    location: str,
    subnet_id: str,
    connect: Connect,
    run_id: str,
) -> tuple[bool, datetime.datetime | None]:
    """Private endpoint + DNS for the scratch server, then read the canary back. Returns (this run's row is in
    the copy, newest canary time in the copy)."""
    endpoint = f"{name}-pe"
    teardown.push(
        "delete private endpoint",
        lambda: _delete(
            cloud, "network", "private-endpoint", "delete", "--resource-group", resource_group, "--name", endpoint
        ),
    )
    cloud.az(
        "network",
        "private-endpoint",
        "create",
        "--resource-group",
        resource_group,
        "--name",
        endpoint,
        "--location",
        location,
        "--subnet",
        subnet_id,
        "--private-connection-resource-id",
        server["id"],
        "--group-id",
        "postgresqlServer",
        "--connection-name",
        name,
    )
    cloud.az(
        "network",
        "private-endpoint",
        "dns-zone-group",
        "create",
        "--resource-group",
        resource_group,
        "--endpoint-name",
        endpoint,
        "--name",
        "default",
        "--zone-name",
        "postgres",
        "--private-dns-zone",
        target.private_dns_zone_id,
    )
    token = cloud.az("account", "get-access-token", "--resource-type", TOKEN_RESOURCE_TYPE)["accessToken"]
    reading = read_canary(connect(server["fullyQualifiedDomainName"], token), run_id)
    return reading.has_run, reading.newest_written_at


def _run(
    cloud: Cloud,
    target: PostgresTarget,
    *,
    drill: str,
    environment: str,
    run_id: str,
    connect: Connect,
    geo: bool,
) -> DrillResult:
    result = DrillResult(drill, "postgres", environment, run_id, cloud.now())
    resource_group = target.geo_scratch_resource_group if geo else target.scratch_resource_group
    location = target.paired_location if geo else target.location
    name = scratch_name(target, "geo" if geo else "pitr", run_id)
    with recorded(result) as teardown:
        token = cloud.az("account", "get-access-token", "--resource-type", TOKEN_RESOURCE_TYPE)["accessToken"]
        written_at = write_canary(connect(target.fqdn, token), run_id)
        result.details.append(f"canary written {written_at.isoformat()}")
        if geo:
            cloud.sleep(target.geo_backup_lag.total_seconds())
        requested_at = cloud.now()
        teardown.push(
            "delete scratch server",
            lambda: _delete(
                cloud,
                "postgres",
                "flexible-server",
                "delete",
                "--resource-group",
                resource_group,
                "--name",
                name,
                "--yes",
            ),
        )
        if geo:
            restore = ["postgres", "flexible-server", "geo-restore", "--location", location]
            key, identity = target.geo_key_id, target.geo_identity_id
        else:
            restore = ["postgres", "flexible-server", "restore", "--restore-time", requested_at.isoformat()]
            key, identity = target.key_id, target.identity_id
        restore += ["--resource-group", resource_group, "--name", name, "--source-server", target.server_id]
        if key and identity:
            restore += ["--key", key, "--identity", identity]
        server = cloud.az(*restore)
        result.restore_point = None if geo else requested_at
        has_run, newest = _expose_and_verify(
            cloud,
            target,
            teardown,
            server=server,
            name=name,
            resource_group=resource_group,
            location=location,
            subnet_id=target.geo_endpoint_subnet_id if geo else target.endpoint_subnet_id,
            connect=connect,
            run_id=run_id,
        )
        verified_at = cloud.now()
        if newest is None:
            result.details.append("the restored copy has no canary row")
            return result
        result.rto = verified_at - requested_at
        result.rpo = max(requested_at - newest, datetime.timedelta(0))
        if geo:
            result.restore_point = newest
        result.succeeded = has_run or result.rpo <= target.rpo_target
        result.details.append(
            f"{name}: this run's canary {'restored' if has_run else 'missing'}, newest {newest.isoformat()}"
        )
    return result


def point_in_time(
    cloud: Cloud, target: PostgresTarget, *, environment: str, run_id: str, connect: Connect
) -> DrillResult:
    """Restore the server as of now into the primary region's scratch resource group."""
    return _run(
        cloud,
        target,
        drill="postgres_point_in_time",
        environment=environment,
        run_id=run_id,
        connect=connect,
        geo=False,
    )


def geo_restore(
    cloud: Cloud, target: PostgresTarget, *, environment: str, run_id: str, connect: Connect
) -> DrillResult:
    """Restore the newest geo-backup into the paired region (the DR landing zone) — the region-loss path."""
    return _run(
        cloud, target, drill="postgres_geo_restore", environment=environment, run_id=run_id, connect=connect, geo=True
    )
