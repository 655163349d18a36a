"""Host side of the sandboxed runner: send a submission and points in, get predictions out.

`run_program` runs ``runner.py`` once in the sandbox with the sandbox's Python
(the source travels on the command line, the job on stdin: neither the runner
nor the points are left in the sandbox; isolated mode, so modules a submission
plants in the working directory are never imported by a later run) and reads
its one-line reply; the
scorer and the CLI use it. `WarmRunner` keeps a runner alive in one sandbox
that has numpy and scipy imported and forks fresh limited workers per job (fit and predict apart),
so SLDAgent pays milliseconds per candidate instead of an interpreter start.
Both work with any Inspect `SandboxEnvironment` and give the same `RunResult`.
In the local sandbox both start under bubblewrap when it works here
(`sldbench.sandbox.local`); every result names the isolation it ran with.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import select
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from inspect_ai.util import SandboxEnvironment
from inspect_ai.util._sandbox.local import LocalSandboxEnvironment  # inspect-evals-lint: ignore[private_api_imports] -- Inspect's local sandbox class is not exported; sldbench-local extends it

from ..metrics import PredictionError, as_prediction_matrix
from ..specs import TaskSpec
from . import isolation as on_this_machine_runs
from .errors import HarnessError
from .relay import NO_REPLY, NO_SERVER, Relay, RelayClosed
from .runner import CLIENT_SOURCE, EXIT_NO_SERVER, decode_matrix, encode_matrix

RUNNER_SOURCE = (Path(__file__).parent / "runner.py").read_text()
SANDBOX_WORKDIR = ".sldbench"
HOST_TIMEOUT_MARGIN = 60
CPU_MARGIN = 10
UNIX_PATH_MAX = 108  # sockaddr_un.sun_path, terminating NUL included


@dataclass(frozen=True)
class Limits:
    """Resource limits for one run of a submission (applied with setrlimit in the sandbox).

    Attributes
    ----------
    timeout : float
        Wall seconds; the whole process tree is killed after it.
    cpu_seconds : int or None
        CPU seconds; defaults to the timeout plus `CPU_MARGIN`, so a single-threaded
        runaway is reported as a timeout and the CPU limit catches multi-threaded hogs.
    memory_mb : int
        Address-space limit of the worker.
    file_size_mb : int
        Largest file the worker may write.
    processes : int
        RLIMIT_NPROC (not enforced for root, which the kill of the whole tree still covers).
    """

    timeout: float = 600.0
    cpu_seconds: int | None = None
    memory_mb: int = 4096
    file_size_mb: int = 64
    processes: int = 4096

    def as_request(self) -> dict:
        return {
            "cpu_seconds": self.cpu_seconds or int(np.ceil(self.timeout)) + CPU_MARGIN,
            "memory_mb": self.memory_mb,
            "file_size_mb": self.file_size_mb,
            "processes": self.processes,
        }


@dataclass
class RunResult:
    """Outcome of one sandboxed run.

    Attributes
    ----------
    ok : bool
        True when every group produced a well-formed, finite prediction matrix.
    predictions : dict of str to ndarray
        ``{group: (n_points, n_targets)}`` when ok.
    kind : str
        Failure class when not ok: ``exception``, ``timeout``, ``cpu_limit``,
        ``killed``, ``no_result``, ``bad_params`` (a fitted vector with NaN, Inf or no
        numbers, or not flat), ``bad_output``. A failure of the runner itself is not a
        result: it raises `HarnessError`.
    error : str
        One-line reason when not ok.
    detail : str
        Traceback tail and the program's own output tail.
    shape : str
        ``law`` or ``fit_predict``.
    param_counts : dict of str to int
        Size of the fitted parameter vector per group (fit_predict only), counted by the
        runner's supervisor from the vector the fit worker returned, the only thing the
        predict worker gets besides the program.
    params : dict of str to ndarray
        Those fitted vectors, flat, per group (fit_predict only, when ok).
    seconds : float
        Wall time of the worker.
    fit_seconds : float
        Time spent inside ``fit_scaling_law`` (fit_predict only).
    predict_seconds : float
        Time spent inside ``scaling_law_func``, the batch check's calls included
        (fit_predict only).
    batch_dependent : list of str
        Groups whose predictions changed when their points were predicted in two
        halves (only when the run asked for the batch check).
    isolation : str
        What the run was isolated by: ``bubblewrap`` or ``rlimits-only`` (local
        sandbox), ``docker``, or the sandbox's own kind (see `isolation_of`).
    write_guard : str
        The guards every worker of the run (law, fit, predict, batch check) ran under, as the
        runner's supervisor applied them (a worker that could not take one fails the run):
        ``landlock (ABI n)`` (no change to the filesystem, no TCP, no signal or trace of a
        process outside its own tree), ``seccomp (no IPC objects or keyrings)``, ``own PID
        namespace and /proc`` (where the sandbox lets the runner make one per worker), and
        ``no capabilities``.
    """

    ok: bool
    predictions: dict[str, np.ndarray] = field(default_factory=dict)
    kind: str = ""
    error: str = ""
    detail: str = ""
    shape: str = ""
    param_counts: dict[str, int] = field(default_factory=dict)
    params: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: float = 0.0
    fit_seconds: float = 0.0
    predict_seconds: float = 0.0
    batch_dependent: list[str] = field(default_factory=list)
    isolation: str = ""
    write_guard: str = ""

    def stacked(self, groups: list[str]) -> np.ndarray:
        """Predictions of ``groups`` concatenated in the order given, shape ``(N, T)``."""
        return np.concatenate([self.predictions[g] for g in groups])


def local_sandbox(sandbox: SandboxEnvironment) -> LocalSandboxEnvironment | None:
    """The local sandbox (this machine: Inspect's, or ``sldbench-local``) behind ``sandbox``, or None.

    Solvers and scorers get the sample's sandbox wrapped in a proxy that logs events;
    ``as_type`` sees through it.
    """
    try:
        return sandbox.as_type(LocalSandboxEnvironment)
    except TypeError:
        return None


def _is_local(sandbox: SandboxEnvironment) -> bool:
    return local_sandbox(sandbox) is not None


def isolation_of(sandbox: SandboxEnvironment) -> str:
    """What isolates a run in ``sandbox``: ``bubblewrap`` or ``rlimits-only`` locally, ``docker``, ``k8s``...

    Raises
    ------
    PrerequisiteError
        For a local sandbox with ``isolation=required`` where bubblewrap does not work.
    """
    if (on_this_machine := local_sandbox(sandbox)) is not None:
        return on_this_machine_runs.isolation(on_this_machine)
    name = type(sandbox.as_type(SandboxEnvironment)).__name__.removesuffix("Environment").removesuffix("Sandbox").lower()
    return "docker" if name == "docker" else name or "sandbox"


def sandbox_python(sandbox: SandboxEnvironment) -> str:
    """The interpreter to run the runner with: this one for the local sandbox, else ``python3``."""
    return sys.executable if _is_local(sandbox) else "python3"


def _host_path(sandbox: SandboxEnvironment, path: str) -> str | None:
    """Where ``path`` (relative to the sandbox's working directory) is on this machine, if it is here.

    Only the local sandbox shares this machine's filesystem; a Unix socket's path
    must also fit the kernel's 108-byte limit.
    """
    on_this_machine = local_sandbox(sandbox)
    if on_this_machine is None:
        return None
    full = os.path.join(on_this_machine.directory.name, path)
    return full if len(os.fsencode(full)) < UNIX_PATH_MAX else None


def _job(
    program: str,
    spec: TaskSpec,
    predict: dict[str, np.ndarray],
    fit: dict[str, tuple[np.ndarray, np.ndarray]] | None,
    limits: Limits,
    shape: str,
    batch_check: bool,
    key: str | None = None,
) -> tuple[str, str]:
    """The runner's stdin for one run (header line + job JSON), and the nonce; ``key``: a warm runner's."""
    job = {
        "program": program,
        "shape": shape,
        "features": list(spec.features),
        "targets": list(spec.targets),
        "fit": {g: {"X": encode_matrix(x), "y": encode_matrix(y)} for g, (x, y) in (fit or {}).items()},
        "predict": {g: encode_matrix(x) for g, x in predict.items()},
        "limits": limits.as_request(),
        "batch_check": batch_check,
    }
    nonce = secrets.token_hex(16)
    header = {"nonce": nonce, "timeout": limits.timeout, **({"key": key} if key else {})}
    return json.dumps(header) + "\n" + json.dumps(job), nonce


async def run_program(
    sandbox: SandboxEnvironment,
    program: str,
    spec: TaskSpec,
    predict: dict[str, np.ndarray],
    fit: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    limits: Limits | None = None,
    shape: str = "auto",
    batch_check: bool = False,
) -> RunResult:
    """Run a submission once in a sandbox and return its validated predictions.

    Parameters
    ----------
    sandbox : SandboxEnvironment
    program : str
        Source of the submission (either shape of the benchmark).
    spec : TaskSpec
    predict : dict of str to ndarray
        ``{group: X}`` with X of shape ``(n, F)``: the points to predict.
    fit : dict of str to (ndarray, ndarray), optional
        ``{group: (X, Y)}`` training rows, used by the fit-and-predict shape.
    limits : Limits, optional
    shape : {"auto", "law", "fit_predict"}
    batch_check : bool
        Also predict each group's points in two halves and report in
        ``RunResult.batch_dependent`` the groups whose predictions change.

    Returns
    -------
    RunResult
        ``ok`` with the predictions, or the submission's own failure (its ``kind`` and reason).

    Raises
    ------
    HarnessError
        When the runner could not run the job: it did not start, gave no valid reply (it
        died, or the sandbox did), or reported a failure of its own (a malformed job, a guard
        it could not apply). Never a score: the caller's sample errors.
    """
    limits = limits or Limits()
    stdin, nonce = _job(program, spec, predict, fit, limits, shape, batch_check)
    argv = [sandbox_python(sandbox), "-I", "-c", RUNNER_SOURCE]
    if (on_this_machine := local_sandbox(sandbox)) is not None:
        argv, isolation = on_this_machine_runs.command(on_this_machine, argv)
    else:
        isolation = isolation_of(sandbox)
    try:
        completed = await sandbox.exec(argv, input=stdin, timeout=int(limits.timeout + HOST_TIMEOUT_MARGIN))
    except TimeoutError:
        raise HarnessError(f"the runner did not answer within {limits.timeout + HOST_TIMEOUT_MARGIN:g} s, though its own timeout is {limits.timeout:g} s") from None
    result = _parse_reply(completed.stdout, completed.stderr, nonce, spec, predict)
    result.isolation = isolation
    return result


class WarmRunner:
    """Runs many submissions in one sandbox through a runner kept alive there.

    The runner (``runner.py --serve``) imports numpy and scipy once and forks
    fresh workers per job (one per phase: fit, predict) under the same limits, session
    and subreaper kill as `run_program`; jobs reach it over a Unix socket in the sandbox's working
    directory, directly when the sandbox is on this machine (the local sandbox), through
    one long-lived relay in a container of ``sldbench-docker`` (`sldbench.sandbox.relay`),
    else through a few-line client run in the sandbox per job. If a submission kills the
    warm runner, that job fails and the next one starts a new runner. `close` (or
    removing the sandbox's directory) stops it; it also stops by itself after
    ``idle_seconds``. In the local sandbox the runner is a child of this process
    (under bubblewrap when it works here) and dies with it.

    Parameters
    ----------
    sandbox : SandboxEnvironment
    idle_seconds : float
        The runner exits after this long without a job.
    """

    def __init__(self, sandbox: SandboxEnvironment, idle_seconds: float = 900) -> None:
        self.sandbox = sandbox
        self.idle_seconds = idle_seconds
        self._socket: str | None = None
        self._key: str | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._starting = asyncio.Lock()
        self.isolation = "" if _is_local(sandbox) else isolation_of(sandbox)
        self._relay = _relay_for(sandbox)

    async def _start(self, stale: str | None) -> str:
        async with self._starting:
            if self._socket is not None and self._socket != stale:
                return self._socket  # another job started one meanwhile
            path = f"{SANDBOX_WORKDIR}/warm-{secrets.token_hex(4)}.sock"
            # the runner gets the key's hash: no process in the sandbox ever holds the key itself
            key = secrets.token_hex(32)
            key_hash = hashlib.sha256(key.encode()).hexdigest()
            serve = [sandbox_python(self.sandbox), "-I", "-c", RUNNER_SOURCE, "--serve", path, "--key-hash", key_hash, "--idle", str(self.idle_seconds)]
            if _is_local(self.sandbox):
                await self._start_child(serve + ["--foreground"])
            else:
                await self.sandbox.exec(["mkdir", "-p", SANDBOX_WORKDIR], timeout=60)
                started = await self.sandbox.exec(serve, timeout=HOST_TIMEOUT_MARGIN)
                if not started.success or not started.stdout.startswith("ready"):
                    raise RuntimeError(f"the warm runner did not start in the sandbox: {(started.stderr or started.stdout).strip()}")
            if stale is not None:
                await self.sandbox.exec(["rm", "-f", stale], timeout=60)  # a runner still listening there exits
            self._socket, self._key = path, key
            return path

    async def _start_child(self, serve: list[str]) -> None:
        """Start the local sandbox's warm runner as a child of this process; return once it is ready."""
        on_this_machine = local_sandbox(self.sandbox)
        workdir = on_this_machine.directory.name
        os.makedirs(os.path.join(workdir, SANDBOX_WORKDIR), exist_ok=True)
        argv, self.isolation = on_this_machine_runs.command(on_this_machine, serve)
        self._stop_child()
        # a plain Popen, not an asyncio subprocess: the runner may outlive the event loop that started it;
        # its stdin's other end stays open here, unwritten, until this process dies or stops it
        process = subprocess.Popen(argv, cwd=workdir, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = await asyncio.to_thread(_read_line, process.stdout, HOST_TIMEOUT_MARGIN)
        if not line.startswith(b"ready"):
            process.kill()
            _, error = process.communicate()
            raise RuntimeError(f"the warm runner did not start in the sandbox: {(line + error).decode('utf-8', 'replace').strip() or 'no answer'}")
        process.stdout.close()
        process.stderr.close()
        self._process = process

    def _stop_child(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.kill()  # its processes die with it (bubblewrap's namespace, or their death signal)
            process.wait()
            process.stdin.close()

    async def _send(self, path: str, stdin: str, limits: Limits) -> tuple[bool, str, str]:
        """Send one job to the runner at ``path``; (whether a runner was listening, stdout, stderr)."""
        timeout = limits.timeout + HOST_TIMEOUT_MARGIN
        host_socket = _host_path(self.sandbox, path)
        if host_socket is None and self._relay is not None:
            try:
                status, reply = await self._relay.request(path, stdin.encode("utf-8"), timeout)
            except RelayClosed:
                self._relay.close()  # the next job starts a new one; this one takes the exec path below
            else:
                if status == NO_SERVER:
                    return False, "", ""
                if status == NO_REPLY:
                    return True, "", "the warm runner closed the connection without a reply"
                return True, reply.decode("utf-8", "replace"), ""
        if host_socket is None:
            completed = await self.sandbox.exec(
                [sandbox_python(self.sandbox), "-I", "-S", "-c", CLIENT_SOURCE, path], input=stdin, timeout=int(timeout)
            )
            return completed.returncode != EXIT_NO_SERVER, completed.stdout, completed.stderr
        # the sandbox's directory is this machine's: talk to the socket without a client process
        try:
            reader, writer = await asyncio.open_unix_connection(host_socket)
        except OSError:
            return False, "", ""
        try:
            reply = await asyncio.wait_for(_exchange(reader, writer, stdin.encode("utf-8")), timeout)
        except (ConnectionResetError, BrokenPipeError):
            # the runner closed its socket with the job unread (it died just before): the job never ran
            return False, "", ""
        except OSError as err:
            return True, "", f"the warm runner dropped the connection: {err}"
        finally:
            writer.close()
        return True, reply.decode("utf-8", "replace"), "" if reply else "the warm runner closed the connection without a reply"

    async def run(
        self,
        program: str,
        spec: TaskSpec,
        predict: dict[str, np.ndarray],
        fit: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
        limits: Limits | None = None,
        shape: str = "auto",
        batch_check: bool = False,
    ) -> RunResult:
        """Run one submission; same parameters and result as `run_program` (without ``sandbox``).

        Raises
        ------
        HarnessError
            When no runner could be started or none answered (see `run_program`).
        """
        limits = limits or Limits()
        try:
            path = self._socket or await self._start(None)
            stdin, nonce = _job(program, spec, predict, fit, limits, shape, batch_check, self._key)
            listening, stdout, stderr = await self._send(path, stdin, limits)
            if not listening:  # killed by an earlier job: start another
                path = await self._start(path)
                stdin, nonce = _job(program, spec, predict, fit, limits, shape, batch_check, self._key)
                listening, stdout, stderr = await self._send(path, stdin, limits)
        except RuntimeError as err:
            raise HarnessError(f"the warm runner could not be started: {err}") from err
        except TimeoutError:
            raise HarnessError(f"the warm runner did not answer within {limits.timeout + HOST_TIMEOUT_MARGIN:g} s, though its own timeout is {limits.timeout:g} s") from None
        if not listening:
            raise HarnessError(f"no warm runner took the job, even a new one: {stderr.strip() or 'no answer'}")
        result = _parse_reply(stdout, stderr, nonce, spec, predict)
        result.isolation = self.isolation
        return result

    async def close(self) -> None:
        """Stop the warm runner (it exits once its socket file is gone) and the relay into its container."""
        if self._relay is not None:
            self._relay.close()
        if self._socket is not None:
            await self.sandbox.exec(["rm", "-f", self._socket], timeout=60)
            self._socket = None
        self._stop_child()


CONTAINER_SANDBOXES: list[type] = []
"""Sandbox classes that are one container the host can exec into (`sldbench.sandbox.docker` adds its own when
imported): the host never imports a provider, so providers may use the host (to prove themselves)."""


def docker_container(sandbox: SandboxEnvironment):
    """The ``sldbench-docker`` container behind ``sandbox``, or None (another kind, or the docker extra not installed)."""
    for kind in CONTAINER_SANDBOXES:
        try:
            return sandbox.as_type(kind)
        except TypeError:
            continue
    return None


def _relay_for(sandbox: SandboxEnvironment) -> Relay | None:
    """A `Relay` into ``sandbox`` when it is a container of ``sldbench-docker`` (one exec for all jobs), else None."""
    container = docker_container(sandbox)
    if container is None:
        return None
    return Relay(container.open_stream, [sandbox_python(sandbox), "-I", "-S"])


def _read_line(stream, timeout: float) -> bytes:
    """One line from a pipe, or what arrived before ``timeout`` seconds passed or it closed."""
    deadline = time.monotonic() + timeout
    data = b""
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([stream], [], [], remaining)[0]:
            break
        chunk = os.read(stream.fileno(), 4096)
        if not chunk:
            break
        data += chunk
    return data


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> bytes:
    """Write the request, close our side, read the reply to its end."""
    writer.write(request)
    await writer.drain()
    writer.write_eof()
    return await reader.read()


def _decoded(encoded: object) -> np.ndarray:
    try:
        return decode_matrix(encoded)
    except (KeyError, TypeError, ValueError) as err:
        raise PredictionError(f"malformed predictions from the runner: {type(err).__name__}: {err}") from err


def _parse_reply(stdout: str, stderr: str, nonce: str, spec: TaskSpec, predict: dict[str, np.ndarray]) -> RunResult:
    reply = None
    for line in reversed(stdout.splitlines()):
        try:
            candidate = json.loads(line)
        except ValueError:
            continue
        if isinstance(candidate, dict) and candidate.get("nonce") == nonce:
            reply = candidate
            break
    if reply is None:
        said = (stderr or stdout).strip().splitlines()
        raise HarnessError("the runner gave no valid reply" + (f": {said[-1][:500]}" if said else " (it printed nothing)"))
    if not reply.get("ok") and reply.get("kind") == "runner":  # the runner's own failure, not the submission's
        raise HarnessError(f"the runner failed: {reply.get('error', 'no reason given')}")
    detail = "\n".join(part for part in (reply.get("traceback", ""), reply.get("output", "")) if part)
    common = dict(
        shape=reply.get("shape", ""),
        param_counts=reply.get("param_counts", {}),
        seconds=float(reply.get("seconds", 0.0)),
        fit_seconds=float(reply.get("fit_seconds", 0.0)),
        predict_seconds=float(reply.get("predict_seconds", 0.0)),
        batch_dependent=list(reply.get("batch_dependent", [])),
        write_guard=str(reply.get("write_guard", "")),
        detail=detail,
    )
    if not reply.get("ok"):
        return RunResult(ok=False, kind=reply.get("kind", "exception"), error=reply.get("error", "failed"), **common)
    predictions = {}
    raw = reply.get("predictions", {})
    for group, points in predict.items():
        if group not in raw:
            return RunResult(ok=False, kind="bad_output", error=f"no predictions for group {group!r}", **common)
        try:
            predictions[group] = as_prediction_matrix(_decoded(raw[group]), len(points), len(spec.targets))
        except PredictionError as err:
            return RunResult(ok=False, kind="bad_output", error=f"group {group!r}: {err}", **common)
    try:
        params = {group: _decoded(vector).ravel() for group, vector in (reply.get("params") or {}).items()}
    except PredictionError as err:
        raise HarnessError(f"the runner's fitted vectors are malformed: {err}") from None
    return RunResult(ok=True, predictions=predictions, params=params, **common)


async def fit_and_predict(
    runner: SandboxEnvironment | WarmRunner,
    program: str,
    train,
    points,
    timeout: float,
    shape: str = "auto",
    batch_check: bool = False,
) -> RunResult:
    """Run a submission fitted on ``train`` (fit-and-predict shape) on every group of ``points``.

    Parameters
    ----------
    runner : SandboxEnvironment or WarmRunner
        Where to run: a sandbox (one runner start for this run) or a warm runner in one.
    program : str
        Source of the submission.
    train, points : sldbench.data.Split
        Rows to fit on, and rows whose features are predicted (their targets stay on the host).
    timeout : float
        Wall seconds for the run.
    shape : {"auto", "law", "fit_predict"}
    batch_check : bool
        See `run_program`.

    Returns
    -------
    RunResult
        Predictions for every group of ``points``.
    """
    arguments = dict(
        program=program,
        spec=train.spec,
        predict={g: points.arrays(g)[0] for g in points.groups},
        fit={g: train.arrays(g) for g in train.groups},
        limits=Limits(timeout=timeout),
        shape=shape,
        batch_check=batch_check,
    )
    if isinstance(runner, WarmRunner):
        return await runner.run(**arguments)
    return await run_program(runner, **arguments)
