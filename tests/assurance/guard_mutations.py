"""The mutation table: every guard, run the way CI runs it, on the real synthesized output, on a copy with a
fault planted in it, and on inputs it cannot read. A guard that passes its planted fault, or treats "could not
read" as clean, is doing nothing. `tests/assurance/test_guards.py` checks `docs/guards.md` against this table.

    .venv/bin/python -m tests.assurance.guard_mutations --write   # regenerate docs/guards.md
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TABLE = PROJECT_ROOT / "docs" / "guards.md"
REGENERATE = ".venv/bin/python -m tests.assurance.guard_mutations --write"

StackJson = dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    code: int
    output: str
    caught: bool  # the guard failed (or, for a report, flagged the fault)


@dataclass(frozen=True)
class Guard:
    name: str
    command: str  # how CI runs it
    fault: str
    plant: Callable[[dict[str, StackJson]], None]  # mutates the stacks of a copy of the real synth output
    run: Callable[[Path], tuple[int, str]]  # exit code and output on a synth folder
    evidence: str  # the guard's output on the planted fault names it: caught for the right reason
    report: bool = False  # a report exits 0 by design and catches the fault by printing the evidence


def _main(function: Callable[[], int | None]) -> tuple[int, str]:
    """Run a guard's main in-process, as its command would: exit code (argparse errors included) and output."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            code = function() or 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
    return code, out.getvalue()


# --- the guards ------------------------------------------------------------------------------------------------


def _checkov(folder: Path) -> tuple[int, str]:
    from tools.checks import checkov_gate

    return _main(lambda: checkov_gate.main([str(folder)]))


def _secret_scan(folder: Path) -> tuple[int, str]:
    from tools.checks import secret_scan

    return _main(lambda: secret_scan.main([str(folder)]))


def _reference(folder: Path) -> tuple[int, str]:
    from tools.checks import reference_check

    return _main(lambda: reference_check.main([str(folder)]))


def _prometheus_rules(folder: Path) -> tuple[int, str]:
    from tools.checks import prometheus_rules

    return _main(lambda: prometheus_rules.main([str(folder)]))


def _deployability(folder: Path) -> tuple[int, str]:
    from tools.checks import deployability

    return _main(lambda: deployability.main([str(folder)]))


def _parity(folder: Path) -> tuple[int, str]:
    from tools.checks import parity

    return _main(lambda: parity.main([str(folder)]))


def _stateful(folder: Path) -> tuple[int, str]:
    from tools.checks import stateful

    return _main(lambda: stateful.main([str(folder)]))


def _kubernetes_schema(folder: Path) -> tuple[int, str]:
    from tests.assurance.test_kubernetes_manifests import schema_problems
    from tools.synth_output import main_guard, read_stacks

    def run() -> int:
        problems = schema_problems(read_stacks(folder), Path(tempfile.mkdtemp(dir=folder)))
        print("\n".join(problems))
        return 1 if problems else 0

    return _main(lambda: main_guard(run, "kubernetes schema"))


def _live_queries(folder: Path) -> tuple[int, str]:
    from tools.docgen import evidence_matrix

    return _main(lambda: evidence_matrix.main([str(folder), "--check"]))


def _workbooks(folder: Path) -> tuple[int, str]:
    from tools.checks import workbooks

    return _main(lambda: workbooks.main([str(folder)]))


def _cost_budget(folder: Path) -> tuple[int, str]:
    from tools.docgen import cost_estimate

    return _main(lambda: cost_estimate.main([str(folder), "--check"]))


def _synth_diff(folder: Path) -> tuple[int, str]:
    """Base: the real output as synthesized; head: the folder under test."""
    from tools.review import synth_diff

    return _main(lambda: synth_diff.main([str(folder.parent / "base"), str(folder), "--format", "markdown"]))


def _plan_summary(folder: Path) -> tuple[int, str]:
    """The stack's plan (`terraform show -json`) lies next to the synth output in plan.json."""
    from tools.review import plan_summary

    return _main(lambda: plan_summary.main([f"staging-infra={folder / 'plan.json'}", "--format", "markdown"]))


# --- the planted faults ---------------------------------------------------------------------------------------

DATA_ACCOUNT = "data_storage_account_D5690619"


