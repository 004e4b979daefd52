"""The fast synth path (runtime/fast_import.py) changes how the providers load, never what synth writes.

Three synths of the real app in fresh processes — fast, forced ordinary (ERP_SYNTH_ORDINARY=1) and a
fallback (an installed provider version that differs from the pinned one) — must write byte-identical
files; the fast one must import only the submodules it uses and write nothing into site-packages.
The in-process tests run in this pytest process, which tests/conftest.py puts on the fast path.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.metadata
import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import time
import types
import typing
from dataclasses import dataclass
from pathlib import Path

import pytest

from runtime import fast_import
from runtime.fast import (
    code_cache,
    compiling,
    defs_on_demand,
    derive,
    hash_record,
    inputs,
    kernel,
    lazy_classes,
    memo,
    no_creation_stacks,
    pins,
    settings,
    sync_optimizer,
    version_once,
    warm_up,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])
AZURERM, KUBERNETES, GITHUB = pins.PROVIDERS
WARNING = "warning: fast synth off"

# Runs main.py as `python main.py` would, and records at exit which provider modules were imported
# and on how many CPUs the process may run.
RUN_MAIN_AND_RECORD_IMPORTS = """
import atexit, json, os, runpy, sys
record = sys.argv[1]
def write_record():
    with open(record, "w") as out:
        modules = [name for name in sys.modules if name.startswith("cdktf_cdktf_provider_")]
        json.dump({"modules": modules, "cpus": len(os.sched_getaffinity(0))}, out)
atexit.register(write_record)
sys.argv = ["main.py"]
runpy.run_path("main.py", run_name="__main__")
"""


@dataclass(frozen=True)
class Synth:
    files: dict[str, bytes]
    stderr: str
    provider_modules: list[str]
    cpus: int

    def submodules_of(self, provider: pins.PinnedProvider) -> set[str]:
        prefix = provider.package + "."
        return {name for name in self.provider_modules if name.startswith(prefix) and name.count(".") == 1}


def environment_without_force_ordinary() -> dict[str, str]:
    """This process's environment for a child that must choose its path itself (CI never forces ordinary)."""
    return {name: value for name, value in os.environ.items() if name != fast_import.FORCE_ORDINARY_ENV}


def synth(workdir: Path, **env: str) -> Synth:
    outdir, record = workdir / "out", workdir / "imports.json"
    base_env = environment_without_force_ordinary()
    result = subprocess.run(
        [sys.executable, "-c", RUN_MAIN_AND_RECORD_IMPORTS, str(record)],
        cwd=PROJECT_ROOT,
        env={**base_env, "CDKTF_OUTDIR": str(outdir), **env},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    files = {str(p.relative_to(outdir)): p.read_bytes() for p in sorted(outdir.rglob("*")) if p.is_file()}
    recorded = json.loads(record.read_text())
    return Synth(files, result.stderr, recorded["modules"], recorded["cpus"])


def site_packages_state() -> dict[str, tuple[int, int]]:
    """Every file and folder under site-packages with its size and modification time."""
    state = {}
    for folder, _, files in os.walk(SITE_PACKAGES):
        for path in [folder, *(os.path.join(folder, name) for name in files)]:
            stat = os.stat(path)
            state[os.path.relpath(path, SITE_PACKAGES)] = (stat.st_size, stat.st_mtime_ns)
    return state


STALE_WARM_UP = "@cdktf/provider-azurerm.noSuchResource.NoSuchResource"


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Synth, dict, dict]:
    # A warm-up of a type that does not exist (as after a provider type left the app) must not matter.
    record = warm_up.WARM_UP_RECORD
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps([*warm_up.recorded_types(), STALE_WARM_UP]))
    before = site_packages_state()
    # No bytecode either: the run must leave site-packages exactly as it was.
    run = synth(tmp_path_factory.mktemp("fast"), PYTHONDONTWRITEBYTECODE="1")
    return run, before, site_packages_state()


@pytest.fixture(scope="module")
def fast(fast_run: tuple[Synth, dict, dict]) -> Synth:
    return fast_run[0]


