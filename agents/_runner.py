"""Running one agent CLI headless in the sample's sandbox, its model traffic bridged to the eval's model.

Every adapter is the same sequence, with the agent's own command line, environment
and config files supplied by the adapter (`Launch`):

1. find the CLI in the sandbox (``PATH``, then the ``sldbench agents install``
   prefix), failing the sample with the install command when it is missing;
2. reserve a bridge port for this sample and start Inspect's `sandbox_agent_bridge`
   on it (a proxy in the sandbox serving the OpenAI, Anthropic and Google wire
   formats, forwarding every call to the eval's model);
3. give the run a fresh home folder outside the working directory for the
   agent's config files and its captured output, and wait until the proxy
   accepts connections;
4. run the CLI under ``timeout`` in its own process group, output to files, so
   a run cut short (time limit, cancelled sample) leaves what it wrote, and the
   whole group is killed afterwards;
5. record the agent's own output (JSON event stream, chat history) in the
   transcript. The submission is whatever ``law.py`` the agent left.

The bridge also enforces the turn limit: after ``max_turns`` model calls it
answers with a stop message instead of calling the model, so every agent ends
its loop the same way.
"""

from __future__ import annotations

import json
import shlex
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import anyio

from inspect_ai.agent import Agent, AgentState, agent, sandbox_agent_bridge
from inspect_ai.log import transcript
from inspect_ai.model import ChatMessage, ChatMessageUser, GenerateConfig, Model, ModelOutput, get_model
from inspect_ai.tool import ToolChoice, ToolInfo
from inspect_ai.util import SandboxEnvironment, store
from inspect_ai.util import sandbox as current_sandbox
from sldbench.sandbox.host import local_sandbox
from sldbench.submission import LAW_FILE

from .install import AgentCLI, bin_dir

# The agent track of the paper: the task prompt (context, data location, law
# shapes) is the sample's input; this is what the agents are asked on top of it.
AGENT_TRACK = f"""\

You are working in a terminal in your current working directory, on your own: nobody will answer
questions. Look at the training data, try candidate laws, fit their constants per group and check
them on the training data. Then submit in the pre-fitted shape:
- {LAW_FILE}: the law, `def law(input_data: list[dict[str, float]], group: str) -> list[dict[str, float]]`,
  one functional form for all groups with the constants you fitted per group written into the file
  (it must not read files or refit when called);
- explain.md: the functional form, why you chose it, and the fitted constants per group.
Both files go in the current working directory. Finish once they are written.
"""

DEFAULT_TIMEOUT = 3600
DEFAULT_MAX_TURNS = 200
TURN_LIMIT_REPLY = "The turn limit of this run is reached: stop now. {law} and explain.md are scored as they are."
PORT_WAIT_SECONDS = 30
KILL_GRACE_SECONDS = 10
OUTPUT_KEEP_CHARS = 200_000  # per stream, in the transcript


class AgentNotInstalledError(RuntimeError):
    """The agent's CLI is not in the sandbox; the message names the command that installs it."""


class UnisolatedAgentError(RuntimeError):
    """An agent asked to run in the local sandbox without the explicit opt-in; the message says what to run instead."""


def refusal(name: str) -> str:
    """Why an agent does not run on this machine by default, and what to run instead."""
    return (
        f"sldbench/{name}: refusing to run a model-driven shell in the local sandbox, on this machine, where the "
        "answers are (the test split in your data folder and Hugging Face cache) along with your files and "
        "environment. Run it in a container: -T sandbox=docker (once, as root: docker/engine.sh, then "
        "docker/build.sh agents). To run it here anyway, opt in with -S unisolated=true: the run is marked "
        "unisolated in the log and in reports."
    )


