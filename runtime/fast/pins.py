"""Step 1 (core): the exact jsii and provider distributions the fast path was built for, and their verification.

Exact versions and the sha256 of every file the fast path relies on; on any difference `Unverified`, and the
caller falls back to the ordinary imports.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from runtime.fast.hash_record import sha256_of
from runtime.fast.settings import Unverified

KERNEL_PROGRAM = "_embedded/jsii/lib__program.js"  # in jsii's package directory; extracted as lib/program.js
KERNEL_INDEX_WORKER = "_embedded/jsii/lib__runtime-index-worker.js"


# Python versions the fast path was verified on (tests/test_fast_synth.py, on 3.11 and 3.13 in CI); on
# another it falls back. Each run also checks on the running interpreter what step 4 relies on
# (`compiling.check_interpreter`); the bytecode it caches is kept per interpreter (`sys.implementation.cache_tag`).
VERIFIED_PYTHONS = ((3, 11), (3, 12), (3, 13))


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
    PinnedProvider(
        "cdktf-cdktf-provider-github",
        "15.3.1",
        "cdktf_cdktf_provider_github",
        {
            "__init__.py": "d3d349bc139f732a3adb054f6b7c0925c1ef1b6ddb966a201356722a1f2d88bd",
            "_jsii/__init__.py": "68e3150f16f2fd8f6a8ebd6d09c69881c0a13ee17b9c3dc5dd4cfd59bc4ee71a",
            "_jsii/provider-github@15.3.1.jsii.tgz": "e14a59f43736f20a95f8d72728632bdd5f989dfda16f21505977a8fca55376fd",
        },
        "@cdktf/provider-github",
        "provider-github@15.3.1.jsii.tgz",
    ),
)


def verify(pinned: PinnedDistribution) -> Path:
    try:
        installed = importlib.metadata.version(pinned.distribution)
    except importlib.metadata.PackageNotFoundError:
        raise Unverified(f"{pinned.distribution} is not installed") from None
    if installed != pinned.version:
        raise Unverified(f"{pinned.distribution} {installed} is installed, the fast path is for {pinned.version}")
    directory = package_directory(pinned.package)
    for relative, expected in pinned.sha256.items():
        if sha256_of(directory / relative) != expected:
            raise Unverified(f"{pinned.distribution} {pinned.version}: {relative} differs from the pinned sha256")
    return directory


def package_directory(package: str) -> Path:
    spec = importlib.util.find_spec(package)  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise Unverified(f"package {package} not found")
    return Path(next(iter(spec.submodule_search_locations)))


def verified_pythons() -> str:
    return ", ".join(f"{major}.{minor}" for major, minor in VERIFIED_PYTHONS)


def bundled_assembly(package: str) -> tuple[str, str]:
    """(version, tarball) of the jsii assembly a Python package ships as `_jsii/<package>@<version>.jsii.tgz`."""
    tarballs = list((package_directory(package) / "_jsii").glob(f"{package}@*.jsii.tgz"))
    if len(tarballs) != 1:
        raise Unverified(f"{package}: expected one _jsii/{package}@<version>.jsii.tgz, found {len(tarballs)}")
    return tarballs[0].name.removeprefix(f"{package}@").removesuffix(".jsii.tgz"), str(tarballs[0])
