"""SQL against a (restored) PostgreSQL server through `psql`: the canary the drills write and read back.

The canary table lives in the `dr_drill` schema of the drill database: each run inserts one row (its run id
and the server's clock) into the source before the restore, and reads the newest row back from the copy.
"""

from __future__ import annotations

import datetime
import os
import subprocess
from dataclasses import dataclass, field

CANARY_TABLE = "dr_drill.canary"


class DatabaseError(RuntimeError):
    """A SQL statement failed, or the server could not be reached."""


@dataclass(frozen=True)
class Database:
    """One server and database. `password` is an Entra access token on Azure (never logged); empty locally."""

    host: str
    dbname: str
    user: str
    port: int = 5432
    sslmode: str = "require"
    password: str = field(default="", repr=False)

    def query(self, sql: str, *params: str) -> list[list[str]]:
        """Rows of `sql` (psql variables :'p1', :'p2' ... bound from `params`), as text fields."""
        command = [
            "psql",
            "--no-psqlrc",
            "--quiet",
            "--tuples-only",
            "--no-align",
            "--field-separator=\t",
            "--set=ON_ERROR_STOP=1",
            f"--host={self.host}",
            f"--port={self.port}",
            f"--username={self.user}",
            f"--dbname={self.dbname}",
        ]
        command += [f"--set=p{index}={value}" for index, value in enumerate(params, start=1)]
        env = {**os.environ, "PGSSLMODE": self.sslmode, "PGCONNECT_TIMEOUT": "30"}
        if self.password:
            env["PGPASSWORD"] = self.password
        completed = subprocess.run(
            command, input=sql, capture_output=True, text=True, env=env, check=False, timeout=300
        )
        if completed.returncode != 0:
            raise DatabaseError(f"psql {self.host}/{self.dbname}: {completed.stderr.strip()}")
        return [line.split("\t") for line in completed.stdout.splitlines() if line]


def write_canary(database: Database, run_id: str) -> datetime.datetime:
    """Insert this run's canary row into the source; returns the server time it was written at."""
    rows = database.query(
        "CREATE SCHEMA IF NOT EXISTS dr_drill;\n"
        f"CREATE TABLE IF NOT EXISTS {CANARY_TABLE} (run_id text PRIMARY KEY, written_at timestamptz NOT NULL);\n"
        f"INSERT INTO {CANARY_TABLE} (run_id, written_at) VALUES (:'p1', clock_timestamp()) "
        "RETURNING to_char(written_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US');\n",
        run_id,
    )
    return _utc(rows[-1][0])


@dataclass(frozen=True)
class CanaryReading:
    newest_written_at: datetime.datetime | None  # the newest canary row in the copy (None: table empty)
    has_run: bool  # this run's row is in the copy


def read_canary(database: Database, run_id: str) -> CanaryReading:
    """The newest canary in the (restored) copy, and whether this run's row made it into the restore."""
    rows = database.query(
        "SELECT coalesce(to_char(max(written_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), ''), "
        f"bool_or(run_id = :'p1') IS TRUE FROM {CANARY_TABLE};\n",
        run_id,
    )
    newest, has_run = rows[0]
    return CanaryReading(_utc(newest) if newest else None, has_run == "t")


def _utc(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC)
