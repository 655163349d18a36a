"""The ``sldbench-docker`` sandbox: one locked-down container per sample, on the Docker SDK.

Inspect's own ``docker`` sandbox drives Docker Compose v2; this one talks to the
engine directly through the ``docker`` Python package, so it needs nothing but a
running engine and an image (``docker/build.sh scoring``). Tasks select it with
``-T sandbox=docker`` (Inspect already owns the type name ``docker``).

Each sample gets a fresh container:

- no network (``network="none"``) unless the configuration names one;
- memory (no swap), CPU and process-count limits;
- commands run as a non-root user; every capability dropped, no privilege escalation;
- a read-only root filesystem: only the working directory, ``/tmp`` and
  ``/var/tmp`` (where Inspect's sandbox tools go) are writable, size-limited
  in-memory filesystems that vanish with the container;
- removed at the end of the sample, when the sample is interrupted, at the end
  of the task, by ``inspect sandbox cleanup sldbench-docker``, and, for
  containers whose Inspect process was killed outright, when the next task starts.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import secrets
import shlex
import socket
import struct
import threading
import time
from functools import lru_cache
from typing import Any, Literal, Union, overload

import anyio
from inspect_ai.util import (
    ExecResult,
    OutputLimitExceededError,
    SandboxConnection,
    SandboxEnvironment,
    SandboxEnvironmentConfigType,
    SandboxEnvironmentLimits,
    sandboxenv,
)
from inspect_ai.util import SandboxUnavailableError, SandboxUserUnsupportedError
from pydantic import BaseModel, Field, field_validator

from . import host
from .errors import PrerequisiteError, prerequisite_error

SANDBOX_TYPE = "sldbench-docker"
DEFAULT_IMAGE = "sldbench-scoring"
AGENTS_IMAGE = "sldbench-agents"  # the scoring image plus the agent CLIs (docker/build.sh agents)
LABEL = "org.sldbench.sandbox"  # value: the owning process (see `owner_id`)
TASK_LABEL = "org.sldbench.task"
KEEPALIVE = ["/bin/sleep", "infinity"]
WRITE_TIMEOUT = 600
TIMEOUT_KILL_GRACE = 5
HOST_TIMEOUT_MARGIN = 15
SIZE_PATTERN = re.compile(r"^[0-9]+[kmg]?$")

# Exec calls block a thread each while the command runs; give them their own pool so a few
# long-running commands never starve the threads Inspect itself uses.
_EXEC_THREADS = anyio.CapacityLimiter(256)


class DockerSandboxConfig(BaseModel, frozen=True):
    """Configuration of the ``sldbench-docker`` sandbox (all fields have safe defaults).

    Attributes
    ----------
    image : str
        Image to run (``docker/build.sh scoring`` builds the default).
    network : str
        ``none`` (default) or the name of a Docker network, e.g. ``bridge``.
    memory : str
        Memory limit, swap included, in Docker's notation (``4g``, ``512m``).
    cpus : float
        CPU limit (fractional cores).
    pids : int
        Most processes and threads alive at once in the container.
    uid, gid : int
        Unprivileged user and group that every command runs as by default.
    working_dir : str
        The per-sample working directory (a writable in-memory filesystem).
    workdir_size, tmp_size : str
        Size limits of the working directory and of ``/tmp``.
    """

    image: str = DEFAULT_IMAGE
    network: str = "none"
    memory: str = "4g"
    cpus: float = Field(default=2.0, gt=0)
    pids: int = Field(default=512, ge=16)
    uid: int = Field(default=1000, gt=0)
    gid: int = Field(default=1000, gt=0)
    working_dir: str = "/home/sld/work"
    workdir_size: str = "1g"
    tmp_size: str = "256m"

    @field_validator("memory", "workdir_size", "tmp_size")
    @classmethod
    def _size(cls, value: str) -> str:
        if not SIZE_PATTERN.match(value.lower()):
            raise ValueError(f"expected a size such as 512m or 4g, got {value!r}")
        return value.lower()

    @field_validator("working_dir")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/") or value.rstrip("/") in ("", "/tmp"):
            raise ValueError(f"expected an absolute directory other than / and /tmp, got {value!r}")
        return value.rstrip("/")

    @property
    def exec_user(self) -> str:
        """Who commands run as unless they ask for another user."""
        return f"{self.uid}:{self.gid}"

    def container_options(self) -> dict[str, Any]:
        """Keyword arguments of ``containers.run`` that enforce this configuration.

        Only the init and the idle keep-alive process run as root (without capabilities), so
        that commands, which all run as ``uid``, cannot kill the container from inside.
        """
        return {
            "user": "0:0",
            "working_dir": self.working_dir,
            "network_mode": self.network,
            "read_only": True,
            "tmpfs": {
                self.working_dir: f"rw,exec,nosuid,nodev,size={self.workdir_size},uid={self.uid},gid={self.gid},mode=0755",
                "/tmp": f"rw,nosuid,nodev,size={self.tmp_size},mode=1777",
                # where Inspect puts its sandbox tools (the agent bridge's proxy among them)
                "/var/tmp": f"rw,exec,nosuid,nodev,size={self.tmp_size},mode=1777",
            },
            "mem_limit": self.memory,
            "memswap_limit": self.memory,
            "nano_cpus": int(self.cpus * 1e9),
            "pids_limit": self.pids,
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "init": True,  # an init as PID 1 reaps orphans
        }


def owner_id() -> str:
    """This process, as ``host:pid:start-time`` (the start time tells a reused pid apart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid())}"


