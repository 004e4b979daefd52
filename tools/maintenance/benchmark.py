"""Print synth figures: wall time and peak memory of Python and the jsii Node processes.

    .venv/bin/python tools/maintenance/benchmark.py [--runs 5] [--cache warm cold] [--variants ...]

Variants (each in a fresh process, from the project root):
  fast synth       `python main.py`, what `scripts/synth` and `cdktf synth` run (runtime/fast_import.py)
  ordinary synth   the same with ERP_SYNTH_ORDINARY=1: the providers imported the ordinary way
  ordinary import  only `import cdktf_cdktf_provider_azurerm, cdktf_cdktf_provider_kubernetes`, ordinary
  typescript       the same stacks as a plain Node CDKTF app with the same prebuilt providers (cdktf 0.21.0,
                   @cdktf/provider-azurerm 14.23.1, @cdktf/provider-kubernetes 12.1.1, @cdktf/provider-github
                   15.3.1): `node app.js`, the JavaScript
                   tools/maintenance/ts_benchmark_app.py generates from this checkout's synth before the rounds
                   (installed on demand: `npm ci --prefix benchmarks/typescript`); its output is compared with
                   ours block by block and the count printed
  cdktn synth      `ERP_FRAMEWORK=cdktn .venv-cdktn/bin/python main.py`: CDK Terrain (the fast path steps aside)
  py3.13 fast      `.venv-3.13/bin/python main.py`: the fast synth on Python 3.13
  fast synth 4 envs  the fast synth of four environments (config/ + tests/fixtures/four-environments): with
                   "fast synth" (two), prints the cost of one more environment (it should stay linear)
  fast -<tier>     the fast synth with one tier off (ERP_FAST_TIERS_OFF); "fast core only": all tiers off
The cdktn and py3.13 variants need the venvs `ERP_FRAMEWORK=cdktn scripts/setup` and
`PYTHON=python3.13 scripts/setup` build; they are not in the default list.
Default: fast synth, typescript, ordinary import; the ratios fast/typescript and fast/ordinary are printed.
Caches: warm = the jsii package cache as it is (after one untimed run of each variant); cold = a new,
empty JSII_RUNTIME_PACKAGE_CACHE_ROOT for every run, as on a fresh CI machine. The project's own
cache (.cache/jsii-fast/: derived tarballs, provider bytecode) is warm in both. The variants run in
turn within each round, so the ratio compares runs made under the same machine conditions.

Peak memory: /proc/<pid>/status VmHWM of the started process ("main": Python, or Node for typescript)
and of every process under it (jsii runs a small Node wrapper that starts the Node kernel), sampled every
few milliseconds; VmHWM only grows, so the last sample is the peak. "total" adds the per-process peaks (an
upper bound of what was resident at once). Figures are min/median over the runs; memory is the largest
peak of any run. The load average is printed at the start and the end: on a shared machine, compare
the variants' ratio, never absolute figures of different runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from runtime.fast.settings import TIERS as FAST_PATH_TIERS
from runtime.jsii_runtime import PROJECT_NODE
from tools.maintenance import ts_benchmark_app

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path("tests/fixtures/four-environments")
PYTHON = sys.executable
SAMPLE_SECONDS = 0.003
IMPORT_BOTH_PROVIDERS = (
    "from runtime.jsii_runtime import use_project_node; use_project_node(); "
    "import cdktf_cdktf_provider_azurerm, cdktf_cdktf_provider_kubernetes"
)
VARIANTS = {
    "fast synth": ([PYTHON, "main.py"], {}),
    "ordinary synth": ([PYTHON, "main.py"], {"ERP_SYNTH_ORDINARY": "1"}),
    "ordinary import": ([PYTHON, "-c", IMPORT_BOTH_PROVIDERS], {}),
    "cdktn synth": ([str(PROJECT_ROOT / ".venv-cdktn" / "bin" / "python"), "main.py"], {"ERP_FRAMEWORK": "cdktn"}),
    "py3.13 fast": ([str(PROJECT_ROOT / ".venv-3.13" / "bin" / "python"), "main.py"], {}),
}
# The fast synth with one tier of the fast path off (`--variants "fast -compile" ...`), or all of them.
TIERS = tuple(FAST_PATH_TIERS)
VARIANTS.update({f"fast -{tier}": ([PYTHON, "main.py"], {"ERP_FAST_TIERS_OFF": tier}) for tier in TIERS})
VARIANTS["fast core only"] = ([PYTHON, "main.py"], {"ERP_FAST_TIERS_OFF": ",".join(TIERS)})
VARIANTS["fast core+compile"] = ([PYTHON, "main.py"], {"ERP_FAST_TIERS_OFF": ",".join(TIERS[1:])})
# The shipped config plus the two overlay files of tests/fixtures/four-environments (dev, qa): per-environment cost.
FOUR_ENVIRONMENTS = "<four environments>"
VARIANTS["fast synth 4 envs"] = ([PYTHON, "main.py"], {"ERP_CONFIG_DIR": FOUR_ENVIRONMENTS})
TS_APP = ts_benchmark_app.DEFAULT_APP
VARIANTS["typescript"] = ([str(PROJECT_NODE or "node"), str(TS_APP)], {})
DEFAULT_VARIANTS = ["fast synth", "typescript", "ordinary import"]
_FOUR_ENVIRONMENTS_DIR: list[str] = []
TIME_RATIO_TARGET = 0.15  # fast synth / ordinary import
TYPESCRIPT_RATIO_TARGET = 2.0  # fast synth / typescript
PEAK_MEMORY_TARGET_MB = 250


@dataclass
class Run:
    wall_seconds: float
    peak_mb: dict[str, int]  # role -> peak resident MB


@dataclass
class Figures:
    runs: list[Run] = field(default_factory=list)

    def wall(self) -> tuple[float, float]:
        walls = [run.wall_seconds for run in self.runs]
        return min(walls), statistics.median(walls)

    def peak(self, role: str) -> int:
        return max(run.peak_mb.get(role, 0) for run in self.runs)

    def total_peak(self) -> int:
        return max(sum(run.peak_mb.values()) for run in self.runs)


def process_tree(root: int) -> list[int]:
    found, index = [root], 0
    while index < len(found):
        pid = found[index]
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as children:
                    found.extend(int(child) for child in children.read().split())
        except OSError:
            pass  # exited meanwhile
        index += 1
    return found


def command_line(pid: int) -> bytes | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read()
    except OSError:
        return None


def role_of(pid: int, root: int) -> str | None:
    """A process's role; a fork of the main process not yet exec'ed (cdktf runs `terraform version` through
    a shell in both apps) shares its pages and counts as the main process (peaks are per role, the largest)."""
    if pid == root:
        return "main"
    arguments = (command_line(pid) or b"").split(b"\0")
    if command_line(pid) == command_line(root):
        return "main"
    if not arguments or not arguments[0].endswith(b"node"):
        return None
    return "node kernel" if any(arg.endswith(b"program.js") for arg in arguments) else "node wrapper"


def high_water_mark_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def measure(command: list[str], env: dict[str, str]) -> Run:
    peaks_kb: dict[int, tuple[str, int]] = {}
    with tempfile.TemporaryDirectory(prefix="benchmark-out-") as outdir:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env={**env, "CDKTF_OUTDIR": outdir},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                for pid in process_tree(process.pid):
                    role = role_of(pid, process.pid)
                    kb = high_water_mark_kb(pid) if role else None
                    if role and kb:
                        peaks_kb[pid] = (role, max(kb, peaks_kb.get(pid, (role, 0))[1]))
                time.sleep(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, stderr = process.communicate()
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{stderr.decode()}")
    peak_mb: dict[str, int] = {}
    for role, kb in peaks_kb.values():
        peak_mb[role] = max(peak_mb.get(role, 0), round(kb / 1024))
    return Run(wall, peak_mb)


def four_environments_dir() -> str:
    """A config folder with the shipped files and the fixture's dev.toml and qa.toml (made once per benchmark)."""
    if not _FOUR_ENVIRONMENTS_DIR:
        folder = Path(tempfile.mkdtemp(prefix="benchmark-four-environments-"))
        for source in [*(PROJECT_ROOT / "config").glob("*.toml"), *(PROJECT_ROOT / FIXTURE).glob("*.toml")]:
            shutil.copy(source, folder / source.name)
        _FOUR_ENVIRONMENTS_DIR.append(str(folder))
    return _FOUR_ENVIRONMENTS_DIR[0]


