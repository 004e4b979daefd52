"""Parity report between declared pairs of environments (Story 3.1: staging proves production).

The pairs come from config: an environment's `parity_with = "<other>"` (config/staging.toml declares
staging ↔ production). Resources are matched across the pair by construct path without the stack name's
environment (`staging-infra/aks/cluster` and `production-infra/aks/cluster` are both `infra/aks/cluster`). Reports:
(a) resource types in one environment only, and resources without a counterpart;
(b) security-relevant settings that differ, and security resources (diagnostic settings, role
    assignments, private endpoints, policy, locks, network policies) present in one environment only;
(c) sizing differences (SKUs, capacity, counts, retention, zones, replication): expected, reported only.
Any (b) finding not matched by an entry of the allowlist (parity-allowlist.toml) fails with exit 1.

    python -m tools.checks.parity SYNTH_DIR [--allowlist parity-allowlist.toml] [--format markdown|text] [--pair A:B]
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import json
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.loader import ConfigError
from tools.review.synth_diff import MISSING, differences, strip_metadata

STACK_KINDS = ("infra", "cluster")
DEFAULT_ALLOWLIST = Path(__file__).resolve().parents[2] / "parity-allowlist.toml"

# Attribute paths (list indices removed) whose differences weaken or change security posture.
SECURITY_ATTRIBUTE = re.compile(
    r"public_network_access|network_rules|network_acls|network_rule_set|default_action|ip_rules|"
    r"shared_access_key|local_auth|local_account|local_user|password_auth|active_directory|azure_active_directory|"
    r"rbac|authentication|oauth|admin_enabled|anonymous|tls|ssl|secure_transport|https|"
    r"encryption|customer_managed_key|key_vault_key|cmk|purge_protection|soft_delete|"
    r"allow_nested_items_to_be_public|cross_tenant|private_cluster_enabled|api_server_access|authorized_ip|"
    r"azure_policy|enforce|policy_definition|pod-security|threat|intrusion|defender|"
    r"workload_identity|role_definition|trusted_services|run_command|automatic_upgrade|prevent_destroy"
)
# Attribute paths that size an environment: differences are expected and only reported.
SIZING_ATTRIBUTE = re.compile(
    r"(^|\.)(sku|sku_name|sku_tier|tier|capacity|node_count|min_count|max_count|vm_size|zones?|"
    r"standby_availability_zone|high_availability|storage_mb|storage_tier|auto_grow|account_replication_type|"
    r"[a-z_]*retention[a-z_]*|[a-z_]*_days|daily_quota_gb|max_size_gb|partition_count|amount|"
    r"maximum_throughput_units|instance_count|min_capacity|max_capacity|autoscale)"
)
# Environment-specific values that are not posture: ids of tenants/groups/subscriptions and the pair's names and
# short names (environment_specific() adds those from config).
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# Resource types that are security controls in themselves: present in one environment only is a finding.
SECURITY_TYPE = re.compile(
    r"diagnostic_setting|role_assignment|private_endpoint|network_security|policy_assignment|"
    r"policy_exemption|management_lock|security_center|network_policy|firewall_policy|key_vault_access_policy"
)


@dataclass(frozen=True)
class Finding:
    path: str  # construct path without the environment, e.g. infra/aks/cluster
    resource_type: str
    attribute: str  # attribute path, or "(resource)" when a resource exists in one environment only
    left: Any
    right: Any
    names: tuple[str, str]  # the pair: (environment of `left`, environment of `right`)

    def describe(self) -> str:
        return (
            f"{self.path} ({self.resource_type}) {self.attribute}:"
            f" {self.names[0]}={_show(self.left)} {self.names[1]}={_show(self.right)}"
        )


@dataclass(frozen=True)
class AllowEntry:
    path: str
    attribute: str
    reason: str

    def allows(self, finding: Finding) -> bool:
        return fnmatch.fnmatchcase(finding.path, self.path) and fnmatch.fnmatchcase(finding.attribute, self.attribute)


@dataclass
class ParityReport:
    names: tuple[str, str]
    types_only_in: dict[str, list[str]] = field(default_factory=dict)
    unmatched: dict[str, list[str]] = field(default_factory=dict)
    security: list[Finding] = field(default_factory=list)
    allowed: list[tuple[Finding, AllowEntry]] = field(default_factory=list)
    sizing: list[Finding] = field(default_factory=list)
    unused_allow_entries: list[AllowEntry] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.security)


def _show(value: Any) -> str:
    return "(absent)" if value is MISSING else json.dumps(value, sort_keys=True)


def environment_resources(synth_dir: Path, environment: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Construct path without the environment → (resource type, body) over the environment's stacks."""
    resources: dict[str, tuple[str, dict[str, Any]]] = {}
    for kind in STACK_KINDS:
        stack = f"{environment}-{kind}"
        file = Path(synth_dir) / "stacks" / stack / "cdk.tf.json"
        if not file.exists():
            raise FileNotFoundError(f"{file}: stack {stack} not synthesized (run scripts/synth)")
        for resource_type, by_name in json.loads(file.read_text()).get("resource", {}).items():
            for name, body in by_name.items():
                construct_path = body.get("//", {}).get("metadata", {}).get("path", f"{stack}/{name}")
                key = kind + construct_path.removeprefix(stack)
                resources[key] = (resource_type, strip_metadata(body))
    return resources