@dataclass
class Context:
    """What an adapter knows when it builds its command line.

    Attributes
    ----------
    port : int
        Port of this sample's bridge, in the sandbox.
    home : str
        Fresh folder for the agent's config (``HOME`` of the run), outside the working directory.
    workdir : str
        The sandbox working directory (holds ``data/train.csv``; ``law.py`` goes here).
    executable : str
        Path of the CLI found in the sandbox.
    prompt : str
        The full instruction: the task prompt and the agent-track request.
    model : str
        Model name the CLI asks the bridge for: the eval's own model name, so with its
        provider's models a CLI runs with its native prompts and settings.
    max_turns : int, optional
        The bridge's turn limit, for a CLI that must be told to stop (None: no limit).
    """

    port: int
    home: str
    workdir: str
    executable: str
    prompt: str
    model: str
    max_turns: int | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Launch:
    """How to start one agent: argv, extra environment, and files to write first (paths relative to ``home``)."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)


_reserved_ports: set[int] = set()


def reserve_port() -> int:
    """A free TCP port for one sample's bridge, never handed out twice while reserved."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port not in _reserved_ports:
            _reserved_ports.add(port)
            return port


def release_port(port: int) -> None:
    _reserved_ports.discard(port)


def instruction(state: AgentState) -> str:
    """The agent's instruction: the sample's user prompt followed by the agent-track request."""
    task = "\n\n".join(m.text for m in state.messages if isinstance(m, ChatMessageUser))
    return task.rstrip() + "\n" + AGENT_TRACK


def turn_limit(max_turns: int | None) -> Callable[..., Awaitable[ModelOutput | None]] | None:
    """A bridge filter that answers with a stop message once ``max_turns`` model calls were made."""
    if max_turns is None:
        return None
    calls = 0

    async def limit(model: Model, messages: list[ChatMessage], tools: list[ToolInfo], tool_choice: ToolChoice | None, config: GenerateConfig) -> ModelOutput | None:
        nonlocal calls
        calls += 1
        if calls <= max_turns:
            return None
        return ModelOutput.from_content(model=model.name, content=TURN_LIMIT_REPLY.format(law=LAW_FILE))

    return limit


async def _sh(sandbox: SandboxEnvironment, script: str) -> str:
    result = await sandbox.exec(["bash", "-c", script], timeout=60)
    if not result.success:
        raise RuntimeError(f"sandbox command failed ({result.returncode}): {script}\n{result.stderr.strip()}")
    return result.stdout.strip()


async def locate(sandbox: SandboxEnvironment, cli: AgentCLI) -> str:
    """Path of ``cli``'s executable in the sandbox; AgentNotInstalledError with the install command otherwise."""
    result = await sandbox.exec(
        ["bash", "-c", f'PATH="{bin_dir()}:$PATH" command -v {shlex.quote(cli.command)}'], timeout=60
    )
    if result.success and result.stdout.strip():
        return result.stdout.strip().splitlines()[0]
    raise AgentNotInstalledError(
        f"{cli.name}: the `{cli.command}` command ({cli.package} {cli.version}) is not in the sandbox "
        f"(looked on PATH and in {bin_dir()}). Install it with `{cli.install_hint}` "
        f"(local sandbox), or build the agents image for -T sandbox=docker: docker/build.sh agents."
    )


async def wait_for_port(sandbox: SandboxEnvironment, port: int, seconds: float = PORT_WAIT_SECONDS) -> None:
    """Return once something listens on ``port`` in the sandbox; RuntimeError after ``seconds``."""
    tries = int(seconds / 0.1)
    script = f"for i in $(seq {tries}); do (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && exit 0; sleep 0.1; done; exit 1"
    result = await sandbox.exec(["bash", "-c", script], timeout=int(seconds) + 30)
    if not result.success:
        raise RuntimeError(f"the model bridge did not start listening on port {port} in the sandbox within {seconds:g} s")


def version_line(text: str, pinned: str) -> str:
    """The line of a CLI's version output that names its version (the pinned one if there), else its first line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return next((line for line in lines if pinned in line), lines[0] if lines else "")


def parse_output(text: str) -> Any:
    """The agent's stdout as JSON: one document, or a list of JSON-lines events (other lines kept as text)."""
    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    events: list[Any] = []
    for line in text.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            if line.strip():
                events.append(line)
    return events


def _keep(text: str) -> str:
    return text if len(text) <= OUTPUT_KEEP_CHARS else f"[... {len(text) - OUTPUT_KEEP_CHARS} characters cut ...]\n" + text[-OUTPUT_KEEP_CHARS:]


async def read_if_present(sandbox: SandboxEnvironment, path: str) -> str:
    """The text of ``path`` in the sandbox, or "" when there is no such file."""
    try:
        return await sandbox.read_file(path)
    except FileNotFoundError:
        return ""