def measure_once(variant: str, cache: str) -> Run:
    command, extra_env = VARIANTS[variant]
    env = {**os.environ, **extra_env}
    # As a developer's or CI's run: the project's modules' bytecode cached (a sandbox may set this; ~75 ms CPU).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if env.get("ERP_CONFIG_DIR") == FOUR_ENVIRONMENTS:
        env["ERP_CONFIG_DIR"] = four_environments_dir()
    if cache == "cold":
        with tempfile.TemporaryDirectory(prefix="jsii-cold-cache-") as cold_root:
            return measure(command, {**env, "JSII_RUNTIME_PACKAGE_CACHE_ROOT": cold_root})
    return measure(command, env)


def benchmark(variants: list[str], cache: str, runs: int) -> dict[str, Figures]:
    """Run the variants in turn, round after round, so a machine that speeds up or slows down during
    the benchmark affects them alike (the ratio compares medians of the same rounds)."""
    figures = {variant: Figures() for variant in variants}
    if cache == "warm":
        for variant in variants:
            measure_once(variant, cache)  # fills the caches; not counted
    for _ in range(runs):
        for variant in variants:
            figures[variant].runs.append(measure_once(variant, cache))
        print(".", end="", file=sys.stderr, flush=True)
    return figures


def prepare_typescript() -> None:
    """Install the Node app's packages if missing, synthesize this checkout, generate the app from that output
    and print how much of the Node app's output equals ours (untimed)."""
    ts_dir = ts_benchmark_app.TS_DIR
    if not all((ts_dir / "node_modules" / package).is_dir() for package in ts_benchmark_app.PACKAGES.values()):
        npm = shutil.which("npm") or "npm"
        print(f"installing {ts_dir}/node_modules (npm ci)", file=sys.stderr)
        env = {**os.environ}
        if PROJECT_NODE:
            env["PATH"] = f"{PROJECT_NODE.parent}{os.pathsep}{env.get('PATH', '')}"
        subprocess.run([npm, "ci", "--prefix", str(ts_dir), "--no-audit", "--no-fund"], check=True, env=env)
    with tempfile.TemporaryDirectory(prefix="benchmark-compare-") as folder:
        ours, theirs = Path(folder) / "python", Path(folder) / "node"
        for command, outdir in (([PYTHON, "main.py"], ours), (VARIANTS["typescript"][0], theirs)):
            if command[-1] == str(TS_APP):
                ts_benchmark_app.generate(ours, TS_APP, ts_dir / "node_modules")
            subprocess.run(
                command,
                cwd=PROJECT_ROOT,
                env={**os.environ, "CDKTF_OUTDIR": str(outdir)},
                check=True,
                stdout=subprocess.DEVNULL,
            )
        equal, total, differences = ts_benchmark_app.compare(ours, theirs)
    print(f"typescript app: {equal} of {total} blocks identical to ours after JSON normalisation")
    for difference in differences:
        print(f"  {difference[:200]}")


