"""Address-stability guard (tools/checks/stateful.py): the stateful resources' Terraform addresses in
tests/stacks/stateful_addresses.json stay, or move with a `moved` block; the synth diff flags the rest."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import cdktf
from cdktf_cdktf_provider_azurerm.postgresql_flexible_server import PostgresqlFlexibleServer
from cdktf_cdktf_provider_azurerm.provider import AzurermProvider

from tests.conftest import StackJson
from tools.checks import stateful
from tools.review import synth_diff

DATABASE = "azurerm_postgresql_flexible_server"


def test_every_committed_stateful_address_is_still_there(stacks: dict[str, StackJson]) -> None:
    assert stateful.address_problems(stateful.committed_list(), stacks) == []
    holding = {name for name, addresses in stateful.committed_list().items() if addresses}
    # github (settings only) and the alerting stacks (action groups, a chat adapter: recreated without loss) hold none
    alerting = {name for name in stacks if name.endswith("-alerting")}
    assert alerting and holding == set(stacks) - {"github"} - alerting, "every other stack holds state"


def test_a_renamed_database_fails_unless_a_moved_block_declares_it(stacks: dict[str, StackJson]) -> None:
    """Failing example in the real production stack's JSON: the database under another address."""
    stack = copy.deepcopy(stacks["production-infra"])
    servers = stack["resource"][DATABASE]
    (old,) = list(servers)
    servers["data_database_server_0A1B2C3D"] = servers.pop(old)
    renamed = {**stacks, "production-infra": stack}
    gone, new = stateful.address_problems(stateful.committed_list(), renamed)
    assert gone.startswith(f"production-infra: {DATABASE}.{old} is gone without a `moved` block")
    assert f"new stateful address {DATABASE}.data_database_server_0A1B2C3D" in new

    moved_before = stack.get("moved", [])
    stack["moved"] = [*moved_before, {"from": f"{DATABASE}.{old}", "to": f"{DATABASE}.data_database_server_0A1B2C3D"}]
    assert stateful.address_problems(stateful.committed_list(), renamed) == []
    stack["moved"] = [*moved_before, {"from": f"{DATABASE}.{old}", "to": f"{DATABASE}.elsewhere"}]
    assert (
        f"production-infra: {DATABASE}.{old} moves to {DATABASE}.elsewhere, which does not exist"
        in stateful.address_problems(stateful.committed_list(), renamed)
    )


def test_a_group_handed_to_bootstrap_needs_the_removed_block_and_an_import(stacks: dict[str, StackJson]) -> None:
    """The list as it was before the platform groups moved: the infra stack still held `workloads-rg`."""
    committed = copy.deepcopy(stateful.committed_list())
    committed["staging-infra"].append("azurerm_resource_group.workloads-rg")
    assert stateful.address_problems(committed, stacks) == []  # forgotten (destroy = false), imported by bootstrap
    without_imports = {**stacks, "bootstrap": {k: v for k, v in stacks["bootstrap"].items() if k != "import"}}
    (problem,) = stateful.address_problems(committed, without_imports)
    assert "workloads-rg is forgotten (`removed`, destroy = false) but no stack imports a azurerm_resource_group" in (
        problem
    )
    infra = copy.deepcopy(stacks["staging-infra"])
    infra["removed"] = [b for b in infra["removed"] if not b["from"].endswith(".workloads-rg")]
    (problem,) = stateful.address_problems(committed, {**stacks, "staging-infra": infra})
    assert problem.startswith("staging-infra: azurerm_resource_group.workloads-rg is gone without a `moved` block")


def test_a_new_stateful_resource_must_be_listed(stacks: dict[str, StackJson]) -> None:
    stack = copy.deepcopy(stacks["staging-infra"])
    stack["resource"]["azurerm_key_vault"]["another_vault_12345678"] = {}
    (problem,) = stateful.address_problems(stateful.committed_list(), {**stacks, "staging-infra": stack})
    assert "new stateful address azurerm_key_vault.another_vault_12345678 is not in" in problem


def synth_database(outdir: Path, construct_id: str, *, moved_from: str | None = None) -> Path:
    app = cdktf.App(outdir=str(outdir))
    stack = cdktf.TerraformStack(app, "db")
    AzurermProvider(stack, "azurerm", features=[{}])
    server = PostgresqlFlexibleServer(stack, construct_id, name="erp-db", resource_group_name="rg", location="x")
    if moved_from is not None:
        server.move_from_id(moved_from)
    app.synth()
    return outdir


def test_a_construct_id_rename_needs_move_from_id_and_the_synth_diff_flags_it(tmp_path: Path) -> None:
    """Failing example with cdktf: a database construct renamed from "server" to "database"."""
    base = synth_database(tmp_path / "base", "server")
    committed = stateful.current_list(stateful.load_stacks(base))
    assert committed == {"db": [f"{DATABASE}.server"]}

    renamed = synth_database(tmp_path / "renamed", "database")
    gone, _new = stateful.address_problems(committed, stateful.load_stacks(renamed))
    assert f"{DATABASE}.server is gone without a `moved` block" in gone
    (diff,) = synth_diff.diff_dirs(base, renamed)
    assert diff.replaced == {f"{DATABASE}.database": [f"renamed from {DATABASE}.server without a moved block"]}
    assert f"stateful: `{DATABASE}.database` is **replaced**" in synth_diff.render_markdown([diff])

    moved = synth_database(tmp_path / "moved", "database", moved_from=f"{DATABASE}.server")
    assert json.loads((moved / "stacks/db/cdk.tf.json").read_text())["moved"] == [
        {"from": f"{DATABASE}.server", "to": f"{DATABASE}.database"}
    ]
    assert stateful.address_problems(committed, stateful.load_stacks(moved)) == []
    (diff,) = synth_diff.diff_dirs(base, moved)
    assert not diff.replaced and not diff.moved and not synth_diff.warnings_of(diff)
    assert diff.changed == {f"{DATABASE}.database": [f"moved from {DATABASE}.server (moved block)"]}


def test_the_guard_cli_checks_the_committed_list(synth_dir: Path) -> None:
    assert stateful.main([str(synth_dir)]) == 0