async def read_json_if_present(sandbox: SandboxEnvironment, path: str) -> Any:
    """The JSON document at ``path`` in the sandbox; its text when it is not JSON; "" when there is no such file."""
    text = await read_if_present(sandbox, path)
    try:
        return json.loads(text) if text else ""
    except ValueError:
        return text


async def run_agent_cli(
    state: AgentState,
    cli: AgentCLI,
    launch: Callable[[Context], Launch],
    timeout: int,
    max_turns: int | None,
    model: str | None = None,
    history: Callable[[SandboxEnvironment, Context], Awaitable[Any]] | None = None,
    unisolated: bool = False,
) -> AgentState:
    """Run ``cli`` on the sample, bridged to the eval's model, and record what it did.

    Parameters
    ----------
    state : AgentState
        The sample's messages (the task prompt).
    cli : AgentCLI
        The CLI and its pinned version.
    launch : callable
        Builds the command line, environment and config files from a `Context`.
    timeout : int
        Wall seconds for the CLI; it is then killed and the sample is scored on what it left.
    max_turns : int, optional
        Model calls allowed through the bridge (None: no limit).
    model : str, optional
        Model name the CLI is told (default: the eval's model name, e.g. ``claude-sonnet-4-5``).
        Whatever the name, the bridge serves the eval's model.
    history : callable, optional
        Reads the agent's own chat history from the sandbox after the run, for the transcript.
    unisolated : bool
        Allow the local sandbox (this machine). Without it an agent runs only in an
        isolating sandbox (docker, k8s) and `UnisolatedAgentError` ends the sample.

    Returns
    -------
    AgentState
        The conversation as seen through the bridge.
    """
    box = current_sandbox()
    on_this_machine = local_sandbox(box) is not None
    if on_this_machine and not unisolated:
        raise UnisolatedAgentError(refusal(cli.name))
    executable = await locate(box, cli)
    port = reserve_port()
    try:
        # the CLI's own generation settings (reasoning effort, token limits...) reach the model, as the paper ran them
        async with sandbox_agent_bridge(state, port=port, filter=turn_limit(max_turns), forward_generation_config=True) as bridge:
            workdir = await _sh(box, "pwd")
            home = await _sh(box, "mktemp -d")
            context = Context(
                port=port, home=home, workdir=workdir, executable=executable, prompt=instruction(state),
                model=model or get_model().name, max_turns=max_turns,
            )  # fmt: skip
            try:
                await _run(box, cli, launch(context), context, timeout, history, "unisolated (local sandbox)" if on_this_machine else "container")
            finally:
                with anyio.CancelScope(shield=True):
                    await box.exec(["rm", "-rf", home], timeout=60)
            return bridge.state
    finally:
        release_port(port)


