"""The one seam between the app and its CDK framework: CDK for Terraform (default) or CDK Terrain.

The app is written once against cdktf's import names (`from cdktf import App`,
`from cdktf_cdktf_provider_azurerm.resource_group import ResourceGroup`). CDK Terrain, the maintained
fork of the archived cdktf, has the same programming model and the same class names under new package
names. With `ERP_FRAMEWORK=cdktn` (installed by `ERP_FRAMEWORK=cdktn scripts/setup` into
`.venv-cdktn`, docs/cdk-terrain.md), `use_selected()` adds an import finder that
answers each of the app's names with CDK Terrain's module of the same place:

    cdktf[.x]                             -> cdktn[.x]
    cdktf_cdktf_provider_azurerm[.x]      -> cdktn_provider_azurerm[.x]      (azurerm 4.81.0 bindings)
    cdktf_cdktf_provider_kubernetes[.x]   -> cdktn_provider_kubernetes[.x]   (kubernetes 3.4.0 bindings)
    cdktf_cdktf_provider_github[.x]       -> cdktn_provider_github[.x]       (github 6.13.0 bindings)

The alias name and the real name are the same module object (same classes, same jsii types), so
constructs, stacks and tests need no framework name. Every name the app imports exists under the same
module and class name in both (`tests/test_framework.py` checks every import of the tree against the
installed framework, and compares the argument types of both bindings of every class the app uses).

One form of the kubernetes 2.x bindings that the app uses is gone in 3.x (`SINGLE_BLOCKS_NOW_LISTS`):
`kubernetes_namespace_v1` moved to the provider's plugin framework and its `metadata` block, one
object in 2.x, is a list of blocks in 3.x (at most one). The seam passes the app's single block as a
one-item list and lets `namespace.metadata.name` read the first block, as 2.x code does; the
synthesized block is then `[{...}]` instead of `{...}` (the same block to Terraform; docs/cdk-terrain.md
"Moving to CDK Terrain" lists every difference). Call `use_selected()` before the first
cdktf import (main.py and tests/conftest.py do, next to `fast_import.enable`).
"""

from __future__ import annotations

import functools
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import types
import typing

FRAMEWORK_ENV = "ERP_FRAMEWORK"
DEFAULT = "cdktf"
FRAMEWORKS = ("cdktf", "cdktn")
# The app's top-level import names (cdktf's) -> CDK Terrain's.
CDKTN_PACKAGES = {
    "cdktf": "cdktn",
    "cdktf_cdktf_provider_azurerm": "cdktn_provider_azurerm",
    "cdktf_cdktf_provider_kubernetes": "cdktn_provider_kubernetes",
    "cdktf_cdktf_provider_github": "cdktn_provider_github",
}

# kubernetes 2.x single blocks (MaxItems 1) that the 3.x bindings take as a list of blocks, in the app's
# names: (module, resource class, argument, struct class of one block, list class its attribute returns).
SINGLE_BLOCKS_NOW_LISTS = (
    (
        "cdktf_cdktf_provider_kubernetes.namespace_v1",
        "NamespaceV1",
        "metadata",
        "NamespaceV1Metadata",
        "NamespaceV1MetadataList",
    ),
)

# CDK Terrain checks each feature the app uses against the Terraform versions the project targets
# (cdktn's `targetVersions`, default terraform >=1.5.7 and opentofu >=1.6.0); write-only arguments
# (e.g. `data_wo` of the tracing secret) need terraform >=1.11. The project runs the Terraform its
# workflows pin (terraform_version in .github/workflows/, tests/test_framework.py keeps them equal) and
# not OpenTofu. Passed as App context through CDKTF_CONTEXT_JSON, where cdktn's App reads it.
TARGET_VERSIONS = {"terraform": ">=1.11.4"}
CONTEXT_ENV = "CDKTF_CONTEXT_JSON"


class FrameworkError(Exception):
    """ERP_FRAMEWORK names no supported framework, or the selected one is not installed."""


