"""Run SLDBench submissions inside a sandbox and report their predictions.

This file is run inside the sandbox with the sandbox's Python. It never sees
test targets: the host sends features, gets predictions back and computes the
metrics itself. Every run happens in a forked worker process under resource
limits, in its own session; the process that forked it is a child subreaper,
so every process the submission starts (even one that calls setsid) is
re-parented to it and killed at the end of the run.

Two ways to use it (host side: ``sldbench.sandbox.host``)::

    python runner.py                        one run: the job on stdin, the reply on stdout
    python runner.py --serve SOCKET --key-hash SHA256
                                            start a warm runner in the background (numpy and
                                            scipy imported once) and print "ready PID"; it runs
                                            only requests whose key has that SHA-256
    python runner.py --serve SOCKET --key-hash SHA256 --foreground
                                            the same, served by this process, which dies with
                                            its parent (for a supervisor that keeps it, such as
                                            bubblewrap, whose namespace ends with its first process);
                                            its stdin is a pipe the parent holds open and never
                                            writes to, whose end tells a parent dead too early
    python -S -c CLIENT_SOURCE SOCKET       one run through the warm runner: stdin and stdout
                                            as in the one-run form

A request is a header line, ``{"nonce": NONCE, "timeout": SECONDS}`` (the wall
time allowed for the whole run; for a warm runner also ``"key": KEY``), then the
job, one JSON object that only the worker reads::

    program      source of the submission
    shape        "auto" | "law" | "fit_predict"
    features     feature column names, in order
    targets      target column names, in order
    fit          {group: {"X": MATRIX, "y": MATRIX}}   train rows (fit_predict only)
    predict      {group: MATRIX}                        points to predict
    limits       {"cpu_seconds", "memory_mb", "file_size_mb", "processes"}
    batch_check  optional: also predict each group's points in two halves and list in
                 ``batch_dependent`` the groups whose predictions change (fit_predict only)

A MATRIX is ``{"shape": [rows, columns], "float64": BASE64}``, the values as
little-endian float64 in row-major order (exact, and decoded in microseconds).

The reply is one line, ``{"nonce": NONCE, "ok": ..., ...}``, predictions as
``{group: MATRIX}``. The nonce comes from the host on stdin, so a submission
that prints a fake reply cannot guess it.

Every phase of a job runs in a fresh worker forked from a process that has
imported numpy and scipy but never run a submission, so jobs cannot affect one
another, and neither can the phases of one job: a fit-and-predict program is
fitted in one worker, whose only output is a parameter vector per group, and
predicts in another that gets the program and those vectors alone (`run_job`).
Every worker (law, fit, predict, batch check) runs in a scratch folder of its own
(its working directory and ``TMPDIR``, removed when its phase ends), where the runner
may make namespaces is process 2 of a PID namespace and /proc of its own
(`own_pid_namespaces`), and, before the submission runs, gives up every capability (`drop_capabilities`) and, where the
kernel has Landlock, can write nowhere else, read nothing in /proc or /sys, open no
TCP connection, and signal or trace no process outside its own tree (`confine_files`);
a seccomp filter keeps it from making the kernel objects Landlock does not cover
(System V IPC, message queues, keyrings: `forbid_ipc`) and, where workers share one
PID namespace (a container), from starting any process or thread, whose numbers the
next worker would see. The reply's ``write_guard`` says which guards were
on; a worker that cannot take one fails the job as the runner's failure. Workers
are forked before the request is read (none holds its nonce) and send their
replies up a pipe; what the host trusts (parameter counts, the batch check,
timings) is computed by the supervisor. A warm runner holds only the SHA-256 of
the host's key, so no worker can make it run a job. The first worker of a job and
its handler are forked before the job arrives, and a job is answered as soon as
its processes are sent SIGKILL (they are reaped just after). The warm runner exits when its socket file is removed or after
it has been idle for ``--idle`` seconds.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import functools
import hashlib
import hmac
import json
import os
import resource
import select
import shutil
import signal
import socket
import sys
import tempfile
import time
import traceback
from typing import Iterator, NamedTuple

TAIL_CHARS = 4000
PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
EXIT_NO_SERVER = 75  # client: no warm runner took the job (the host starts a new one and resends)
EXIT_NO_REPLY = 76  # client: the warm runner closed the connection without a reply
DEFAULT_IDLE_SECONDS = 900
JOB_RECEIVE_SECONDS = 60
REPLY_LENGTH_BYTES = 8  # a worker's reply: its length, big-endian, then its JSON
SPARE_HANDLERS = 2
WORKERS_PER_JOB = 3  # forked ahead with each handler: fit, predict, and the batch check's predict  # handlers (each with its worker) forked ahead, so a job never waits for a fork


def _read_to_end(fd: int) -> bytes:
    """Everything readable from ``fd`` until its writers close it."""
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _tail(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - TAIL_CHARS))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


# ---------------------------------------------------------------- worker side


def _load_program(path: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location("submission", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["submission"] = module
    spec.loader.exec_module(module)
    return module


def _detect_shape(module, shape: str) -> None:
    """Raise LookupError unless the submission defines the functions of ``shape`` (``law`` or ``fit``)."""
    if shape == "law":
        if not callable(getattr(module, "law", None)):
            raise LookupError("missing function law(input_data, group) in the submission")
    elif not (callable(getattr(module, "scaling_law_func", None)) and callable(getattr(module, "fit_scaling_law", None))):
        raise LookupError(
            "the submission defines neither law(input_data, group) nor the pair "
            "scaling_law_func(data_points, params) + fit_scaling_law(data_points, loss_values)"
        )


def encode_matrix(values) -> dict:
    """A MATRIX of the protocol: ``{"shape": [...], "float64": BASE64}`` (little-endian, row-major)."""
    import numpy as np

    array = np.ascontiguousarray(values, dtype="<f8")
    return {"shape": list(array.shape), "float64": base64.b64encode(array.tobytes()).decode("ascii")}


def decode_matrix(encoded: dict):
    """The float64 array (writable) of a MATRIX of the protocol.

    Raises KeyError, TypeError or ValueError when ``encoded`` is not a well-formed MATRIX.
    """
    import numpy as np

    data = base64.b64decode(encoded["float64"], validate=True)
    return np.frombuffer(data, dtype="<f8").reshape([int(n) for n in encoded["shape"]]).astype(float)


def _output_matrix(values, targets: list) -> dict:
    """Encode a law's output as a MATRIX; shape errors are left to the host."""
    if isinstance(values, list) and values and all(isinstance(v, dict) for v in values):
        missing = [t for t in targets if t not in values[0]]
        if missing:
            raise KeyError(f"law() returned dicts without key(s) {missing}; expected keys {targets}")
        values = [[row[t] for t in targets] for row in values]
    return encode_matrix(values)


