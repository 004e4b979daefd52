"""Fast synth: import only the provider submodules the app uses, and let the jsii kernel load them lazily.

Why: the prebuilt providers (archived at the versions pinned in runtime/fast/pins.py) make every synth pay for
all of their resource types. Each package's Python `__init__` imports every submodule (1,527 azurerm + 109
kubernetes), and the jsii Node kernel `require()`s each package's eager `lib/index.js`, which loads the
JavaScript of every resource. That is ~15 s and ~0.9 GB for an app that uses a few dozen types.

How (`enable()`, called before the first cdktf import; docs/performance.md has the figures), one module of
runtime/fast/ a step or tier:
1. `pins`: verify the installed jsii and provider distributions (exact versions, sha256 of every file relied
   on). On any difference print one warning line and change nothing: the ordinary imports run, slower but with
   the same output.
2. `derive`: once, a copy of each provider's npm tarball with only what the kernel reads at run time.
3. `packages`: each provider package in `sys.modules` without running its `__init__`.
4. `compiling`: the provider submodules compiled as current jsii-pacmak generates bindings; `lazy_classes`: their
   classes created when first named.
5. `kernel`: the kernel started at once, directly on a socket pair, loading the assemblies meanwhile.
6. `warm_up`: the kernel `require()`s the provider types the last synth used, ahead of the app.

For a one-shot synth (`enable(single_synth=True)`, main.py) also `one_cpu`, `no_gc`, `memo` and `inputs` (`read_once()`)
and `fast_exit` (`exit_process()`). ERP_SYNTH_ORDINARY=1 forces the ordinary path.

Tiers. The core (steps 1-3 and 5) is always on when the fast path is. The rest are tiers, each switchable off
for a measurement or a problem with `ERP_FAST_TIERS_OFF=<tier>[,<tier>...]` (`settings.TIERS`;
docs/performance.md has their measured gains); a tier switched off changes the speed, never the output.
"""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import sys
import tarfile
from typing import NoReturn

from runtime import framework
from runtime.fast import (
    compiling,
    derive,
    fast_exit,
    inputs,
    kernel,
    lazy_classes,
    memo,
    no_gc,
    packages,
    pins,
    warm_up,
)
from runtime.fast.hash_record import save_hash_record
from runtime.fast.settings import Unverified, tier_on

FORCE_ORDINARY_ENV = "ERP_SYNTH_ORDINARY"
_active: list[derive.Derived] = []
# Packages whose import talks to the kernel: once one is imported, jsii's kernel runs and it is too late.
KERNEL_USERS = frozenset({"cdktf", "constructs", *(provider.package for provider in pins.PROVIDERS)})


def enable(*, single_synth: bool = False) -> bool:
    """Switch this process to the fast path if everything verifies; return whether it did.

    Call before anything imports cdktf or a provider. The kernel starts at once and loads the assemblies
    while the caller goes on (see `kernel.KernelLaunch`). With `single_synth` (a process that synthesizes once
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
        if sys.version_info[:2] not in pins.VERIFIED_PYTHONS:
            raise Unverified(
                f"Python {platform.python_version()} is not one it was verified on ({pins.verified_pythons()})"
            )
        kernel.check_kernel_settings()
        launch = kernel.KernelLaunch(kernel.kernel_program(), share_one_cpu=single_synth and tier_on("one-cpu"))
        for package in ("constructs", "cdktf"):  # jsii's load order
            launch.load(package, *pins.bundled_assembly(package))
        check_interpreter()  # after the kernel started: Node boots meanwhile
        pins.verify(pins.JSII)
        derived = [derive.prepare(provider) for provider in pins.PROVIDERS]
        for item in derived:
            launch.load(item.provider.assembly, item.provider.version, str(item.tarball))
        if tier_on("warm-up"):
            warm_up.send(launch)
        save_hash_record()
    except (Unverified, OSError, subprocess.SubprocessError, tarfile.TarError) as problem:
        if launch is not None:
            launch.discard()
        print(f"warning: fast synth off, using ordinary imports (same output, slower): {problem}", file=sys.stderr)
        return False
    if single_synth:
        no_gc.disable_collector()
    packages.prepare_imports(derived, launch)
    _active.extend(derived)
    return True


def check_interpreter() -> None:
    """What the compile and fast-exit tiers rely on, checked on the running interpreter at every start."""
    compiling.check_interpreter()
    lazy_classes.check_interpreter()
    fast_exit.check_interpreter()


def read_once() -> None:
    """For a one-shot synth (main.py, before the app is imported; tiers memo and inputs): runtime/fast/memo.py,
    runtime/fast/inputs.py."""
    if _active and tier_on("memo"):
        memo.read_once()
    if _active and tier_on("inputs"):
        inputs.record_inputs()


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
            warm_up.record_used_types(_active, keep_recorded=partial)
    fast_exit.exit_now(code)
