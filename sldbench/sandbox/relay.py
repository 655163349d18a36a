"""One long-lived channel into a container for a warm runner's jobs, instead of one ``exec`` per job.

An ``exec`` in a container costs several round trips to the engine and a process start:
tens of milliseconds per SLDAgent candidate. `Relay` starts one ``exec`` of `RELAY_SOURCE`
with its stdin kept open, and sends every job down it. In the container the relay reads
framed requests (a job for the warm runner at a given socket), forwards each to that
socket on a thread of its own (jobs in flight overlap) and writes the framed reply back.
It holds nothing but the bytes in transit (no process of the container's user can read its
memory: it is not dumpable); it exits when its stdin closes. What runs the
job is the warm runner, unchanged: the relay only replaces the client process.

A request frame is ``id (8 bytes), path length (4), job length (8)``, the socket path and
the job; a reply frame ``id (8), status (1), length (8)`` and the reply: status 0 is the
runner's reply, 1 "no warm runner at that path", 2 "the runner closed without a reply".
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct
import threading
from typing import Callable

REQUEST_HEADER = struct.Struct(">QIQ")
REPLY_HEADER = struct.Struct(">QBQ")
REPLIED, NO_SERVER, NO_REPLY = 0, 1, 2

RELAY_SOURCE = f"""
import ctypes, os, socket, struct, sys, threading
try:  # the jobs it carries hold the runner's key: no process of the same user may read its memory
    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE
except (OSError, AttributeError):
    pass
request, reply = struct.Struct(">QIQ"), struct.Struct(">QBQ")
source, sink, lock = sys.stdin.buffer, sys.stdout.buffer, threading.Lock()

def read(size):
    data = source.read(size)
    if len(data) < size:
        os._exit(0)  # the host closed the channel
    return data

def answer(ident, path, job):
    status, data = {REPLIED}, b""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(path)
    except OSError:
        status = {NO_SERVER}
    else:
        try:
            connection.sendall(job)
            connection.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := connection.recv(1 << 20):
                chunks.append(chunk)
            data = b"".join(chunks)
            status = {REPLIED} if data else {NO_REPLY}
        except (ConnectionResetError, BrokenPipeError):
            status = {NO_SERVER}  # closed with the job unread: it never ran
    finally:
        connection.close()
    with lock:
        sink.write(reply.pack(ident, status, len(data)) + data)
        sink.flush()

while True:
    ident, path_size, job_size = request.unpack(read(request.size))
    path = read(path_size).decode()
    threading.Thread(target=answer, args=(ident, path, read(job_size)), daemon=True).start()
"""


class RelayClosed(ConnectionError):
    """The relay's channel is gone; the job was not answered through it."""


class Relay:
    """The host's end of a relay in a container (see the module docstring).

    Parameters
    ----------
    open_stream : callable
        ``open_stream(argv) -> (socket, close)``, blocking: starts ``argv`` in the container with
        stdin open and returns the raw socket of Docker's attach stream (stdout and stderr
        multiplexed in 8-byte-header frames) and a function that closes it.
    argv : list of str
        How to run Python in the container (``RELAY_SOURCE`` is appended with ``-c``).
    """

    def __init__(self, open_stream: Callable, argv: list[str]) -> None:
        self._open_stream, self._argv = open_stream, argv
        self._raw = None
        self._close = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._send_lock = threading.Lock()
        self._start_lock = asyncio.Lock()
        self.stderr = b""

    async def _ensure(self) -> None:
        async with self._start_lock:
            if self._raw is None:
                self._raw, self._close = await asyncio.to_thread(self._open_stream, [*self._argv, "-c", RELAY_SOURCE])
                threading.Thread(target=self._read, args=(self._raw,), daemon=True).start()

    def _read(self, raw) -> None:
        """Demultiplex the attach stream; hand each reply to the job waiting for it."""
        pending, replies = b"", b""
        try:
            while chunk := raw.recv(1 << 20):
                pending += chunk
                while len(pending) >= 8:
                    stream_id, size = struct.unpack(">BxxxL", pending[:8])
                    if len(pending) < 8 + size:
                        break
                    payload, pending = pending[8 : 8 + size], pending[8 + size :]
                    if stream_id != 1:
                        self.stderr = (self.stderr + payload)[-4000:]
                        continue
                    replies += payload
                    while len(replies) >= REPLY_HEADER.size:
                        ident, status, length = REPLY_HEADER.unpack(replies[: REPLY_HEADER.size])
                        if len(replies) < REPLY_HEADER.size + length:
                            break
                        data = replies[REPLY_HEADER.size : REPLY_HEADER.size + length]
                        replies = replies[REPLY_HEADER.size + length :]
                        self._deliver(ident, (status, data))
        except OSError:
            pass
        self._gone(raw)

    def _deliver(self, ident: int, outcome) -> None:
        future = self._pending.pop(ident, None)
        if future is not None and not future.done():
            future.get_loop().call_soon_threadsafe(lambda: future.done() or future.set_result(outcome))

    def _gone(self, raw) -> None:
        if self._raw is raw:
            self._raw = None
        for ident in list(self._pending):
            future = self._pending.pop(ident, None)
            if future is not None:
                detail = self.stderr.decode("utf-8", "replace").strip()
                future.get_loop().call_soon_threadsafe(
                    lambda f=future: f.done() or f.set_exception(RelayClosed(f"the relay's channel closed{': ' + detail if detail else ''}"))
                )

    async def request(self, path: str, job: bytes, timeout: float) -> tuple[int, bytes]:
        """Send ``job`` to the warm runner at ``path``; ``(status, reply)``. RelayClosed, TimeoutError."""
        await self._ensure()
        raw, ident = self._raw, next(self._ids)
        if raw is None:
            raise RelayClosed("the relay is not running")
        future = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        encoded = path.encode()
        frame = REQUEST_HEADER.pack(ident, len(encoded), len(job)) + encoded + job

        def send() -> None:
            with self._send_lock:
                raw.sendall(frame)

        try:
            await asyncio.to_thread(send)
        except OSError as err:
            self._pending.pop(ident, None)
            self._gone(raw)
            raise RelayClosed(f"the relay's channel closed: {err}") from err
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(ident, None)

    def close(self) -> None:
        """Close the channel: the relay in the container exits."""
        raw, close, self._raw = self._raw, self._close, None
        if close is not None:
            close()
        if raw is not None:
            self._gone(raw)