def _run_law(module, job: dict) -> dict:
    features, targets = job["features"], job["targets"]
    predictions = {}
    for group, encoded in job["predict"].items():
        points = [dict(zip(features, row)) for row in decode_matrix(encoded).tolist()]
        output = module.law(points, group)
        if not isinstance(output, list):
            raise TypeError(f"law() must return a list of dicts, got {type(output).__name__}")
        predictions[group] = _output_matrix(output, targets)
    return {"shape": "law", "predictions": predictions, "param_counts": {}}


def _fit(module, job: dict) -> dict:
    """The fit phase: ``fit_scaling_law`` per group; its only output is each group's parameter vector."""
    import numpy as np

    targets, params, fit_seconds = job["targets"], {}, 0.0
    for group in job["groups"]:
        train = job["fit"].get(group)
        if train is None:
            raise LookupError(f"no training rows for group {group!r}: cannot fit it")
        x_train = decode_matrix(train["X"])
        y_train = decode_matrix(train["y"])
        if len(targets) == 1:
            y_train = y_train[:, 0]
        started = time.perf_counter()
        fitted = module.fit_scaling_law(x_train, y_train)
        fit_seconds += time.perf_counter() - started
        try:
            params[group] = encode_matrix(np.asarray(fitted, dtype=float))
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"fit_scaling_law must return an array of numbers (the fitted parameters), got {type(fitted).__name__}: {err}"
            ) from err
    return {"shape": "fit_predict", "params": params, "fit_seconds": fit_seconds}


