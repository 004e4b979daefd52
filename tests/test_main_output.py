"""What `python main.py` (scripts/synth) prints: a line per stack and the time on success; one error line
per rule violation, exit code 1, no traceback and no skip-validation advice on failure."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from config.loader import ENVIRONMENTS
from runtime import synth_report

ROOT = Path(__file__).resolve().parents[1]
INFRA = sorted(f"{environment}-infra" for environment in ENVIRONMENTS)
CLUSTERS = sorted(f"{environment}-cluster" for environment in ENVIRONMENTS)
ALERTING = sorted(f"{environment}-alerting" for environment in ENVIRONMENTS)
STACKS = sorted(["bootstrap", "github", *ALERTING, *INFRA, *CLUSTERS])

# main.py as it runs, with an Aspect that breaks AZ-AKS-1 on both clusters (the config validation would
# reject such a config before synth, so a test Aspect stands in for a rule the config does not cover).
VIOLATING_MAIN = """
import sys, jsii
sys.path.insert(0, ".")
import main
from runtime import fast_import, synth_report

original = synth_report.synth

def synth_with_violations(app, started):
    from cdktf import Annotations, Aspects, IAspect, TerraformResource, TerraformStack

    @jsii.implements(IAspect)
    class BreakAks1:
        def visit(self, node):
            if isinstance(node, TerraformResource) and node.terraform_resource_type == "azurerm_kubernetes_cluster":
                Annotations.of(node).add_error(
                    f"AZ-AKS-1 azurerm_kubernetes_cluster '{node.node.path}': default_node_pool.node_count = 1 "
                    "breaks Azure's rule: the system node pool needs at least 2 nodes (node_count and min_count)"
                )

    for stack in app.node.children:
        if TerraformStack.is_stack(stack):
            Aspects.of(stack).add(BreakAks1())
    return original(app, started)

synth_report.synth = synth_with_violations
fast_import.exit_process(main.main())
"""


def run_main(outdir: Path, script: str | None = None, *stacks: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CDKTF_OUTDIR": str(outdir)}
    env.pop(synth_report.CONTINUE_ON_ERRORS, None)
    command = [sys.executable, "-c", script] if script else [sys.executable, "main.py", *stacks]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_success_prints_one_line_per_stack_and_the_time(tmp_path: Path) -> None:
    result = run_main(tmp_path / "out")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(STACKS) + 1
    for stack, line in zip(STACKS, lines, strict=False):
        match = re.fullmatch(rf"{stack}\s+(\d+) resources  (\S+)", line)
        assert match, line
        assert Path(match[2]) == tmp_path / "out" / "stacks" / stack / "cdk.tf.json"
        assert int(match[1]) > 0
    assert re.fullmatch(
        rf"synthesized {len(STACKS)} stacks into {re.escape(str(tmp_path / 'out'))} in \d+\.\d s", lines[-1]
    )


@pytest.mark.slow
def test_a_named_stack_synthesizes_alone_and_as_in_the_whole_app(tmp_path: Path, synth_dir: Path) -> None:
    """`python main.py staging-cluster`: that environment's three stacks (the cluster's cross-stack references
    shape the infra stack), byte for byte as in the whole app; bootstrap and production are not built."""
    result = run_main(tmp_path / "out", None, "staging-cluster")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out" / "stacks"
    written = sorted(path.relative_to(out) for path in out.rglob("*") if path.is_file())
    assert {path.parts[0] for path in written} == {"staging-alerting", "staging-infra", "staging-cluster"}
    for path in written:
        assert (out / path).read_bytes() == (synth_dir / "stacks" / path).read_bytes(), path
    assert "synthesized 3 stacks" in result.stdout


def test_an_unknown_stack_name_exits_2_and_lists_the_stacks(tmp_path: Path) -> None:
    result = run_main(tmp_path / "out", None, "staging-infr")
    assert result.returncode == 2
    # (on CDK Terrain a warning that the fast path steps aside comes first)
    assert "error: no stack staging-infr; the stacks are bootstrap, github, " in result.stderr.splitlines()[-1]


@pytest.mark.slow
def test_rule_violations_print_one_error_each_without_traceback(tmp_path: Path) -> None:
    result = run_main(tmp_path / "out", VIOLATING_MAIN)
    assert result.returncode == 1
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if not line.startswith("warning: fast synth off")]
    assert errors == [
        *(
            f"error: [AZ-AKS-1] {infra}/aks/cluster (azurerm_kubernetes_cluster): default_node_pool.node_count = 1 "
            "breaks Azure's rule: the system node pool needs at least 2 nodes (node_count and min_count)"
            for infra in INFRA
        ),
        f"synth failed: {len(INFRA)} rule violations in {', '.join(INFRA)}. {synth_report.HOW_TO_FIX}",
    ]
    assert "Traceback" not in result.stderr and "skipValidation" not in result.stderr
    # the stacks that break a rule leave no output to plan; the others are complete
    written = sorted(path.parent.name for path in (tmp_path / "out" / "stacks").glob("*/cdk.tf.json"))
    assert written == sorted(["bootstrap", "github", *ALERTING, *CLUSTERS])


# The text of cdktf 0.21's stackValidationFailure (lib/errors.js) for a `node.add_validation` failure.
STACK_VALIDATION_ERROR = """Error: Validation failed with the following errors:
  [staging-infra] AZ-DIAG-1 azurerm_key_vault 'staging-infra/kv/vault': has no diagnostic setting: add one
  [staging-infra/aks] plain message without a rule id

If you wish to ignore these validations, pass 'skipValidation: true' to your App configuration.
"""


def test_validation_failures_are_read_from_the_error_lines() -> None:
    violations = synth_report.validation_errors(STACK_VALIDATION_ERROR)
    assert [violation.render() for violation in violations] == [
        "error: [AZ-DIAG-1] staging-infra/kv/vault (azurerm_key_vault): has no diagnostic setting: add one",
        "error: staging-infra/aks: plain message without a rule id",
    ]
    assert {violation.stack for violation in violations} == {"staging-infra"}


def test_an_unrelated_error_is_not_mistaken_for_violations() -> None:
    assert synth_report.validation_errors("Error: something broke\n  [x] not a validation") == []


class FailingApp:
    outdir = "unused"

    def __init__(self, error: Exception) -> None:
        self.error = error

    def synth(self) -> None:
        raise self.error


def test_a_validation_failure_exits_1_and_a_bug_keeps_its_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert synth_report.synth(FailingApp(RuntimeError(STACK_VALIDATION_ERROR)), 0.0) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: [AZ-DIAG-1] staging-infra/kv/vault") and "skipValidation" not in err
    with pytest.raises(RuntimeError, match="something broke"):
        synth_report.synth(FailingApp(RuntimeError("something broke")), 0.0)


def test_naming_and_pod_security_messages_carry_a_rule_id() -> None:
    for module, rule in (("naming_rules", "AZ-NAME"), ("pod_security", "K8S-PSS")):
        assert f'f"{rule} {{resource_type(node)}}' in (ROOT / "constructs" / "aspects" / f"{module}.py").read_text()
