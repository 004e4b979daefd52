"""Fast synth: import only the provider submodules the app uses, and let the jsii kernel load them lazily.

Why: the prebuilt providers (archived at the versions pinned below) make every synth pay for all of
their resource types. Each package's Python `__init__` imports every submodule (1,527 azurerm + 109
kubernetes), and the jsii Node kernel `require()`s each package's eager `lib/index.js`, which loads the
JavaScript of every resource. That is ~15 s and ~0.9 GB for an app that uses a few dozen types.

How (`enable()`, called before the first cdktf import; README "Performance" has the figures):
1. Verify the installed jsii and provider distributions: exact versions, and the sha256 of every file
   this relies on (`JSII`, `PROVIDERS`). On any difference print one warning line and change nothing:
   the ordinary imports run, slower but with the same output.
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
4. Compile each provider submodule as current jsii-pacmak generates bindings (aws/jsii #5134, #5177), which
   these archived ones predate: annotations kept as strings (PEP 563) instead of ~10,000 `typing`
   expressions evaluated per module at import, and each type-checking stub's hints resolved once with
   jsii's own `cached_type_hints` instead of `typing.get_type_hints` on every call. Same checks, same
   errors; the bytecode is cached in `.cache/jsii-fast/bytecode/`, keyed like Python's own (source
   size and mtime) plus the recipe.
5. Start the kernel (`lib/program.js`) directly on a socket pair instead of through jsii's Node wrapper,
   which only relays the same messages through a second Node process (~55 MB, and a second hop for each
   of ~4,000 messages per synth), with a 4 MB young generation (short-lived messages; 30 MB less peak).
6. Load constructs, cdktf and the derived provider tarballs into the kernel before any `_jsii` module
   runs; the kernel then answers those modules' loads (of the original tarballs) with "already loaded".

For a one-shot synth (`enable(single_synth=True)`, main.py) step 6 runs in a background thread while
the caller loads its configuration, then Python and the kernel share one CPU: they take turns (every
call waits for its answer), and on these VMs waking the other side on another CPU cost more system
time than the whole exchange. `exit_process()` ends the process without interpreter teardown
(thousands of modules, seconds), after the exit handlers have stopped the kernel.
ERP_SYNTH_ORDINARY=1 forces the ordinary path.
"""
from __future__ import annotations

import atexit
import contextlib
import __future__
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
import threading
import types
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from tools.jsii_runtime import PROJECT_ROOT

FORCE_ORDINARY_ENV = "ERP_SYNTH_ORDINARY"
CACHE_DIR = PROJECT_ROOT / ".cache" / "jsii-fast"
RECIPE = "lazy-main-indexed-runtime-only-v3"  # bump when the derivation below changes: it names the derived files

