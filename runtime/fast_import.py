"""Fast synth: import only the provider submodules the app uses, and let the jsii kernel load them lazily.

Why: the prebuilt providers (archived at the versions pinned below) make every synth pay for all of
their resource types. Each package's Python `__init__` imports every submodule (1,527 azurerm + 109
kubernetes), and the jsii Node kernel `require()`s each package's eager `lib/index.js`, which loads the
JavaScript of every resource. That is ~15 s and ~0.9 GB for an app that uses a few dozen types.

How (`enable()`, called before the first cdktf import; docs/performance.md has the figures):
1. Verify the installed jsii and provider distributions: exact versions, and the sha256 of every file
   this relies on (`JSII`, `PROVIDERS`). On any difference print one warning line and change nothing:
   the ordinary imports run, slower but with the same output. A file whose stat identity is unchanged
   since it was hashed is not read again (tier hash-record, `_sha256_of`).
2. Derive once, into `.cache/jsii-fast/`, a copy of each provider's npm tarball with only what the
   kernel reads at run time: package.json with `main` set to the `lib/lazy-index.js` the tarball
   already ships (getters that `require()` a resource's file on first use); the JavaScript without its
   inline source maps (70 % of its bytes, which the kernel would hold in memory twice; Node applies them
   only with --enable-source-maps); and, instead of the 84 MB assembly (`.jsii`) and the TypeScript
   declarations, the kernel's runtime index of the assembly, built by jsii's own index worker (so even
   a cold jsii package cache never parses the whole assembly). Files are written to a temporary name
   and renamed, and re-derived when their recorded sha256 no longer matches; site-packages and the
   jsii package cache are never edited.
3. Register each provider package in `sys.modules` as a module with its real `__path__` whose
   `__init__` is not run: `from cdktf_cdktf_provider_azurerm.resource_group import ResourceGroup`
   imports only that submodule, unchanged (same classes, type hints and runtime type checks).
   Attribute access (`cdktf_cdktf_provider_azurerm.resource_group`) imports a submodule on demand, and
   jsii's own lazy-submodule lookup is given the type -> submodule map.
4. Compile each provider submodule as current jsii-pacmak generates bindings (aws/jsii #5134, #5177),
   which these archived ones predate: annotations kept as strings (PEP 563) instead of ~10,000 `typing`
   expressions evaluated per module at import, and each type-checking stub's hints resolved once
   (`stub_type_hints`; an annotation string shared by many stubs is evaluated once) instead of by
   `typing.get_type_hints` on every call. The generated `check_type` first lets None through where the
   expected type is Optional (`none_passes_check`: what typeguard concludes after trying every member).
   Same checks, same errors; the bytecode is cached in `.cache/jsii-fast/bytecode/<cache tag>/` (one
   folder per interpreter, e.g. cpython-311 and cpython-313 side by side), keyed like Python's own
   (magic number, source size and mtime) plus `COMPILE_RECIPE`. What this relies on is checked on the
   running interpreter each time (`_check_interpreter`); Pythons outside `VERIFIED_PYTHONS` fall back.
5. Start the kernel (`lib/program.js`, a verified copy in `.cache/jsii-fast/kernel/`) at once, directly
   on a socket pair instead of through jsii's Node wrapper, which only relays the same messages through
   a second Node process (~55 MB, and a second hop for each of ~4,000 messages per synth), with a 4 MB
   young generation (short-lived messages; 30 MB less peak).
6. Write the loads of constructs, cdktf and the derived provider tarballs to it straight away, then a
   warm-up per provider type the last synth used (the kernel `require()`s that type's JavaScript): Node
   works through them while Python verifies, loads the caller's configuration and imports the app.
   The answers are read before jsii's first request that needs the kernel; the `_jsii` modules' loads
   of those assemblies are not sent again (the kernel would answer "already loaded").

For a one-shot synth (`enable(single_synth=True)`, main.py), once jsii adopts the kernel, Python and
the kernel share one CPU: they take turns (every call waits for its answer), and on these VMs waking the
other side on another CPU cost more system time than the whole exchange. `exit_process()` ends the
process without interpreter teardown (thousands of modules, seconds), after the exit handlers have
stopped the kernel. ERP_SYNTH_ORDINARY=1 forces the ordinary path.

Tiers. The core (steps 1-3 and 5: verified, derived lazy tarballs, packages without `__init__`, the kernel
started directly) is always on when the fast path is. The rest are tiers, each switchable off for a
measurement or a problem with `ERP_FAST_TIERS_OFF=<tier>[,<tier>...]` (`TIERS`; docs/performance.md has
their measured gains); a tier switched off changes the speed, never the output.
"""

from __future__ import annotations
import __future__

import atexit
import contextlib
import gc
import gzip
import hashlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.metadata
import importlib.util
import io
import json
import marshal
import os
import platform
import re
import socket
import subprocess
import sys
import tarfile
import tempfile
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NoReturn

from runtime import framework
from runtime.jsii_runtime import PROJECT_ROOT

FORCE_ORDINARY_ENV = "ERP_SYNTH_ORDINARY"
TIERS_OFF_ENV = "ERP_FAST_TIERS_OFF"
TIERS = {
    "compile": "step 4: provider submodules compiled with string annotations, shared hints, None checks first",
    "warm-up": "step 6: the kernel require()s the provider types the last synth used, ahead of the app",
    "one-cpu": "one-shot synth: Python and the kernel share one CPU",
    "no-gc": "one-shot synth: Python's cyclic garbage collector off",
    "fast-exit": "one-shot synth: os._exit after the exit handlers, without interpreter teardown",
    "memo": "one-shot synth: construct.node, node.path and terraform_resource_type read from the kernel once each",
    "hash-record": "step 1: a pinned file's sha256 taken from the record while its stat identity is unchanged",
}
CACHE_DIR = PROJECT_ROOT / ".cache" / "jsii-fast"
# Step 1's record: path -> [device, inode, size, mtime_ns, ctime_ns, sha256] of each file it hashed (`_sha256_of`).
HASH_RECORD = CACHE_DIR / "verified-files.json"
WARM_UP_RECORD = CACHE_DIR / "warm-up-types.json"  # provider types main.py used last (see _KernelLaunch)
RECIPE = "lazy-main-indexed-runtime-only-v3"  # bump when the derivation below changes: it names the derived files
# Bump when the compiling (step 4) changes: it keys the bytecode (with this module's path, which the code imports).
COMPILE_RECIPE = f"pep563-shared-hints-none-v1 {__name__}"