def _open_storage_account(stacks: dict[str, StackJson]) -> None:
    account = stacks["staging-infra"]["resource"]["azurerm_storage_account"][DATA_ACCOUNT]
    account.update(public_network_access_enabled=True, min_tls_version="TLS1_0", shared_access_key_enabled=True)


def _literal_webhook(stacks: dict[str, StackJson]) -> None:
    groups = stacks["staging-alerting"]["resource"]["azurerm_monitor_action_group"]
    group = next(group for name, group in groups.items() if name.startswith("webhooks_critical-action-group"))
    group["webhook_receiver"][0]["service_uri"] = "https://hooks.slack.com/services/T0PLANTED/B0PLANTED/plantedplanted"


def _misspelt_role(stacks: dict[str, StackJson]) -> None:
    assignments = stacks["staging-infra"]["resource"]["azurerm_role_assignment"]
    assignment = next(body for body in assignments.values() if body.get("role_definition_name") == "Contributor")
    assignment["role_definition_name"] = "Contributer"


def _rule_on_dropped_metric(stacks: dict[str, StackJson]) -> None:
    groups = stacks["staging-infra"]["resource"]["azurerm_monitor_alert_prometheus_rule_group"]
    group = next(group for group in groups.values() if group["name"].endswith("-Pod-level"))
    rule = next(rule for rule in group["rule"] if rule["alert"] == "KubeJobFailed")
    rule["expression"] = 'kube_persistentvolume_status_phase{phase="Failed",job="kube-state-metrics"} > 0'


def _unlinked_state_zone(stacks: dict[str, StackJson]) -> None:
    links = stacks["bootstrap"]["resource"]["azurerm_private_dns_zone_virtual_network_link"]
    [key] = [key for key in links if key.startswith("staging-deployment_dns-blob-link")]
    del links[key]


def _public_production_account(stacks: dict[str, StackJson]) -> None:
    stacks["production-infra"]["resource"]["azurerm_storage_account"][DATA_ACCOUNT]["public_network_access_enabled"] = (
        True
    )


def _renamed_account(stacks: dict[str, StackJson]) -> None:
    accounts = stacks["staging-infra"]["resource"]["azurerm_storage_account"]
    accounts["data_storage_account_RENAMED0"] = accounts.pop(DATA_ACCOUNT)


def _root_cron_job(stacks: dict[str, StackJson]) -> None:
    jobs = stacks["staging-cluster"]["resource"]["kubernetes_cron_job_v1"]
    spec = next(iter(jobs.values()))["spec"]["job_template"]["spec"]["template"]["spec"]
    spec["container"][0].setdefault("security_context", {})["run_as_user"] = "root"


def _policy_not_exported(stacks: dict[str, StackJson]) -> None:
    for setting in stacks["production-infra"]["resource"]["azurerm_monitor_diagnostic_setting"].values():
        if str(setting["target_resource_id"]).startswith("/subscriptions/"):
            setting["enabled_log"] = [log for log in setting["enabled_log"] if log.get("category") != "Policy"]


def _unpublished_metric(stacks: dict[str, StackJson]) -> None:
    for key, workbook in stacks["staging-infra"]["resource"]["azurerm_application_insights_workbook"].items():
        if key.startswith("workbooks_cluster_"):
            workbook["data_json"] = workbook["data_json"].replace("--node_cpu_usage_percentage", "--Percentage CPU")


def _budget_below_estimate(stacks: dict[str, StackJson]) -> None:
    for budget in stacks["production-infra"]["resource"]["azurerm_consumption_budget_subscription"].values():
        budget["amount"] = 1702


def _plan_deletes(stacks: dict[str, StackJson]) -> None:
    """Planted in the plan, not in the stacks (`run_case` writes a real plan that deletes a resource)."""