def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "?"


def owner_alive(owner: str) -> bool:
    """Whether the process named by `owner_id` still runs; True when it is on another host."""
    host, _, rest = owner.partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    return _start_time(int(pid)) == started


@lru_cache(maxsize=1)
def docker_client():
    """The Docker client for this process (``DOCKER_HOST`` etc. are honoured).

    Raises
    ------
    PrerequisiteError
        When the ``docker`` package is missing or no engine answers.
    """
    try:
        import docker
    except ImportError as err:
        raise prerequisite_error(
            "The sldbench-docker sandbox needs the docker package: pip install 'sldbench[docker]'"
        ) from err
    try:
        client = docker.from_env(max_pool_size=64)
        client.ping()
    except docker.errors.DockerException as err:
        raise prerequisite_error(
            f"No Docker engine reachable ({err}). Start one (as root: docker/engine.sh) or set DOCKER_HOST, "
            "or use -T sandbox=local."
        ) from err
    return client


def default_image() -> str:
    """The image of ``-T sandbox=docker``: `AGENTS_IMAGE` where it is built, else `DEFAULT_IMAGE`.

    The agents image is the scoring image with the agent CLIs added, so a law scores
    the same in either; an agent needs the first.
    """
    try:
        docker_client().images.get(AGENTS_IMAGE)
    except Exception:  # no engine, no package, no such image: the scoring image (task start says what is missing)
        return DEFAULT_IMAGE
    return AGENTS_IMAGE


def engine_problem() -> str | None:
    """Why no Docker engine can be used from here, or None when one answers."""
    try:
        docker_client()
    except PrerequisiteError as err:
        return str(err)
    return None


def remove_containers(filters: dict[str, Any]) -> list[str]:
    """Force-remove every container matching ``filters`` (Docker's list filters); return their names."""
    import docker

    removed = []
    for container in docker_client().containers.list(all=True, filters=filters):
        try:
            container.remove(force=True, v=True)
            removed.append(container.name)
        except docker.errors.NotFound:
            pass  # removed meanwhile
        except docker.errors.APIError as err:
            if err.status_code != 409:  # 409: another cleanup is already removing it
                raise
    return removed


def _config(config: SandboxEnvironmentConfigType | None) -> DockerSandboxConfig:
    if config is None:
        return DockerSandboxConfig()
    if isinstance(config, DockerSandboxConfig):
        return config
    if isinstance(config, BaseModel):
        return DockerSandboxConfig.model_validate(config.model_dump())
    raise ValueError(
        f"sldbench-docker: expected a DockerSandboxConfig, got the string {config!r} "
        "(the sandbox takes no configuration file)"
    )