EAGER_MAIN = b'"main": "lib/index.js"'
LAZY_MAIN = b'"main": "lib/lazy-index.js"'
# What compiling a generated provider submodule changes (step 4).
STRING_ANNOTATIONS = __future__.annotations.compiler_flag
IMPORT_JSII = b"\nimport jsii\n"
IMPORT_JSII_AND_HELPERS = (
    b"\nimport jsii; from runtime.fast_import import stub_type_hints as _fast_stub_type_hints, "
    b"none_passes_check as _fast_none_passes_check\n"
)
UNCACHED_HINTS = b"typing.get_type_hints(_typecheckingstub__"
CACHED_HINTS = b"_fast_stub_type_hints(_typecheckingstub__"
CHECK_TYPE = b"""
def check_type(argname: str, value: object, expected_type: typing.Any) -> typing.Any:
    if TYPEGUARD_MAJOR_VERSION <= 2:
"""
CHECK_TYPE_NONE_FIRST = b"""
def check_type(argname: str, value: object, expected_type: typing.Any) -> typing.Any:
    if value is None and _fast_none_passes_check(expected_type):
        return None
    if TYPEGUARD_MAJOR_VERSION <= 2:
"""
INLINE_SOURCE_MAP = b"\n//# sourceMappingURL=data:application/json;base64,"
BASE64_TAIL = re.compile(rb"[A-Za-z0-9+/=]*\s*")
JSII_TYPE = re.compile(rb'jsii_type="([^"]+)\.[^."]+"')
SUBMODULE_IMPORT = re.compile(r"^from \. import (\w+)$", re.MULTILINE)
# The kernel's index of an assembly (jsii 1.142 runtime index v1) and the feature list it checks.
KERNEL_INDEX_FILES = (".jsii.runtime.v1.json", ".jsii.runtime-index.v1", ".jsii.runtime-defs.v1.jsonl")
KERNEL_SUPPORTED_FEATURES = ["intersection-types", "class-covariant-overrides"]
KERNEL_PROGRAM = "_embedded/jsii/lib__program.js"  # in jsii's package directory; extracted as lib/program.js
KERNEL_INDEX_WORKER = "_embedded/jsii/lib__runtime-index-worker.js"
RUN_INDEX_WORKER = """
const { Worker } = require("node:worker_threads");
const [script, packageDir, features] = process.argv.slice(1);
new Worker(script, { workerData: { packageDir, supportedFeatures: JSON.parse(features) } })
  .on("message", (message) => { if (message?.error) { console.error(message.error); process.exitCode = 1; } })
  .on("error", (error) => { console.error(error); process.exitCode = 1; });
"""


# Python versions the fast path was verified on (tests/test_fast_synth.py, on 3.11 and 3.13 in CI); on
# another it falls back. Each run also checks on the running interpreter what step 4 relies on
# (`_check_interpreter`); the bytecode it caches is kept per interpreter (`sys.implementation.cache_tag`).
VERIFIED_PYTHONS = ((3, 11), (3, 12), (3, 13))
# A generated type-checking stub in miniature, compiled as step 4 compiles the provider submodules.
INTERPRETER_PROBE = b"""import builtins
import typing
def _typecheckingstub__probe(optional: typing.Optional[builtins.str], union: typing.Union[builtins.int, builtins.str],
                             nested: typing.Sequence[typing.Optional[builtins.str]]) -> None: ...
"""


@dataclass(frozen=True)
class PinnedDistribution:
    distribution: str
    version: str
    package: str
    sha256: dict[str, str]  # path inside the package directory -> sha256 of its bytes


@dataclass(frozen=True)
class PinnedProvider(PinnedDistribution):
    assembly: str  # the npm package name the kernel knows
    tarball: str  # inside _jsii/


JSII = PinnedDistribution(
    "jsii",
    "1.142.0",
    "jsii",
    {
        # The kernel: "already loaded" answer, package cache, runtime index format, API on fd 3.
        KERNEL_PROGRAM: "ae39a922c041b41d2fc0acc0164699f779b7afd48f50aad05b3f70d3b96a0841",
        # The kernel process this replaces (`_NodeProcess`: start, stop, message framing, answers and errors).
        "_kernel/providers/process.py": "5260a05150ee02f673b183103b2ff892c327af5ef3b38bd293ab761f5d02241f",
        # JSIIAssembly.load and the lazy type -> submodule lookup.
        "_runtime.py": "227a6f7d730b551229492bb3d4a075492aa3f144fd8fdb65ce8381c1e39ab372",
        "_reference_map.py": "69a3294c810a087afa519021c3b3cd91f5d0b0f05d2442c10f805a5d79e516b8",
        # Builds the kernel's runtime index shipped in the derived tarballs.
        KERNEL_INDEX_WORKER: "688df7767b64ae36b4a90db3e8701e6f1081699435a82576e73f1498b985606d",
    },
)
PROVIDERS = (
    PinnedProvider(
        "cdktf-cdktf-provider-azurerm",
        "14.23.1",
        "cdktf_cdktf_provider_azurerm",
        {
            "__init__.py": "e5775d021553d75f10d368c2aa999295ef355ff8431f7a64af9de1baa141632e",
            "_jsii/__init__.py": "712e3c2b79c4a81512c4fa1c91bba4b140a91203bf97aba002cbab89f102bbc4",
            "_jsii/provider-azurerm@14.23.1.jsii.tgz": "5a0f614dae844379768e17881015f2d4cc02b4d195ce401aeadd9c18b6c9e90a",  # noqa: E501 (a pinned hash stays on one line)
        },
        "@cdktf/provider-azurerm",
        "provider-azurerm@14.23.1.jsii.tgz",
    ),
    PinnedProvider(
        "cdktf-cdktf-provider-kubernetes",
        "12.1.1",
        "cdktf_cdktf_provider_kubernetes",
        {
            "__init__.py": "f535b1b4ce613343b63713c06542b2f1dfd78a76814c5f679a69eec28905bec7",
            "_jsii/__init__.py": "02feb0b1f1963941c96803549fe5c57da45797f619c21f0b0e3a31d5eb3da41e",
            "_jsii/provider-kubernetes@12.1.1.jsii.tgz": "0a58a193de50c8475fd53ed0e541ed2f1254dd72f14815943fd9374e6d81b5df",  # noqa: E501 (a pinned hash stays on one line)
        },
        "@cdktf/provider-kubernetes",
        "provider-kubernetes@12.1.1.jsii.tgz",
    ),
)