async def _run(
    box: SandboxEnvironment,
    cli: AgentCLI,
    spec: Launch,
    context: Context,
    timeout: int,
    history: Callable[[SandboxEnvironment, Context], Awaitable[Any]] | None,
    isolation: str,
) -> None:
    home = context.home
    for relative, content in spec.files.items():
        await box.write_file(f"{home}/{relative}", content)
    path = [str(bin_dir())]
    if local_sandbox(box) is not None:
        # The local sandbox runs on the host: give the agent the harness's interpreter (numpy,
        # scipy) as `python`, the one the scorer runs law.py with, without the rest of its bin.
        shims = f"{home}/.shims"
        for name in ("python", "python3"):
            await box.write_file(f"{shims}/{name}", f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
        await _sh(box, f"chmod +x {shims}/python {shims}/python3")
        path.insert(0, shims)
    env = {"HOME": home, **spec.env}
    version = await box.exec([context.executable, *cli.version_args], timeout=120, env=env)
    await wait_for_port(box, context.port)
    script = (
        f'export PATH="{":".join(path)}:$PATH"\n'
        f"echo $$ > {home}/.pid\n"
        f"exec timeout -k {KILL_GRACE_SECONDS} {timeout} {shlex.join(spec.argv)} "
        f"> {home}/.stdout 2> {home}/.stderr < /dev/null\n"
    )
    started = time.monotonic()
    ended = "cancelled"  # by the sample's time limit, unless the run returns
    returncode: int | None = None
    try:
        result = await box.exec(["bash", "-c", script], env=env, timeout=timeout + KILL_GRACE_SECONDS + 60)
        returncode = result.returncode
        ended = "timeout" if returncode in (124, 137) else "exited"
    except TimeoutError:
        ended = "timeout"
    finally:
        with anyio.CancelScope(shield=True):
            # `timeout` leads its own process group and passes on the signals it gets, but not
            # SIGKILL, and a cancelled exec in a container signals nothing: kill the group here.
            await box.exec(["bash", "-c", f"pid=$(cat {home}/.pid 2>/dev/null) && kill -KILL -- -$pid 2>/dev/null; true"], timeout=60)
            summary = {
                "agent": cli.name,
                "command": cli.command,
                "pinned_version": cli.version,
                "version": version_line(version.stdout or version.stderr, cli.version),
                "ended": ended,
                "exit_code": returncode,
                "port": context.port,
                "seconds": round(time.monotonic() - started, 1),
                "timeout": timeout,
                "isolation": isolation,
            }
            if cli.version not in summary["version"]:
                summary["warning"] = f"{cli.command} reports version {summary['version']!r}; the adapter was checked with {cli.version}"
            store().set("sldbench:agent", summary)
            stdout, stderr = await read_if_present(box, f"{home}/.stdout"), await read_if_present(box, f"{home}/.stderr")
            record: dict[str, Any] = {**summary, "output": parse_output(_keep(stdout)), "stderr": _keep(stderr)}
            if history is not None:
                record["history"] = await history(box, context)
            transcript().info(record, source=cli.name)


def cli_agent(cli: AgentCLI, launch: Callable[[Context], Launch], history: Callable[[SandboxEnvironment, Context], Awaitable[Any]] | None = None, note: str = "") -> Callable[..., Agent]:
    """Register the Inspect agent ``sldbench/<cli.name>`` that runs ``cli`` with `run_agent_cli`.

    Parameters
    ----------
    cli : AgentCLI
        The CLI and its pinned version.
    launch : callable
        Builds its command line, environment and config files from a `Context`.
    history : callable, optional
        Reads its chat history after the run, for the transcript.
    note : str
        What the agent's docstring adds about this CLI.

    Returns
    -------
    callable
        The agent factory, taking ``timeout``, ``max_turns`` and ``model`` (``-S`` arguments).
    """

    def create(timeout: int = DEFAULT_TIMEOUT, max_turns: int | None = DEFAULT_MAX_TURNS, model: str | None = None, unisolated: bool = False) -> Agent:
        if not isinstance(timeout, int) or timeout < 1:
            raise ValueError(f"sldbench/{cli.name}: timeout must be a whole number of seconds >= 1, got {timeout!r}")
        if max_turns is not None and (not isinstance(max_turns, int) or max_turns < 1):
            raise ValueError(f"sldbench/{cli.name}: max_turns must be a whole number >= 1 (or None), got {max_turns!r}")

        if not isinstance(unisolated, bool):
            raise ValueError(f"sldbench/{cli.name}: unisolated must be true or false, got {unisolated!r}")

        async def execute(state: AgentState) -> AgentState:
            return await run_agent_cli(state, cli, launch, timeout, max_turns, model, history, unisolated)

        return execute

    create.__name__ = create.__qualname__ = cli.name
    create.__doc__ = f"""{cli.title} {cli.version} ({cli.package}), headless in the sample's sandbox, on the eval's model.
    {note}
    Parameters
    ----------
    timeout : int
        Wall seconds for the CLI run (default {DEFAULT_TIMEOUT}); the sample is then scored on the law.py it left.
    max_turns : int, optional
        Model calls allowed (default {DEFAULT_MAX_TURNS}; None: no limit); then the bridge answers with a stop message.
    model : str, optional
        Model name the CLI is told (default: the eval's model name); the bridge serves the eval's model.
    unisolated : bool
        Allow the local sandbox, this machine (default false: run with -T sandbox=docker). An
        unisolated run is marked in the log and reported apart.
    """
    return agent(name=cli.name)(create)