def _predict(module, job: dict, extras: dict) -> dict:
    """The predict phase: ``scaling_law_func`` on each group's points with the vector the supervisor passes.

    With ``extras["part"] == "halves"`` it predicts the first half of every group's points,
    then the second halves, so each first half is predicted before any other point is seen;
    the reply holds one MATRIX per part.
    """
    if not callable(getattr(module, "scaling_law_func", None)):
        raise LookupError("missing function scaling_law_func(data_points, params) in the submission")
    points = {group: decode_matrix(encoded) for group, encoded in job["predict"].items()}
    params = {group: decode_matrix(encoded) for group, encoded in extras["params"].items()}
    if extras.get("part") == "halves":
        parts = {group: [x[: len(x) // 2], x[len(x) // 2 :]] for group, x in points.items()}
    else:
        parts = {group: [x] for group, x in points.items()}
    outputs: dict[str, list] = {group: [] for group in points}
    started = time.perf_counter()
    for index in range(max((len(pieces) for pieces in parts.values()), default=0)):
        for group, pieces in parts.items():
            outputs[group].append(module.scaling_law_func(pieces[index], params[group]))
    seconds = time.perf_counter() - started
    predictions = {group: [_output_matrix(piece, job["targets"]) for piece in pieces] for group, pieces in outputs.items()}
    return {"predictions": predictions, "predict_seconds": seconds}


def _work(job: dict, phase: str, extras: dict, program_path: str) -> dict:
    """Import the submission and run one phase of its job (``law``, ``fit`` or ``predict``); the reply."""
    try:
        module = _load_program(program_path)
        if phase == "predict":
            result = _predict(module, job, extras)
        else:
            _detect_shape(module, phase)
            result = _run_law(module, job) if phase == "law" else _fit(module, job)
        result["ok"] = True
    except BaseException as err:  # SystemExit from the submission is a failure too
        result = {
            "ok": False,
            "kind": "exception",
            "error": f"{type(err).__name__}: {err}",
            "traceback": traceback.format_exc()[-TAIL_CHARS:],
        }
    return result


def static_shape(program: str, requested: str) -> str:
    """The shape a job runs as, read from the source without running it: ``law`` or ``fit_predict``.

    ``auto`` is ``law`` when the program defines (or assigns, or imports) a top-level
    ``law``, as the worker's own check would find it callable; else ``fit_predict``.
    """
    if requested in ("law", "fit_predict"):
        return requested
    import ast

    try:
        tree = ast.parse(program)
    except (SyntaxError, RecursionError):  # RecursionError: nested too deeply for the parser
        return "law"  # its import fails in the worker, which reports the error
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == "law":
            return "law"
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == "law" for t in targets):
            return "law"
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any((a.asname or a.name) == "law" for a in node.names):
            return "law"
    return "fit_predict"


# ------------------------------------------------------- write guard (Landlock)

SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446  # the same on every architecture
LANDLOCK_RULE_PATH_BENEATH = 1
LANDLOCK_CREATE_RULESET_VERSION = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_DUMPABLE = 4
# Every right that changes the filesystem, by the ABI that introduced it: write, remove, make (files,
# folders, links, sockets, pipes, devices); then rename across folders (2) and truncate (3).
# Executing stays allowed.
LANDLOCK_WRITE_RIGHTS = {1: 0b1_1111_1111_0010, 2: 1 << 13, 3: 1 << 14}
# Beneath its scratch folder a worker may write, but make no socket, FIFO or device: nothing there
# another process could reach it through while it runs (the folder is removed when the phase ends)
LANDLOCK_SCRATCH_EXCLUDED = (1 << 6) | (1 << 9) | (1 << 10) | (1 << 11)  # MAKE_CHAR, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK
LANDLOCK_READ_RIGHTS = 0b1100  # read a file, list a folder
LANDLOCK_FILE_RIGHTS = 0b111 | (1 << 14)  # the rights a rule on a file (not a folder) may hold: execute, write, read, truncate
KERNEL_VIEWS = frozenset({"proc", "sys"})  # top-level folders no worker reads (`confine_files`)
LANDLOCK_NET_TCP = 0b11  # bind and connect (ABI 4)
LANDLOCK_SCOPES = 0b11  # abstract Unix sockets and signals of processes outside the domain (ABI 6)


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


@functools.cache
def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 where there is none (a kernel before 5.13, Landlock off, not Linux)."""
    try:
        abi = _libc().syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
    except (OSError, AttributeError):
        return 0
    return max(int(abi), 0)


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _add_path_rule(libc, ruleset: int, path: str, access: int) -> bool:
    """Allow ``access`` beneath ``path`` in ``ruleset`` (only the file rights for a file); False if the kernel refused."""
    try:
        handle = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if not os.path.isdir(path):
            access &= LANDLOCK_FILE_RIGHTS
        rule = _PathBeneath(access, handle)
        return libc.syscall(SYS_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH), ctypes.byref(rule), ctypes.c_uint32(0)) == 0
    finally:
        os.close(handle)


def confine_files(abi: int, scratch: str) -> bool:
    """Deny this process and its descendants every change to the filesystem outside ``scratch``,
    every read of /proc and /sys, TCP, and signals, tracing and abstract sockets to processes
    outside them (Landlock ABI ``abi``); False if it could not be done.

    Files already open (the phase's output log, the reply pipe) stay usable, since rights are
    checked when a file is opened. ``scratch`` is the phase's own folder, removed when the phase
    ends, so nothing one phase of a job writes can reach another phase or job. /proc and /sys
    are where the kernel shows state every process shares (how many processes were ever
    started, the last process number handed out, the processes alive): a fit could write
    its constants there by starting processes and a predict worker read them back.
    """
    if abi < 1:
        return False
    libc = _libc()
    writes = sum(bits for version, bits in LANDLOCK_WRITE_RIGHTS.items() if abi >= version)
    rights = writes | LANDLOCK_READ_RIGHTS
    attr = (ctypes.c_uint64 * 3)(rights, LANDLOCK_NET_TCP if abi >= 4 else 0, LANDLOCK_SCOPES if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return False
    try:
        if not _add_path_rule(libc, ruleset, scratch, rights & ~LANDLOCK_SCRATCH_EXCLUDED):
            return False
        # everything else may be read, but the kernel's views (an entry that cannot take a rule stays unreadable)
        for entry in sorted(set(os.listdir("/")) - KERNEL_VIEWS):
            _add_path_rule(libc, ruleset, os.path.join("/", entry), LANDLOCK_READ_RIGHTS)
        return _prctl(PR_SET_NO_NEW_PRIVS, 1) and libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) == 0
    finally:
        os.close(ruleset)


# Kernel objects that outlive the process that made them and hold data Landlock does not guard:
# System V shared memory, semaphores and message queues, POSIX message queues, keyrings. The
# fit worker may create none (seccomp: the call fails with EPERM), by the syscall numbers of
# each architecture the filter knows; on another architecture it is not applied.
IPC_SYSCALLS = {
    "x86_64": (0xC000003E, (29, 30, 31, 64, 65, 66, 68, 69, 70, 71, 220, 240, 248, 249, 250)),
    "aarch64": (0xC00000B7, (180, 186, 187, 188, 189, 190, 191, 192, 193, 194, 195, 196, 217, 218, 219)),
}
# Every call that makes a task (a process, a thread, io_uring's kernel workers) takes a process
# number; where workers share one PID namespace (a container) the numbers are a channel from one
# worker to the next, so there no worker may make one: clone, fork, vfork, clone3, io_uring_setup.
PROCESS_SYSCALLS = {"x86_64": (56, 57, 58, 435, 425), "aarch64": (220, 435, 425)}
X32_SYSCALL_BIT = 0x40000000  # x86_64's x32 numbering: refused outright
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
SECCOMP_RET_ALLOW, SECCOMP_RET_EPERM = 0x7FFF0000, 0x00050001


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


@functools.cache
def ipc_filter_arch() -> str | None:
    """This machine's architecture when `forbid_ipc` knows its syscall numbers, else None."""
    import platform

    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    return machine if machine in IPC_SYSCALLS and sys.platform == "linux" else None


def forbid_ipc(processes: bool = False) -> bool:
    """Make this process and its descendants fail (EPERM) every call that creates or reaches a System V
    IPC object, a POSIX message queue or a keyring, every call through another architecture's
    entry and, with ``processes``, every call that starts a process or thread (a seccomp filter);
    False if it could not be done."""
    arch = ipc_filter_arch()
    if arch is None:
        return False
    audit_arch, numbers = IPC_SYSCALLS[arch]
    numbers += PROCESS_SYSCALLS[arch] if processes else ()
    load, jump_eq, jump_ge, ret = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_JMP|JGE|K, BPF_RET|K
    n = len(numbers)
    # 0 load arch; 1 another arch (a 32-bit entry into the kernel): deny; 2 load nr; 3 x32: deny;
    # 4.. listed: deny; then allow; deny
    program = [(load, 0, 0, 4), (jump_eq, 0, n + 3, audit_arch), (load, 0, 0, 0), (jump_ge, n + 1, 0, X32_SYSCALL_BIT)]
    program += [(jump_eq, n - i, 0, number) for i, number in enumerate(numbers)]
    program += [(ret, 0, 0, SECCOMP_RET_ALLOW), (ret, 0, 0, SECCOMP_RET_EPERM)]
    filters = (_SockFilter * len(program))(*[_SockFilter(*instruction) for instruction in program])
    fprog = _SockFprog(len(program), filters)
    return _prctl(PR_SET_NO_NEW_PRIVS, 1) and _libc().prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) == 0


PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522
LAST_CAPABILITY = 63


def drop_capabilities() -> bool:
    """Give up every capability this process has, now and for whatever it runs; False if some remain.

    Under bubblewrap a runner is uid 0 of its own user namespace, with every capability of
    that namespace: it could set the host name, make namespaces or change what others see
    of the kernel, a store that outlives the worker. Without capabilities it can do none of it.
    """
    libc = _libc()
    for capability in range(LAST_CAPABILITY + 1):  # the bounding set first (it needs CAP_SETPCAP, dropped last)
        libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: twice (64 bits), all zero
    libc.capset(header, data)
    return _capabilities() == 0


def _capabilities() -> int:
    """This process's effective and permitted capability bits (0: none; -1: unknown)."""
    try:
        with open("/proc/self/status") as status:
            fields = dict(line.split(":", 1) for line in status if line.startswith(("CapEff", "CapPrm")))
        return int(fields["CapEff"], 16) | int(fields["CapPrm"], 16)
    except (OSError, KeyError, ValueError):
        return -1


# ------------------------------------------------------------ supervisor side


def _apply_limits(limits: dict) -> None:
    def cap(which: int, value: int, grace: int = 0) -> None:
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard - grace)
        resource.setrlimit(which, (value, value + grace))

    if limits.get("cpu_seconds"):
        # one second between soft and hard limit, so the kernel sends SIGXCPU before SIGKILL
        cap(resource.RLIMIT_CPU, int(limits["cpu_seconds"]), grace=1)
    if limits.get("memory_mb"):
        cap(resource.RLIMIT_AS, int(limits["memory_mb"]) * 1024 * 1024)
    if limits.get("file_size_mb"):
        cap(resource.RLIMIT_FSIZE, int(limits["file_size_mb"]) * 1024 * 1024)
    if limits.get("processes"):
        cap(resource.RLIMIT_NPROC, int(limits["processes"]))


def _prctl(option: int, value: int) -> bool:
    """Linux's prctl(option, value); False where there is none."""
    global _PRCTL
    if _PRCTL is None:
        try:
            _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
        except (OSError, AttributeError):
            _PRCTL = False  # not Linux
    return bool(_PRCTL) and _PRCTL(option, value, 0, 0, 0) == 0


_PRCTL = None


def _become_subreaper() -> None:
    """Orphans of this process's descendants come to it (elsewhere the process-group kill still applies)."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1)


def _set_parent_death_signal(sig: int) -> bool:
    """Have the kernel send ``sig`` to this process when its parent dies (0: nothing); False if not Linux."""
    return _prctl(PR_SET_PDEATHSIG, sig)


def _die_with(parent: int) -> None:
    """Have the kernel kill this process when ``parent`` dies (a submission may kill it)."""
    if _set_parent_death_signal(signal.SIGKILL) and os.getppid() != parent:  # it died before the request took effect
        # (0: a parent outside this process's PID namespace, where getppid() says 0 whether it lives or
        # not; the namespace's init dies with that parent, and the kernel then kills this process too)
        os._exit(1)


def _pipe_closed(fd: int) -> bool:
    """Whether ``fd`` reads as ended now (every writer closed it); never blocks."""
    return bool(select.select([fd], [], [], 0)[0]) and os.read(fd, 1) == b""


def own_children() -> list[int]:
    """Process ids whose parent is this process (read from /proc).

    The kernel's per-thread ``children`` lists answer in microseconds; without them
    (a kernel built without CONFIG_PROC_CHILDREN) every process's stat is read.
    """
    try:
        children = []
        for thread in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{thread}/children") as handle:
                children.extend(int(pid) for pid in handle.read().split())
        return children
    except OSError:
        pass
    me = os.getpid()
    children = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: fields start after the last ')'
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == me:
            children.append(int(entry))
    return children


def _signal_children(keep: frozenset = frozenset()) -> list[int]:
    """SIGKILL every child of this process not in ``keep``; the pids signalled."""
    doomed = [pid for pid in own_children() if pid not in keep]
    for pid in doomed:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return doomed


def kill_children(keep: frozenset = frozenset()) -> None:
    """SIGKILL and reap every child of this process (orphans re-parented to us included) not in ``keep``."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        doomed = set(_signal_children(keep))
        if not doomed:
            return
        # in any order: the init of a worker's PID namespace ends only once its worker, a child of
        # this process, has been reaped
        while doomed and time.monotonic() < deadline:
            for pid in list(doomed):
                try:
                    if os.waitpid(pid, os.WNOHANG)[0]:
                        doomed.discard(pid)
                except ChildProcessError:
                    doomed.discard(pid)
            if doomed:
                time.sleep(0.001)


def _receive(worker: Worker, deadline: float) -> dict | None:
    """The reply ``worker`` sends down its reply pipe (a length, then JSON); None if it exits without one.

    Raises TimeoutError when ``deadline`` (a `time.monotonic` time) passes first.
    """
    try:
        exited = os.pidfd_open(worker.pid)
    except (AttributeError, OSError):
        exited = None  # no pidfd: poll the exit, without reaping
    received, size = bytearray(), None
    try:
        while size is None or len(received) < REPLY_LENGTH_BYTES + size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            watched = [worker.done] if exited is None else [worker.done, exited]
            readable, _, _ = select.select(watched, [], [], remaining if exited is not None else min(0.01, remaining))
            if worker.done in readable:
                chunk = os.read(worker.done, 1 << 20)
                if not chunk:
                    return None  # every writer closed it: the worker is gone
                received += chunk
                if size is None and len(received) >= REPLY_LENGTH_BYTES:
                    size = int.from_bytes(received[:REPLY_LENGTH_BYTES], "big")
            elif readable or (exited is None and os.waitid(os.P_PID, worker.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None):
                return None
    finally:
        if exited is not None:
            os.close(exited)
    try:
        reply = json.loads(bytes(received[REPLY_LENGTH_BYTES:]))
    except ValueError:
        return None
    return reply if isinstance(reply, dict) and "ok" in reply else None


def _exit_code(pid: int) -> int:
    """Reap child ``pid`` and return its exit code (negative: the signal that ended it)."""
    try:
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    except ChildProcessError:
        return -signal.SIGKILL


def _describe_exit(code: int) -> tuple[str, str]:
    if code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        if sig == signal.SIGXCPU:
            return "cpu_limit", f"killed by {name}: CPU time limit of the run exceeded"
        if sig == signal.SIGXFSZ:
            return "file_limit", f"killed by {name}: file size limit exceeded"
        return "killed", f"the submission process was killed by {name} (memory limit or a kill)"
    return "no_result", f"the submission exited with code {code} before producing predictions"


class Worker(NamedTuple):
    """A forked worker as its supervisor sees it."""

    pid: int
    job: int  # write end of the pipe its phase of the job goes down
    done: int  # read end of the pipe its reply comes up
    init: int = 0  # the init of the worker's own PID namespace (0: it has none)

    @property
    def pids(self) -> tuple[int, ...]:
        """The supervisor's children that belong to this worker."""
        return (self.pid, self.init) if self.init else (self.pid,)


def _pids(workers: list[Worker]) -> frozenset:
    return frozenset(pid for worker in workers for pid in worker.pids)


def _spawn_worker() -> Worker:
    """Fork a worker that waits for one phase of a job (see `run_job`).

    The worker dies with this process, takes its own session and closes every other
    descriptor (a warm runner's listening socket included) before it waits, so it
    can be forked ahead of the job and the fork costs the job nothing. Where this
    process may make namespaces (`own_pid_namespaces`), the worker is process 2 of a
    PID namespace of its own, with a /proc of that namespace: it sees no process
    number any other worker made, and every process it starts dies with the namespace.
    """
    job_read, job_write = os.pipe()
    done_read, done_write = os.pipe()
    init = _start_pid_namespace() if own_pid_namespaces() else 0
    supervisor = 0 if init else os.getpid()  # getppid() inside a PID namespace: 0, its parent being outside
    try:
        pid = os.fork()
    except BaseException:
        if init:
            _leave_pid_namespace()
            os.kill(init, signal.SIGKILL)
        raise
    if pid:
        if init:
            _leave_pid_namespace()
        os.close(job_read)
        os.close(done_write)
        return Worker(pid, job_write, done_read, init)
    try:  # the worker: never return into the supervisor's code
        _die_with(supervisor)
        os.setsid()
        low = 3
        for fd in sorted((job_read, done_write)):
            os.closerange(low, fd)
            low = fd + 1
        os.closerange(low, 65536)
        own_proc = _mount_own_proc() if init else None
        message = _read_to_end(job_read)
        os.close(job_read)
        if message:  # nothing comes when the supervisor gives up on this worker
            failed = own_proc and {"ok": False, "kind": "runner", "error": f"the worker's own /proc could not be mounted: {own_proc}"}
            reply = json.dumps(failed or _run_in_worker(message)).encode()
            os.write(done_write, len(reply).to_bytes(REPLY_LENGTH_BYTES, "big"))
            view = memoryview(reply)
            while view:
                view = view[os.write(done_write, view) :]
        os._exit(0)
    except BaseException:
        os._exit(70)


# ----------------------------------------------- a PID namespace per worker

CLONE_NEWNS, CLONE_NEWPID = 0x00020000, 0x20000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x8, 0x4000, 0x40000


def _start_pid_namespace() -> int:
    """Make this process's next children the processes of a new PID namespace; fork its init, return its pid.

    The init (process 1) runs no submission: it gives up its capabilities and waits to be
    killed, and when it is killed the kernel kills every process left in the namespace.
    It dies with this process; this returns once the kernel has been told so, before
    anything else is forked that a dead init would leave behind.
    """
    libc = _libc()
    if libc.unshare(CLONE_NEWPID) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWPID) failed")
    ours, its = socket.socketpair()
    try:
        init = os.fork()
    except BaseException:
        ours.close()
        its.close()
        _leave_pid_namespace()
        raise
    if init:
        its.close()
        with ours:
            ours.recv(1)  # armed, or b"" if it is gone
        return init
    try:
        _set_parent_death_signal(signal.SIGKILL)
        # Its parent is outside its namespace, so getppid() says 0 whether that parent lives or
        # not; the parent's end of the pair tells: it closes (reads as ready) only when the
        # parent died before the death signal was asked for.
        ours.close()
        if select.select([its], [], [], 0)[0]:
            os._exit(0)
        its.send(b"1")
        its.close()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # nothing of the runner's stdio stays reachable through it
            os.dup2(null, fd)
        os.closerange(3, 65536)
        drop_capabilities()
        while True:
            signal.pause()
    finally:
        os._exit(0)


def _leave_pid_namespace() -> None:
    """Make this process's next children again processes of its own PID namespace."""
    if _libc().setns(_own_pid_namespace(), CLONE_NEWPID) != 0:
        raise OSError(ctypes.get_errno(), "setns to this process's own PID namespace failed")


@functools.cache
def _own_pid_namespace() -> int:
    return os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)