class Unverified(Exception):
    """Something differs from what the fast path was built for; the message says what."""


@dataclass(frozen=True)
class Derived:
    """A provider ready for the fast path: its lazy-main tarball and submodule names."""

    provider: PinnedProvider
    directory: Path  # the installed package
    tarball: Path
    submodules: list[str]  # Python submodule names, as the package's __init__ imports them
    submodule_of_namespace: dict[str, str]  # jsii namespace ("@cdktf/provider-azurerm.resourceGroup") -> module


_active: list[Derived] = []
# Packages whose import talks to the kernel: once one is imported, jsii's kernel runs and it is too late.
KERNEL_USERS = frozenset({"cdktf", "constructs", *(provider.package for provider in PROVIDERS)})


def tier_on(tier: str) -> bool:
    """Whether a tier of the fast path (`TIERS`) is on: all are, unless listed in ERP_FAST_TIERS_OFF."""
    if tier not in TIERS:
        raise ValueError(f"unknown fast-path tier {tier!r}; tiers: {', '.join(TIERS)}")
    off = {name.strip() for name in os.environ.get(TIERS_OFF_ENV, "").split(",") if name.strip()}
    if unknown := off - TIERS.keys():
        raise ValueError(f"{TIERS_OFF_ENV}: unknown tier(s) {', '.join(sorted(unknown))}; tiers: {', '.join(TIERS)}")
    return tier not in off


def enable(*, single_synth: bool = False) -> bool:
    """Switch this process to the fast path if everything verifies; return whether it did.

    Call before anything imports cdktf or a provider. The kernel starts at once and loads the assemblies
    while the caller goes on (see `_KernelLaunch`). With `single_synth` (a process that synthesizes once
    and exits, i.e. main.py), Python's cyclic GC is also off (synth allocates little garbage) and, once
    the kernel is in use, the process and the kernel share one CPU.
    """
    if os.environ.get(FORCE_ORDINARY_ENV) == "1" or _active:
        return bool(_active)
    launch = None
    try:
        if imported := sorted(name for name in KERNEL_USERS if name in sys.modules):
            raise Unverified(f"{', '.join(imported)} imported before the fast path was enabled")
        if (chosen := framework.selected()) != framework.DEFAULT:
            raise Unverified(f"it is verified for cdktf's packages, {framework.FRAMEWORK_ENV}={chosen}")
        if sys.version_info[:2] not in VERIFIED_PYTHONS:
            raise Unverified(
                f"Python {platform.python_version()} is not one it was verified on ({_verified_pythons()})"
            )
        _check_kernel_settings()
        launch = _KernelLaunch(_kernel_program(), share_one_cpu=single_synth and tier_on("one-cpu"))
        for package in ("constructs", "cdktf"):  # jsii's load order
            launch.load(package, *_bundled_assembly(package))
        _check_interpreter()  # after the kernel started: Node boots meanwhile
        _verify(JSII)
        derived = [_prepare(provider) for provider in PROVIDERS]
        for item in derived:
            launch.load(item.provider.assembly, item.provider.version, str(item.tarball))
        for fqn in _recorded_warm_up_types() if tier_on("warm-up") else []:
            launch.warm_up(fqn)
        _save_hash_record()
    except (Unverified, OSError, subprocess.SubprocessError, tarfile.TarError) as problem:
        if launch is not None:
            launch.discard()
        print(f"warning: fast synth off, using ordinary imports (same output, slower): {problem}", file=sys.stderr)
        return False
    if single_synth and tier_on("no-gc"):
        gc.disable()
    _prepare_imports(derived, launch)
    _active.extend(derived)
    return True


# Read-only values that never change once the object exists (a construct's node, a node's path, a resource's
# type), which the app's Aspects and rules read again and again: 557 of 5,844 kernel messages per synth (2026-12-06).
READ_ONCE = (
    ("constructs", "Construct", "node"),
    ("constructs", "Node", "path"),
    ("cdktf", "TerraformResource", "terraform_resource_type"),
)


def read_once() -> None:
    """For a one-shot synth (main.py, before the app is imported; tier memo): the `READ_ONCE` properties keep their
    first answer on the object. Each is a jsii read-only property of an immutable value, so the answer is the same."""
    if not _active or not tier_on("memo"):
        return
    for module_name, class_name, name in READ_ONCE:
        owner = getattr(importlib.import_module(module_name), class_name)
        original = vars(owner)[name]
        if not isinstance(original, property) or original.fset is not None:
            continue  # not what it was verified on (a jsii read-only property): left as it is
        owner_property = _read_once_property(original.fget, f"_fast_read_once_{name}")
        setattr(owner, name, property(owner_property, doc=original.__doc__))


def _read_once_property(getter: Any, slot: str) -> Any:
    def read(self: Any) -> Any:
        try:
            return self.__dict__[slot]
        except KeyError:
            value = self.__dict__[slot] = getter(self)
            return value

    return read


def active() -> bool:
    """Whether this process runs on the fast path."""
    return bool(_active)