GUARDS: tuple[Guard, ...] = (
    Guard(
        "checkov gate",
        "python -m tools.checks.checkov_gate cdktf.out",
        "staging-infra data storage account: public network access, TLS 1.0, shared keys on",
        _open_storage_account,
        _checkov,
        "CKV_AZURE_44",
    ),
    Guard(
        "secret scan",
        "python -m tools.checks.secret_scan cdktf.out",
        "staging-alerting critical action group: a literal Slack webhook URL instead of "
        "`${var.critical_alert_webhook_url}`",
        _literal_webhook,
        _secret_scan,
        "slack-webhook",
    ),
    Guard(
        "reference check",
        "python -m tools.checks.reference_check cdktf.out",
        "staging-infra role assignment: role `Contributer` (not a built-in role)",
        _misspelt_role,
        _reference,
        "Contributer",
    ),
    Guard(
        "Prometheus rules",
        "python -m tools.checks.prometheus_rules cdktf.out",
        "staging-infra recommended pod-level rule KubeJobFailed reads kube_persistentvolume_status_phase, which the "
        "minimal ingestion profile drops",
        _rule_on_dropped_metric,
        _prometheus_rules,
        "PROM-METRIC",
    ),
    Guard(
        "deployability model",
        "python -m tools.checks.deployability cdktf.out",
        "bootstrap: the staging runners' privatelink.blob zone link removed (state unreachable)",
        _unlinked_state_zone,
        _deployability,
        "privatelink.blob.core.windows.net",
    ),
    Guard(
        "parity",
        "python -m tools.checks.parity cdktf.out",
        "production-infra data storage account public, staging's private",
        _public_production_account,
        _parity,
        "public_network_access_enabled",
    ),
    Guard(
        "address guard",
        "python -m tools.checks.stateful cdktf.out",
        "staging-infra data storage account renamed without a `moved` block",
        _renamed_account,
        _stateful,
        "azurerm_storage_account.data_storage_account_D5690619",
    ),
    Guard(
        "kubernetes schema",
        "pytest tests/assurance/test_kubernetes_manifests.py",
        'staging-cluster CronJob: `run_as_user = "root"` (the API wants an integer)',
        _root_cron_job,
        _kubernetes_schema,
        "'root' is not of type 'integer'",
    ),
    Guard(
        "evidence matrix",
        "python -m tools.docgen.evidence_matrix cdktf.out --check",
        "production-infra activity log export without its Policy category (a live query's table unsent)",
        _policy_not_exported,
        _live_queries,
        "reads AzureActivity:Policy, which nothing sends",
    ),
    Guard(
        "workbook check",
        "python -m tools.checks.workbooks cdktf.out",
        "staging-infra cluster workbook: a tile on `Percentage CPU` (a VM metric AKS does not publish)",
        _unpublished_metric,
        _workbooks,
        "Percentage CPU: microsoft.containerservice/managedclusters does not publish this metric",
    ),
    Guard(
        "budget vs estimate",
        "python -m tools.docgen.cost_estimate cdktf.out --check",
        "production-infra budget back to 1,702 USD (below the priced estimate)",
        _budget_below_estimate,
        _cost_budget,
        "production: budget 1,702 USD/month is below the priced estimate",
    ),
    Guard(
        "synth diff",
        "python -m tools.review.synth_diff ../base/cdktf.out cdktf.out",
        "staging-infra data storage account renamed without a `moved` block (head vs the real output)",
        _renamed_account,
        _synth_diff,
        "renamed from azurerm_storage_account.data_storage_account_D5690619 without a moved block",
        report=True,
    ),
    Guard(
        "plan summary",
        "python -m tools.review.plan_summary STACK=plan.json",
        "a real `terraform show -json` plan (terraform_data) that deletes a resource",
        _plan_deletes,
        _plan_summary,
        "`terraform_data.doomed` is **deleted**",
        report=True,
    ),
)

CASES = ("real output", "planted fault", "synth missing", "stack truncated")


# --- running them ---------------------------------------------------------------------------------------------


def real_plan(workdir: Path, *, deletes: bool) -> Path:
    """A real plan (Terraform's built-in terraform_data, no provider download): apply, change, plan, show -json."""
    from tests.tools.terraform_plans import plan_json

    before = 'resource "terraform_data" "kept" { input = "a" }\nresource "terraform_data" "doomed" { input = "d" }\n'
    after = 'resource "terraform_data" "kept" { input = "a" }\n' + ("" if deletes else before.splitlines()[1] + "\n")
    path = workdir / "plan.json"
    path.write_text(json.dumps(plan_json(workdir / "terraform", before, after)))
    return path