def _mount_own_proc() -> str | None:
    """Give this process a mount namespace whose /proc shows its PID namespace alone; why not, or None."""
    libc = _libc()
    for call in (
        lambda: libc.unshare(CLONE_NEWNS),
        lambda: libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None),
        lambda: libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None),
    ):
        if call() != 0:
            return os.strerror(ctypes.get_errno())
    return None


@functools.cache
def own_pid_namespaces() -> bool:
    """Whether every worker can have a PID namespace and /proc of its own (tried once, in a child).

    It takes the capability to make namespaces: under bubblewrap the runner keeps that one
    capability of its own user namespace (its workers give it up); a docker container has none.
    """
    if not sys.platform.startswith("linux") or not os.path.exists("/proc/self/ns/pid"):
        return False
    trial = os.fork()
    if trial == 0:
        try:
            init = _start_pid_namespace()
            worker = os.fork()
            if worker == 0:
                os._exit(0 if _mount_own_proc() is None and os.getpid() == 2 and "1" in os.listdir("/proc") else 1)
            _leave_pid_namespace()
            code = os.waitstatus_to_exitcode(os.waitpid(worker, 0)[1])
            os.kill(init, signal.SIGKILL)
            os._exit(code)
        except BaseException:
            os._exit(1)
    return os.waitstatus_to_exitcode(os.waitpid(trial, 0)[1]) == 0