def _print_figures(results: dict[tuple[str, str], Figures], runs: int, started_load: str) -> None:
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"{runs} runs each on {os.cpu_count()} cores, load average (1/5/15 min) {started_load} at the start,"
        f" {load} at the end;"
        " wall in seconds, peak resident memory in MB"
    )
    print(
        f"{'variant':<17} {'cache':<5} {'wall min':>8} {'median':>7}   {'main':>6} {'node wrapper':>12}"
        f" {'node kernel':>11} {'total':>6}"
    )
    for (variant, cache), figures in results.items():
        low, median = figures.wall()
        print(
            f"{variant:<17.17} {cache:<5} {low:>8.2f} {median:>7.2f}   {figures.peak('main'):>6}"
            f" {figures.peak('node wrapper'):>12} {figures.peak('node kernel'):>11} {figures.total_peak():>6}"
        )


def _print_verdicts(results: dict[tuple[str, str], Figures], cache: str) -> None:
    """The targets (docs/performance.md) met or not, for one cache state."""
    fast, baseline = results.get(("fast synth", cache)), results.get(("ordinary import", cache))
    if fast and baseline:
        ratio = fast.wall()[1] / baseline.wall()[1]
        verdict = "met" if ratio <= TIME_RATIO_TARGET else "NOT met"
        print(
            f"{cache} cache: fast synth / ordinary import (median wall) = {ratio:.2f}"
            f" (target <= {TIME_RATIO_TARGET}: {verdict})"
        )
    typescript = results.get(("typescript", cache))
    if fast and typescript:
        ratio = fast.wall()[1] / typescript.wall()[1]
        verdict = "met" if ratio <= TYPESCRIPT_RATIO_TARGET else "NOT met"
        print(
            f"{cache} cache: fast synth / typescript (median wall) = {ratio:.2f}"
            f" (target <= {TYPESCRIPT_RATIO_TARGET}: {verdict}); peak memory {fast.total_peak()} MB"
            f" / {typescript.total_peak()} MB = {fast.total_peak() / typescript.total_peak():.2f}"
        )
    if fast:
        verdict = "met" if fast.total_peak() <= PEAK_MEMORY_TARGET_MB else "NOT met"
        print(
            f"{cache} cache: fast synth peak memory, all processes = {fast.total_peak()} MB"
            f" (target <= {PEAK_MEMORY_TARGET_MB} MB: {verdict})"
        )
    two, four = results.get(("fast synth", cache)), results.get(("fast synth 4 envs", cache))
    if two and four:
        per_environment = (four.wall()[1] - two.wall()[1]) / 2
        print(
            f"{cache} cache: per-environment synth cost (median wall) = {per_environment:.2f} s"
            f" (2 environments {two.wall()[1]:.2f} s, 4 environments {four.wall()[1]:.2f} s;"
            f" {two.wall()[1] / 2:.2f} vs {four.wall()[1] / 4:.2f} s per environment including start-up)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache", nargs="+", choices=["warm", "cold"], default=["warm", "cold"])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=DEFAULT_VARIANTS)
    options = parser.parse_args()
    if "typescript" in options.variants:
        prepare_typescript()
    if missing := [variant for variant in options.variants if not Path(VARIANTS[variant][0][0]).is_file()]:
        parser.error(f"{', '.join(missing)}: {VARIANTS[missing[0]][0][0]} is missing (built by scripts/setup)")

    started_load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    results: dict[tuple[str, str], Figures] = {}
    for cache in options.cache:
        print(
            f"{cache} cache, {options.runs} rounds of {', '.join(options.variants)} ",
            end="",
            file=sys.stderr,
            flush=True,
        )
        for variant, figures in benchmark(options.variants, cache, options.runs).items():
            results[variant, cache] = figures
        print(file=sys.stderr)

    _print_figures(results, options.runs, started_load)
    for cache in options.cache:
        _print_verdicts(results, cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