def exit_process(code: int, *, partial: bool = False) -> NoReturn:
    """End the process with `code`; on the fast path without tearing the interpreter down. `partial`: the
    process synthesized some of the stacks (`main.py <stack>`), so the types it used add to the warm-up
    record instead of replacing it."""
    if not _active:
        sys.exit(code)
    if code == 0:
        with contextlib.suppress(OSError):
            _record_used_types(keep_recorded=partial)
    if not tier_on("fast-exit"):
        sys.exit(code)
    atexit._run_exitfuncs()  # stops the jsii kernel and relays its last output
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _recorded_warm_up_types() -> list[str]:
    try:
        recorded = json.loads(WARM_UP_RECORD.read_bytes())
    except (OSError, ValueError):
        return []
    return [fqn for fqn in recorded if isinstance(fqn, str)] if isinstance(recorded, list) else []


def _record_used_types(*, keep_recorded: bool = False) -> None:
    """Record the provider resource types this process imported, for the next launch's warm-ups."""
    used = sorted(
        set(_recorded_warm_up_types() if keep_recorded else ())
        | {
            vars(value)["__jsii_type__"]  # set on each binding class by jsii's metaclass
            for item in _active
            for name in item.submodules
            if (module := sys.modules.get(f"{item.provider.package}.{name}")) is not None
            for value in vars(module).values()
            if isinstance(value, type) and "TF_RESOURCE_TYPE" in vars(value) and "__jsii_type__" in vars(value)
        }
    )
    if used != _recorded_warm_up_types():
        with _atomic_file(WARM_UP_RECORD) as out:
            out.write(json.dumps(used, indent=1).encode())


def _prepare(provider: PinnedProvider) -> Derived:
    directory = _verify(provider)
    tarball, manifest = _derived_paths(provider)
    recorded = _read_manifest(manifest)
    if recorded is None or _sha256_of(tarball) != recorded["tarball_sha256"]:
        recorded = _derive(provider, directory, tarball, manifest)
    return Derived(
        provider,
        directory,
        tarball,
        recorded["submodules"],
        recorded["submodule_of_namespace"],
    )


def _verify(pinned: PinnedDistribution) -> Path:
    try:
        installed = importlib.metadata.version(pinned.distribution)
    except importlib.metadata.PackageNotFoundError:
        raise Unverified(f"{pinned.distribution} is not installed") from None
    if installed != pinned.version:
        raise Unverified(f"{pinned.distribution} {installed} is installed, the fast path is for {pinned.version}")
    directory = _package_directory(pinned.package)
    for relative, expected in pinned.sha256.items():
        if _sha256_of(directory / relative) != expected:
            raise Unverified(f"{pinned.distribution} {pinned.version}: {relative} differs from the pinned sha256")
    return directory


def _package_directory(package: str) -> Path:
    spec = importlib.util.find_spec(package)  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise Unverified(f"package {package} not found")
    return Path(next(iter(spec.submodule_search_locations)))


def _verified_pythons() -> str:
    return ", ".join(f"{major}.{minor}" for major, minor in VERIFIED_PYTHONS)


def _check_interpreter() -> None:
    """What step 4 and `exit_process` rely on, checked on the running interpreter and typeguard.

    String annotations under the PEP 563 compiler flag; `stub_type_hints` equal to `typing.get_type_hints`;
    `none_passes_check` agreeing with typeguard's own verdict (None passes Optional, fails a Union
    without None); `atexit._run_exitfuncs` (interpreter-private) still there.
    """
    where = f"Python {platform.python_version()}"
    namespace: dict = {}
    exec(
        compile(INTERPRETER_PROBE, "<fast-path probe>", "exec", flags=STRING_ANNOTATIONS, dont_inherit=True), namespace
    )
    stub = namespace["_typecheckingstub__probe"]
    if not all(isinstance(annotation, str) for annotation in stub.__annotations__.values()):
        raise Unverified(f"{where}: the annotations compiler flag no longer keeps annotations as strings")
    hints = typing.get_type_hints(stub)
    if stub_type_hints(stub) != hints:
        raise Unverified(f"{where}: hints resolved once differ from typing.get_type_hints")
    import typeguard

    verdicts = {}
    for name in ("optional", "union", "nested"):
        try:
            typeguard.check_type(name, None, hints[name])
            verdicts[name] = True
        except TypeError:
            verdicts[name] = False
        if none_passes_check(hints[name]) and not verdicts[name]:
            raise Unverified(f"{where}: typeguard rejects None for {hints[name]}, the None-first check lets it through")
    if verdicts != {"optional": True, "union": False, "nested": False} or not none_passes_check(hints["optional"]):
        raise Unverified(f"{where}: typeguard's or typing's treatment of Optional differs ({verdicts})")
    if not callable(getattr(atexit, "_run_exitfuncs", None)):
        raise Unverified(f"{where}: atexit._run_exitfuncs is gone")


def _check_kernel_settings() -> None:
    """jsii settings under which the fast path's kernel would differ from the one jsii would run.

    The kernel uses a package's runtime index only from its package cache and without assembly
    validation (lib/program.js, loadRuntimeAssembly); otherwise it reads `.jsii`, which derived tarballs
    lack. JSII_RUNTIME names a runtime for jsii to start instead of its own.
    """
    if os.environ.get("JSII_RUNTIME"):
        raise Unverified("JSII_RUNTIME is set")
    if os.environ.get("JSII_RUNTIME_PACKAGE_CACHE", "enabled").lower() != "enabled":
        raise Unverified("JSII_RUNTIME_PACKAGE_CACHE is not 'enabled'")
    if os.environ.get("JSII_VALIDATE_ASSEMBLIES"):
        raise Unverified("JSII_VALIDATE_ASSEMBLIES is set")


def _derived_paths(provider: PinnedProvider) -> tuple[Path, Path]:
    stem = f"{provider.sha256['_jsii/' + provider.tarball]}-{RECIPE}"
    return CACHE_DIR / f"{stem}.tgz", CACHE_DIR / f"{stem}.json"