def _run_in_worker(message: bytes) -> dict:
    """Output to the phase's log file, the program to a file, limits and write guard on; then run the phase.

    ``message`` is a header line (``scratch``, ``phase``, ``landlock`` ABI to apply, 0 for none),
    a line of the phase's extras (the fitted vectors for ``predict``) and the job's JSON.
    """
    try:
        header, extras, body = message.split(b"\n", 2)
        header, extras, job = json.loads(header), json.loads(extras), json.loads(body)
        program, scratch = job["program"], header["scratch"]
    except (ValueError, KeyError, TypeError) as err:
        return {"ok": False, "kind": "runner", "error": f"malformed job: {type(err).__name__}: {err}"}
    program_path = os.path.join(scratch, "program.py")
    with open(program_path, "w") as handle:
        handle.write(program)
    log = os.open(os.path.join(scratch, "output.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)
    sys.stdin = open(0, closefd=False)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)
    _apply_limits(job.get("limits", {}))
    if not drop_capabilities():
        return {"ok": False, "kind": "runner", "error": "the worker could not give up its capabilities"}
    # the phase's scratch folder is its working directory and its temporary folder: the one place it writes
    os.chdir(scratch)
    os.environ["TMPDIR"] = tempfile.tempdir = scratch
    if header["landlock"] and not confine_files(header["landlock"], scratch):
        return {"ok": False, "kind": "runner", "error": "the file guard (Landlock) could not be applied in the worker"}
    if header.get("ipc") and not forbid_ipc(processes=header.get("no_processes", False)):
        return {"ok": False, "kind": "runner", "error": "the IPC guard (seccomp) could not be applied in the worker"}
    result = _work(job, header["phase"], extras, program_path)
    sys.stdout.flush()
    sys.stderr.flush()
    return result


def _send_job(channel: int, message: bytes) -> None:
    try:
        view = memoryview(message)
        while view:
            view = view[os.write(channel, view) :]
    except BrokenPipeError:
        pass  # the worker is gone: its exit status says why
    finally:
        os.close(channel)


class _Phase(NamedTuple):
    reply: dict  # the worker's reply, or the failure the supervisor found
    output: str  # the tail of what the submission printed in this phase


def _run_phase(
    worker: Worker, phase: str, job: dict, extras: dict, deadline: float, timeout: float, guards: dict, keep: frozenset = frozenset()
) -> _Phase:
    """One phase of a job in ``worker`` under ``guards`` (``landlock``: the ABI of the write guard, 0: none;
    ``ipc``: the seccomp filter of `forbid_ipc`; ``no_processes``: with process creation in it);
    on return every process of it (the waiting workers ``keep`` aside) has been sent SIGKILL and its files are gone."""
    scratch = tempfile.mkdtemp(prefix="sldbench-run-")
    try:
        header = json.dumps({"scratch": scratch, "phase": phase, "landlock": 0, **guards})
        _send_job(worker.job, f"{header}\n{json.dumps(extras)}\n{json.dumps(job)}".encode())
        try:
            reply, finished = _receive(worker, deadline), True
        except TimeoutError:
            reply, finished = None, False
        try:
            os.killpg(worker.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        _signal_children(keep)
        if not finished:
            reply = {"ok": False, "kind": "timeout", "error": f"timed out after {timeout:g} s; the process tree was killed"}
        elif reply is None:
            kind, error = _describe_exit(_exit_code(worker.pid))
            reply = {"ok": False, "kind": kind, "error": error}
        return _Phase(reply, _tail(os.path.join(scratch, "output.log")))
    finally:
        # every process of the phase has been sent SIGKILL and runs no more code; reaping them
        # (slow for processes that mapped numpy) waits until the job is answered (`run_job`)
        os.close(worker.done)
        shutil.rmtree(scratch, ignore_errors=True)


def _checked_params(reply: dict, groups: list, n_targets: int) -> tuple[dict, dict] | str:
    """The fitted vectors of a fit phase's reply and their sizes, or why they cannot be used.

    A vector is flat, or one row per target (the paper's layout for several targets), so that its
    shape says nothing its size does not: constants written into the shape of an empty array
    (``np.empty([0, 3.1, ...])``) would reach the predict worker uncounted.
    """
    import numpy as np

    params, counts = {}, {}
    raw = reply.get("params")
    for group in groups:
        try:
            vector = decode_matrix(raw[group])
        except (KeyError, TypeError, ValueError) as err:
            return f"no usable parameter vector for group {group!r}: {type(err).__name__}: {err}"
        if vector.size == 0 or not (vector.ndim == 1 or (vector.ndim == 2 and len(vector) == n_targets)):
            rows = f", or one row per target ({n_targets}, P)" if n_targets > 1 else ""
            return (
                f"fit_scaling_law must return a flat vector of numbers (one per fitted constant){rows} for group "
                f"{group!r}; got an array of shape {list(vector.shape)}: return np.ravel(params), with at least one constant"
            )
        if not np.isfinite(vector).all():
            return f"fit_scaling_law returned NaN or Inf parameters for group {group!r}: {vector.ravel()[:8].tolist()}"
        params[group], counts[group] = encode_matrix(vector), int(vector.size)
    return params, counts


def _batch_dependent(whole: dict, halves: dict) -> list:
    """Groups whose predictions change when their points are predicted in two halves."""
    import numpy as np

    changed = []
    for group, matrix in whole.items():
        try:
            together, *pieces = (decode_matrix(m) for m in (matrix, *halves[group]))
            parts = np.concatenate([piece.reshape(len(piece), -1) for piece in pieces])
            together = together.reshape(len(together), -1)
            same = np.allclose(parts, together, rtol=1e-6, atol=1e-12, equal_nan=True)
        except (KeyError, TypeError, ValueError):
            same = True  # the whole-batch prediction is judged on its own by the host
        if not same:
            changed.append(group)
    return changed


@contextlib.contextmanager
def run_job(body: bytes, timeout: float, workers: list[Worker] | None = None) -> Iterator[dict]:
    """Run one job in fresh, limited workers under one wall timeout; yield the reply (without nonce).

    A law (``law(input_data, group)``, `static_shape`) runs in one worker, on the points. A
    fit-and-predict program runs in phases, each in a worker forked from this process (which
    never runs a submission) and given only what the phase needs: the fit worker gets the
    train rows and, under the file guard where the kernel has it (`confine_files`), its only
    output is one parameter vector per group, checked here (finite floats) and counted here;
    the predict worker gets the program, the points and those vectors alone; with the batch
    check, a third worker predicts each group's points in halves and this process compares.
    So no state crosses from fit to predict but the counted parameters (module globals die
    with the fit worker, files cannot be written), and every figure of the reply the host
    trusts (parameter counts, the batch check, timings) is this process's.

    By the time the reply is yielded every process of the job has been killed and its files
    removed.

    Parameters
    ----------
    body : bytes
        The job object of the protocol as JSON (see the module docstring).
    timeout : float
        Wall seconds for the whole run.
    workers : list of Worker, optional
        Workers from `_spawn_worker`, forked ahead, one per phase; phases without one fork it then.

    Yields
    ------
    dict
        ``ok`` and either ``predictions``/``shape``/``param_counts``/``params``/``fit_seconds``/``predict_seconds``/
        ``batch_dependent`` or ``kind``/``error``/``traceback``; always ``seconds`` (wall time),
        ``output`` (the tail of what the submission printed) and ``write_guard``.
    """
    _become_subreaper()
    waiting = list(workers or [])

    def phase(name: str, phase_job: dict, extras: dict) -> _Phase:
        worker = waiting.pop(0) if waiting else _spawn_worker()
        return _run_phase(worker, name, phase_job, extras, deadline, timeout, guards, _pids(waiting))

    ipc = ipc_filter_arch() is not None
    # without a PID namespace of its own, a worker that started processes would move the numbers the next one sees
    guards = {"landlock": landlock_abi(), "ipc": ipc, "no_processes": ipc and not own_pid_namespaces()}
    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    outputs = []

    def finish(reply: dict) -> dict:
        reply["seconds"] = time.perf_counter() - started
        reply["output"] = "\n".join(text for text in outputs if text)[-TAIL_CHARS:]
        on = [f"landlock (ABI {guards['landlock']}; no reads of /proc or /sys)"] * bool(guards["landlock"])
        on += ["seccomp (no IPC objects or keyrings)"] * guards["ipc"] + ["no new processes or threads"] * guards["no_processes"]
        on += ["own PID namespace and /proc"] * own_pid_namespaces()
        reply["write_guard"] = ", ".join(on + ["no capabilities"])  # every worker of the job, or the job fails
        return reply

    try:
        try:
            job = json.loads(body)
            program, groups = job["program"], list(job["predict"])
            common = {"program": program, "targets": job["targets"], "limits": job.get("limits", {})}
            shape = static_shape(program, job.get("shape", "auto"))
        except (ValueError, KeyError, TypeError) as err:
            yield finish({"ok": False, "kind": "runner", "error": f"malformed job: {type(err).__name__}: {err}"})
            return
        # each phase gets only what it needs: a law the points; a fit the train rows; a predict the points
        if shape == "law":
            law = phase("law", {**common, "features": job["features"], "predict": job["predict"]}, {})
            outputs.append(law.output)
            yield finish(law.reply)
            return
        fit_job = {**common, "groups": groups, "fit": job.get("fit", {})}
        fit = phase("fit", fit_job, {})
        outputs.append(fit.output)
        # every process the fit started is reaped before the predict worker starts, so none that
        # escaped its process group (setsid) and was re-parented here meanwhile can still be running
        kill_children(keep=_pids(waiting))
        if not fit.reply.get("ok"):
            yield finish(fit.reply)
            return
        checked = _checked_params(fit.reply, groups, len(job["targets"]))
        if isinstance(checked, str):
            yield finish({"ok": False, "kind": "bad_params", "error": checked})
            return
        params, counts = checked
        fit_seconds = min(max(float(fit.reply.get("fit_seconds", 0.0)), 0.0), time.perf_counter() - started)
        predict_job = {**common, "predict": job["predict"]}
        whole = phase("predict", predict_job, {"params": params, "part": "whole"})
        outputs.append(whole.output)
        if not whole.reply.get("ok"):
            yield finish(whole.reply)
            return
        try:
            predictions = {group: whole.reply["predictions"][group][0] for group in groups}
        except (TypeError, IndexError, KeyError):
            yield finish({"ok": False, "kind": "bad_output", "error": "the predict phase answered without predictions for every group"})
            return
        batch_dependent = []
        if job.get("batch_check"):
            halves = phase("predict", predict_job, {"params": params, "part": "halves"})
            if halves.reply.get("ok"):  # a failure on half the points leaves the whole-batch predictions to be judged
                batch_dependent = _batch_dependent(predictions, halves.reply.get("predictions") or {})
        yield finish({
            "ok": True,
            "shape": "fit_predict",
            "predictions": predictions,
            "param_counts": counts,
            "params": params,  # the fitted vectors the supervisor checked and counted, for the record
            "fit_seconds": fit_seconds,
            "predict_seconds": float(whole.reply.get("predict_seconds", 0.0)),
            "batch_dependent": batch_dependent,
        })
    finally:  # the workers no phase needed
        for worker in waiting:
            os.close(worker.job)
            os.close(worker.done)
        kill_children()


def _prepare_interpreter() -> None:
    """Settings every worker inherits: single-threaded BLAS (set before numpy loads, and safe to
    fork), no bytecode files (a submission's .pyc would sit beside it; -I ignores the variable),
    and no process of the runner that a submission of the same user can trace or read the memory
    of (a fit worker cannot reach into a predict worker or the supervisor)."""
    for name in THREAD_VARS:
        os.environ[name] = "1"
    sys.dont_write_bytecode = True
    _prctl(PR_SET_DUMPABLE, 0)
    landlock_abi(), ipc_filter_arch(), own_pid_namespaces()  # found once here, inherited by every handler, not probed per job


def _read_request(data: bytes, key_hash: str | None) -> tuple[str, float, bytes]:
    """Split a request into its nonce, its timeout and the job's JSON (left unread).

    With ``key_hash`` (a warm runner) the header must carry the key whose SHA-256 it is: only
    the host has the key, and no process of the runner ever held it (the runner was given its
    hash), so no worker can make this runner run a job.
    """
    header, _, body = data.partition(b"\n")
    fields = json.loads(header)
    if not isinstance(fields, dict) or not isinstance(fields.get("nonce"), str):
        raise ValueError('the first line must be {"nonce": ..., "timeout": ...}')
    if key_hash is not None:
        key = fields.get("key")
        digest = hashlib.sha256(key.encode()).hexdigest() if isinstance(key, str) else ""
        if not hmac.compare_digest(digest, key_hash):
            raise ValueError("the request does not carry this runner's key; only the host's requests are run")
    return fields["nonce"], float(fields.get("timeout", 600)), body


def _reply_line(nonce: str, reply: dict) -> bytes:
    reply["nonce"] = nonce
    return (json.dumps(reply) + "\n").encode("utf-8")


@contextlib.contextmanager
def _answer(data: bytes, workers: list[Worker], key_hash: str | None = None) -> Iterator[bytes]:
    """Run the request ``data``; yield the reply line (the job is cleaned up after the block, see `run_job`)."""
    try:
        nonce, timeout, body = _read_request(data, key_hash)
    except (ValueError, TypeError) as err:
        yield (json.dumps({"ok": False, "kind": "runner", "error": f"malformed request: {err}"}) + "\n").encode()
        return
    with run_job(body, timeout, workers) as reply:
        yield _reply_line(nonce, reply)


# ------------------------------------------------------------ warm runner


def _handle_connection(connection: socket.socket, workers: list[Worker], key_hash: str) -> None:
    connection.settimeout(JOB_RECEIVE_SECONDS)  # a peer that connects and sends nothing must not hold a handler
    chunks = []
    while True:
        chunk = connection.recv(1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    connection.settimeout(None)
    with _answer(b"".join(chunks), workers, key_hash) as line:
        connection.sendall(line)
        connection.close()


def _spare_handler(listener: socket.socket, taken: int, key_hash: str) -> int:
    """Fork a handler that waits for the next connection with its worker already forked.

    Once it has a connection it writes its pid to ``taken`` (so the warm runner forks
    the next spare) and runs the job. While it waits it dies with the warm runner;
    a job it has taken runs to its end even if the warm runner is killed.
    """
    server = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    try:
        _die_with(server)
        _become_subreaper()
        workers = [_spawn_worker() for _ in range(WORKERS_PER_JOB)]
        connection, _ = listener.accept()
        _set_parent_death_signal(0)
        listener.close()
        os.write(taken, f"{os.getpid()}\n".encode())
        os.close(taken)
        _handle_connection(connection, workers, key_hash)
    finally:
        os._exit(0)


def _socket_is_ours(path: str, inode: int) -> bool:
    try:
        return os.stat(path).st_ino == inode
    except OSError:
        return False


def serve(path: str, idle_seconds: float, ready, key_hash: str) -> None:
    """Serve jobs on the Unix socket ``path`` until it is removed or idle; one forked handler per job.

    Only requests carrying the key whose SHA-256 is ``key_hash`` are run (`_read_request`).

    Handlers are forked ahead (`SPARE_HANDLERS` wait in ``accept``), each with its
    worker forked too; this process only replaces the spares that were taken, reaps
    handlers and kills what a finished job left behind.
    """
    _prepare_interpreter()
    import numpy  # noqa: F401  (imported once here, inherited by every worker)

    try:
        import scipy.optimize  # noqa: F401
    except ImportError:
        pass
    tempfile.gettempdir()  # found once here, not by probing the disk in every handler
    _become_subreaper()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(path)
    listener.bind(path)
    listener.listen(64)
    inode = os.stat(path).st_ino
    taken_read, taken_write = os.pipe()
    spares: set[int] = set()
    busy: set[int] = set()
    ready(f"ready {os.getpid()}")
    last_active = time.monotonic()
    while _socket_is_ours(path, inode) and (busy or time.monotonic() - last_active < idle_seconds):
        while len(spares) < SPARE_HANDLERS:
            spares.add(_spare_handler(listener, taken_write, key_hash))
        readable, _, _ = select.select([taken_read], [], [], 1.0)
        if readable:
            for pid in os.read(taken_read, 4096).split():
                spares.discard(int(pid))
                busy.add(int(pid))
            last_active = time.monotonic()
        finished = False
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            finished = finished or pid in busy or pid in spares
            busy.discard(pid)
            spares.discard(pid)
        if finished:  # a worker whose handler was killed is re-parented here: nothing else may live
            kill_children(keep=frozenset(busy | spares))
            last_active = time.monotonic()
    listener.close()
    kill_children()


def start_server(path: str, idle_seconds: float, key_hash: str) -> int:
    """Start ``serve`` as a daemon (own session, stdio detached); print its "ready PID" line."""
    read_end, write_end = os.pipe()
    first = os.fork()
    if first:
        os.close(write_end)
        os.waitpid(first, 0)
        text = _read_to_end(read_end).decode("utf-8", "replace").strip()
        print(text or "the warm runner exited before it was ready", file=sys.stdout if text.startswith("ready") else sys.stderr)
        return 0 if text.startswith("ready") else 1
    os.close(read_end)
    os.setsid()
    if os.fork():
        os._exit(0)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)

    def ready(text: str) -> None:
        os.write(write_end, text.encode())
        os.close(write_end)

    try:
        serve(path, idle_seconds, ready, key_hash)
    except BaseException as err:
        try:
            os.write(write_end, f"error: {type(err).__name__}: {err}".encode())
        except OSError:
            pass
    os._exit(0)


# The client runs once per job: a few lines importing only socket and sys, so it starts in milliseconds.
CLIENT_SOURCE = f"""
import socket, sys
data = sys.stdin.buffer.read()
connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    connection.connect(sys.argv[1])
except OSError as err:
    print(f"no warm runner at {{sys.argv[1]}}: {{err}}", file=sys.stderr)
    sys.exit({EXIT_NO_SERVER})
chunks = []
try:
    connection.sendall(data)
    connection.shutdown(socket.SHUT_WR)
    while chunk := connection.recv(1 << 20):
        chunks.append(chunk)
except (ConnectionResetError, BrokenPipeError) as err:  # closed with the job unread: it never ran
    print(f"the warm runner at {{sys.argv[1]}} went away: {{err}}", file=sys.stderr)
    sys.exit({EXIT_NO_SERVER})
if not chunks:
    print("the warm runner closed the connection without a reply", file=sys.stderr)
    sys.exit({EXIT_NO_REPLY})
sys.stdout.buffer.write(b"".join(chunks))
"""


def serve_foreground(path: str, idle_seconds: float, key_hash: str) -> int:
    """Run ``serve`` in this process: "ready PID" on stdout, then stdio detached; it dies with its parent.

    Its parent may die before this process asks for the death signal, and getppid() then names
    whatever adopted it (or, inside a PID namespace, says 0 either way); stdin, a pipe whose
    other end only the parent holds, tells: read to its end, the parent is gone.
    """
    _die_with(os.getppid())
    if _pipe_closed(0):
        return 1

    def ready(text: str) -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # nobody reads these pipes any more: a write must never block
            os.dup2(null, fd)
        os.close(null)

    serve(path, idle_seconds, ready, key_hash)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--serve"] and len(argv) >= 4 and argv[2] == "--key-hash":
        path, key_hash, options = argv[1], argv[3], argv[4:]
        foreground = "--foreground" in options
        options = [option for option in options if option != "--foreground"]
        if not options or (len(options) == 2 and options[0] == "--idle"):
            idle = float(options[1]) if options else DEFAULT_IDLE_SECONDS
            return serve_foreground(path, idle, key_hash) if foreground else start_server(path, idle, key_hash)
    if argv:
        print("usage: runner.py | runner.py --serve SOCKET --key-hash SHA256 [--idle S] [--foreground]  (job on stdin)", file=sys.stderr)
        return 2
    _prepare_interpreter()
    _become_subreaper()
    # the workers exist before the request is read: none holds a copy of its nonce
    workers = [_spawn_worker() for _ in range(WORKERS_PER_JOB)]
    with _answer(sys.stdin.buffer.read(), workers) as line:
        sys.stdout.buffer.write(line)
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
