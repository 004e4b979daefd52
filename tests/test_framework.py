"""The framework seam (runtime/framework.py) and the Python versions: one app on cdktf and CDK Terrain, 3.11 to 3.13.

Unit tests run everywhere. Tests marked `framework` compare this venv's synth with the venvs
`scripts/setup` builds beside it (`.venv-cdktn`: CDK Terrain; `.venv-3.13`: Python 3.13). They skip
when such a venv is missing, except under ERP_REQUIRE_FRAMEWORKS=1 (scripts/test sets it): then a
missing venv fails the test, so CI cannot pass without proving both frameworks and both Pythons.
"""

from __future__ import annotations

import ast
import atexit
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import typing
from pathlib import Path

import pytest

from runtime import fast_import, framework
from runtime.fast import compiling, pins, settings
from runtime.fast.settings import Unverified
from tests import run_cache
from tools.checks.framework_equivalence import DIFFERENCES, addresses, compare

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CDKTN_PYTHON = PROJECT_ROOT / ".venv-cdktn" / "bin" / "python"
PYTHON_313 = PROJECT_ROOT / ".venv-3.13" / "bin" / "python"
REQUIRE_ENV = "ERP_REQUIRE_FRAMEWORKS"
FAST_PATH_WARNING = "warning: fast synth off, using ordinary imports (same output, slower): "
APP_SOURCES = ("main.py", "config", "constructs", "stacks", "runtime", "tools", "tests")
FRAMEWORK_PACKAGES = tuple(framework.CDKTN_PACKAGES)


def child_env(**changes: str) -> dict[str, str]:
    """This environment for a child that chooses its framework and fast path itself."""
    drop = {framework.FRAMEWORK_ENV, fast_import.FORCE_ORDINARY_ENV, "CDKTF_OUTDIR"}
    return {**{name: value for name, value in os.environ.items() if name not in drop}, **changes}


def other_venv(python: Path) -> Path:
    if not python.is_file():
        message = f"{python.parent.parent.name} is missing (built by scripts/setup, see docs/cdk-terrain.md)"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{message}; {REQUIRE_ENV}=1 requires it")
        pytest.skip(message)
    return python


def synth_with(python: Path, outdir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(python), "main.py"],
        cwd=PROJECT_ROOT,
        env=child_env(CDKTF_OUTDIR=str(outdir), **env),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stderr
    return result


def all_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- the switch --------------------------------------------------------------------------------------


def test_cdktf_is_the_default_and_changes_no_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(framework.FRAMEWORK_ENV, raising=False)
    finders = list(sys.meta_path)
    assert framework.use_selected() == "cdktf"
    assert sys.meta_path == finders
    assert (
        framework.real_name("cdktf_cdktf_provider_azurerm.resource_group")
        == "cdktf_cdktf_provider_azurerm.resource_group"
    )


def test_an_unknown_framework_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(framework.FRAMEWORK_ENV, "terraform-cdk")
    with pytest.raises(
        framework.FrameworkError, match="ERP_FRAMEWORK='terraform-cdk' is not allowed: allowed values are cdktf, cdktn"
    ):
        framework.selected()