def _copy(synth_dir: Path, target: Path, plant: Callable[[dict[str, StackJson]], None] | None) -> Path:
    shutil.copytree(synth_dir, target)
    if plant is not None:
        stacks = {path.parent.name: json.loads(path.read_text()) for path in target.glob("stacks/*/cdk.tf.json")}
        plant(stacks)
        for name, stack in stacks.items():
            (target / "stacks" / name / "cdk.tf.json").write_text(json.dumps(stack, indent=2))
    return target


def run_case(guard: Guard, case: str, synth_dir: Path, workdir: Path) -> Outcome:
    root = workdir / guard.name.replace(" ", "-") / case.replace(" ", "-")
    root.mkdir(parents=True)
    shutil.copytree(synth_dir, root / "base")  # the synth diff's base: the real output
    folder = root / "head"
    if case == "synth missing":
        pass
    elif case == "planted fault":
        _copy(synth_dir, folder, guard.plant)
    else:
        _copy(synth_dir, folder, None)
        if case == "stack truncated":
            stack_file = folder / "stacks" / "staging-infra" / "cdk.tf.json"
            stack_file.write_text(stack_file.read_text()[:1000])
    if guard.name == "plan summary" and case != "synth missing":
        plan = real_plan(root, deletes=case == "planted fault")
        shutil.move(plan, folder / "plan.json")
        if case == "stack truncated":  # the plan summary's input is the plan: truncate that
            (folder / "plan.json").write_text((folder / "plan.json").read_text()[:200])
    code, output = guard.run(folder)
    if case == "real output":
        caught = code != 0 or (guard.report and guard.evidence in output)
    elif case == "planted fault":
        caught = (guard.report or code != 0) and guard.evidence in output
    else:
        caught = code != 0
    return Outcome(code, output, caught)


def run_all(synth_dir: Path, workdir: Path) -> dict[str, dict[str, Outcome]]:
    return {guard.name: {case: run_case(guard, case, synth_dir, workdir) for case in CASES} for guard in GUARDS}


def _cell(case: str, outcome: Outcome) -> str:
    if case == "real output":
        return "✅ clean (exit 0)" if not outcome.caught else f"❌ fails on the real output (exit {outcome.code})"
    if outcome.caught:
        return f"✅ fails (exit {outcome.code})" if outcome.code else "✅ flags it"
    return f"❌ passes (exit {outcome.code})"


def render(results: dict[str, dict[str, Outcome]]) -> str:
    lines = [
        "# Guards and their planted faults",
        "",
        f"Generated by `tests/assurance/guard_mutations.py` (regenerate: `{REGENERATE}`); "
        "`tests/assurance/test_guards.py` fails when this page is stale or any guard passes its fault.",
        "",
        "Each guard runs the way CI runs it on a copy of the real synthesized output: as synthesized, with the fault "
        "planted, with the synth folder missing, and with one stack's `cdk.tf.json` truncated (for the plan summary: "
        "its plan JSON). A report (synth diff, plan summary) exits 0 by design and catches its fault by flagging it.",
        "",
        "| guard | command | planted fault | " + " | ".join(CASES) + " |",
        "|---|---|---|" + "---|" * len(CASES),
    ]
    for guard in GUARDS:
        cells = [_cell(case, results[guard.name][case]) for case in CASES]
        lines.append(f"| {guard.name} | `{guard.command}` | {guard.fault} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def failures(results: dict[str, dict[str, Outcome]]) -> list[str]:
    """Every case where a guard misbehaves: fails on the real output, or passes a fault / an unreadable input."""
    problems = []
    for name, outcomes in results.items():
        for case, outcome in outcomes.items():
            wrong = outcome.caught if case == "real output" else not outcome.caught
            if wrong:
                problems.append(f"{name} / {case}: exit {outcome.code}\n{outcome.output[-1500:]}")
    return problems


def synthesize(outdir: Path) -> Path:
    subprocess.run([sys.executable, "main.py"], cwd=PROJECT_ROOT, check=True, capture_output=True)
    shutil.copytree(PROJECT_ROOT / "cdktf.out", outdir)
    return outdir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {TABLE.relative_to(PROJECT_ROOT)}")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        results = run_all(synthesize(Path(scratch) / "cdktf.out"), Path(scratch) / "runs")
    problems = failures(results)
    print("\n".join(problems))
    if args.write:
        TABLE.write_text(render(results))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
