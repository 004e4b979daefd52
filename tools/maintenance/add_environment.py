"""Add an environment in one command: write its overlay, then regenerate everything generated from config.

    .venv/bin/python -m tools.maintenance.add_environment qa [--short-name qa] [--deploy-after staging]

1. writes `config/<name>.toml`: a small overlay on `config/base.toml` with a free short name, free address
   ranges (hub, spoke and DR /16s, a deployment /24, none overlapping another environment), host names and
   placeholder identifiers marked `# TODO` (subscription, Grafana admin group) for the operator to replace;
2. synthesizes every stack (the loader validates the new file with the others);
3. regenerates what is generated from config and the synthesized stacks: the workflows' matrices, the
   handbooks, DR runbooks, diagrams and evidence matrix, the configuration reference (which files set each key),
   the stateful address list, the JSON schema is unchanged (it describes the schema, not the environments), and
   the snapshots of the new stacks.

Then commit, apply `bootstrap` for the new subscription (docs/zero-to-running.md), and merge.
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import subprocess
import sys
from pathlib import Path

from config.loader import CONFIG_DIR, ConfigError, load_all
from config.schema import ENVIRONMENT_NAME

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FIRST_OCTETS = range(100, 250)  # 10.<n>.0.0/16 candidates for a new environment's networks

OVERLAY = """\
# {name}: an overlay on config/base.toml written by `python -m tools.maintenance.add_environment {name}`.
# Replace every TODO before the first apply; set ERP_{variable}_SUBSCRIPTION_ID / ERP_{variable}_TENANT_ID in CI.
short_name = "{short_name}"
subscription_id = "{subscription_id}"  # TODO: the environment's subscription
{deploy_after}
[app_gateway]
host_name = "erp.{name}.example.com"  # TODO: the public host name

[network.hub]
address_space = "{hub}"

[network.spoke]
address_space = "{spoke}"

[network.dr]
address_space = "{dr}"

[observability]
grafana_admin_group_object_id = "{grafana_group}"  # TODO: the Entra group of Grafana admins

[observability.availability_test]
url = "https://erp.{name}.example.com/healthz"  # TODO: the public health endpoint

[deployment.network]
address_space = "{deployment}"

[deployment.runner.github_app]  # this environment's own App (docs/security-model.md, "Operator steps")
app_id = {app_id}  # TODO: the App's "App ID"
installation_id = {installation_id}  # TODO: its installation on the repository
"""


class AddEnvironmentError(Exception):
    """The environment cannot be added as asked; the message says why and what to pass instead."""


def _used_networks(config_dir: Path) -> list[ipaddress.IPv4Network]:
    used = []
    for config in load_all(config_dir):
        used += [ipaddress.IPv4Network(space) for space in config.network.address_spaces().values()]
        used.append(ipaddress.IPv4Network(config.deployment.network.address_space))
    return used


def free_ranges(used: list[ipaddress.IPv4Network], count: int) -> list[ipaddress.IPv4Network]:
    """`count` 10.<n>.0.0/16 networks overlapping none of `used`, lowest first."""
    found: list[ipaddress.IPv4Network] = []
    for octet in FIRST_OCTETS:
        candidate = ipaddress.IPv4Network(f"10.{octet}.0.0/16")
        if not any(candidate.overlaps(network) for network in [*used, *found]):
            found.append(candidate)
            if len(found) == count:
                return found
    raise AddEnvironmentError("no free 10.x.0.0/16 left for the new environment's networks")


def overlay(name: str, short_name: str, deploy_after: list[str], config_dir: Path) -> str:
    configs = load_all(config_dir)
    taken = {config.short_name for config in configs}
    if short_name in taken:
        raise AddEnvironmentError(f"short name {short_name!r} is taken ({', '.join(sorted(taken))}): pass --short-name")
    known = {config.name for config in configs}
    unknown = [after for after in deploy_after if after not in known]
    if unknown:
        raise AddEnvironmentError(f"--deploy-after {unknown[0]!r}: no such environment; allowed: {', '.join(known)}")
    hub, spoke, dr, deployment_block = free_ranges(_used_networks(config_dir), 4)
    index = len(configs) + 1
    after = f"deploy_after = {deploy_after!r}\n".replace("'", '"') if deploy_after else ""
    return OVERLAY.format(
        name=name,
        variable=name.upper().replace("-", "_"),
        short_name=short_name,
        subscription_id=f"00000000-0000-0000-0000-{index:012d}",
        grafana_group=f"00000000-0000-0000-0000-{index:09d}aaa",
        deploy_after=after,
        hub=hub,
        spoke=spoke,
        dr=dr,
        deployment=next(deployment_block.subnets(new_prefix=24)),
        app_id=1000000 + index,  # placeholders, unique like the real ones must be (one App per environment)
        installation_id=50000000 + index,
    )


REGENERATE = (
    ("synth", ["main.py"]),
    ("workflow matrices", ["-m", "tools.maintenance.workflow_matrix", "--write"]),
    ("handbooks", ["-m", "tools.docgen.handbook", "cdktf.out", "--write"]),
    ("DR runbooks", ["-m", "tools.docgen.dr_runbook", "cdktf.out", "--write"]),
    ("diagrams", ["-m", "tools.docgen.diagram", "cdktf.out", "--write"]),
    ("evidence matrix", ["-m", "tools.docgen.evidence_matrix", "cdktf.out", "--write"]),
    ("configuration reference", ["-m", "tools.docgen.config_reference", "--write"]),
    ("stateful addresses", ["-m", "tools.checks.stateful", "cdktf.out", "--write"]),
    ("snapshots", ["-m", "pytest", "-q", "tests/stacks/test_snapshots.py", "--snapshot-update"]),
)


def regenerate(project: Path) -> None:
    for what, arguments in REGENERATE:
        print(f"== {what}", flush=True)
        subprocess.run([sys.executable, *arguments], cwd=project, check=True, stdin=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="the environment's name: the file config/<name>.toml and the stacks' prefix")
    parser.add_argument(
        "--short-name", help="2-4 lowercase letters/digits in Azure names (default: the name's first 3)"
    )
    parser.add_argument("--deploy-after", action="append", default=[], help="an environment deployed before it")
    parser.add_argument("--no-regenerate", action="store_true", help="only write the overlay")
    args = parser.parse_args(argv)
    if not re.fullmatch(ENVIRONMENT_NAME, args.name):
        parser.error(f"{args.name!r} is not a valid environment name: must match {ENVIRONMENT_NAME}")
    path = CONFIG_DIR / f"{args.name}.toml"
    if path.exists():
        parser.error(f"{path} exists already")
    try:
        text = overlay(args.name, args.short_name or args.name.replace("-", "")[:3], args.deploy_after, CONFIG_DIR)
    except (AddEnvironmentError, ConfigError) as error:
        parser.error(str(error))
    path.write_text(text)
    print(f"wrote {path}")
    try:
        load_all(CONFIG_DIR)
    except ConfigError as error:
        path.unlink()
        parser.error(f"the new file does not validate (removed): {error}")
    if not args.no_regenerate:
        regenerate(PROJECT_ROOT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
