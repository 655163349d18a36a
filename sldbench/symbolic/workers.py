"""The symbolic search's fits in worker processes, so that every core fits.

The proposer's CPU work is fitting its own candidates on the train split: the law
grammar's families (`GrammarSearch.candidate`, `GrammarSearch.literature_candidate`),
the law search's forms (`LawSearch.score`) and the guard rails of the programs it
proposes (`GrammarSearch.vet`). Each is a pure function of the candidate and the train
rows, and Python threads run them one at a time. `FitPool` runs them in worker
processes (`run_worker`) that each hold a `LawSearch` and a
`GrammarSearch` of the proposer's split, sent to them once (the search's train rows:
the proposer never holds the test rows), so a result is the same whichever process
computed it, and a seed gives the same search with one process or many. They run the
search's own programs only, never a model's or an agent's. Each runs one BLAS thread, the
pool being one process per core already. `InProcess` is the same
interface in the calling process, for one core.

The workers are plain subprocesses talking pickles over their stdin and stdout, not
`multiprocessing`'s: a spawned process imports the caller's ``__main__`` again, so a
script that runs discover at its top level would run it again in every worker. A
worker that dies (killed, out of memory) ends the pool: the fits go on in the
proposer's process with the same results, and stderr says so.
"""

from __future__ import annotations

import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import traceback
import weakref
from collections.abc import Callable, Iterable
from concurrent.futures import CancelledError, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from ..data import Split

WORKER_MAIN = "from sldbench.symbolic.workers import run_worker; run_worker()"
MAX_PROCESSES = 4  # a climb's round scores 12 forms, a grammar stage tens of laws: more would mostly wait, at ~120 MB each


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, where the platform tells it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class WorkerGone(RuntimeError):
    """A worker process stopped answering (it exited or was killed)."""


def _send(stream: IO[bytes], payload: bytes) -> None:
    stream.write(struct.pack("<Q", len(payload)) + payload)
    stream.flush()


def _receive(stream: IO[bytes]) -> bytes:
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError("the other end closed the pipe")
    (size,) = struct.unpack("<Q", header)
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError("the other end closed the pipe mid-message")
    return payload


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """A worker's loop: build the searches from the first message, then answer ``(job, item)`` messages until EOF.

    Parameters
    ----------
    requests, replies : binary streams
        The pipes from and to the pool. A reply is ``("ok", result)`` or ``("error", exception)``.
    """
    from .grammar import GrammarSearch
    from .search import LawSearch

    train, search_note, grammar_note = pickle.loads(_receive(requests))
    held = {LawSearch: LawSearch(train, search_note), GrammarSearch: GrammarSearch(train, grammar_note)}
    while True:
        try:
            (holder, method), item = pickle.loads(_receive(requests))
        except EOFError:
            return
        try:
            reply = pickle.dumps(("ok", method(held[holder], item)))
        except Exception as error:  # noqa: BLE001 - raised again in the proposer, as it would have been there
            try:
                reply = pickle.dumps(("error", error))
            except Exception:  # noqa: BLE001 - an exception that cannot be pickled travels as its traceback
                reply = pickle.dumps(("error", RuntimeError(traceback.format_exc())))
        _send(replies, reply)


class _Worker:
    """One worker process, started at once (it imports the package while the search sets up); the split goes
    with its first job, from a pool thread (a pipe holds 64 KiB: writing it now would wait for the imports)."""

    def __init__(self, setup: bytes) -> None:
        # Imported here, in the proposer's process: the workers import this module, and the sandbox package
        # would cost each of them the import of Inspect.
        from ..sandbox.runner import THREAD_VARS

        package_root = str(Path(__file__).resolve().parents[2])  # the sldbench this process runs, whatever sys.path says
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)}
        # One BLAS thread each, as in the sandbox's runner: the workers are one per core already, and BLAS
        # threads of their own spin against each other's (a search's fits took four times as long).
        env.update(dict.fromkeys(THREAD_VARS, "1"))
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER_MAIN], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        self._setup: bytes | None = setup

    def call(self, job: tuple[type, Callable], item):
        try:
            if self._setup is not None:
                _send(self.process.stdin, self._setup)
                self._setup = None
            _send(self.process.stdin, pickle.dumps((job, item)))
            status, value = pickle.loads(_receive(self.process.stdout))
        except (OSError, ValueError, EOFError, pickle.UnpicklingError) as error:  # ValueError: a pipe closed by `stop`
            raise WorkerGone(f"worker process {self.process.pid} stopped (exit status {self.process.poll()})") from error
        if status == "error":
            raise value
        return value

    def stop(self) -> None:
        self.process.kill()  # first: a thread waiting on its reply reads the end of the pipe
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