def _read_manifest(path: Path) -> dict | None:
    try:
        recorded = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    complete = isinstance(recorded, dict) and {"tarball_sha256", "submodules", "submodule_of_namespace"} <= set(
        recorded
    )
    return recorded if complete else None


def _derive(provider: PinnedProvider, directory: Path, tarball: Path, manifest: Path) -> dict:
    """Write the lazy-main tarball and its manifest (written last, it vouches for the tarball)."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    source = directory / "_jsii" / provider.tarball
    with _atomic_file(tarball) as out:
        _write_lazy_main_tarball(source, _kernel_index(source), out)
    submodules = SUBMODULE_IMPORT.findall((directory / "__init__.py").read_text())
    recorded = {
        "tarball_sha256": _hash_of_written(tarball),
        "submodules": submodules,
        "submodule_of_namespace": _namespaces(directory, submodules),
    }
    with _atomic_file(manifest) as out:
        out.write(json.dumps(recorded, indent=1, sort_keys=True).encode())
    for stale in CACHE_DIR.glob(f"{provider.sha256['_jsii/' + provider.tarball]}-*"):
        if stale not in (tarball, manifest):
            stale.unlink()  # derived by an earlier recipe
    return recorded


def _kernel_index(source: Path) -> dict[str, bytes]:
    """The kernel's runtime index of the assembly, built by the kernel's own index worker.

    Shipped inside the derived tarball, it spares the kernel, on a cold package cache, from parsing
    the whole assembly (88 MB of JSON for azurerm) and from indexing it in the background.
    """
    worker = _verify(JSII) / KERNEL_INDEX_WORKER
    with tempfile.TemporaryDirectory(dir=CACHE_DIR, prefix=".index-") as package_dir:
        with tarfile.open(source, "r:gz") as original:
            assembly = _member_content(original, "package/.jsii")
            with open(Path(package_dir) / ".jsii", "wb") as out:
                while chunk := assembly.read(1 << 20):
                    out.write(chunk)
        node = os.environ.get("JSII_NODE", "node")
        arguments = [node, "-e", RUN_INDEX_WORKER, str(worker), package_dir, json.dumps(KERNEL_SUPPORTED_FEATURES)]
        result = subprocess.run(arguments, capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise Unverified(f"indexing {source.name} failed: {result.stderr.strip()[:300]}")
        return {name: (Path(package_dir) / name).read_bytes() for name in KERNEL_INDEX_FILES}


def _write_lazy_main_tarball(source: Path, index: dict[str, bytes], out: io.BufferedWriter) -> None:
    """Copy the tarball member by member with package.json's `main` changed, then add the index.

    Left out: the assembly (`.jsii`) and the TypeScript declarations (`*.d.ts`), which the kernel never
    reads once the index is there (see `_check_kernel_settings`). That is 107 of azurerm's 173 MB the
    kernel would otherwise write into a cold package cache.
    """
    seen_lazy_index = False
    # A fixed gzip header (no time, no name): the same input always gives the same bytes.
    with (
        tarfile.open(source, "r:gz") as original,
        gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0, filename="") as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.GNU_FORMAT) as derived,
    ):
        for member in original:
            content = original.extractfile(member) if member.isfile() else None
            if member.name == "package/package.json":
                text = _member_content(original, member).read()
                if text.count(EAGER_MAIN) != 1:
                    raise Unverified(f"{source.name}: package.json main is not lib/index.js")
                text = text.replace(EAGER_MAIN, LAZY_MAIN)
                member.size = len(text)
                content = io.BytesIO(text)
            elif member.name == "package/.jsii":
                assembly_member = member
                continue
            elif member.name.endswith(".d.ts"):
                continue
            elif member.name.endswith(".js"):
                text = _without_inline_source_map(_member_content(original, member).read())
                member.size = len(text)
                content = io.BytesIO(text)
            seen_lazy_index |= member.name == "package/lib/lazy-index.js"
            derived.addfile(member, content)
        for name, data in index.items():
            entry = tarfile.TarInfo(f"package/{name}")
            entry.size, entry.mode, entry.mtime = len(data), 0o644, assembly_member.mtime
            derived.addfile(entry, io.BytesIO(data))
    if not seen_lazy_index:
        raise Unverified(f"{source.name} has no lib/lazy-index.js")


def _member_content(archive: tarfile.TarFile, member: str | tarfile.TarInfo) -> IO[bytes]:
    content = archive.extractfile(member)
    if content is None:
        raise Unverified(f"{member}: not a file in the provider tarball")
    return content


def _without_inline_source_map(script: bytes) -> bytes:
    """The script without a trailing `//# sourceMappingURL=data:...` comment (only a comment: same code)."""
    start = script.rfind(INLINE_SOURCE_MAP)
    if start < 0 or not BASE64_TAIL.fullmatch(script, start + len(INLINE_SOURCE_MAP)):
        return script
    return script[: start + 1]


def _namespaces(directory: Path, submodules: list[str]) -> dict[str, str]:
    """jsii namespace -> Python module, read from the first `jsii_type=` of each submodule."""
    found = {}
    for name in submodules:
        with open(directory / name / "__init__.py", "rb") as source:
            match = JSII_TYPE.search(source.read())
        if match:
            found[match.group(1).decode()] = f"{directory.name}.{name}"
    return found


class _atomic_file:
    """Write to a temporary file beside `path`, then rename it over `path` (readers never see a partial file)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> io.BufferedWriter:
        descriptor, self.temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        self.file = os.fdopen(descriptor, "wb")
        return self.file

    def __exit__(self, error_type, *_) -> None:
        self.file.close()
        if error_type is None:
            os.chmod(self.temporary, 0o644)
            os.replace(self.temporary, self.path)
        else:
            os.unlink(self.temporary)


def _hash_of_written(path: Path) -> str:
    digest = _hash_file(path)
    if digest is None:
        raise Unverified(f"{path} vanished right after it was written")
    return digest.hexdigest()


_hash_record: dict[str, list] = {}
_hash_record_state: list[str] = []  # "loaded", then "changed" once a new hash is recorded