@pytest.fixture(scope="module")
def ordinary(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synth(tmp_path_factory.mktemp("ordinary"), **{fast_import.FORCE_ORDINARY_ENV: "1"})


@pytest.fixture(scope="module")
def fallback(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """Synth while the metadata says kubernetes 12.1.2 is installed (found first on PYTHONPATH)."""
    workdir = tmp_path_factory.mktemp("fallback")
    dist_info = workdir / "path" / "cdktf_cdktf_provider_kubernetes-12.1.2.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: cdktf-cdktf-provider-kubernetes\nVersion: 12.1.2\n"
    )
    return synth(workdir, PYTHONPATH=str(dist_info.parent))


def stack_names(run: Synth) -> list[str]:
    return sorted(json.loads(run.files["manifest.json"])["stacks"])


@pytest.mark.slow
def test_fast_synth_imports_only_the_submodules_it_uses(fast: Synth) -> None:
    assert WARNING not in fast.stderr
    used = fast.submodules_of(AZURERM) - {f"{AZURERM.package}._jsii"}
    assert 0 < len(used) < 300, f"{len(used)} azurerm submodules imported"
    # The github stack's provider too: its __init__ would import all 153 submodules.
    used = fast.submodules_of(GITHUB) - {f"{GITHUB.package}._jsii"}
    assert 0 < len(used) < 30, f"{len(used)} github submodules imported"


@pytest.mark.slow
def test_a_fast_synth_records_the_provider_types_it_used_for_the_next_warm_up(fast: Synth) -> None:
    recorded = warm_up.recorded_types()
    assert STALE_WARM_UP not in recorded
    # The resource types the synth created, one per submodule it imported (not every submodule's: with tier
    # lazy-classes the cron job's submodule imports job_v1 for its blocks' classes, and JobV1 is never created).
    namespaces = {fqn.rpartition(".")[0] for fqn in recorded}
    imported = set()
    for item in fast_import._active:
        imported |= {
            namespace for namespace, module in item.submodule_of_namespace.items() if module in fast.provider_modules
        }
    assert namespaces <= imported and len(recorded) == len(namespaces)
    assert {
        "@cdktf/provider-azurerm.kubernetesCluster.KubernetesCluster",
        "@cdktf/provider-kubernetes.cronJobV1.CronJobV1",
        "@cdktf/provider-github.repositoryEnvironment.RepositoryEnvironment",
    } <= set(recorded)
    assert len(imported - namespaces) < len(imported) // 10, "types created, not only imported, are recorded"


@pytest.mark.slow
def test_a_fast_one_shot_synth_shares_one_cpu_with_its_kernel(fast: Synth, ordinary: Synth) -> None:
    assert fast.cpus == 1
    assert ordinary.cpus == len(os.sched_getaffinity(0)), "the ordinary path leaves the CPUs alone"


@pytest.mark.slow
def test_fast_and_ordinary_synth_write_byte_identical_files(fast: Synth, ordinary: Synth) -> None:
    assert WARNING not in ordinary.stderr
    assert len(ordinary.submodules_of(AZURERM)) > 1500, "ERP_SYNTH_ORDINARY=1 did not import the ordinary way"
    assert stack_names(fast) == stack_names(ordinary) != []
    for stack in stack_names(fast):
        assert f"stacks/{stack}/cdk.tf.json" in fast.files
    assert sorted(fast.files) == sorted(ordinary.files)
    assert [name for name in fast.files if fast.files[name] != ordinary.files[name]] == []


@pytest.mark.slow
def test_a_different_installed_version_falls_back_with_one_warning_and_the_same_output(
    fast: Synth, ordinary: Synth, fallback: Synth
) -> None:
    warnings = [line for line in fallback.stderr.splitlines() if WARNING in line]
    assert len(warnings) == 1
    assert "cdktf-cdktf-provider-kubernetes 12.1.2 is installed, the fast path is for 12.1.1" in warnings[0]
    assert fallback.stderr.splitlines() == warnings + ordinary.stderr.splitlines()
    assert len(fallback.submodules_of(AZURERM)) > 1500, "the fallback did not import the ordinary way"
    assert fallback.files == fast.files


@pytest.mark.parametrize(
    "setting, reason",
    [
        ({"JSII_RUNTIME_PACKAGE_CACHE": "disabled"}, "JSII_RUNTIME_PACKAGE_CACHE is not 'enabled'"),
        ({"JSII_VALIDATE_ASSEMBLIES": "1"}, "JSII_VALIDATE_ASSEMBLIES is set"),
        ({"JSII_RUNTIME": "/opt/other/jsii-runtime.js"}, "JSII_RUNTIME is set"),
    ],
)
def test_jsii_settings_the_fast_kernel_would_not_honour_get_the_ordinary_path(
    setting: dict[str, str], reason: str
) -> None:
    script = "from runtime import fast_import; print(fast_import.enable())"
    env = environment_without_force_ordinary()
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        env={**env, **setting},
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert result.stdout == "False\n"
    assert result.stderr.splitlines() == [f"{WARNING}, using ordinary imports (same output, slower): {reason}"]


def test_a_failed_kernel_start_is_raised_by_the_first_cdktf_import() -> None:
    script = """
import sys, threading
from runtime import fast_import
assert fast_import.enable(single_synth=True)
import config.loader  # needs no kernel
try:
    import cdktf
except FileNotFoundError as error:
    print("raised:", error.filename, [t.name for t in threading.enumerate()], file=sys.stderr)
    fast_import.exit_process(3)
"""
    env = environment_without_force_ordinary()
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        env={**env, "JSII_NODE": "/nonexistent/node"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 3, result.stderr
    assert result.stderr.splitlines() == ["raised: /nonexistent/node ['MainThread']"]


# Enables the fast path, reports the kernel it started, then leaves without using it (as main.py does on
# a configuration error) or after importing cdktf.
LAUNCH_AND_LEAVE = """
import json, os, sys
from runtime import fast_import
from runtime.jsii_runtime import use_project_node
use_project_node()
assert fast_import.enable(single_synth=True)
from jsii._kernel.providers import process
launch = process._NodeProcess.started_by
kernel = launch._channel.kernel
running = kernel.poll() is None and "cdktf" not in sys.modules
if sys.argv[1] == "use":
    import cdktf
    cdktf.App()
print(json.dumps({"pid": kernel.pid, "running_before_any_cdktf_import": running, "loaded": sorted(launch.loaded),
                  "cpus": len(os.sched_getaffinity(0))}))
fast_import.exit_process(0)
"""


@pytest.mark.parametrize("use", ["use", "leave"])
def test_the_kernel_starts_with_enable_and_never_outlives_the_process(use: str) -> None:
    env = environment_without_force_ordinary()
    result = subprocess.run(
        [sys.executable, "-c", LAUNCH_AND_LEAVE, use],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    report = json.loads(result.stdout)
    assert report["running_before_any_cdktf_import"]
    assert report["loaded"] == sorted(["constructs", "cdktf", AZURERM.assembly, KUBERNETES.assembly, GITHUB.assembly])
    # One CPU only once jsii adopted the kernel; a kernel nothing used is stopped all the same.
    assert report["cpus"] == (1 if use == "use" else len(os.sched_getaffinity(0)))
    assert not Path(f"/proc/{report['pid']}").exists(), "the kernel outlived the process"


def test_enabling_after_cdktf_was_imported_keeps_the_ordinary_path() -> None:
    script = "import cdktf\nfrom runtime import fast_import\nprint(fast_import.enable(single_synth=True))"
    env = environment_without_force_ordinary()
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert result.stdout == "False\n"
    assert (
        f"{WARNING}, using ordinary imports (same output, slower): cdktf, constructs imported before" in result.stderr
    )


def test_a_checksum_mismatch_falls_back_before_anything_is_imported() -> None:
    script = f"""
import json, sys
from runtime import fast_import
from runtime.fast import pins
pins.PROVIDERS[0].sha256["_jsii/{AZURERM.tarball}"] = "0" * 64  # as if the tarball had changed
enabled = fast_import.enable()
print(json.dumps([enabled, sorted(n for n in sys.modules if n.split(".")[0] in ("cdktf", "{AZURERM.package}"))]))
"""
    env = environment_without_force_ordinary()
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert json.loads(result.stdout) == [False, []]
    assert result.stderr.splitlines() == [
        f"{WARNING}, using ordinary imports (same output, slower): cdktf-cdktf-provider-azurerm 14.23.1:"
        f" _jsii/{AZURERM.tarball} differs from the pinned sha256"
    ]


@pytest.mark.slow
def test_fast_synth_writes_nothing_into_site_packages(fast_run: tuple[Synth, dict, dict]) -> None:
    _, before, after = fast_run
    changed = sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))
    assert changed == []


def test_derived_tarball_is_the_original_for_the_kernel_at_run_time_with_lazy_main_and_its_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path)
    before = site_packages_state()
    prepared = derive.prepare(KUBERNETES)
    assert site_packages_state() == before
    assert prepared.tarball.parent == tmp_path

    def members(tarball: Path) -> dict[str, tuple[int, int, bytes | None]]:
        with tarfile.open(tarball) as archive:
            return {m.name: (m.mode, m.mtime, archive.extractfile(m).read() if m.isfile() else None) for m in archive}

    original = members(SITE_PACKAGES / KUBERNETES.package / "_jsii" / KUBERNETES.tarball)
    derived = members(prepared.tarball)
    index_files = {f"package/{name}" for name in derive.KERNEL_INDEX_FILES}
    assert derived.keys() - original.keys() == index_files
    # Left out: what the kernel never reads when it has the index (the assembly, TypeScript declarations).
    declarations = {name for name in original if name.endswith(".d.ts")}
    assert len(declarations) > 100
    assert original.keys() - derived.keys() == {"package/.jsii", *declarations}
    assert json.loads(derived["package/.jsii.runtime.v1.json"][2])["assemblyMetadata"]["name"] == KUBERNETES.assembly

    package_json = derived["package/package.json"][2]
    assert json.loads(package_json)["main"] == "lib/lazy-index.js"
    assert package_json.replace(derive.LAZY_MAIN, derive.EAGER_MAIN) == original["package/package.json"][2]

    stripped = 0
    for name, (mode, mtime, content) in original.items():
        if name not in derived or name == "package/package.json":
            continue
        assert derived[name][:2] == (mode, mtime), name
        if not name.endswith(".js") or content == derived[name][2]:
            assert derived[name][2] == content, name
            continue
        # Only a trailing inline source map comment is gone: the code before it is byte for byte the same.
        code, map_comment = content[: len(derived[name][2])], content[len(derived[name][2]) :]
        assert code == derived[name][2], name
        assert map_comment.startswith(b"//# sourceMappingURL=data:application/json;base64,"), name
        assert b"\n" not in map_comment.rstrip(), name
        stripped += 1
    assert stripped > 100
    scripts = [content for name, (_, _, content) in derived.items() if name.endswith(".js")]
    assert not any(b"sourceMappingURL=data:" in script for script in scripts)

    assert len(prepared.submodules) == 109
    assert prepared.submodule_of_namespace["@cdktf/provider-kubernetes.namespaceV1"] == (
        "cdktf_cdktf_provider_kubernetes.namespace_v1"
    )


