"""Step 5 (core): the jsii kernel started at once, directly, and handed to jsii when it first needs it.

`lib/program.js` (a verified copy in `.cache/jsii-fast/kernel/`) runs on a socket pair instead of through jsii's
Node wrapper, which only relays the same messages through a second Node process (~55 MB, and a second hop for
each of ~5,700 messages per synth), with a 4 MB young generation (short-lived messages; 30 MB less peak). The
loads of constructs, cdktf and the derived provider tarballs are written to it straight away (and the warm-ups,
runtime/fast/warm_up.py): Node works through them while Python verifies, loads the caller's configuration and
imports the app. The answers are read before jsii's first request that needs the kernel; the `_jsii` modules'
loads of those assemblies are not sent again (the kernel would answer "already loaded").
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path

from runtime.fast import code_cache, defs_on_demand, no_creation_stacks, one_cpu, settings, sync_optimizer, version_once
from runtime.fast.hash_record import sha256_of
from runtime.fast.pins import JSII, KERNEL_INDEX_WORKER, KERNEL_PROGRAM, package_directory
from runtime.fast.settings import Unverified, atomic_file


def check_kernel_settings() -> None:
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
    cold = _package_cache_is_cold()
    extra = (
        *(COLD_CACHE_NODE_FLAGS if cold else sync_optimizer.node_flags()),
        *code_cache.node_flags(),
    )
    return (
        *KERNEL_NODE_FLAGS[:-1],
        *extra,
        *version_once.node_flags(),
        *defs_on_demand.node_flags(),
        *no_creation_stacks.node_flags(),
        KERNEL_NODE_FLAGS[-1],
    )


KERNEL_API_FD = 3  # lib/program.js reads requests from and writes answers to fd 3 (SyncStdio)
KERNEL_GOODBYE = b'{"exit":0}\n'  # what jsii writes to end the kernel


def kernel_without_wrapper(node_process: type, launch: KernelLaunch) -> type:
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
                one_cpu.pin(self._process.kernel.pid)

        def stop(self) -> None:
            atexit.unregister(self.stop)
            channel = getattr(self, "_process", None)
            if channel is not None and not channel.stdin.closed:
                channel.close(KERNEL_GOODBYE)
            self._ctx_stack.close()

    return KernelProcess


class KernelLaunch:
    """The kernel, started by enable() before anything else, and the requests written to it at once.

    Node boots and loads the assemblies (~0.4 s) while this process verifies, imports and goes on with
    the caller's Python-only work (loading the configuration, importing the app). The loads are jsii's
    own requests in jsii's order, the providers' from their derived tarballs. Then come the warm-ups of
    tier warm-up (runtime/fast/warm_up.py).
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
        if self.write({"api": "load", "name": name, "version": version, "tarball": tarball}, required=True):
            self.loaded[name] = version

    def write(self, request: dict, *, required: bool) -> bool:
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


def kernel_program() -> Path:
    """A copy of jsii's kernel (`lib/program.js`, and the index worker it starts from its own folder) in
    our cache, so it can start before jsii is imported (jsii extracts its copy into a new temporary
    folder each run). Copied from the installed jsii, and started only while its sha256 is the pinned one."""
    directory = settings.CACHE_DIR / "kernel" / JSII.sha256[KERNEL_PROGRAM][:16] / "lib"
    for embedded in (KERNEL_PROGRAM, KERNEL_INDEX_WORKER):
        copy, expected = directory / embedded.rpartition("lib__")[2], JSII.sha256[embedded]
        if sha256_of(copy) != expected:
            data = (package_directory(JSII.package) / embedded).read_bytes()
            if hashlib.sha256(data).hexdigest() != expected:
                raise Unverified(f"{JSII.distribution} {JSII.version}: {embedded} differs from the pinned sha256")
            directory.mkdir(parents=True, exist_ok=True)
            with atomic_file(copy) as out:
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
            env={**os.environ, "JSII_AGENT": f"Python/{platform.python_version()}", **code_cache.environment()},
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
