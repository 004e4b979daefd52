"""The PostgreSQL drills against a real local server: the canary written to the source, the restore (the
fake cloud copies the database, as Azure's restore would), the verification query and the RPO computed from
what the copy holds, and the teardown after every kind of failure."""

from __future__ import annotations

import datetime
import itertools
from typing import Any

import pytest

from drills import postgres
from drills.boundary import CloudError
from drills.database import Database, read_canary
from tests.drills.conftest import FakeCloud, LocalServer, not_found, option

SOURCE_FQDN = "erp-psql.postgres.database.azure.com"
_databases = itertools.count()


def target(source_db: str) -> postgres.PostgresTarget:
    rg = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups"
    return postgres.PostgresTarget(
        server_id=f"{rg}/erp-data-rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/erp-psql",
        server_name="erp-psql",
        fqdn=SOURCE_FQDN,
        database=source_db,
        user="drill",
        location="westeurope",
        scratch_resource_group="erp-drill-rg",
        endpoint_subnet_id=f"{rg}/erp-workloads-rg/providers/Microsoft.Network/virtualNetworks/spoke/subnets/pe",
        paired_location="northeurope",
        geo_scratch_resource_group="erp-drill-dr-rg",
        geo_endpoint_subnet_id=f"{rg}/erp-dr-rg/providers/Microsoft.Network/virtualNetworks/dr/subnets/pe",
        private_dns_zone_id=f"{rg}/erp-net-rg/providers/Microsoft.Network/privateDnsZones/privatelink.postgres.database.azure.com",
        rpo_target=datetime.timedelta(hours=24),
    )