def _sha256_of(path: Path) -> str | None:
    """The sha256 of a file (None if missing). With tier hash-record, taken from `HASH_RECORD` while the
    file's stat identity (device, inode, size, mtime and ctime in ns) is the one recorded with it: writing
    a file changes its ctime, which no user-space tool sets back, and replacing it changes its inode, so
    a changed file is hashed again; an unchanged one (47 MB of provider tarballs each run) is not re-read."""
    if not tier_on("hash-record"):
        digest = _hash_file(path)
        return digest.hexdigest() if digest else None
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    identity = [status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns]
    if not _hash_record_state:
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads(HASH_RECORD.read_bytes())
            if isinstance(loaded, dict):
                _hash_record.update(loaded)
        _hash_record_state.append("loaded")
    entry = _hash_record.get(str(path))
    if isinstance(entry, list) and len(entry) == len(identity) + 1 and entry[:-1] == identity:
        return entry[-1]
    digest = _hash_file(path)
    if digest is None:
        return None
    _hash_record[str(path)] = [*identity, digest.hexdigest()]
    _hash_record_state.append("changed")
    return digest.hexdigest()


def _save_hash_record() -> None:
    if "changed" in _hash_record_state:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        with _atomic_file(HASH_RECORD) as out:
            out.write(json.dumps(_hash_record, indent=1, sort_keys=True).encode())
        _hash_record_state[:] = ["loaded"]


def _hash_file(path: Path) -> hashlib._Hash | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as source:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
    except FileNotFoundError:
        return None
    return digest


def _prepare_imports(derived: list[Derived], launch: _KernelLaunch) -> None:
    """Before jsii's first request: our kernel process class, the provider packages and their submodule loader."""
    from jsii import _reference_map
    from jsii._kernel.providers import process

    process._NodeProcess = _kernel_without_wrapper(process._NodeProcess, launch)  # type: ignore[misc,assignment]
    if tier_on("compile"):
        sys.meta_path.insert(0, _ProviderSubmoduleFinder(derived))
    for item in derived:
        sys.modules[item.provider.package] = _package_without_init(item)
        _reference_map._submodule_fqn_map.update(item.submodule_of_namespace)


def _bundled_assembly(package: str) -> tuple[str, str]:
    """(version, tarball) of the jsii assembly a Python package ships as `_jsii/<package>@<version>.jsii.tgz`."""
    tarballs = list((_package_directory(package) / "_jsii").glob(f"{package}@*.jsii.tgz"))
    if len(tarballs) != 1:
        raise Unverified(f"{package}: expected one _jsii/{package}@<version>.jsii.tgz, found {len(tarballs)}")
    return tarballs[0].name.removeprefix(f"{package}@").removesuffix(".jsii.tgz"), str(tarballs[0])


def _package_without_init(item: Derived) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(
        item.provider.package,
        item.directory / "__init__.py",
        submodule_search_locations=[str(item.directory)],
    )
    if spec is None:
        raise Unverified(f"{item.provider.package}: no import spec for {item.directory / '__init__.py'}")
    package = importlib.util.module_from_spec(spec)  # attributes set, __init__ not executed
    attributes = vars(package)
    attributes["__all__"] = list(item.submodules)
    known = frozenset(item.submodules)

    def __getattr__(name: str) -> types.ModuleType:
        if name in known:
            return importlib.import_module(f"{item.provider.package}.{name}")
        raise AttributeError(f"module {item.provider.package!r} has no attribute {name!r}")

    attributes["__getattr__"] = __getattr__
    attributes["__dir__"] = lambda: sorted(set(attributes) | known)
    return package


def _share_one_cpu(kernel: int) -> None:
    """Pin this thread and every thread of the kernel process to the lowest CPU this process may use (Linux)."""
    if not hasattr(os, "sched_setaffinity"):
        return
    cpu = {min(os.sched_getaffinity(0))}
    os.sched_setaffinity(0, cpu)
    for thread in os.listdir(f"/proc/{kernel}/task"):
        with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
            os.sched_setaffinity(int(thread), cpu)