def declared_pairs(config_dir: Path | None = None) -> list[tuple[str, str]]:
    """The (environment, counterpart) pairs config declares with parity_with, in promotion order."""
    from config.loader import CONFIG_DIR, load_all, parity_pairs

    return parity_pairs(load_all(config_dir or CONFIG_DIR))


def environment_specific(names: tuple[str, str], config_dir: Path | None = None) -> re.Pattern[str]:
    """GUIDs and the pair's environment names and short names (from config), which differ by design."""
    from config.loader import CONFIG_DIR, load_environment

    words = set(names)
    for name in names:
        with contextlib.suppress(ConfigError):  # an environment config does not know: its name only
            words.add(load_environment(name, config_dir or CONFIG_DIR).short_name)
    alternatives = "|".join(re.escape(word) for word in sorted(words, key=lambda w: (-len(w), w)))
    return re.compile(rf"{GUID}|(?<![a-z0-9])({alternatives})(?![a-z0-9])")


def _normalised(value: Any, specific: re.Pattern[str]) -> str:
    """The value with environment-specific parts (ids, environment names) replaced, for security comparisons."""
    return specific.sub("<env>", json.dumps(value, sort_keys=True, default=repr))


def load_allowlist(path: Path) -> list[AllowEntry]:
    if not path.exists():
        return []
    entries = []
    for index, raw in enumerate(tomllib.loads(path.read_text()).get("allow", [])):
        missing = {"path", "attribute", "reason"} - raw.keys()
        if missing or not str(raw.get("reason", "")).strip():
            raise ValueError(
                f"{path}: allow[{index}] needs non-empty path, attribute and reason"
                f" (missing {sorted(missing) or ['reason']})"
            )
        entries.append(AllowEntry(raw["path"], raw["attribute"], raw["reason"]))
    return entries


def compare(
    left: dict[str, tuple[str, dict[str, Any]]],
    right: dict[str, tuple[str, dict[str, Any]]],
    allowlist: list[AllowEntry],
    names: tuple[str, str],
    specific: re.Pattern[str] | None = None,
) -> ParityReport:
    """Compare the pair `names` (the resources of names[0] are `left`); `specific` defaults to the pair's names."""
    specific = specific or environment_specific(names)
    report = ParityReport(names)
    first, second = names
    types = {first: {t for t, _ in left.values()}, second: {t for t, _ in right.values()}}
    report.types_only_in = {first: sorted(types[first] - types[second]), second: sorted(types[second] - types[first])}
    candidates = _unmatched(report, left, right)
    for path in sorted(left.keys() & right.keys()):
        candidates += _differences(report, path, left[path], right[path], specific)
    _judge(report, candidates, allowlist)
    return report


def _unmatched(
    report: ParityReport, left: dict[str, tuple[str, dict[str, Any]]], right: dict[str, tuple[str, dict[str, Any]]]
) -> list[Finding]:
    """Records resources without a counterpart; a security-relevant one is a candidate finding."""
    first, second = names = report.names
    candidates = []
    for env, mine, other in ((first, left, right), (second, right, left)):
        only_here = sorted(path for path in mine if path not in other)
        report.unmatched[env] = [f"{path} ({mine[path][0]})" for path in only_here]
        for path in only_here:
            if SECURITY_TYPE.search(mine[path][0]):
                left_value, right_value = ("present", MISSING) if env == first else (MISSING, "present")
                candidates.append(Finding(path, mine[path][0], "(resource)", left_value, right_value, names))
    return candidates


def _differences(
    report: ParityReport,
    path: str,
    left: tuple[str, dict[str, Any]],
    right: tuple[str, dict[str, Any]],
    specific: re.Pattern[str],
) -> list[Finding]:
    """Records a resource pair's sizing differences; its security differences are candidate findings."""
    (left_type, left_body), (right_type, right_body) = left, right
    if left_type != right_type:
        return [Finding(path, f"{left_type}/{right_type}", "(resource)", left_type, right_type, report.names)]
    candidates = []
    for attribute, left_value, right_value in differences(left_body, right_body):
        generic = re.sub(r"\[\d+\]", "", attribute)
        finding = Finding(path, left_type, attribute, left_value, right_value, report.names)
        if SECURITY_ATTRIBUTE.search(generic) and _normalised(left_value, specific) != _normalised(
            right_value, specific
        ):
            candidates.append(finding)
        elif SIZING_ATTRIBUTE.search(generic):
            report.sizing.append(finding)
    return candidates