def _stop_all(workers: list[_Worker]) -> None:
    for worker in workers:
        worker.stop()


class InProcess:
    """The fits in the calling process, one after another: `FitPool`'s interface with one core."""

    @staticmethod
    def map(method: Callable, holder: Any, items: Iterable) -> list:
        """``method(holder, item)`` for every item, in order."""
        return [method(holder, item) for item in items]

    def close(self) -> None:
        """Nothing to stop."""


IN_PROCESS = InProcess()


def fit_pool(train: Split, search_note: str, grammar_note: str) -> FitPool | InProcess:
    """Where the proposer's fits run: worker processes, one per available core up to `MAX_PROCESSES`.

    Parameters
    ----------
    train : Split
        The split the proposer searches on.
    search_note, grammar_note : str
        The notes of the proposer's `LawSearch` and `GrammarSearch`.

    Returns
    -------
    FitPool or InProcess
        A started `FitPool`; `IN_PROCESS` when this process may use one core only.
    """
    processes = min(available_cores(), MAX_PROCESSES)
    return FitPool(train, search_note, grammar_note, processes) if processes > 1 else IN_PROCESS


class FitPool:
    """Worker processes fitting one train split's candidates (see the module docstring).

    Parameters
    ----------
    train : Split
        The split the proposer searches on (the only rows the workers get).
    search_note, grammar_note : str
        The notes of the proposer's `LawSearch` and `GrammarSearch` (they are written into programs).
    processes : int
        Worker processes, at least 2 (with one core, fit in the proposer's process instead: `InProcess`).
    """

    def __init__(self, train: Split, search_note: str, grammar_note: str, processes: int) -> None:
        if processes < 2:
            raise ValueError(f"a FitPool needs at least 2 processes, got {processes}: with fewer, fit in the proposer's process")
        setup = pickle.dumps((train, search_note, grammar_note))
        self._workers = [_Worker(setup) for _ in range(processes)]
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        for worker in self._workers:
            self._idle.put(worker)
        self._threads: ThreadPoolExecutor | None = ThreadPoolExecutor(processes, thread_name_prefix="fit-pool")
        self._finalizer = weakref.finalize(self, _stop_all, self._workers)  # a pool never closed stops with its owner

    def map(self, method: Callable, holder: Any, items: Iterable) -> list:
        """``method(holder, item)`` for every item, in order, computed in the workers by their own holder of
        ``holder``'s class (the same split, so the same results); in this process by ``holder`` itself once
        the workers cannot run.

        Parameters
        ----------
        method : callable
            A method of `LawSearch` or `GrammarSearch`, taken from the class (``LawSearch.score``).
        holder : LawSearch or GrammarSearch
            The proposer's own, which the workers' copies stand for.
        items : iterable
            Picklable arguments (forms, families, bound laws, programs).

        Returns
        -------
        list
            The results in the order of ``items``.
        """
        items = list(items)
        threads, job = self._threads, (type(holder), method)
        try:
            futures = [threads.submit(self._run, job, item) for item in items] if threads is not None else []
        except RuntimeError:  # closed by another thread meanwhile
            futures = []
        if futures:
            try:
                return [future.result() for future in futures]
            except (WorkerGone, CancelledError) as error:
                self._stop(error)
        return [method(holder, item) for item in items]

    def _run(self, job: tuple[type, Callable], item):
        worker = self._idle.get()
        try:
            return worker.call(job, item)
        finally:
            self._idle.put(worker)

    def _stop(self, error: BaseException) -> None:
        if self._threads is None:  # closed already: by the owner, or by another thread that met the same failure
            return
        self.close()
        print(f"warning: {error}; the symbolic search fits in this process from now on (the same results, on one core)", file=sys.stderr, flush=True)

    def close(self) -> None:
        """Stop the workers (fits in flight are abandoned; nothing they hold outlives them)."""
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
            self._threads = None
            self._finalizer()


def run_worker() -> None:
    """A worker process's main: `serve` on stdin and stdout (``python -c "from sldbench.symbolic.workers import run_worker; run_worker()"``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interrupt is the proposer's to handle: it stops the workers
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print of a fit must not corrupt the replies
    serve(sys.stdin.buffer, replies)