class _ProviderSubmoduleFinder(importlib.abc.MetaPathFinder):
    """Finds the provider submodules (not `_jsii`) and gives them the compiling loader below."""

    def __init__(self, derived: list[Derived]) -> None:
        self._submodules = {
            f"{item.provider.package}.{name}" for item in derived for name in item.submodules if name != "_jsii"
        }

    def find_spec(self, fullname: str, path, target=None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self._submodules:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.origin is not None:
            spec.loader = _CurrentJsiiBindingLoader(fullname, spec.origin)
        return spec


_hints_of_stub: dict[types.FunctionType, dict[str, object]] = {}
# (annotation, ids of the objects its names are bound to) -> (resolved type, those objects, kept alive for the ids)
_resolved_annotations: dict[tuple, tuple[object, tuple]] = {}
FREE_NAME = re.compile(r"(?<![\w.])(?!\d)\w+")  # a name not after a dot: looked up in the module's globals
_UNBOUND = object()  # a name the module does not bind (a builtin such as None, or a string inside Literal[...])
NONE_TYPE = type(None)


def stub_type_hints(stub: types.FunctionType) -> dict[str, object]:
    """`typing.get_type_hints(stub)` for a generated type-checking stub, resolved once per process.

    Like jsii's own `cached_type_hints` (current jsii-pacmak), and also across stubs: the same annotation
    string ("typing.Optional[builtins.str]", ~9 of 10 of them repeats) is evaluated once for all modules
    whose globals bind its names to the same objects, as `get_type_hints` would evaluate it in each.
    """
    hints = _hints_of_stub.get(stub)
    if hints is None:
        hints = _hints_of_stub[stub] = {
            name: _resolved_annotation(annotation, stub.__globals__)
            for name, annotation in stub.__annotations__.items()
        }
    return hints


def _resolved_annotation(annotation: object, namespace: dict) -> object:
    if not isinstance(annotation, str):
        return typing.get_type_hints(types.SimpleNamespace(__annotations__={"_": annotation}, __globals__=namespace))[
            "_"
        ]
    bound = tuple(namespace.get(name, _UNBOUND) for name in FREE_NAME.findall(annotation))
    key = (annotation, tuple(map(id, bound)))
    found = _resolved_annotations.get(key)
    if found is None:
        # The evaluation get_type_hints(stub) makes of each annotation: same globals, same ForwardRef flags.
        holder = types.SimpleNamespace(__annotations__={"_": annotation}, __globals__=namespace)
        found = _resolved_annotations[key] = (typing.get_type_hints(holder)["_"], bound)
    return found[0]


def none_passes_check(expected_type: Any) -> bool:
    """Whether typeguard's check of None against `expected_type` passes without trying its members.

    True for a Union with None among its members (every `typing.Optional[...]`): typeguard tries the members
    in order, each other member rejects None with a TypeError it catches, and NoneType accepts it. Six in
    ten checks a synth makes are of None (unset optional arguments), each ~7 µs in typeguard 2.
    """
    return getattr(expected_type, "__origin__", None) is typing.Union and NONE_TYPE in expected_type.__args__


class _CurrentJsiiBindingLoader(importlib.machinery.SourceFileLoader):
    """Compiles a generated submodule with string annotations, hints resolved once and None checks first (step 4)."""

    def get_code(self, fullname: str) -> types.CodeType:
        source_path = self.get_filename(fullname)
        stat = os.stat(source_path)
        header = importlib.util.MAGIC_NUMBER + f"{COMPILE_RECIPE} {stat.st_size} {stat.st_mtime_ns}\n".encode()
        cached = CACHE_DIR / "bytecode" / sys.implementation.cache_tag / f"{fullname}.pyc"
        try:
            data = cached.read_bytes()
            if data.startswith(header):
                return marshal.loads(memoryview(data)[len(header) :])
        except (OSError, ValueError, EOFError, TypeError):
            pass  # absent or unreadable: compiled again below
        source = self.get_data(source_path)
        if source.count(IMPORT_JSII):  # each change only where the generated code is exactly as expected
            source = source.replace(IMPORT_JSII, IMPORT_JSII_AND_HELPERS, 1)
            if source.count(UNCACHED_HINTS) == source.count(b"get_type_hints("):
                source = source.replace(UNCACHED_HINTS, CACHED_HINTS)
            if source.count(CHECK_TYPE) == 1:
                source = source.replace(CHECK_TYPE, CHECK_TYPE_NONE_FIRST)
        code = compile(source, source_path, "exec", flags=STRING_ANNOTATIONS, dont_inherit=True)
        cached.parent.mkdir(parents=True, exist_ok=True)
        with _atomic_file(cached) as out:
            out.write(header + marshal.dumps(code))
        return code


# Node flags of the kernel: jsii's own heap limit, then a 4 MB semi-space instead of 16 MB (each message's
# objects die young; measured: ~30 MB less peak; 1 MB saved 5 MB more but doubled the time in GC), then
# the wrapper's own flag.
KERNEL_NODE_FLAGS = ("--max-old-space-size=4069", "--max-semi-space-size=4", "--preserve-symlinks")
# On a cold jsii package cache the kernel extracts cdktf's and the providers' tarballs first: V8 sized for memory
# keeps that peak under the 300 MB target (measured 311 -> 292 MB for the process tree) at ~10 % more CPU, which a
# cold, disk-bound run does not notice; a warm run keeps the faster default.
COLD_CACHE_NODE_FLAGS = ("--optimize-for-size",)


def _package_cache_is_cold() -> bool:
    """Whether the jsii package cache holds no cdktf yet (a fresh machine, CI, the benchmark's cold rounds).

    The root is the kernel's: JSII_RUNTIME_PACKAGE_CACHE_ROOT, else ~/.cache/aws/jsii/package-cache on Linux.
    Elsewhere the answer is False (the defaults differ): only the memory of a cold run depends on it."""
    configured = os.environ.get("JSII_RUNTIME_PACKAGE_CACHE_ROOT", "")
    if configured:
        root = Path(configured)
    elif sys.platform == "linux":
        root = Path.home() / ".cache" / "aws" / "jsii" / "package-cache"
    else:
        return False
    return not (root / "cdktf").is_dir()


def kernel_node_flags() -> tuple[str, ...]:
    extra = COLD_CACHE_NODE_FLAGS if _package_cache_is_cold() else ()
    return (*KERNEL_NODE_FLAGS[:-1], *extra, KERNEL_NODE_FLAGS[-1])


KERNEL_API_FD = 3  # lib/program.js reads requests from and writes answers to fd 3 (SyncStdio)
KERNEL_GOODBYE = b'{"exit":0}\n'  # what jsii writes to end the kernel


def _kernel_without_wrapper(node_process: type, launch: _KernelLaunch) -> type:
    """jsii's kernel process class, changed to adopt the kernel `launch` started: `lib/program.js` on a socket pair.

    jsii's wrapper (bin/jsii-runtime.js) spawns the kernel with a pipe on fd 3, relays our stdin to it
    and its answers to our stdout, and wraps the kernel's stdout and stderr as base64 JSON lines on its
    own stderr. Here the kernel has one end of a socket pair as fd 3 and inherits our stdout and stderr,
    so its output arrives unchanged; messages and their framing are jsii's own (send, handshake).
    """
    from jsii._kernel.providers import process

    class KernelProcess(node_process):
        started_by = launch

        def start(self) -> None:
            self._process = launch.adopt()
            atexit.register(self.stop)
            self.handshake()

        def send(self, request, response_type):
            if isinstance(request, process.LoadRequest) and launch.loaded.get(request.name) == request.version:
                # The `_jsii` modules' loads of what the launch loaded: the kernel would answer "already
                # loaded" (it compares name and version) and jsii ignores the answer. Imports go on meanwhile.
                return None
            if launch.unanswered:
                self._read_launch_answers()
            return super().send(request, response_type)

        def _read_launch_answers(self) -> None:
            """Before jsii's first own request: the answers to the launch's requests, in order."""
            for required in launch.take_unanswered():
                answer = self._serializer.structure(self._next_message(), process._ProcessResponse)
                if required and not isinstance(answer, process._OkayResponse):  # a load makes no callbacks
                    fault = answer.name == process.ErrorType.JSII_FAULT.value
                    raise (process.JSIIError if fault else RuntimeError)(answer.error) from process.JavaScriptError(
                        answer.stack
                    )
            if launch.share_one_cpu:
                _share_one_cpu(self._process.kernel.pid)

        def stop(self) -> None:
            atexit.unregister(self.stop)
            channel = getattr(self, "_process", None)
            if channel is not None and not channel.stdin.closed:
                channel.close(KERNEL_GOODBYE)
            self._ctx_stack.close()

    return KernelProcess


class _KernelLaunch:
    """The kernel, started by enable() before anything else, and the requests written to it at once.

    Node boots and loads the assemblies (~0.4 s) while this process verifies, imports and goes on with
    the caller's Python-only work (loading the configuration, importing the app). The loads are jsii's
    own requests in jsii's order, the providers' from their derived tarballs. Then come warm-ups: a
    read of a static property of each provider type the last synth used (`WARM_UP_RECORD`), which makes
    the kernel `require()` that type's JavaScript (~0.2 s for this app) before the app asks for it.
    Nothing waits for the answers until jsii's first request other than a load of an assembly loaded
    here; a failed load raises there, a failed warm-up (a type no longer used) is ignored.
    """

    def __init__(self, program: Path, *, share_one_cpu: bool) -> None:
        self.share_one_cpu = share_one_cpu
        self.loaded: dict[str, str] = {}  # assembly -> version
        self._unanswered: list[bool] = []  # per request written: whether an error answer must be raised
        self._error: OSError | None = None
        self._channel: _KernelChannel | None = None
        try:
            self._channel = _spawn_kernel(program)
        except OSError as error:  # e.g. no Node: raised at jsii's first request, where jsii would raise it
            self._error = error
        atexit.register(self.discard)  # stops a kernel nothing used (e.g. the configuration had an error)

    def load(self, name: str, version: str, tarball: str) -> None:
        if self._write({"api": "load", "name": name, "version": version, "tarball": tarball}, required=True):
            self.loaded[name] = version

    def warm_up(self, fqn: str) -> None:
        self._write({"api": "sget", "fqn": fqn, "property": "tfResourceType"}, required=False)

    def _write(self, request: dict, *, required: bool) -> bool:
        if self._channel is None:
            return False
        self._channel.stdin.write(json.dumps(request).encode() + b"\n")
        self._channel.stdin.flush()
        self._unanswered.append(required)
        return True

    @property
    def unanswered(self) -> int:
        return len(self._unanswered)

    def take_unanswered(self) -> list[bool]:
        taken, self._unanswered = self._unanswered, []
        return taken

    def adopt(self) -> _KernelChannel:
        atexit.unregister(self.discard)
        if self._error is not None:
            raise self._error
        if self._channel is None:
            raise RuntimeError("the jsii kernel was adopted twice")
        channel, self._channel = self._channel, None
        return channel

    def discard(self) -> None:
        atexit.unregister(self.discard)
        if self._channel is not None:
            self._channel.close(KERNEL_GOODBYE)
            self._channel = None


def _kernel_program() -> Path:
    """A copy of jsii's kernel (`lib/program.js`, and the index worker it starts from its own folder) in
    our cache, so it can start before jsii is imported (jsii extracts its copy into a new temporary
    folder each run). Copied from the installed jsii, and started only while its sha256 is the pinned one."""
    directory = CACHE_DIR / "kernel" / JSII.sha256[KERNEL_PROGRAM][:16] / "lib"
    for embedded in (KERNEL_PROGRAM, KERNEL_INDEX_WORKER):
        copy, expected = directory / embedded.rpartition("lib__")[2], JSII.sha256[embedded]
        if _sha256_of(copy) != expected:
            data = (_package_directory(JSII.package) / embedded).read_bytes()
            if hashlib.sha256(data).hexdigest() != expected:
                raise Unverified(f"{JSII.distribution} {JSII.version}: {embedded} differs from the pinned sha256")
            directory.mkdir(parents=True, exist_ok=True)
            with _atomic_file(copy) as out:
                out.write(data)
    return directory / "program.js"


def _spawn_kernel(program: Path) -> _KernelChannel:
    """Start the kernel with one end of a new socket pair as its fd 3."""
    ours, theirs = socket.socketpair()
    node = os.environ.get("JSII_NODE", "node")
    with theirs:
        kernel = subprocess.Popen(
            [node, *kernel_node_flags(), str(program)],
            stdin=subprocess.DEVNULL,
            env={**os.environ, "JSII_AGENT": f"Python/{platform.python_version()}"},
            # fd 3 must be the socket: dup2 makes it inheritable, and close_fds=False keeps it
            # (our own descriptors are non-inheritable, PEP 446, so no others are passed on).
            close_fds=False,
            preexec_fn=lambda: os.dup2(theirs.fileno(), KERNEL_API_FD),
        )
    return _KernelChannel(kernel, ours)


class _KernelChannel:
    """The kernel process and the socket to it, as jsii's process class uses them (stdin, stdout)."""

    def __init__(self, kernel: subprocess.Popen, sock: socket.socket) -> None:
        self.kernel, self.socket = kernel, sock
        self.stdin, self.stdout = sock.makefile("wb"), sock.makefile("rb")

    def close(self, goodbye: bytes) -> None:
        """Ask the kernel to exit (as jsii does), wait up to 5 s, then end it."""
        with contextlib.suppress(OSError):  # the kernel may be gone already
            self.stdin.write(goodbye)
            self.stdin.flush()
        with contextlib.suppress(OSError):
            self.stdin.close()
            self.socket.shutdown(socket.SHUT_WR)
        try:
            self.kernel.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kernel.terminate()
            self.kernel.wait()
        self.stdout.close()
        self.socket.close()