class Harness:
    """A source database on the local server, and a fake cloud whose restore copies it (`createdb -T`)."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        self.number = next(_databases)
        self.source = f"erp{self.number}"
        self.run_id = f"r{self.number}"  # scratch names are per run: one local server serves every test
        server.run(str(server.bindir / "createdb"), self.source)
        self.cloud = FakeCloud(clock=datetime.datetime.now(datetime.UTC))
        self.cloud.handlers["az account get-access-token"] = lambda args: {"accessToken": ""}
        self.restore_from = self.source  # what the fake restore copies (a stale copy for the geo-lag case)
        for command in ("restore", "geo-restore"):
            self.cloud.handlers[f"az postgres flexible-server {command}"] = self.restore
        self.cloud.handlers["az postgres flexible-server delete"] = lambda args: None

    def restore(self, args: tuple[str, ...]) -> dict[str, Any]:
        name = option(args, "--name")
        self.server.run(str(self.server.bindir / "createdb"), "-T", self.restore_from, name)
        return {
            "id": f"/subscriptions/x/resourceGroups/{option(args, '--resource-group')}/providers/"
            f"Microsoft.DBforPostgreSQL/flexibleServers/{name}",
            "fullyQualifiedDomainName": f"{name}.postgres.database.azure.com",
        }

    def connect(self, host: str, token: str) -> Database:
        name = host.removesuffix(".postgres.database.azure.com")
        return self.server.database(self.source if host == SOURCE_FQDN else name)

    def run(self, geo: bool = False) -> postgres.DrillResult:
        drill = postgres.geo_restore if geo else postgres.point_in_time
        return drill(self.cloud, target(self.source), environment="staging", run_id=self.run_id, connect=self.connect)


@pytest.fixture
def harness(postgres_server: LocalServer) -> Harness:
    return Harness(postgres_server)


def test_point_in_time_restore_finds_the_canary_and_measures_rpo_and_rto(harness: Harness) -> None:
    result = harness.run()
    assert result.succeeded and result.teardown_succeeded, result.details
    # The canary row this run wrote to the source is in the restored copy (a real query on a real server).
    copy = harness.server.database(postgres.scratch_name(target(harness.source), "pitr", harness.run_id))
    assert copy.query("SELECT run_id FROM dr_drill.canary;") == [[harness.run_id]]
    source_row = read_canary(harness.server.database(harness.source), harness.run_id)
    assert source_row.has_run and source_row.newest_written_at is not None
    # RPO: the moment recovery was requested (the fake clock) minus the newest row the copy holds.
    assert result.restore_point is not None
    assert result.rpo == result.restore_point - source_row.newest_written_at
    assert datetime.timedelta(0) < result.rpo < datetime.timedelta(minutes=5)
    assert result.rto == datetime.timedelta(minutes=1)  # one fake-clock tick from request to verification
    restore = harness.cloud.calls[harness.cloud.called("az postgres flexible-server restore")[0]]
    assert option(restore[1:], "--restore-time") == result.restore_point.isoformat()
    assert option(restore[1:], "--resource-group") == "erp-drill-rg"
    # The scratch server got a private endpoint in the primary endpoint subnet, and is gone afterwards:
    # endpoint first, then the server.
    endpoint = harness.cloud.called("az network private-endpoint create")
    deletes = harness.cloud.called("az network private-endpoint delete") + harness.cloud.called(
        "az postgres flexible-server delete"
    )
    assert endpoint and deletes == sorted(deletes) and len(deletes) == 2
    assert deletes[0] > endpoint[0]
    row = result.row()
    assert row["Succeeded"] is True and row["Drill"] == "postgres_point_in_time"
    assert row["RpoMinutes"] == round(result.rpo.total_seconds() / 60, 2)


def test_geo_restore_waits_for_geo_backup_lag_and_fails_when_the_copy_is_older_than_the_rpo(
    harness: Harness,
) -> None:
    source = harness.server.database(harness.source)
    source.query(
        "CREATE SCHEMA dr_drill; CREATE TABLE dr_drill.canary (run_id text PRIMARY KEY, written_at timestamptz);"
        "INSERT INTO dr_drill.canary VALUES ('last-week', clock_timestamp() - interval '30 hours');"
    )
    stale = f"{harness.source}_geo"
    harness.server.run(str(harness.server.bindir / "createdb"), "-T", harness.source, stale)
    harness.restore_from = stale  # the paired region's newest geo-backup predates this run's canary
    result = harness.run(geo=True)
    assert harness.cloud.slept == target(harness.source).geo_backup_lag.total_seconds()
    assert not result.succeeded
    assert result.rpo is not None and result.rpo > datetime.timedelta(hours=30)
    assert any("canary missing" in detail for detail in result.details), result.details
    geo = harness.cloud.calls[harness.cloud.called("az postgres flexible-server geo-restore")[0]]
    assert option(geo[1:], "--location") == "northeurope" and option(geo[1:], "--resource-group") == "erp-drill-dr-rg"
    endpoint = harness.cloud.calls[harness.cloud.called("az network private-endpoint create")[0]]
    assert option(endpoint[1:], "--subnet").endswith("/dr/subnets/pe")
    assert harness.cloud.called("az postgres flexible-server delete")  # torn down although the drill failed


def test_a_failed_restore_still_runs_the_teardown_and_records_the_failure(harness: Harness) -> None:
    def refuse(args: tuple[str, ...]) -> Any:
        raise CloudError("az postgres flexible-server restore: exit 1: (AuthorizationFailed) no write access")

    harness.cloud.handlers["az postgres flexible-server restore"] = refuse
    harness.cloud.handlers["az postgres flexible-server delete"] = not_found  # nothing was created
    result = harness.run()
    assert not result.succeeded and result.rpo is None and result.rto is None
    assert any("AuthorizationFailed" in detail for detail in result.details)
    (restore,) = harness.cloud.called("az postgres flexible-server restore")
    (delete,) = harness.cloud.called("az postgres flexible-server delete")
    assert delete > restore
    assert result.teardown_succeeded  # "not found" on a server that never existed is not a teardown failure
    assert result.row()["Succeeded"] is False


def test_an_empty_copy_fails_verification_and_is_deleted(harness: Harness) -> None:
    empty = f"{harness.source}_empty"
    harness.server.run(str(harness.server.bindir / "createdb"), empty)
    harness.restore_from = empty
    result = harness.run()
    assert not result.succeeded
    assert any("dr_drill.canary" in detail for detail in result.details), result.details
    assert harness.cloud.called("az network private-endpoint delete")
    assert harness.cloud.called("az postgres flexible-server delete")


def test_a_teardown_that_fails_marks_the_drill_failed(harness: Harness) -> None:
    def stuck(args: tuple[str, ...]) -> Any:
        raise CloudError("az postgres flexible-server delete: exit 1: (Conflict) operation in progress")

    harness.cloud.handlers["az postgres flexible-server delete"] = stuck
    result = harness.run()
    assert result.succeeded and not result.teardown_succeeded
    assert result.row()["Succeeded"] is False and result.row()["TeardownSucceeded"] is False
    assert harness.cloud.called("az network private-endpoint delete")  # the other undo step still ran
