"""Step 2 (core): each provider's npm tarball trimmed to what the kernel reads at run time, derived once.

Into `.cache/jsii-fast/`: package.json with `main` set to the `lib/lazy-index.js` the tarball already ships
(getters that `require()` a resource's file on first use); the JavaScript without its inline source maps (70 % of
its bytes, which the kernel would hold in memory twice; Node applies them only with --enable-source-maps); and,
instead of the 84 MB assembly (`.jsii`) and the TypeScript declarations, the kernel's runtime index of the
assembly, built by jsii's own index worker (so even a cold jsii package cache never parses the whole assembly).
Files are written to a temporary name and renamed, and re-derived when their recorded sha256 no longer matches;
site-packages and the jsii package cache are never edited.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from runtime.fast import settings
from runtime.fast.hash_record import hash_file, sha256_of
from runtime.fast.pins import JSII, KERNEL_INDEX_WORKER, PinnedProvider, verify
from runtime.fast.settings import Unverified, atomic_file

RECIPE = "lazy-main-indexed-runtime-only-v3"  # bump when the derivation below changes: it names the derived files
EAGER_MAIN = b'"main": "lib/index.js"'
LAZY_MAIN = b'"main": "lib/lazy-index.js"'
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
class Derived:
    """A provider ready for the fast path: its lazy-main tarball and submodule names."""

    provider: PinnedProvider
    directory: Path  # the installed package
    tarball: Path
    submodules: list[str]  # Python submodule names, as the package's __init__ imports them
    submodule_of_namespace: dict[str, str]  # jsii namespace ("@cdktf/provider-azurerm.resourceGroup") -> module


def prepare(provider: PinnedProvider) -> Derived:
    directory = verify(provider)
    tarball, manifest = _derived_paths(provider)
    recorded = _read_manifest(manifest)
    if recorded is None or sha256_of(tarball) != recorded["tarball_sha256"]:
        recorded = _derive(provider, directory, tarball, manifest)
    return Derived(
        provider,
        directory,
        tarball,
        recorded["submodules"],
        recorded["submodule_of_namespace"],
    )


def _derived_paths(provider: PinnedProvider) -> tuple[Path, Path]:
    stem = f"{provider.sha256['_jsii/' + provider.tarball]}-{RECIPE}"
    return settings.CACHE_DIR / f"{stem}.tgz", settings.CACHE_DIR / f"{stem}.json"


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
    settings.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    source = directory / "_jsii" / provider.tarball
    with atomic_file(tarball) as out:
        _write_lazy_main_tarball(source, _kernel_index(source), out)
    submodules = SUBMODULE_IMPORT.findall((directory / "__init__.py").read_text())
    recorded = {
        "tarball_sha256": _hash_of_written(tarball),
        "submodules": submodules,
        "submodule_of_namespace": _namespaces(directory, submodules),
    }
    with atomic_file(manifest) as out:
        out.write(json.dumps(recorded, indent=1, sort_keys=True).encode())
    for stale in settings.CACHE_DIR.glob(f"{provider.sha256['_jsii/' + provider.tarball]}-*"):
        if stale not in (tarball, manifest):
            stale.unlink()  # derived by an earlier recipe
    return recorded


def _kernel_index(source: Path) -> dict[str, bytes]:
    """The kernel's runtime index of the assembly, built by the kernel's own index worker.

    Shipped inside the derived tarball, it spares the kernel, on a cold package cache, from parsing
    the whole assembly (88 MB of JSON for azurerm) and from indexing it in the background.
    """
    worker = verify(JSII) / KERNEL_INDEX_WORKER
    with tempfile.TemporaryDirectory(dir=settings.CACHE_DIR, prefix=".index-") as package_dir:
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
    reads once the index is there (see `kernel.check_kernel_settings`). That is 107 of azurerm's 173 MB the
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


def _hash_of_written(path: Path) -> str:
    digest = hash_file(path)
    if digest is None:
        raise Unverified(f"{path} vanished right after it was written")
    return digest.hexdigest()