def selected() -> str:
    """The framework chosen by ERP_FRAMEWORK (unset or empty: cdktf)."""
    value = os.environ.get(FRAMEWORK_ENV, "") or DEFAULT
    if value not in FRAMEWORKS:
        raise FrameworkError(f"{FRAMEWORK_ENV}={value!r} is not allowed: allowed values are {', '.join(FRAMEWORKS)}")
    return value


def use_selected() -> str:
    """Make the app's cdktf imports resolve to the selected framework; return its name. Idempotent."""
    framework = selected()
    if framework == "cdktn" and not any(isinstance(finder, _AliasFinder) for finder in sys.meta_path):
        if imported := sorted(name for name in CDKTN_PACKAGES if name in sys.modules):
            raise FrameworkError(f"{', '.join(imported)} imported before the framework was selected")
        missing = [real for real in CDKTN_PACKAGES.values() if importlib.util.find_spec(real) is None]
        if missing:
            raise FrameworkError(
                f"{FRAMEWORK_ENV}=cdktn but {', '.join(missing)} is not installed in {sys.prefix} "
                "(install with `ERP_FRAMEWORK=cdktn scripts/setup`, then use .venv-cdktn/bin/python)"
            )
        sys.meta_path.insert(0, _AliasFinder(CDKTN_PACKAGES))
        _declare_target_versions()
    return framework


def _declare_target_versions() -> None:
    """Add `targetVersions` to the App context in CDKTF_CONTEXT_JSON, unless the caller (the cdktn CLI) set it."""
    try:
        context = json.loads(os.environ.get(CONTEXT_ENV) or "{}")
    except ValueError as error:
        raise FrameworkError(f"{CONTEXT_ENV} is not JSON: {error}") from None
    if not isinstance(context, dict):
        raise FrameworkError(f"{CONTEXT_ENV} is not a JSON object")
    context.setdefault("targetVersions", TARGET_VERSIONS)
    os.environ[CONTEXT_ENV] = json.dumps(context, sort_keys=True)


def real_name(name: str) -> str:
    """The module the app's import name `name` resolves to under the selected framework."""
    if selected() == DEFAULT:
        return name
    top, dot, rest = name.partition(".")
    return CDKTN_PACKAGES.get(top, top) + dot + rest


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Answers an alias name (and its submodules) with the real module, imported under its own name."""

    def __init__(self, packages: dict[str, str]) -> None:
        self._packages = dict(packages)

    def find_spec(self, fullname: str, path, target=None) -> importlib.machinery.ModuleSpec | None:
        top, dot, rest = fullname.partition(".")
        real = self._packages.get(top)
        if real is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(real + dot + rest))


class _AliasLoader(importlib.abc.Loader):
    """Loads an alias as the real module object itself (imported, and registered, under its real name)."""

    def __init__(self, real: str) -> None:
        self._real = real

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = importlib.import_module(self._real)
        self._real_spec = module.__spec__
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        module.__spec__ = self._real_spec  # importlib set the alias's spec on the shared module object
        for alias, resource, argument, block, block_list in SINGLE_BLOCKS_NOW_LISTS:
            if real_name(alias) == self._real:
                _accept_single_block(getattr(module, resource), argument, getattr(module, block))
                _read_first_block(getattr(module, block_list))


_adapted: set[tuple[type, str]] = set()  # (resource class, argument) whose __init__ the seam wrapped


def _accept_single_block(resource: type, argument: str, block: type) -> None:
    """Let `resource(..., argument=Block(...))` (the 2.x form) mean `argument=[Block(...)]` (the 3.x form)."""
    if (resource, argument) in _adapted:
        return
    original = vars(resource)["__init__"]

    @functools.wraps(original)
    def __init__(self: object, *args: object, **kwargs: object) -> None:
        if isinstance(kwargs.get(argument), (block, dict)):
            kwargs[argument] = [kwargs[argument]]
        original(self, *args, **kwargs)

    type.__setattr__(resource, "__init__", __init__)
    _adapted.add((resource, argument))


def _read_first_block(block_list: type) -> None:
    """Let `resource.metadata.name` (the 2.x form) read `resource.metadata.get(0).name` (the 3.x form)."""

    def __getattr__(self: typing.Any, name: str) -> object:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.get(0), name)

    type.__setattr__(block_list, "__getattr__", __getattr__)