class _TailBuffer:
    """Keeps the last ``limit`` bytes written to it, and whether anything was dropped."""

    def __init__(self, limit: int) -> None:
        self.limit, self.data, self.dropped = limit, bytearray(), False

    def write(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > self.limit:
            del self.data[: len(self.data) - self.limit]
            self.dropped = True


@sandboxenv(name=SANDBOX_TYPE)
class DockerSandboxEnvironment(SandboxEnvironment):
    """A sample's container; commands run through ``docker exec`` with the Docker SDK."""

    def __init__(self, container_id: str, name: str, config: DockerSandboxConfig) -> None:
        super().__init__()
        self.container_id = container_id
        self.name = name
        self.config = config

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def config_deserialize(cls, config: dict[str, Any]) -> BaseModel:
        return DockerSandboxConfig(**config)

    @classmethod
    def default_concurrency(cls) -> int | None:
        return max(1, os.cpu_count() or 1)

    @classmethod
    async def task_init(cls, task_name: str, config: SandboxEnvironmentConfigType | None) -> None:
        settings = _config(config)
        await anyio.to_thread.run_sync(cls._check_image, settings.image)
        reaped = await anyio.to_thread.run_sync(cls._reap_orphans)
        if reaped:
            logging.getLogger(__name__).warning(
                f"removed {len(reaped)} sldbench-docker container(s) left by killed runs: {', '.join(reaped)}"
            )
        await cls.prove(task_name, settings)

    @classmethod
    async def prove(cls, task_name: str, settings: "DockerSandboxConfig"):
        """Score a known law in a fresh container of ``settings`` (`sldbench.sandbox.probe.prove`).

        Returns
        -------
        RunResult
            The probe's run.

        Raises
        ------
        PrerequisiteError
            When the known law does not score exactly in it: one line with the cause and the fix.
        """
        from .probe import SandboxProbeError, prove

        environments = await cls.sample_init(task_name, settings, {})
        try:
            return await prove(environments["default"], f"Check the image {settings.image!r} (docker/build.sh scoring rebuilds it) and sldbench doctor")
        except SandboxProbeError as err:
            raise prerequisite_error(f"{SANDBOX_TYPE}: {err}") from err
        finally:
            await cls.sample_cleanup(task_name, settings, environments, False)

    @staticmethod
    def _check_image(image: str) -> None:
        client = docker_client()  # first: it says what to do when the package or the engine is missing
        import docker

        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            hint = {DEFAULT_IMAGE: "docker/build.sh scoring", AGENTS_IMAGE: "docker/build.sh agents"}.get(image, f"docker pull {image}")
            raise prerequisite_error(f"sldbench-docker: image {image!r} not found; build it with {hint}") from None

    @staticmethod
    def _reap_orphans() -> list[str]:
        orphans = [
            container.id
            for container in docker_client().containers.list(all=True, filters={"label": LABEL})
            if not owner_alive(container.labels.get(LABEL, ""))
        ]
        return [name for cid in orphans for name in remove_containers({"id": cid})]

    @classmethod
    async def sample_init(
        cls, task_name: str, config: SandboxEnvironmentConfigType | None, metadata: dict[str, str]
    ) -> dict[str, SandboxEnvironment]:
        settings = _config(config)
        safe_task = re.sub(r"[^a-zA-Z0-9_.-]", "-", task_name)
        name = f"sldbench-{safe_task}-{secrets.token_hex(4)}"

        def start():
            return docker_client().containers.run(
                settings.image,
                KEEPALIVE,
                name=name,
                detach=True,
                labels={LABEL: owner_id(), TASK_LABEL: task_name},
                **settings.container_options(),
            )

        container = await anyio.to_thread.run_sync(start)
        return {"default": cls(container.id, name, settings)}

    @classmethod
    async def sample_cleanup(
        cls,
        task_name: str,
        config: SandboxEnvironmentConfigType | None,
        environments: dict[str, SandboxEnvironment],
        interrupted: bool,
    ) -> None:
        for environment in environments.values():
            if isinstance(environment, DockerSandboxEnvironment):
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(remove_containers, {"id": environment.container_id})

    @classmethod
    async def task_cleanup(cls, task_name: str, config: SandboxEnvironmentConfigType | None, cleanup: bool) -> None:
        filters = {"label": [f"{LABEL}={owner_id()}", f"{TASK_LABEL}={task_name}"]}
        if cleanup:
            await anyio.to_thread.run_sync(remove_containers, filters)
        else:
            kept = await anyio.to_thread.run_sync(lambda: docker_client().containers.list(all=True, filters=filters))
            if kept:
                print(
                    f"sldbench-docker containers kept: {' '.join(c.name for c in kept)}\n"
                    f"remove them with: inspect sandbox cleanup {SANDBOX_TYPE}"
                )

    @classmethod
    async def cli_cleanup(cls, id: str | None) -> None:
        filters = {"label": LABEL} if id is None else {"label": LABEL, "name": id}
        removed = await anyio.to_thread.run_sync(remove_containers, filters)
        print(f"removed {len(removed)} sldbench-docker container(s)" + (f": {' '.join(removed)}" if removed else ""))

    async def connection(self, *, user: str | None = None) -> SandboxConnection:
        command = ["docker", "exec", "-it", *(["--user", user] if user else []), self.name, "/bin/sh"]
        return SandboxConnection(type=SANDBOX_TYPE, command=shlex.join(command), container=self.name)

    def default_polling_interval(self) -> float:
        return 0.2

    # ----------------------------------------------------------------- commands

    async def exec(
        self,
        cmd: list[str],
        input: str | bytes | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        user: str | None = None,
        timeout: int | None = None,
        timeout_retry: bool = True,
        concurrency: bool = True,
    ) -> ExecResult[str]:
        if not cmd:
            raise ValueError("exec: empty command")
        # The wrapper runs inside the container so the command's whole process group dies on
        # timeout; it is named by absolute path, never found through the image's PATH.
        wrapped = cmd if timeout is None else ["/usr/bin/timeout", "-k", f"{TIMEOUT_KILL_GRACE}s", f"{timeout}s", *cmd]
        data = input.encode() if isinstance(input, str) else input
        host_timeout = None if timeout is None else timeout + TIMEOUT_KILL_GRACE + HOST_TIMEOUT_MARGIN
        limit = SandboxEnvironmentLimits.MAX_EXEC_OUTPUT_SIZE
        started = time.monotonic()
        code, stdout, stderr = await self._run(wrapped, data, self._resolve(cwd or "."), env, user, host_timeout, limit)
        # 124: the wrapper's SIGTERM; 137: its SIGKILL, or any other SIGKILL (memory, a kill),
        # told apart by the time the command had.
        if timeout is not None and (code == 124 or (code == 137 and time.monotonic() - started >= timeout)):
            error = TimeoutError(f"Command timed out after {timeout} seconds")
            error.truncated_output = (stdout.data + stderr.data).decode("utf-8", "replace")  # type: ignore[attr-defined]
            raise error
        return ExecResult(
            success=code == 0,
            returncode=code,
            stdout=stdout.data.decode("utf-8", "replace"),
            stderr=stderr.data.decode("utf-8", "replace"),
        )

    async def write_file(self, file: str, contents: str | bytes) -> None:
        path = self._resolve(file)
        data = contents.encode() if isinstance(contents, str) else contents
        script = 'mkdir -p -- "$(dirname -- "$1")" && if [ -d "$1" ]; then exit 21; fi && cat > "$1"'
        code, _, stderr = await self._run(
            ["/bin/sh", "-c", script, "sh", path], data, self.config.working_dir, None, None, WRITE_TIMEOUT, 1 << 16
        )
        message = stderr.data.decode("utf-8", "replace").strip()
        if code == 21:
            raise IsADirectoryError(errno.EISDIR, "Is a directory", file)
        if code != 0:
            lowered = message.lower()
            if "permission denied" in lowered or "read-only file system" in lowered:
                raise PermissionError(errno.EACCES, f"cannot write: {message}", file)
            raise RuntimeError(f"sldbench-docker: writing {file} failed (exit {code}): {message}")

    @overload
    async def read_file(self, file: str, text: Literal[True] = True) -> str: ...

    @overload
    async def read_file(self, file: str, text: Literal[False]) -> bytes: ...

    async def read_file(self, file: str, text: bool = True) -> Union[str, bytes]:
        path = self._resolve(file)
        script = (
            'if [ -d "$1" ]; then exit 21; fi; if [ ! -e "$1" ]; then exit 2; fi; '
            'if [ ! -r "$1" ]; then exit 13; fi; exec /bin/cat -- "$1"'
        )
        limit = SandboxEnvironmentLimits.MAX_READ_FILE_SIZE
        code, stdout, stderr = await self._run(
            ["/bin/sh", "-c", script, "sh", path], None, self.config.working_dir, None, None, WRITE_TIMEOUT, limit
        )
        errors = {2: FileNotFoundError, 13: PermissionError, 21: IsADirectoryError}
        if code in errors:
            number = {2: errno.ENOENT, 13: errno.EACCES, 21: errno.EISDIR}[code]
            raise errors[code](number, os.strerror(number), file)
        if code != 0:
            raise RuntimeError(f"sldbench-docker: reading {file} failed (exit {code}): {stderr.data.decode(errors='replace')}")
        if stdout.dropped:
            raise OutputLimitExceededError(SandboxEnvironmentLimits.MAX_READ_FILE_SIZE_STR, None)
        return stdout.data.decode("utf-8") if text else bytes(stdout.data)

    def _resolve(self, path: str) -> str:
        return path if path.startswith("/") else os.path.normpath(f"{self.config.working_dir}/{path}")

    async def _run(
        self,
        cmd: list[str],
        data: bytes | None,
        cwd: str,
        env: dict[str, str] | None,
        user: str | None,
        host_timeout: float | None,
        limit: int,
    ) -> tuple[int, _TailBuffer, _TailBuffer]:
        """Run ``cmd`` in the container; return (exit code, stdout tail, stderr tail)."""
        return await anyio.to_thread.run_sync(
            self._run_blocking, cmd, data, cwd, env, user, host_timeout, limit,
            limiter=_EXEC_THREADS, abandon_on_cancel=True,
        )  # fmt: skip

    def _run_blocking(self, cmd, data, cwd, env, user, host_timeout, limit):
        import docker

        api = docker_client().api
        try:
            exec_id = api.exec_create(
                self.container_id,
                cmd,
                stdin=data is not None,
                stdout=True,
                stderr=True,
                environment=[f"{k}={v}" for k, v in (env or {}).items()] or None,
                workdir=cwd,
                user=user or self.config.exec_user,
            )["Id"]
            stream = api.exec_start(exec_id, socket=True)
        except docker.errors.NotFound as err:
            raise SandboxUnavailableError(f"the sandbox container {self.name} no longer exists") from err
        except docker.errors.APIError as err:
            if "is not running" in str(err):
                raise SandboxUnavailableError(f"the sandbox container {self.name} is not running") from err
            raise
        raw = getattr(stream, "_sock", stream)
        raw.settimeout(host_timeout)
        writer = None
        if data is not None:
            writer = threading.Thread(target=_send_stdin, args=(raw, data), daemon=True)
            writer.start()
        stdout, stderr = _TailBuffer(limit), _TailBuffer(limit)
        try:
            for stream_id, chunk in _frames(raw):
                (stdout if stream_id == 1 else stderr).write(chunk)
        except (socket.timeout, TimeoutError) as err:
            raise TimeoutError(f"no answer from the Docker engine within {host_timeout:g} s") from err
        finally:
            stream.close()
        if writer is not None:
            writer.join(timeout=5)
        code = _exit_code(api, exec_id)
        # The engine's "unable to find user" message does not always reach the stream (an exec that
        # fails before it starts can end before it is attached): ask the image whether the user exists.
        if code == 126 and user and not self._user_exists(api, user):
            raise SandboxUserUnsupportedError(f"no user {user!r} in the image {self.config.image}")
        return code, stdout, stderr

    def open_stream(self, argv: list[str]):
        """Start ``argv`` in the container with stdin open; ``(raw socket, close)`` of its attach stream (blocking).

        The socket carries stdin one way and Docker's multiplexed stdout/stderr frames the
        other (`_frames`); closing it ends the command's stdin. For `sldbench.sandbox.relay`.
        """
        api = docker_client().api
        exec_id = api.exec_create(
            self.container_id, argv, stdin=True, stdout=True, stderr=True, workdir=self.config.working_dir, user=self.config.exec_user
        )["Id"]
        stream = api.exec_start(exec_id, socket=True)
        raw = getattr(stream, "_sock", stream)
        raw.settimeout(None)

        def close() -> None:
            try:
                raw.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            stream.close()

        return raw, close

    def _user_exists(self, api, user: str) -> bool:
        probe = api.exec_create(self.container_id, ["id", "-u", user], stdout=False, stderr=False, user="root")["Id"]
        api.exec_start(probe)
        return _exit_code(api, probe) == 0


host.CONTAINER_SANDBOXES.append(DockerSandboxEnvironment)  # runs go through a relay into its container


def _frames(raw: socket.socket):
    """Demultiplex Docker's attach stream: 8-byte headers (stream id, size) before each chunk.

    Reads with ``recv`` so that the socket timeout applies (the SDK's reader polls without one).
    """
    pending = b""
    while True:
        chunk = raw.recv(1 << 16)
        if not chunk:
            return
        pending += chunk
        while len(pending) >= 8:
            stream_id, size = struct.unpack(">BxxxL", pending[:8])
            if len(pending) < 8 + size:
                break
            yield stream_id, pending[8 : 8 + size]
            pending = pending[8 + size :]


def _send_stdin(raw: socket.socket, data: bytes) -> None:
    try:
        raw.sendall(data)
        raw.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # the command exited without reading all of its input


def _exit_code(api, exec_id: str) -> int:
    deadline = time.monotonic() + 10
    while True:
        info = api.exec_inspect(exec_id)
        if not info.get("Running") or time.monotonic() > deadline:
            code = info.get("ExitCode")
            return 1 if code is None else int(code)
        time.sleep(0.02)
