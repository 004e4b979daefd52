"""A real PostgreSQL for the drill tests, and a fake cloud boundary that records every call.

The server is the Debian package's (scripts/postgres-server installs it when missing): a throwaway cluster in
a temp dir, reachable only on a Unix socket, started once per session and stopped after it. PostgreSQL refuses
to run as root, so as root the cluster belongs to the package's `postgres` user (runuser).
"""

from __future__ import annotations

import datetime
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from drills.boundary import CloudError
from drills.database import Database

ROOT = Path(__file__).resolve().parents[2]
DRILL_ROLE = "drill"


@dataclass(frozen=True)
class LocalServer:
    socket_dir: str
    port: int
    bindir: Path
    as_user: list[str]  # runuser prefix when running as root

    def database(self, name: str) -> Database:
        return Database(host=self.socket_dir, port=self.port, dbname=name, user=DRILL_ROLE, sslmode="disable")

    def run(self, *command: str) -> None:
        subprocess.run(
            [*self.as_user, *command, "-h", self.socket_dir, "-p", str(self.port), "-U", DRILL_ROLE],
            check=True,
            capture_output=True,
        )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[LocalServer]:
    started = time.monotonic()
    found = subprocess.run([str(ROOT / "scripts/postgres-server")], capture_output=True, text=True, check=False)
    if found.returncode != 0:
        pytest.fail(f"no PostgreSQL server binaries: {found.stderr}")
    bindir = Path(found.stdout.strip())
    workdir = tempfile.mkdtemp(prefix="drill-pg-")
    as_user: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")  # created by the Debian package
        os.chown(workdir, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = f"{workdir}/data", 54329
    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", data, "-A", "trust", "-U", DRILL_ROLE, "--no-sync", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *as_user,
            str(bindir / "pg_ctl"),
            "-D",
            data,
            "-w",
            "-l",
            f"{workdir}/log",
            "-o",
            f"-k {workdir} -c listen_addresses='' -p {port} -c fsync=off",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    server = LocalServer(workdir, port, bindir, as_user)
    print(f"\nlocal PostgreSQL ready in {time.monotonic() - started:.2f} s")  # the measured cost
    try:
        yield server
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", data, "-m", "immediate", "stop"], check=False, capture_output=True
        )
        shutil.rmtree(workdir, ignore_errors=True)


Handler = Callable[[tuple[str, ...]], Any]


@dataclass
class FakeCloud:
    """Answers `az`/`kubectl` calls from handlers keyed by the command's leading words; records every call.
    A handler may raise CloudError (the failure examples). The clock advances one minute per call."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    calls: list[tuple[str, ...]] = field(default_factory=list)
    clock: datetime.datetime = datetime.datetime(2026, 12, 6, 5, 0, tzinfo=datetime.UTC)
    slept: float = 0.0

    def _answer(self, tool: str, args: tuple[str, ...]) -> Any:
        self.calls.append((tool, *args))
        words = " ".join((tool, *args))
        for prefix in sorted(self.handlers, key=len, reverse=True):
            if words.startswith(prefix):
                return self.handlers[prefix](args)
        return None

    def az(self, *args: str) -> Any:
        return self._answer("az", args)

    def kubectl(self, *args: str) -> Any:
        return self._answer("kubectl", args)

    def kube_credentials(self, cluster_id: str) -> None:
        self.calls.append(("kube_credentials", cluster_id))

    def now(self) -> datetime.datetime:
        self.clock += datetime.timedelta(minutes=1)
        return self.clock

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.clock += datetime.timedelta(seconds=seconds)

    def called(self, prefix: str) -> list[int]:
        """Indexes of the calls starting with `prefix` (e.g. "az postgres flexible-server delete")."""
        return [index for index, call in enumerate(self.calls) if " ".join(call).startswith(prefix)]


def option(args: tuple[str, ...], name: str) -> str:
    return args[args.index(name) + 1]


def not_found(args: tuple[str, ...]) -> Any:
    raise CloudError(f"az {' '.join(args)}: exit 3: (ResourceNotFound) The Resource was not found.")