def _judge(report: ParityReport, candidates: list[Finding], allowlist: list[AllowEntry]) -> None:
    """Each candidate is allowed by the first allow-list entry that matches it, else a security finding."""
    used: set[AllowEntry] = set()
    for finding in candidates:
        entry = next((entry for entry in allowlist if entry.allows(finding)), None)
        if entry is None:
            report.security.append(finding)
        else:
            report.allowed.append((finding, entry))
            used.add(entry)
    report.unused_allow_entries = [entry for entry in allowlist if entry not in used]


def render_markdown(report: ParityReport) -> str:
    status = (
        ":x: security differences found" if report.failed else ":white_check_mark: no unexplained security differences"
    )
    first, second = report.names
    lines = [f"### {first.capitalize()} ↔ {second} parity", "", status, ""]
    if report.security:
        lines += (
            ["**Security differences (not allowlisted):**", ""]
            + [f"- `{f.describe()}`" for f in report.security]
            + [""]
        )
    if report.allowed:
        lines += ["**Allowlisted differences:**", ""]
        by_entry: dict[AllowEntry, list[Finding]] = {}
        for finding, entry in report.allowed:
            by_entry.setdefault(entry, []).append(finding)
        for entry, findings in by_entry.items():
            lines.append(
                f"- `{entry.attribute}` on {len(findings)} resource(s) matching `{entry.path}`: {entry.reason}"
            )
            lines += [f"  - `{f.describe()}`" for f in findings]
        lines.append("")
    for env in report.names:
        if report.types_only_in.get(env):
            lines.append(f"Resource types only in {env}: " + ", ".join(f"`{t}`" for t in report.types_only_in[env]))
    if report.sizing:
        lines += ["", "<details><summary>sizing differences (expected)</summary>", ""]
        lines += [f"- `{f.describe()}`" for f in report.sizing] + ["", "</details>"]
    unmatched = [(env, item) for env in report.names for item in report.unmatched.get(env, [])]
    if unmatched:
        lines += ["", "<details><summary>resources without a counterpart</summary>", ""]
        lines += [f"- {env} only: `{item}`" for env, item in unmatched] + ["", "</details>"]
    lines += [f"- unused allowlist entry: `{e.path}` `{e.attribute}`" for e in report.unused_allow_entries]
    return "\n".join(lines) + "\n"


def render_text(report: ParityReport) -> str:
    lines = [f"FAIL security: {f.describe()}" for f in report.security]
    lines += [f"allowed: {f.describe()} ({entry.reason})" for f, entry in report.allowed]
    lines += [
        f"types only in {env}: {', '.join(report.types_only_in[env])}"
        for env in report.names
        if report.types_only_in.get(env)
    ]
    lines += [f"sizing: {f.describe()}" for f in report.sizing]
    lines += [f"{env} only: {item}" for env in report.names for item in report.unmatched.get(env, [])]
    lines += [f"warning: unused allowlist entry {e.path} {e.attribute}" for e in report.unused_allow_entries]
    lines.append(
        f"parity {report.names[0]} ↔ {report.names[1]}: FAILED (security differences above; fix them or add an "
        "allowlist entry with a reason)"
        if report.failed
        else f"parity {report.names[0]} ↔ {report.names[1]}: ok"
    )
    return "\n".join(lines) + "\n"


def _pair(text: str) -> tuple[str, str]:
    first, _, second = text.partition(":")
    if not first or not second:
        raise ValueError(f"--pair {text!r}: expected two environment names, like staging:production")
    return first, second


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("synth_dir", type=Path, nargs="?", default=Path("cdktf.out"))
    parser.add_argument("--allowlist", type=Path, default=DEFAULT_ALLOWLIST)
    parser.add_argument("--format", choices=("markdown", "text"), default="text")
    parser.add_argument(
        "--pair", action="append", metavar="A:B", help="environments to compare (default: config's parity_with pairs)"
    )
    args = parser.parse_args(argv)
    try:
        pairs = [_pair(pair) for pair in args.pair] if args.pair else declared_pairs()
        allowlist = load_allowlist(args.allowlist)
        reports = [
            compare(
                environment_resources(args.synth_dir, first),
                environment_resources(args.synth_dir, second),
                allowlist,
                (first, second),
            )
            for first, second in pairs
        ]
    except (FileNotFoundError, ValueError, ConfigError) as error:
        parser.error(str(error))
    render = render_markdown if args.format == "markdown" else render_text
    sys.stdout.write("\n".join(render(report) for report in reports))
    return 1 if any(report.failed for report in reports) else 0


if __name__ == "__main__":
    raise SystemExit(main())