def test_derived_files_are_reused_and_rederived_when_they_no_longer_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path)
    earlier_recipe = tmp_path / f"{derive._derived_paths(KUBERNETES)[0].name.split('-')[0]}-lazy-main-v0.tgz"
    earlier_recipe.write_bytes(b"derived by an earlier recipe")
    first = derive.prepare(KUBERNETES)
    assert not earlier_recipe.exists()
    written = first.tarball.stat().st_mtime_ns
    assert derive.prepare(KUBERNETES) == first
    assert first.tarball.stat().st_mtime_ns == written, "an intact derived tarball was written again"

    with open(first.tarball, "r+b") as damaged:  # e.g. a disk error or a hand edit
        damaged.seek(1000)
        damaged.write(b"\0" * 16)
    assert derive.prepare(KUBERNETES) == first
    assert sorted(path.suffix for path in tmp_path.iterdir()) == [".json", ".tgz"]


@pytest.fixture
def fast_path_here() -> None:
    """This pytest process is on the fast path (tests/conftest.py) unless the run forces the ordinary one."""
    if os.environ.get(fast_import.FORCE_ORDINARY_ENV) == "1":
        pytest.skip(f"{fast_import.FORCE_ORDINARY_ENV}=1 forces the ordinary path in this process")
    assert fast_import.active(), "tests/conftest.py should enable runtime/fast_import.py"


def test_this_test_process_runs_on_the_fast_path(fast_path_here: None) -> None:
    assert fast_import.active()


def test_provider_package_lists_every_submodule_and_imports_one_on_first_use(fast_path_here: None) -> None:
    import cdktf_cdktf_provider_azurerm as azurerm

    assert len(azurerm.__all__) == 1527
    name = next(name for name in reversed(azurerm.__all__) if f"{azurerm.__name__}.{name}" not in sys.modules)
    assert name in dir(azurerm)
    submodule = getattr(azurerm, name)
    assert sys.modules[f"{azurerm.__name__}.{name}"] is submodule
    with pytest.raises(AttributeError, match="no attribute 'not_a_resource'"):
        _ = azurerm.not_a_resource


# Calls with arguments of the wrong type: a primitive, an item of a list, a struct field, a nested block.
BAD_CALLS = """
import json
from runtime import fast_import
from runtime.jsii_runtime import use_project_node
use_project_node()
enabled = fast_import.enable()
from cdktf import App, TerraformStack
from cdktf_cdktf_provider_azurerm.resource_group import ResourceGroup
from cdktf_cdktf_provider_azurerm.subnet import Subnet, SubnetDelegation, SubnetDelegationServiceDelegation
stack = TerraformStack(App(), "type-checks")
calls = [
    lambda: ResourceGroup(stack, "a", name=42, location="westeurope"),
    lambda: Subnet(
        stack, "b", name="s", resource_group_name="g", virtual_network_name="v", address_prefixes=["10.0.0.0/24", 7]
    ),
    lambda: SubnetDelegation(name="d", service_delegation=SubnetDelegationServiceDelegation(name=3)),
    lambda: Subnet(
        stack, "c", name="s", resource_group_name="g", virtual_network_name="v", delegation=[{"name": "d"}, 5]
    ),
]
errors = []
for call in calls:
    try:
        call()
        errors.append(None)
    except Exception as error:
        errors.append(f"{type(error).__name__}: {error}")
print(json.dumps([enabled, errors]))
"""


@pytest.mark.slow
def test_jsii_type_checks_raise_the_same_errors_as_on_the_ordinary_path() -> None:
    env = environment_without_force_ordinary()
    runs = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", BAD_CALLS],
                cwd=PROJECT_ROOT,
                env={**env, **extra},
                capture_output=True,
                text=True,
                check=True,
                timeout=600,
            ).stdout
        )
        for extra in ({}, {fast_import.FORCE_ORDINARY_ENV: "1"})
    ]
    (fast_enabled, fast_errors), (ordinary_enabled, ordinary_errors) = runs
    assert (fast_enabled, ordinary_enabled) == (True, False)
    assert None not in ordinary_errors
    assert [error.split(":")[0] for error in ordinary_errors].count("TypeError") == 3, ordinary_errors
    assert fast_errors == ordinary_errors