EAGER_MAIN = b'"main": "lib/index.js"'
LAZY_MAIN = b'"main": "lib/lazy-index.js"'
# The two changes current jsii-pacmak makes to generated Python (step 4), applied when compiling.
STRING_ANNOTATIONS = __future__.annotations.compiler_flag
IMPORT_JSII = b"\nimport jsii\n"
IMPORT_JSII_AND_CACHED_HINTS = b"\nimport jsii; from jsii._type_checking import cached_type_hints as _jsii_cached_type_hints\n"
UNCACHED_HINTS = b"typing.get_type_hints(_typecheckingstub__"
CACHED_HINTS = b"_jsii_cached_type_hints(_typecheckingstub__"
INLINE_SOURCE_MAP = b"\n//# sourceMappingURL=data:application/json;base64,"
BASE64_TAIL = re.compile(rb"[A-Za-z0-9+/=]*\s*")
JSII_TYPE = re.compile(rb'jsii_type="([^"]+)\.[^."]+"')
SUBMODULE_IMPORT = re.compile(r"^from \. import (\w+)$", re.MULTILINE)
# The kernel's index of an assembly (jsii 1.142 runtime index v1) and the feature list it checks.
KERNEL_INDEX_FILES = (".jsii.runtime.v1.json", ".jsii.runtime-index.v1", ".jsii.runtime-defs.v1.jsonl")
KERNEL_SUPPORTED_FEATURES = ["intersection-types", "class-covariant-overrides"]
RUN_INDEX_WORKER = """
const { Worker } = require("node:worker_threads");
const [script, packageDir, features] = process.argv.slice(1);
new Worker(script, { workerData: { packageDir, supportedFeatures: JSON.parse(features) } })
  .on("message", (message) => { if (message?.error) { console.error(message.error); process.exitCode = 1; } })
  .on("error", (error) => { console.error(error); process.exitCode = 1; });
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
        "_embedded/jsii/lib__program.js": "ae39a922c041b41d2fc0acc0164699f779b7afd48f50aad05b3f70d3b96a0841",
        # The kernel process this replaces (`_NodeProcess`: start, stop, message framing).
        "_kernel/providers/process.py": "5260a05150ee02f673b183103b2ff892c327af5ef3b38bd293ab761f5d02241f",
        # cached_type_hints, which the provider submodules are compiled to call (step 4).
        "_type_checking.py": "685d90493bb85ec0258a24099a716aac3c44e30d2154116fcc7f5ff54ebad294",
        # JSIIAssembly.load and the lazy type -> submodule lookup.
        "_runtime.py": "227a6f7d730b551229492bb3d4a075492aa3f144fd8fdb65ce8381c1e39ab372",
        "_reference_map.py": "69a3294c810a087afa519021c3b3cd91f5d0b0f05d2442c10f805a5d79e516b8",
        # Builds the kernel's runtime index shipped in the derived tarballs.
        "_embedded/jsii/lib__runtime-index-worker.js": "688df7767b64ae36b4a90db3e8701e6f1081699435a82576e73f1498b985606d",
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
            "_jsii/provider-azurerm@14.23.1.jsii.tgz": "5a0f614dae844379768e17881015f2d4cc02b4d195ce401aeadd9c18b6c9e90a",
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
            "_jsii/provider-kubernetes@12.1.1.jsii.tgz": "0a58a193de50c8475fd53ed0e541ed2f1254dd72f14815943fd9374e6d81b5df",
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
_starts: list[_KernelStart] = []  # a background kernel start (single synth), to wait for before exiting


def enable(*, single_synth: bool = False) -> bool:
    """Switch this process to the fast path if everything verifies; return whether it did.

    Call before anything imports cdktf or a provider. With `single_synth` (a process that synthesizes
    once and exits, i.e. main.py), Python's cyclic GC is also off (synth allocates little garbage), the
    kernel starts in the background while the caller goes on with work that needs no cdktf (loading the
    configuration), and then the process and the kernel share one CPU.
    """
    if os.environ.get(FORCE_ORDINARY_ENV) == "1" or _active:
        return bool(_active)
    try:
        # Once any of these is imported the kernel runs: too late to start it ours (and, for one synth, alone).
        if imported := [name for name in _KernelStart.GATED if name in sys.modules]:
            raise Unverified(f"{', '.join(sorted(imported))} imported before the fast path was enabled")
        _verify(JSII)
        _kernel_reads_the_index()
        bundled = [(package, *_bundled_assembly(package)) for package in ("constructs", "cdktf")]  # load order
        derived = [_prepare(provider) for provider in PROVIDERS]
    except (Unverified, OSError, subprocess.SubprocessError, tarfile.TarError) as problem:
        print(f"warning: fast synth off, using ordinary imports (same output, slower): {problem}", file=sys.stderr)
        return False
    _prepare_imports(derived)
    if single_synth:
        gc.disable()
        _KernelStart(bundled, derived).begin()
    else:
        _load_assemblies(bundled, derived)
    _active.extend(derived)
    return True


def active() -> bool:
    """Whether this process runs on the fast path."""
    return bool(_active)


def exit_process(code: int) -> NoReturn:
    """End the process with `code`; on the fast path without tearing the interpreter down."""
    if not _active:
        sys.exit(code)
    for start in _starts:
        with contextlib.suppress(Exception):  # e.g. a config error: no cdktf import waited for the kernel
            start.wait()
    atexit._run_exitfuncs()  # stops the jsii kernel and relays its last output
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _prepare(provider: PinnedProvider) -> Derived:
    directory = _verify(provider)
    tarball, manifest = _derived_paths(provider)
    recorded = _read_manifest(manifest)
    digest = _hash_file(tarball)
    if recorded is None or digest is None or digest.hexdigest() != recorded["tarball_sha256"]:
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
    spec = importlib.util.find_spec(pinned.package)
    if spec is None or not spec.submodule_search_locations:
        raise Unverified(f"package {pinned.package} not found")
    directory = Path(list(spec.submodule_search_locations)[0])
    for relative, expected in pinned.sha256.items():
        digest = _hash_file(directory / relative)
        if digest is None or digest.hexdigest() != expected:
            raise Unverified(f"{pinned.distribution} {pinned.version}: {relative} differs from the pinned sha256")
    return directory


def _kernel_reads_the_index() -> None:
    """The kernel uses a package's runtime index only from its package cache and without assembly
    validation (lib/program.js, loadRuntimeAssembly); otherwise it reads `.jsii`, which derived tarballs lack."""
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
    complete = isinstance(recorded, dict) and {"tarball_sha256", "submodules", "submodule_of_namespace"} <= set(recorded)
    return recorded if complete else None


def _derive(provider: PinnedProvider, directory: Path, tarball: Path, manifest: Path) -> dict:
    """Write the lazy-main tarball and its manifest (written last, it vouches for the tarball)."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    source = directory / "_jsii" / provider.tarball
    with _atomic_file(tarball) as out:
        _write_lazy_main_tarball(source, _kernel_index(source), out)
    submodules = SUBMODULE_IMPORT.findall((directory / "__init__.py").read_text())
    recorded = {
        "tarball_sha256": _hash_file(tarball).hexdigest(),
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
    worker = _verify(JSII) / "_embedded" / "jsii" / "lib__runtime-index-worker.js"
    with tempfile.TemporaryDirectory(dir=CACHE_DIR, prefix=".index-") as package_dir:
        with tarfile.open(source, "r:gz") as original:
            assembly = original.extractfile("package/.jsii")
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
    reads once the index is there (see `_kernel_reads_the_index`). That is 107 of azurerm's 173 MB the
    kernel would otherwise write into a cold package cache.
    """
    seen_lazy_index = False
    # A fixed gzip header (no time, no name): the same input always gives the same bytes.
    with tarfile.open(source, "r:gz") as original, gzip.GzipFile(
        fileobj=out, mode="wb", compresslevel=6, mtime=0, filename=""
    ) as compressed, tarfile.open(fileobj=compressed, mode="w", format=tarfile.GNU_FORMAT) as derived:
        for member in original:
            content = original.extractfile(member) if member.isfile() else None
            if member.name == "package/package.json":
                text = content.read()
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
                text = _without_inline_source_map(content.read())
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


def _hash_file(path: Path) -> hashlib._Hash | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as source:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
    except FileNotFoundError:
        return None
    return digest


def _prepare_imports(derived: list[Derived]) -> None:
    """Before the kernel starts: our kernel process class, the provider packages and their submodule loader."""
    from jsii import _reference_map
    from jsii._kernel.providers import process

    process._NodeProcess = _kernel_without_wrapper(process._NodeProcess)
    sys.meta_path.insert(0, _ProviderSubmoduleFinder(derived))
    for item in derived:
        sys.modules[item.provider.package] = _package_without_init(item)
        _reference_map._submodule_fqn_map.update(item.submodule_of_namespace)


def _load_assemblies(bundled: list[tuple[str, str, str]], derived: list[Derived]) -> None:
    """Start the kernel and load every assembly in the ordinary order, the providers' from their derived tarballs.

    Only kernel requests, no imports: when `cdktf._jsii` and each provider's `_jsii` module are imported
    later, the kernel answers their loads with "already loaded".
    """
    import jsii

    for name, version, tarball in bundled:
        jsii.kernel.load(name, version, tarball)
    for item in derived:
        jsii.kernel.load(item.provider.assembly, item.provider.version, str(item.tarball))


def _bundled_assembly(package: str) -> tuple[str, str]:
    """(version, tarball) of the jsii assembly a Python package ships as `_jsii/<package>@<version>.jsii.tgz`."""
    spec = importlib.util.find_spec(package)  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise Unverified(f"package {package} not found")
    tarballs = list(Path(list(spec.submodule_search_locations)[0], "_jsii").glob(f"{package}@*.jsii.tgz"))
    if len(tarballs) != 1:
        raise Unverified(f"{package}: expected one _jsii/{package}@<version>.jsii.tgz, found {len(tarballs)}")
    return tarballs[0].name.removeprefix(f"{package}@").removesuffix(".jsii.tgz"), str(tarballs[0])


def _package_without_init(item: Derived) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(
        item.provider.package,
        item.directory / "__init__.py",
        submodule_search_locations=[str(item.directory)],
    )
    package = importlib.util.module_from_spec(spec)  # attributes set, __init__ not executed
    package.__all__ = list(item.submodules)
    known = frozenset(item.submodules)

    def __getattr__(name: str) -> types.ModuleType:
        if name in known:
            return importlib.import_module(f"{item.provider.package}.{name}")
        raise AttributeError(f"module {item.provider.package!r} has no attribute {name!r}")

    package.__getattr__ = __getattr__
    package.__dir__ = lambda: sorted(set(vars(package)) | known)
    return package


class _KernelStart(importlib.abc.MetaPathFinder):
    """`_load_assemblies` in a background thread; meanwhile an import of anything that talks to the kernel waits.

    The kernel's start and the assembly loads (~0.5 s, mostly Node) then overlap the caller's Python-only
    work. jsii is not thread-safe, so no other thread may reach the kernel before this is done: the first
    import of a gated package joins the thread. (The thread imports nothing, so it never needs an import
    lock the waiting thread holds.) Then the kernel and this process are moved onto one CPU, and an error
    of the background start is raised in the importing thread.
    """

    GATED = frozenset({"cdktf", "constructs", *(provider.package for provider in PROVIDERS)})

    def __init__(self, bundled: list[tuple[str, str, str]], derived: list[Derived]) -> None:
        self._thread = threading.Thread(target=self._start, args=(bundled, derived), name="jsii-kernel-start", daemon=True)
        self._error: BaseException | None = None

    def begin(self) -> None:
        sys.meta_path.insert(0, self)
        _starts.append(self)
        self._thread.start()

    def _start(self, bundled: list[tuple[str, str, str]], derived: list[Derived]) -> None:
        try:
            _load_assemblies(bundled, derived)
        except BaseException as error:  # raised again in the thread that waits for the start
            self._error = error

    def find_spec(self, fullname: str, path, target=None) -> None:
        if fullname.partition(".")[0] in self.GATED and threading.current_thread() is not self._thread:
            self.wait()
        return None  # the other finders find it

    def wait(self) -> None:
        self._thread.join()
        if self in sys.meta_path:
            sys.meta_path.remove(self)
            if self._error is None:
                _share_one_cpu()
        if self._error is not None:
            raise self._error


def _share_one_cpu() -> None:
    """Pin this thread and every thread of the kernel to the lowest CPU this process may use (Linux)."""
    import jsii

    if not hasattr(os, "sched_setaffinity"):
        return
    cpu = {min(os.sched_getaffinity(0))}
    os.sched_setaffinity(0, cpu)
    kernel = jsii.kernel.provider._process._process.kernel.pid
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
        if spec is not None:
            spec.loader = _CurrentJsiiBindingLoader(fullname, spec.origin)
        return spec


class _CurrentJsiiBindingLoader(importlib.machinery.SourceFileLoader):
    """Compiles a generated submodule with string annotations and cached type hints (step 4)."""

    def get_code(self, fullname: str) -> types.CodeType:
        source_path = self.get_filename(fullname)
        stat = os.stat(source_path)
        header = importlib.util.MAGIC_NUMBER + f"{RECIPE} {stat.st_size} {stat.st_mtime_ns}\n".encode()
        cached = CACHE_DIR / "bytecode" / f"{fullname}.pyc"
        try:
            data = cached.read_bytes()
            if data.startswith(header):
                return marshal.loads(memoryview(data)[len(header):])
        except (OSError, ValueError, EOFError, TypeError):
            pass  # absent or unreadable: compiled again below
        source = self.get_data(source_path)
        if source.count(IMPORT_JSII) and source.count(UNCACHED_HINTS) == source.count(b"get_type_hints("):
            source = source.replace(IMPORT_JSII, IMPORT_JSII_AND_CACHED_HINTS, 1).replace(UNCACHED_HINTS, CACHED_HINTS)
        code = compile(source, source_path, "exec", flags=STRING_ANNOTATIONS, dont_inherit=True)
        cached.parent.mkdir(parents=True, exist_ok=True)
        with _atomic_file(cached) as out:
            out.write(header + marshal.dumps(code))
        return code


# Node flags of the kernel: jsii's own heap limit, then a 4 MB semi-space instead of 16 MB (each message's
# objects die young; measured: ~30 MB less peak; 1 MB saved 5 MB more but doubled the time in GC), then
# the wrapper's own flag.
KERNEL_NODE_FLAGS = ("--max-old-space-size=4069", "--max-semi-space-size=4", "--preserve-symlinks")
KERNEL_API_FD = 3  # lib/program.js reads requests from and writes answers to fd 3 (SyncStdio)


def _kernel_without_wrapper(node_process: type) -> type:
    """jsii's kernel process class, changed to start `lib/program.js` itself on a socket pair.

    jsii's wrapper (bin/jsii-runtime.js) spawns the kernel with a pipe on fd 3, relays our stdin to it
    and its answers to our stdout, and wraps the kernel's stdout and stderr as base64 JSON lines on its
    own stderr. Here the kernel gets one end of a socket pair as fd 3 and inherits our stdout and
    stderr, so its output arrives unchanged; messages and their framing are jsii's own (send, handshake).
    """

    class KernelProcess(node_process):
        def start(self) -> None:
            program = Path(self._jsii_runtime()).parent.parent / "lib" / "program.js"  # jsii's extracted copy
            ours, theirs = socket.socketpair()
            node = os.environ.get("JSII_NODE", "node")
            with theirs:
                kernel = subprocess.Popen(
                    [node, *KERNEL_NODE_FLAGS, str(program)],
                    stdin=subprocess.DEVNULL,
                    env={**os.environ, "JSII_AGENT": f"Python/{platform.python_version()}"},
                    # fd 3 must be the socket: dup2 makes it inheritable, and close_fds=False keeps it
                    # (our own descriptors are non-inheritable, PEP 446, so no others are passed on).
                    close_fds=False,
                    preexec_fn=lambda: os.dup2(theirs.fileno(), KERNEL_API_FD),
                )
            self._process = _KernelChannel(kernel, ours)
            atexit.register(self.stop)
            self.handshake()

        def stop(self) -> None:
            atexit.unregister(self.stop)
            channel = getattr(self, "_process", None)
            if channel is not None and not channel.stdin.closed:
                channel.close(b'{"exit":0}\n')
            self._ctx_stack.close()

    return KernelProcess


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