@pytest.mark.parametrize(
    "value, message",
    [
        ("bogus", "error: ERP_FRAMEWORK='bogus' is not allowed: allowed values are cdktf, cdktn"),
        (
            "cdktn",
            "error: ERP_FRAMEWORK=cdktn but cdktn, cdktn_provider_azurerm, cdktn_provider_kubernetes, "
            "cdktn_provider_github is not installed",
        ),
    ],
)
def test_main_stops_with_exit_2_on_a_framework_it_cannot_use(value: str, message: str) -> None:
    if value == "cdktn" and framework.real_name("cdktf") == "cdktn":
        pytest.skip("CDK Terrain is installed in this venv")
    result = subprocess.run(
        [sys.executable, "main.py"],
        cwd=PROJECT_ROOT,
        env=child_env(ERP_FRAMEWORK=value),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(message), result.stderr


def test_the_alias_is_the_real_module_and_its_submodules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = tmp_path / "erp_fake_real"
    (real / "sub").mkdir(parents=True)
    (real / "__init__.py").write_text("LOADS = []\nLOADS.append('package')\n")
    (real / "sub" / "__init__.py").write_text(
        "from erp_fake_real import LOADS\nLOADS.append('sub')\nclass Thing: ...\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    finder = framework._AliasFinder({"erp_fake_alias": "erp_fake_real"})
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    try:
        import erp_fake_alias  # type: ignore[import-not-found]
        from erp_fake_alias.sub import Thing  # type: ignore[import-not-found]

        assert sys.modules["erp_fake_alias"] is sys.modules["erp_fake_real"] is erp_fake_alias
        assert Thing is sys.modules["erp_fake_real.sub"].Thing
        assert erp_fake_alias.LOADS == ["package", "sub"], "each module ran once, under its real name"
        assert erp_fake_alias.__spec__.name == "erp_fake_real"
        assert sys.modules["erp_fake_alias.sub"].__spec__.name == "erp_fake_real.sub"
    finally:
        for name in [name for name in sys.modules if name.startswith(("erp_fake_alias", "erp_fake_real"))]:
            del sys.modules[name]


def test_a_single_block_is_passed_as_a_one_item_list_and_read_back_from_it() -> None:
    class Block:
        name = "applications"

    class Resource:
        def __init__(self, scope: object, id: str, *, metadata: object = None) -> None:
            self.metadata = metadata

    class BlockList:
        def get(self, index: int) -> Block:
            assert index == 0
            return Block()

    framework._accept_single_block(Resource, "metadata", Block)
    framework._accept_single_block(Resource, "metadata", Block)  # a second import changes nothing more
    block = Block()
    assert Resource(None, "a", metadata=block).metadata == [block]
    assert Resource(None, "b", metadata={"name": "x"}).metadata == [{"name": "x"}]
    assert Resource(None, "c", metadata=[block]).metadata == [block], "the 3.x form passes unchanged"
    assert Resource(None, "d").metadata is None
    framework._read_first_block(BlockList)
    assert BlockList().name == "applications"
    with pytest.raises(AttributeError):
        BlockList()._private  # noqa: B018


def test_cdk_terrain_targets_the_terraform_the_workflows_run(monkeypatch: pytest.MonkeyPatch) -> None:
    pins = {
        match
        for workflow in (PROJECT_ROOT / ".github" / "workflows").glob("*.yml")
        for match in re.findall(r"terraform_version: ([0-9.]+)", workflow.read_text())
    }
    assert [f">={pin}" for pin in sorted(pins)] == [framework.TARGET_VERSIONS["terraform"]]
    monkeypatch.delenv(framework.CONTEXT_ENV, raising=False)
    framework._declare_target_versions()
    assert json.loads(os.environ[framework.CONTEXT_ENV]) == {"targetVersions": framework.TARGET_VERSIONS}
    caller = {"targetVersions": {"terraform": ">=1.12.0"}, "other": 1}  # e.g. set by the cdktn CLI
    monkeypatch.setenv(framework.CONTEXT_ENV, json.dumps(caller))
    framework._declare_target_versions()
    assert json.loads(os.environ[framework.CONTEXT_ENV]) == caller
    monkeypatch.setenv(framework.CONTEXT_ENV, "{not json")
    with pytest.raises(framework.FrameworkError, match="CDKTF_CONTEXT_JSON is not JSON"):
        framework._declare_target_versions()


def test_cdk_terrain_pins_equal_the_project_pins_they_share() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    ours = {
        re.split(r"==", pin)[0]: pin
        for pin in project["dependencies"] + project["optional-dependencies"]["test"]
        if not pin.startswith(("cdktf", "constructs"))
    }
    lines = (PROJECT_ROOT / "requirements-cdktn.txt").read_text().splitlines()
    theirs = {line.split("==")[0]: line.split("#")[0].strip() for line in lines if line and not line.startswith("#")}
    assert {name: theirs.get(name) for name in ours} == ours
    assert {"cdktn", "cdktn-provider-azurerm", "cdktn-provider-kubernetes", "constructs"} <= set(theirs)


def test_cdk_terrain_lock_holds_its_pins_with_hashes() -> None:
    """requirements-cdktn.lock (scripts/lock) is what `ERP_FRAMEWORK=cdktn scripts/setup` installs, hash-checked."""
    from tests.tools.test_locks import disagreements, lock_pins, normalised, unhashed

    lock = (PROJECT_ROOT / "requirements-cdktn.lock").read_text()
    pins = lock_pins((PROJECT_ROOT / "requirements-cdktn.txt").read_text())
    assert disagreements(pins, lock) == []
    assert unhashed(lock) == []
    assert normalised("cdktf") not in lock_pins(lock), "CDK Terrain's venv holds no cdktf"
    setup = (PROJECT_ROOT / "scripts" / "setup").read_text()
    assert "cdktn) lock=requirements-cdktn.lock" in setup and '--require-hashes --no-deps -r "$lock"' in setup


# --- the fast path on another framework or interpreter -------------------------------------------------


@pytest.mark.parametrize(
    "setup, reason",
    [
        ("", "it is verified for cdktf's packages, ERP_FRAMEWORK=cdktn"),
        (
            "from runtime.fast import pins; pins.VERIFIED_PYTHONS = ((3, 99),)",
            "Python {version} is not one it was verified on (3.99)",
        ),
    ],
)
def test_the_fast_path_falls_back_with_one_warning_line(setup: str, reason: str) -> None:
    script = f"from runtime import fast_import\n{setup}\nprint(fast_import.enable())"
    env = child_env(ERP_FRAMEWORK="cdktn") if not setup else child_env()
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert result.stdout == "False\n"
    version = ".".join(map(str, sys.version_info[:3]))
    assert result.stderr.splitlines() == [FAST_PATH_WARNING + reason.format(version=version)]


def test_the_interpreter_check_passes_here_and_catches_each_broken_assumption(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sys.version_info[:2] in pins.VERIFIED_PYTHONS
    fast_import.check_interpreter()
    breakages = [
        ("STRING_ANNOTATIONS", 0, "no longer keeps annotations as strings"),
        ("none_passes_check", lambda expected: True, "typeguard rejects None for"),
        ("none_passes_check", lambda expected: False, "treatment of Optional differs"),
        ("stub_type_hints", lambda stub: {}, "differ from typing.get_type_hints"),
    ]
    for name, value, message in breakages:
        with monkeypatch.context() as patch:
            patch.setattr(compiling, name, value)
            with pytest.raises(Unverified, match=message):
                fast_import.check_interpreter()
    with monkeypatch.context() as patch:
        patch.delattr(atexit, "_run_exitfuncs")
        with pytest.raises(Unverified, match=r"atexit\._run_exitfuncs is gone"):
            fast_import.check_interpreter()


def test_each_interpreter_caches_its_own_bytecode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path)
    source = tmp_path / "generated.py"
    source.write_text("import typing\nimport jsii\nVALUE: typing.Optional[int] = 1\n")
    compiling.CurrentJsiiBindingLoader("generated", str(source)).get_code("generated")
    cached = tmp_path / "bytecode" / sys.implementation.cache_tag / "generated.pyc"
    assert cached.read_bytes().startswith(importlib.util.MAGIC_NUMBER)
    assert [path.name for path in (tmp_path / "bytecode").iterdir()] == [sys.implementation.cache_tag]


# --- CDK Terrain: the same app, the same output but the listed differences ------------------------------


def app_imports() -> dict[str, set[str]]:
    """Every name the tree imports from cdktf or a provider package, by module."""
    found: dict[str, set[str]] = {}
    for top in APP_SOURCES:
        root = PROJECT_ROOT / top
        for path in [root] if root.is_file() else sorted(root.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in FRAMEWORK_PACKAGES:
                    found.setdefault(node.module, set()).update(alias.name for alias in node.names)
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        if alias.name.split(".")[0] in FRAMEWORK_PACKAGES:
                            found.setdefault(alias.name, set())
    return found


def cdktn_site_packages() -> Path:
    python = other_venv(CDKTN_PYTHON)
    found = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(found.stdout.strip())


def module_source(site: Path, module: str) -> Path:
    path = site.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def top_level_names(source: Path) -> set[str]:
    names = set()
    for node in ast.parse(source.read_text()).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return names


def init_arguments(source: Path) -> dict[str, dict[str, str]]:
    """class -> keyword argument of its __init__ -> annotation, module aliases and quotes removed."""

    def plain(annotation: ast.expr | None) -> str:
        text = ast.unparse(annotation) if annotation is not None else ""
        return re.sub(r"_?(cdktf|cdktn|constructs)_[0-9a-f]{8}\.|['\"]|typing\.|builtins\.", "", text)

    return {
        node.name: {argument.arg: plain(argument.annotation) for argument in init.args.kwonlyargs}
        for node in ast.parse(source.read_text()).body
        if isinstance(node, ast.ClassDef)
        for init in node.body
        if isinstance(init, ast.FunctionDef) and init.name == "__init__"
    }


@pytest.mark.framework
def test_every_name_the_app_imports_exists_in_cdk_terrain() -> None:
    site = cdktn_site_packages()
    missing = []
    for module, names in sorted(app_imports().items()):
        real = framework.CDKTN_PACKAGES[module.split(".")[0]] + module[len(module.split(".")[0]) :]
        source = module_source(site, real)
        if not source.is_file():
            missing.append(f"module {module} -> {real}")
            continue
        submodules = (
            {path.name for path in source.parent.iterdir() if path.is_dir()} if source.stem == "__init__" else set()
        )
        missing += [f"{module}.{name}" for name in sorted(names - top_level_names(source) - submodules)]
    assert missing == []


# kubernetes 3.x argument removed from a class the app uses, and never passed by the app.
REMOVED_AND_UNUSED = {("namespace_v1", "NamespaceV1", "id"), ("namespace_v1", "NamespaceV1Config", "id")}
# github 6.13 argument of another shape that the app never passes (stacks/github.py writes `reviewers` as an override,
# the same JSON under both frameworks; test_github_reviewers_are_never_passed_as_an_argument).
CHANGED_AND_UNUSED = {
    ("repository_environment", "RepositoryEnvironment", "reviewers"),
    ("repository_environment", "RepositoryEnvironmentConfig", "reviewers"),
}


@pytest.mark.framework
def test_both_bindings_take_the_app_s_arguments_alike_except_the_seam_s_single_blocks() -> None:
    """Per class the app imports: every cdktf argument is in CDK Terrain with the same type (or made optional)."""
    site = cdktn_site_packages()
    adapted = {
        (alias.rpartition(".")[2], cls, argument)
        for alias, resource, argument, *_ in framework.SINGLE_BLOCKS_NOW_LISTS
        for cls in (resource, resource + "Config")
    }
    changed, seen_adapted = [], set()
    for module, names in sorted(app_imports().items()):
        package, _, submodule = module.partition(".")
        if not submodule or package == "cdktf":
            continue
        ours = init_arguments(module_source(Path(pins.package_directory(package)).parent, module))
        theirs = init_arguments(module_source(site, framework.CDKTN_PACKAGES[package] + "." + submodule))
        for cls in sorted(set(ours) & {name for name in ours if name.startswith(tuple(names))}):
            for argument, annotation in ours[cls].items():
                now = theirs.get(cls, {}).get(argument)
                key = (submodule, cls, argument)
                if key in adapted:
                    seen_adapted.add(key)
                elif (now is None and key in REMOVED_AND_UNUSED) or key in CHANGED_AND_UNUSED:
                    continue
                elif now not in (annotation, f"Optional[{annotation}]"):
                    changed.append(f"{module}.{cls}({argument}): {annotation} -> {now}")
    assert changed == []
    assert seen_adapted == adapted, "every single block the seam adapts is still a difference of the bindings"


def test_github_reviewers_are_never_passed_as_an_argument() -> None:
    source = (PROJECT_ROOT / "stacks" / "github.py").read_text()
    assert "reviewers=" not in source and 'add_override("reviewers"' in source


@pytest.fixture(scope="module")
def cdktn_synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    python = other_venv(CDKTN_PYTHON)
    outdir = tmp_path_factory.mktemp("cdktn.out")
    result = synth_with(python, outdir, ERP_FRAMEWORK="cdktn")
    # The CDK Terrain step of `scripts/test ci` reads this output rather than synthesizing it again (run_cache).
    run_cache.offer_tree(run_cache.synth_key("cdktn"), outdir)
    return outdir, result.stderr


@pytest.mark.framework
def test_cdk_terrain_synth_equals_cdktf_but_for_the_listed_differences(
    synth_dir: Path, cdktn_synth: tuple[Path, str]
) -> None:
    cdktn_dir, stderr = cdktn_synth
    assert compare(synth_dir, cdktn_dir) == []
    # The fast path is built for cdktf's packages: on CDK Terrain it says so once and steps aside.
    assert stderr.splitlines() == [FAST_PATH_WARNING + "it is verified for cdktf's packages, ERP_FRAMEWORK=cdktn"]


@pytest.mark.framework
def test_each_listed_difference_is_real(synth_dir: Path, cdktn_synth: tuple[Path, str]) -> None:
    cdktn_dir, _ = cdktn_synth
    ours = {path.parent.name: json.loads(path.read_text()) for path in synth_dir.glob("stacks/*/cdk.tf.json")}
    theirs = {path.parent.name: json.loads(path.read_text()) for path in cdktn_dir.glob("stacks/*/cdk.tf.json")}
    assert json.loads((synth_dir / "manifest.json").read_text())["version"] == "0.21.0"
    assert json.loads((cdktn_dir / "manifest.json").read_text())["version"] == "0.24.0"
    for name, stack in theirs.items():
        assert stack["//"]["metadata"]["version"] == "0.24.0"
        assert ours[name]["//"]["metadata"]["version"] == "0.21.0"
        required = stack["terraform"]["required_providers"]
        if "azurerm" in required:
            assert required["azurerm"] == {"source": "azurerm", "version": "4.81.0"}
        if "kubernetes" in required:
            assert required["kubernetes"] == {"source": "hashicorp/kubernetes", "version": "3.4.0"}
            assert ours[name]["terraform"]["required_providers"]["kubernetes"]["source"] == "kubernetes"
        if "github" in required:
            assert required["github"] == {"source": "integrations/github", "version": "6.13.0"}
            assert ours[name]["terraform"]["required_providers"]["github"]["version"] == "6.9.0"
        for address, namespace in stack["resource"].get("kubernetes_namespace_v1", {}).items():
            assert namespace["metadata"] == [ours[name]["resource"]["kubernetes_namespace_v1"][address]["metadata"]]
    assert any("kubernetes_namespace_v1" in stack.get("resource", {}) for stack in theirs.values())
    assert "github" in theirs  # the github provider's row is about a stack that exists
    assert len(DIFFERENCES) == 7  # docs/cdk-terrain.md lists six; docs/delivery.md adds the github row


@pytest.mark.framework
def test_the_state_keeps_every_address_on_cdk_terrain(synth_dir: Path, cdktn_synth: tuple[Path, str]) -> None:
    cdktn_dir, _ = cdktn_synth
    ours = addresses(synth_dir)
    assert ours == addresses(cdktn_dir)
    assert sum(map(len, ours.values())) > 500


def test_the_equivalence_check_reports_an_unlisted_difference(tmp_path: Path) -> None:
    stack = {
        "//": {"metadata": {"version": "0.21.0"}, "outputs": {}},
        "resource": {
            "kubernetes_namespace_v1": {"ns": {"metadata": {"name": "apps"}}},
            "azurerm_resource_group": {"rg": {"name": "rg", "location": "eastus2"}},
        },
        "terraform": {"required_providers": {"kubernetes": {"source": "kubernetes", "version": "2.38.0"}}},
    }
    ours, theirs = tmp_path / "cdktf", tmp_path / "cdktn"
    for root in (ours, theirs):
        (root / "stacks" / "s").mkdir(parents=True)
    (ours / "stacks" / "s" / "cdk.tf.json").write_text(json.dumps(stack, indent=2).replace("{}", "{\n    }"))
    listed = json.loads(json.dumps(stack))
    listed["//"]["metadata"]["version"] = "0.24.0"
    listed["resource"]["kubernetes_namespace_v1"]["ns"]["metadata"] = [{"name": "apps"}]
    listed["terraform"]["required_providers"]["kubernetes"] = {"source": "hashicorp/kubernetes", "version": "3.4.0"}
    (theirs / "stacks" / "s" / "cdk.tf.json").write_text(json.dumps(listed, indent=2))
    assert compare(ours, theirs) == [], "the listed differences alone are equivalent"

    listed["resource"]["azurerm_resource_group"]["rg"]["location"] = "westeurope"
    (theirs / "stacks" / "s" / "cdk.tf.json").write_text(json.dumps(listed, indent=2))
    (theirs / "stacks" / "s" / "extra.json").write_text("{}")
    assert compare(ours, theirs) == [
        "stacks/s/extra.json: only in the cdktn output",
        'stacks/s/cdk.tf.json: /resource/azurerm_resource_group/rg/location: "eastus2" (cdktf) != "westeurope" (cdktn)',
    ]
    (theirs / "stacks" / "s" / "cdk.tf.json").write_text(json.dumps(listed))  # same JSON, other layout
    assert "stacks/s/cdk.tf.json: the cdktn file is laid out differently from its JSON's rendering" in compare(
        ours, theirs
    )


# --- Python 3.13: the same bytes ----------------------------------------------------------------------


@pytest.mark.framework
def test_python_313_synthesizes_byte_identical_files_on_the_fast_path(synth_dir: Path, tmp_path: Path) -> None:
    if sys.version_info[:2] == (3, 13):
        pytest.skip("this is the 3.13 venv: the 3.11 run compares with it")
    python = other_venv(PYTHON_313)
    result = synth_with(python, tmp_path / "out")
    assert result.stderr == "", "3.13 takes the fast path without a warning"
    ours, theirs = all_files(synth_dir), all_files(tmp_path / "out")
    assert sorted(ours) == sorted(theirs)
    assert [name for name in ours if ours[name] != theirs[name]] == []


def test_supported_pythons_are_declared_alike() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11,<3.14"
    assert [f"{major}.{minor}" for major, minor in pins.VERIFIED_PYTHONS] == ["3.11", "3.12", "3.13"]
    setup = (PROJECT_ROOT / "scripts" / "setup").read_text()
    assert "3.11 | 3.12 | 3.13)" in setup
    assert typing.get_type_hints  # the interpreter check above runs on this interpreter


def test_setup_refuses_an_unsupported_python_and_framework(tmp_path: Path) -> None:
    python = shutil.which("python3.10") or shutil.which("python3.14")
    cases = [({"ERP_FRAMEWORK": "cdk"}, "error: ERP_FRAMEWORK=cdk: allowed values are cdktf (default) and cdktn")]
    if python and subprocess.run([python, "-c", ""], capture_output=True).returncode == 0:
        cases.append(({"PYTHON": python}, "the project supports 3.11, 3.12 and 3.13"))
    for env, message in cases:
        result = subprocess.run(
            ["scripts/setup"],
            cwd=PROJECT_ROOT,
            env={**child_env(), "VENV": str(tmp_path / "venv"), **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert not (tmp_path / "venv").exists()