def test_provider_submodules_are_compiled_as_current_jsii_generates_them(fast_path_here: None) -> None:
    from cdktf import App, TerraformStack
    from cdktf_cdktf_provider_azurerm import resource_group

    resource_group.ResourceGroup(TerraformStack(App(), "compiled"), "group", name="g", location="westeurope")

    assert isinstance(resource_group.__loader__, compiling.CurrentJsiiBindingLoader)
    # Annotations stay strings until something asks for them (PEP 563) ...
    assert resource_group.ResourceGroup.__init__.__annotations__["name"] == "builtins.str"
    # ... the hints of a call that ran are resolved once, each when first checked ...
    resolved = [name for stub, name in compiling._hint_of_argument if stub.__module__ == resource_group.__name__]
    assert "name" in resolved and "location" in resolved
    source = resource_group.__loader__._current_source(resource_group.__name__).decode()
    assert "typing.get_type_hints" not in source and source.count(compiling.DEFERRED_HINTS.decode()) > 2
    lines = Path(resource_group.__file__).read_text().splitlines()  # line numbers stay the source file's
    assert lines[resource_group.ResourceGroup.__init__.__code__.co_firstlineno - 1] == "    def __init__("
    # ... the module's check_type asks about None first ...
    generated = getattr(resource_group, "_private", resource_group)  # publication.publish() hides private names
    assert "_fast_none_passes_check" in generated.check_type.__code__.co_names
    # ... and typeguard's version is read once per process, not from its metadata by each module.
    assert (
        compiling.TYPEGUARD_VERSION_ONCE.decode() in source and "_metadata_package_version('typeguard')" not in source
    )
    assert int(importlib.metadata.version("typeguard").split(".")[0]) == generated.TYPEGUARD_MAJOR_VERSION


CHECKED_MODULES = ("cdktf_cdktf_provider_azurerm.kubernetes_cluster", "cdktf_cdktf_provider_kubernetes.cron_job_v1")


def type_checking_stubs(module_name: str) -> list:
    generated = lazy_classes.generated_globals(importlib.import_module(module_name))
    return [value for name, value in generated.items() if name.startswith("_typecheckingstub__")]


@pytest.mark.parametrize("module_name", CHECKED_MODULES)
def test_stub_type_hints_are_what_typing_get_type_hints_returns_for_every_stub(
    fast_path_here: None, module_name: str
) -> None:
    stubs = type_checking_stubs(module_name)
    assert len(stubs) > 100
    for stub in stubs:
        hints = typing.get_type_hints(stub)
        assert compiling.stub_type_hints(stub) == hints, stub.__name__
        assert compiling.stub_type_hints(stub) is compiling.stub_type_hints(stub)
        deferred = compiling.stub_hints(stub)
        for name, hint in hints.items():  # resolved when check_type needs it; judged for None before that
            assert compiling.resolved_hint(deferred[name]) == hint, (stub.__name__, name)
            assert compiling.none_passes_check(deferred[name]) == compiling.none_passes_check(hint), (stub, name)


def test_none_passes_check_only_where_typeguard_passes_none(fast_path_here: None) -> None:
    import typeguard

    expected_types = {
        hint
        for module_name in CHECKED_MODULES
        for stub in type_checking_stubs(module_name)
        for hint in typing.get_type_hints(stub).values()
    }
    shortcut = [hint for hint in expected_types if compiling.none_passes_check(hint)]
    assert len(shortcut) > 50, "the shortcut should cover the common Optional[...] arguments"
    for hint in shortcut:
        typeguard.check_type("argument", None, hint)  # raises TypeError if typeguard rejected None
    # typing.Union, not `int | str`: the bindings' hints are typing.Union/Optional objects (a different type)
    union = typing.Union[int, str]  # noqa: UP007
    assert not compiling.none_passes_check(str) and not compiling.none_passes_check(union)
    with pytest.raises(TypeError):
        typeguard.check_type("argument", None, union)


def test_compiled_bytecode_is_reused_and_compiled_again_when_the_source_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path / "cache")
    source = tmp_path / "generated.py"
    source.write_text(
        "import typing\nimport jsii\n"
        "def _typecheckingstub__1(value: typing.Optional[builtins.str]) -> None: ...\n"
        "def hints():\n    return typing.get_type_hints(_typecheckingstub__1)\n"
    )
    loader = compiling.CurrentJsiiBindingLoader("generated", str(source))
    first = loader.get_code("generated")
    cached = tmp_path / "cache" / "bytecode" / sys.implementation.cache_tag / "generated.pyc"
    written = cached.stat().st_mtime_ns
    assert loader.get_code("generated").co_consts == first.co_consts
    assert cached.stat().st_mtime_ns == written, "an up-to-date cached compilation was written again"

    module: dict = {"builtins": __import__("builtins")}
    exec(first, module)
    assert module["_typecheckingstub__1"].__annotations__ == {
        "value": "typing.Optional[builtins.str]",
        "return": "None",
    }
    # typing.Optional, as get_type_hints resolves the bindings' string annotations (not `str | None`)
    assert module["hints"]() == {"value": typing.Optional[str], "return": type(None)}  # noqa: UP045
    assert module["hints"]() is module["hints"](), "hints are resolved once and then cached"

    source.write_text(source.read_text().replace("builtins.str", "builtins.int"))
    os.utime(source, ns=(written + 1, written + 1))  # as an edit would
    module = {"builtins": __import__("builtins")}
    exec(loader.get_code("generated"), module)
    assert module["hints"]()["value"] == typing.Optional[int]  # noqa: UP045


# A generated submodule in miniature: the real prologue of one (up to its first class), then classes as jsii-pacmak
# writes them: a resource, the struct of a block it takes, a class nothing names, the stub of the resource's init.
LAZY_SAMPLE_CLASSES = '''
@jsii.data_type(jsii_type="sample.lazy.Block", jsii_struct_bases=[], name_mapping={"size": "size"})
class Block:
    def __init__(self, *, size: builtins.str) -> None:
        self._values: typing.Dict[builtins.str, typing.Any] = {"size": size}


class Resource:  # (a jsii class would need the kernel to make one)
    def __init__(self, block: typing.Optional[Block] = None) -> None:
        if __debug__:
            type_hints = typing.get_type_hints(_typecheckingstub__init)
            check_type(argname="argument block", value=block, expected_type=type_hints["block"])
        self.block = block

    @builtins.property
    def block_or_none(self) -> typing.Optional[Block]:
        return typing.cast(typing.Optional[Block], self.block)


class Unnamed(metaclass=jsii.JSIIMeta, jsii_type="sample.lazy.Unnamed"):
    pass


__all__ = ["Block", "Resource", "Unnamed"]

publication.publish()

def _typecheckingstub__init(block: typing.Optional[Block] = None) -> None:
    """Type checking stubs"""
    pass
'''


def import_generated(tmp_path: Path, name: str, source: str) -> types.ModuleType:
    """`source` imported as the provider submodule `name` of a package in `tmp_path`, with step 4's loader."""
    folder = tmp_path / "lazy_sample_package" / name
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text(source)
    fullname = f"lazy_sample_package.{name}"
    loader = compiling.CurrentJsiiBindingLoader(fullname, str(folder / "__init__.py"))
    spec = importlib.util.spec_from_file_location(
        fullname, folder / "__init__.py", loader=loader, submodule_search_locations=[str(folder)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[fullname] = module
    loader.exec_module(module)
    return sys.modules[fullname]


def lazy_sample() -> str:
    generated = (SITE_PACKAGES / "cdktf_cdktf_provider_azurerm" / "resource_group" / "__init__.py").read_text()
    return generated[: generated.index("\nclass ")].replace("from .._jsii import *", "") + LAZY_SAMPLE_CLASSES


def test_a_generated_submodule_creates_each_class_when_first_named(
    fast_path_here: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jsii import _reference_map

    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path / "cache")
    module = import_generated(tmp_path, "lazy_sample", lazy_sample())
    assert {"Block", "Resource", "Unnamed"}.isdisjoint(vars(module)), "no class is created at import"
    assert module.__all__ == ["Block", "Resource", "Unnamed"] and module._private.check_type

    resource = module.Resource()  # the stub's hint of `block` is not resolved for a None
    assert resource.block_or_none is None and "Resource" in vars(module)
    assert "Block" not in vars(module), "an unset optional block's struct class is not created"
    with pytest.raises(TypeError, match="block"):
        module.Resource(block="not a block")  # the same check as the whole module's, resolved when needed
    assert module.Resource(block=module.Block(size="s")).block_or_none._values == {"size": "s"}
    lines = lazy_sample().splitlines()
    first_line = lines.index("    def __init__(self, block: typing.Optional[Block] = None) -> None:") + 1
    assert module.Resource.__init__.__code__.co_firstlineno == first_line, "line numbers as in the source"

    # A type the kernel hands back before anything named it: jsii's lookup creates it.
    assert "sample.lazy.Unnamed" not in _reference_map._types
    assert _reference_map._try_import_type_module("sample.lazy.Unnamed")
    assert _reference_map._types["sample.lazy.Unnamed"] is module.Unnamed
    with pytest.raises(AttributeError):
        _ = module._typecheckingstub__init  # hidden, as publication.publish() hides it


def test_a_submodule_not_generated_as_expected_runs_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path / "cache")
    # Module-level code that names a class would create it at import anyway: the module runs as generated.
    source = lazy_sample().replace("sample.lazy.", "sample.whole.") + "\nDEFAULT = Resource\n"
    assert lazy_classes.split(source.encode(), "other", compiling.STRING_ANNOTATIONS) is None
    module = import_generated(tmp_path, "other", source)
    assert {"Block", "Resource", "Unnamed"} <= set(vars(module)) and "__getattr__" not in vars(module)


def test_pieces_are_read_from_the_file_their_index_came_from(tmp_path: Path) -> None:
    """Another process may replace a module's cache file (atomically, with a new compilation) while this one runs."""
    cut = lazy_classes.split(lazy_sample().encode(), "sample", compiling.STRING_ANNOTATIONS)
    assert cut is not None
    cache, replacement = tmp_path / "sample.split", tmp_path / "replacement"
    with open(cache, "wb") as out:
        lazy_classes.write(cut, b"header\n", out)
    cached = lazy_classes.read(cache, b"header\n")
    assert cached is not None and cached.prologue is not None
    replacement.write_bytes(b"header\n" + bytes(cache.stat().st_size))  # same size, other bytes
    os.replace(replacement, cache)
    resource = cached.piece(cached.piece_of_name["Resource"])
    assert "Resource" in resource.co_names and resource.co_filename == "sample"


def test_the_lazy_classes_tier_checks_how_the_interpreter_looks_globals_up(monkeypatch: pytest.MonkeyPatch) -> None:
    lazy_classes.check_interpreter()

    def never_consulted(self: dict, name: str) -> None:
        raise KeyError(name)

    monkeypatch.setattr(lazy_classes._ProbeGlobals, "__missing__", never_consulted)
    with pytest.raises(settings.Unverified, match="__missing__"):
        lazy_classes.check_interpreter()


def test_the_kernel_runs_without_the_node_wrapper(fast_path_here: None) -> None:
    import jsii

    channel = jsii.kernel.provider._process._process
    assert isinstance(channel, kernel._KernelChannel)
    command = Path(f"/proc/{channel.kernel.pid}/cmdline").read_bytes().split(b"\0")
    assert command[-2].endswith(b"lib/program.js")
    assert list(kernel.kernel_node_flags()) == [part.decode() for part in command[1:-2]]
    children = Path(f"/proc/{channel.kernel.pid}/task/{channel.kernel.pid}/children").read_text().split()
    assert children == [], "the kernel starts no further process"


def test_a_cold_package_cache_starts_the_kernel_sized_for_memory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("JSII_RUNTIME_PACKAGE_CACHE_ROOT", str(tmp_path))
    cold = kernel.kernel_node_flags()
    assert "--optimize-for-size" in cold and cold[-1] == "--preserve-symlinks"  # the wrapper's flag stays last
    assert not set(sync_optimizer.NODE_FLAGS) & set(cold), "sized for memory already"
    (tmp_path / "cdktf").mkdir()  # what the kernel's first extraction leaves
    assert "--optimize-for-size" not in kernel.kernel_node_flags()


CODE_CACHE_PROBE = """
const helper = require("./helper.js");
console.log(JSON.stringify({ sum: helper.add(2, 3), file: __filename, main: require.main === module }));
"""


def run_with_code_cache(script: Path, cache: Path, *v8_flags: str) -> dict:
    result = subprocess.run(
        [os.environ.get("JSII_NODE", "node"), *v8_flags, f"--require={code_cache.PRELOAD}", str(script)],
        env={**os.environ, code_cache.DIRECTORY_ENV: str(cache)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_the_kernel_compiles_with_the_code_cache_of_the_same_source(tmp_path: Path) -> None:
    """Tier code-cache: the first run writes V8's code of each module, keyed by its source; a later run (from
    another folder, as jsii's per-run temporary one) uses it and writes nothing; data V8 rejects is written again."""
    cache = tmp_path / "cache"
    for run in ("first", "second"):
        (tmp_path / run).mkdir()
        (tmp_path / run / "main.js").write_text(CODE_CACHE_PROBE)
        (tmp_path / run / "helper.js").write_text("exports.add = (a, b) => a + b;\n")
    expected = {"sum": 5, "file": str(tmp_path / "first" / "main.js"), "main": True}
    assert run_with_code_cache(tmp_path / "first" / "main.js", cache) == expected
    written = {path.name: path.stat().st_mtime_ns for path in cache.iterdir()}
    assert len(written) == 2, "one entry per module source"
    expected["file"] = str(tmp_path / "second" / "main.js")
    assert run_with_code_cache(tmp_path / "second" / "main.js", cache) == expected
    assert {path.name: path.stat().st_mtime_ns for path in cache.iterdir()} == written, "used, not written again"
    for path in cache.iterdir():
        path.write_bytes(b"not V8 code")
    assert run_with_code_cache(tmp_path / "second" / "main.js", cache) == expected
    assert all(path.read_bytes() != b"not V8 code" for path in cache.iterdir()), "rejected data is replaced"


def test_the_code_cache_keeps_entries_per_set_of_v8_flags(tmp_path: Path) -> None:
    """V8 rejects code cached under other flags: a run under other flags (a tier off, a cold cache) writes entries of
    its own, and the next run under the first flags finds its entries untouched instead of rewriting them."""
    script, cache = tmp_path / "main.js", tmp_path / "cache"
    script.write_text(CODE_CACHE_PROBE)
    (tmp_path / "helper.js").write_text("exports.add = (a, b) => a + b;\n")
    expected = {"sum": 5, "file": str(script), "main": True}
    assert run_with_code_cache(script, cache, *sync_optimizer.NODE_FLAGS) == expected
    first = {path.name: path.stat().st_mtime_ns for path in cache.iterdir()}
    assert run_with_code_cache(script, cache) == expected
    both = {path.name: path.stat().st_mtime_ns for path in cache.iterdir()}
    assert len(both) == 2 * len(first) == 4 and first.items() <= both.items()
    assert run_with_code_cache(script, cache, *sync_optimizer.NODE_FLAGS) == expected
    assert run_with_code_cache(script, cache) == expected
    assert {path.name: path.stat().st_mtime_ns for path in cache.iterdir()} == both, "each run found its own"


VERSION_PROBE = """
const { execSync } = require("child_process");
const answers = [1, 2, 3].map(() => execSync(process.argv[2], { stdio: "pipe" }).toString());
const other = [1, 2].map(() => execSync("echo other", { stdio: "pipe" }).toString());
console.log(JSON.stringify({ answers, other }));
"""


def test_the_kernel_runs_terraform_version_once(tmp_path: Path) -> None:
    """Tier version-once: cdktf's version command runs once and every later call gets its answer; other commands,
    and the command under another binary name, run each time."""
    calls = tmp_path / "calls"
    binary = tmp_path / "fake-terraform"
    binary.write_text(f'#!/bin/sh\necho call >> {calls}\necho "Terraform v1.11.0"\n')
    binary.chmod(0o755)
    (tmp_path / "probe.js").write_text(VERSION_PROBE)

    def probe(command: str) -> dict:
        result = subprocess.run(
            [os.environ.get("JSII_NODE", "node"), f"--require={version_once.PRELOAD}", "probe.js", command],
            cwd=tmp_path,
            env={**os.environ, "TERRAFORM_BINARY_NAME": str(binary)},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return json.loads(result.stdout)

    found = probe(f"{binary} version")
    assert found == {"answers": ["Terraform v1.11.0\n"] * 3, "other": ["other\n"] * 2}
    assert calls.read_text().count("call") == 1
    probe(f"{binary} -version")  # not cdktf's command: each call runs
    assert calls.read_text().count("call") == 4
    assert f"--require={version_once.PRELOAD}" in kernel.kernel_node_flags()


DEFS_PROBE = """
const fs = require("fs");
class LazyTypes {
  get(path) { return fs.readFileSync(path); }  // as jsii 1.142's LazyTypes.get reads the defs file
}
const [defs, other] = process.argv.slice(2);
const lazy = new LazyTypes().get(defs);
const ranges = [[0, 3], [3, 9], [9, 10]].map(([start, end]) => lazy.toString("utf-8", start, end));
console.log(JSON.stringify({
  lazy: Buffer.isBuffer(lazy),
  ranges,
  elsewhere: Buffer.isBuffer(fs.readFileSync(defs)),
  otherFile: Buffer.isBuffer(new LazyTypes().get(other)),
  withOptions: fs.readFileSync(defs, "utf-8"),
}));
"""


def test_the_kernel_reads_type_definitions_by_byte_range(tmp_path: Path) -> None:
    """Tier defs-on-demand: LazyTypes.get's read of a defs file gets a reader of the same bytes by range; every
    other read (another caller, another file, with options) is Node's own Buffer or string."""
    defs = tmp_path / ".jsii.runtime-defs.v1.jsonl"
    defs.write_text('{}\n{"a":1}\n\n')
    other = tmp_path / "other.jsonl"
    other.write_text("x")
    (tmp_path / "probe.js").write_text(DEFS_PROBE)

    def probe(*preload: str) -> dict:
        result = subprocess.run(
            [os.environ.get("JSII_NODE", "node"), *preload, "probe.js", str(defs), str(other)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return json.loads(result.stdout)

    expected = {
        "ranges": ["{}\n", '{"a":1', "}"],
        "elsewhere": True,
        "otherFile": True,
        "withOptions": defs.read_text(),
    }
    assert probe(f"--require={defs_on_demand.PRELOAD}") == {"lazy": False, **expected}
    assert probe() == {"lazy": True, **expected}  # Node's own read: the same bytes, held whole


@pytest.mark.slow
def test_the_fast_kernel_reads_provider_type_definitions_on_demand(
    fast_path_here: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In this process's kernel (the pinned jsii program): the defs files of the looked-up types' assemblies stay
    open for reads by range instead of being read whole (Node's own read closes the file)."""
    import jsii
    from cdktf_cdktf_provider_azurerm.resource_group import ResourceGroup

    assert ResourceGroup.TF_RESOURCE_TYPE == "azurerm_resource_group"  # a static read: the kernel looks the type up
    channel = jsii.kernel.provider._process._process
    descriptors = Path(f"/proc/{channel.kernel.pid}/fd")
    open_files = [os.readlink(descriptor) for descriptor in descriptors.iterdir()]
    defs = [path for path in open_files if path.endswith("/.jsii.runtime-defs.v1.jsonl")]
    assert any("/@cdktf/provider-azurerm/" in path for path in defs), open_files
    assert f"--require={defs_on_demand.PRELOAD}" in kernel.kernel_node_flags()
    monkeypatch.setenv(settings.TIERS_OFF_ENV, "defs-on-demand")
    assert f"--require={defs_on_demand.PRELOAD}" not in kernel.kernel_node_flags()


CREATION_STACK_PROBE = """
const cdktf = require("./node_modules/cdktf/lib/tokens/private/stack-trace.js");
const other = require("./other/stack-trace.js");
console.log(JSON.stringify({ cdktf: cdktf.captureStackTrace(), other: other.captureStackTrace() }));
"""


def test_cdktf_tokens_record_no_creation_stack(tmp_path: Path) -> None:
    """Tier no-creation-stacks: cdktf's captureStackTrace (its module at cdktf's path) returns an empty stack; the
    same module anywhere else is left as it is."""
    stack_trace = "exports.captureStackTrace = () => ['new Intrinsic (intrinsic.js:23:66)'];\n"
    for folder in ("node_modules/cdktf/lib/tokens/private", "other"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "stack-trace.js").write_text(stack_trace)
    (tmp_path / "probe.js").write_text(CREATION_STACK_PROBE)

    def probe(*preload: str) -> dict:
        command = [os.environ.get("JSII_NODE", "node"), *preload, "probe.js"]
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True)
        return json.loads(result.stdout)

    frames = ["new Intrinsic (intrinsic.js:23:66)"]
    assert probe(f"--require={no_creation_stacks.PRELOAD}") == {"cdktf": [], "other": frames}
    assert probe() == {"cdktf": frames, "other": frames}


@pytest.mark.slow
def test_the_fast_kernel_creates_tokens_without_creation_stacks(
    fast_path_here: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In this process's kernel (the pinned cdktf): a token made in the kernel has an empty creation stack."""
    from cdktf import Token

    assert Token.as_any("value").creation_stack == []
    assert f"--require={no_creation_stacks.PRELOAD}" in kernel.kernel_node_flags()
    monkeypatch.setenv(settings.TIERS_OFF_ENV, "no-creation-stacks")
    assert f"--require={no_creation_stacks.PRELOAD}" not in kernel.kernel_node_flags()


def test_the_kernel_optimizes_on_its_main_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tier sync-optimizer: a kernel flag of a warm package cache's run (test_the_kernel_runs_without_the_node_wrapper:
    the real kernel's flags; test_a_cold_package_cache_starts_the_kernel_sized_for_memory: a cold one's)."""
    monkeypatch.setenv("JSII_RUNTIME_PACKAGE_CACHE_ROOT", str(tmp_path))
    (tmp_path / "cdktf").mkdir()
    [flag] = sync_optimizer.NODE_FLAGS
    assert flag == "--no-concurrent-recompilation"
    assert kernel.kernel_node_flags()[2] == flag and kernel.kernel_node_flags()[-1] == "--preserve-symlinks"
    monkeypatch.setenv(settings.TIERS_OFF_ENV, "sync-optimizer")
    assert flag not in kernel.kernel_node_flags()


def test_the_code_cache_tier_is_a_kernel_flag_and_its_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    preload = f"--require={code_cache.PRELOAD}"
    assert preload in kernel.kernel_node_flags() and kernel.kernel_node_flags()[-1] == "--preserve-symlinks"
    assert code_cache.environment() == {code_cache.DIRECTORY_ENV: str(code_cache.CODE_CACHE_DIR)}
    monkeypatch.setenv(settings.TIERS_OFF_ENV, "code-cache")
    assert preload not in kernel.kernel_node_flags() and code_cache.environment() == {}


# Synthesizes the app with tier inputs on, then asks the kernel for every answered `<name>_input` of every resource
# and prints how many answers were compared, how many were set and which differed (after planting a wrong record
# in one resource's tags when argv[2] == "plant").
COMPARE_RECORDED_INPUTS = """
import json, sys
from runtime import fast_import
from runtime.fast import inputs
assert fast_import.enable()
from config.loader import load_all
fast_import.read_once()
from cdktf import TerraformResource
from stacks.app import build_app
app = build_app(outdir=sys.argv[1], environments=load_all())
app.synth()
nodes = [node for stack in app.node.children for node in stack.node.find_all()]
resources = [node for node in nodes if isinstance(node, TerraformResource)]
if sys.argv[2] == "plant":
    tagged = next(node for node in resources if (node.tags_input or {}).get("environment"))
    tagged._fast_inputs["tags"] = {"planted": "x"}
compared, present, differ = 0, 0, []
for node in resources:
    for owner in type(node).__mro__:
        for name in inputs._PATCHED.get(owner, ()):
            getter = vars(owner)[name + "_input"].fget
            recorded, asked = getter(node), getter.__wrapped__(node)
            compared += 1
            present += recorded is not None
            if recorded != asked or type(recorded) is not type(asked):
                differ.append(f"{node.node.path}.{name}_input: {recorded!r} / {asked!r}")
print(json.dumps({"compared": compared, "present": present, "differ": differ}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("plant", ["none", "plant"])
def test_recorded_inputs_are_what_the_kernel_answers_for_every_resource(tmp_path: Path, plant: str) -> None:
    """Tier inputs: after the whole app's synth (constructors, setters and the tagging Aspect's writes), every
    `<name>_input` the record answers equals the kernel's answer; a wrong record is seen (planted)."""
    result = subprocess.run(
        [sys.executable, "-c", COMPARE_RECORDED_INPUTS, str(tmp_path / "out"), plant],
        cwd=PROJECT_ROOT,
        env=environment_without_force_ordinary(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.splitlines()[-1])
    assert found["compared"] > 5000 and found["present"] > 1000, found["compared"]
    if plant == "plant":
        assert len(found["differ"]) == 1 and "tags_input: {'planted': 'x'}" in found["differ"][0]
    else:
        assert found["differ"] == []


def test_inputs_answers_strings_and_string_maps_and_asks_the_kernel_for_the_rest(fast_path_here: None) -> None:
    from cdktf import App, TerraformStack
    from cdktf_cdktf_provider_azurerm.resource_group import ResourceGroup
    from cdktf_cdktf_provider_azurerm.storage_account import StorageAccount

    assert {"name", "location", "tags"} <= inputs._patch(ResourceGroup) == inputs._answered_names(ResourceGroup)
    assert "timeouts" not in inputs._patch(ResourceGroup), "a block is not answered"
    assert "account_replication_type" in inputs._patch(StorageAccount)
    assert inputs._simple({"b": "1", "a": "2"}) == {"b": "1", "a": "2"}
    assert inputs._simple({"10": "x"}) is inputs.UNKNOWN, "JavaScript orders an array index first"
    assert inputs._simple({"010": "x", "a": "y"}) == {"010": "x", "a": "y"}
    assert inputs._simple(["a"]) is inputs.UNKNOWN
    stack = TerraformStack(App(), "inputs")
    group = ResourceGroup(stack, "group", name="rg", location="westeurope")
    assert inputs._RECORD not in vars(group), "created before recording: the kernel answers"
    assert group.tags_input is None and group.name_input == "rg"


def test_jsii_imports_the_submodule_of_a_type_the_kernel_returns(fast_path_here: None) -> None:
    """jsii resolves a type it has not seen yet by importing its submodule, from the map fast_import gave it."""
    from jsii import _reference_map

    kubernetes = next(item for item in fast_import._active if item.provider is KUBERNETES)
    namespace, module = next(
        (namespace, module)
        for namespace, module in sorted(kubernetes.submodule_of_namespace.items())
        if module not in sys.modules
    )
    assert _reference_map._try_import_type_module(f"{namespace}.AnyType")
    assert module in sys.modules


@pytest.mark.slow
def test_the_core_alone_with_every_tier_off_writes_the_same_files(fast: Synth, tmp_path: Path) -> None:
    """Tiers change the speed, never the output: the fast path with all of them off (ERP_FAST_TIERS_OFF)."""
    core = synth(tmp_path, **{settings.TIERS_OFF_ENV: ",".join(settings.TIERS)})
    assert WARNING not in core.stderr
    assert core.submodules_of(AZURERM) == fast.submodules_of(AZURERM), "the core still imports only what is used"
    assert core.cpus == len(os.sched_getaffinity(0)), "tier one-cpu is off"
    assert sorted(core.files) == sorted(fast.files)
    assert [name for name in fast.files if fast.files[name] != core.files[name]] == []


def test_tiers_are_switched_off_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.TIERS_OFF_ENV, "compile, warm-up")
    assert [tier for tier in settings.TIERS if not settings.tier_on(tier)] == ["compile", "warm-up"]
    monkeypatch.delenv(settings.TIERS_OFF_ENV)
    assert all(settings.tier_on(tier) for tier in settings.TIERS)
    monkeypatch.setenv(settings.TIERS_OFF_ENV, "kernel")
    with pytest.raises(ValueError, match="unknown tier"):
        settings.tier_on("compile")


def test_a_recorded_hash_is_used_only_while_the_file_is_unchanged(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Tier hash-record: a file is hashed once; rewritten in place (same size, mtime set back: only its ctime
    tells) or replaced (new inode), it is hashed again."""
    monkeypatch.setattr(hash_record, "HASH_RECORD", tmp_path / "record.json")
    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path)
    monkeypatch.setattr(hash_record, "_hash_record", {})
    monkeypatch.setattr(hash_record, "_hash_record_state", [])
    hashed: list[Path] = []
    hash_file = hash_record.hash_file
    monkeypatch.setattr(hash_record, "hash_file", lambda path: hashed.append(path) or hash_file(path))
    pinned = tmp_path / "pinned.bin"
    pinned.write_bytes(b"one")
    sha = hashlib.sha256
    assert hash_record.sha256_of(pinned) == sha(b"one").hexdigest()
    hash_record.save_hash_record()
    hash_record._hash_record.clear()
    hash_record._hash_record_state.clear()  # as in a new process: read from the record
    assert hash_record.sha256_of(pinned) == sha(b"one").hexdigest()
    assert hashed == [pinned]
    before = pinned.stat()
    time.sleep(0.01)
    pinned.write_bytes(b"two")
    os.utime(pinned, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert hash_record.sha256_of(pinned) == sha(b"two").hexdigest()
    replacement = tmp_path / "new.bin"
    replacement.write_bytes(b"six")
    os.replace(replacement, pinned)
    assert hash_record.sha256_of(pinned) == sha(b"six").hexdigest()
    assert hash_record.sha256_of(tmp_path / "missing") is None
    monkeypatch.setenv(settings.TIERS_OFF_ENV, "hash-record")
    assert hash_record.sha256_of(pinned) == sha(b"six").hexdigest()
    assert len(hashed) == 4


def test_read_once_keeps_the_first_answer_of_a_read_only_property_on_the_object() -> None:
    """Tier memo: the getter runs once per object; a property with a setter would be left alone."""
    calls: list[object] = []

    class Owner:
        @property
        def node(self) -> int:
            calls.append(self)
            return len(calls)

    read = property(memo._read_once_property(Owner.node.fget, "_fast_read_once_node"))
    Owner.node = read  # type: ignore[method-assign, assignment]
    first, second = Owner(), Owner()
    assert (first.node, first.node, second.node, second.node) == (1, 1, 2, 2)
    assert calls == [first, second]


def runtime_imports() -> dict[str, set[str]]:
    """Module -> the runtime modules it imports, for the fast path's entry and its step and tier modules."""
    graph: dict[str, set[str]] = {}
    fast = sorted((PROJECT_ROOT / "runtime" / "fast").glob("*.py"))
    for path in [PROJECT_ROOT / "runtime" / "fast_import.py", *fast]:
        name = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts).removesuffix(".__init__")
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("runtime"):
                imported |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
        graph[name] = imported
    return {name: imported & graph.keys() - {name} for name, imported in graph.items()}


def import_circle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle of `graph`, or [] (depth-first search)."""
    finished: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str]:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in finished:
            return []
        for imported in sorted(graph.get(name, ())):
            if circle := visit(imported, [*path, name]):
                return circle
        finished.add(name)
        return []

    return next((circle for name in sorted(graph) if (circle := visit(name, []))), [])


def test_the_fast_path_is_one_module_per_step_and_tier_without_an_import_circle() -> None:
    graph = runtime_imports()
    assert import_circle(graph) == []
    assert import_circle({**graph, "runtime.fast.settings": {"runtime.fast.kernel"}})  # one the search must find
    # The entry puts the modules together; none of them imports it back.
    assert [name for name, imported in graph.items() if "runtime.fast_import" in imported] == []
    modules = {name.rpartition(".")[2] for name in graph}
    assert {tier.replace("-", "_").replace("compile", "compiling") for tier in settings.TIERS} <= modules
