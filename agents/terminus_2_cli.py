"""terminus-2: Harbor's Terminus-2 agent as a headless command, in the sandbox it runs in.

Terminus-2 is an agent class of the Harbor framework, not a command-line program:
Harbor's trial runner drives it against one of Harbor's environment back ends
(containers and cloud sandboxes it starts itself). This front end drives the same
class, unchanged (its prompts, its JSON reply format, its tmux session, its loop and
its context summarisation), against the sandbox it is started in: every command
Terminus-2 runs (``tmux new-session``, ``tmux send-keys``, ``tmux capture-pane``) is
run here by ``bash -c``, in the working directory. Two things differ from a Harbor
trial: the pane log and the trajectory go to ``--logs-dir`` instead of Harbor's
``/logs`` mount, and the terminal is not recorded with asciinema (not installed in
the sandbox; the trajectory keeps every keystroke and every screen).

``sldbench agents install terminus_2`` installs this file as the ``terminus-2``
command of a virtual environment holding Harbor (Python >= 3.12), so it runs only
there; the harness itself never imports it. tmux must be in the sandbox (Debian:
``apt-get install tmux``; the agents image has it).

Usage::

    terminus-2 --model openai/MODEL --api-base http://127.0.0.1:PORT/v1 \
        --task "INSTRUCTION" --logs-dir DIR [--max-turns N]

The model is reached through LiteLLM (``openai/`` models on an OpenAI-compatible
endpoint; the key is read from ``OPENAI_API_KEY``). Stdout gets one JSON line at the
end: episodes, tokens, the trajectory's path. Exit status 0 when the agent's loop
ended, 1 on an error (its message on stderr), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

# LiteLLM, imported by Harbor, would otherwise fetch its model list from the network at import.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from harbor.agents.terminus_2 import Terminus2  # noqa: E402
from harbor.agents.terminus_2.tmux_session import TmuxSession  # noqa: E402
from harbor.environments.base import ExecResult  # noqa: E402
from harbor.models.agent.context import AgentContext  # noqa: E402

PROGRAM = "terminus-2"


class CurrentSandbox:
    """The sandbox this program runs in, through the part of Harbor's environment interface Terminus-2 uses.

    Commands run as this program's user (Harbor's ``user`` argument asks for root to
    install tools; nothing is installed here), in ``workdir`` unless told otherwise.
    """

    default_user = None
    session_id = PROGRAM

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    async def exec(self, command: str, cwd: str | None = None, env: dict[str, str] | None = None, timeout_sec: int | None = None, user: str | int | None = None) -> ExecResult:
        """Run ``command`` with ``bash -c``; on a timeout its process group is killed and 124 returned, as ``timeout`` does."""
        process = await asyncio.create_subprocess_exec(
            "bash", "-c", command, cwd=cwd or self.workdir, env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(), timeout_sec)
        except asyncio.TimeoutError:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = await process.communicate()
            return ExecResult(stdout=stdout.decode(errors="replace"), stderr=f"timed out after {timeout_sec} s", return_code=124)
        return ExecResult(stdout=stdout.decode(errors="replace"), stderr=stderr.decode(errors="replace"), return_code=process.returncode)

    async def is_dir(self, path: str, user: str | int | None = None) -> bool:
        return Path(path).is_dir()

    async def is_file(self, path: str, user: str | int | None = None) -> bool:
        return Path(path).is_file()

    async def upload_file(self, source_path: Path | str, target_path: str) -> None:
        shutil.copyfile(source_path, target_path)

    async def download_file(self, source_path: str, target_path: Path | str) -> None:
        shutil.copyfile(source_path, target_path)


class HeadlessTerminus2(Terminus2):
    """Terminus-2 with its tmux pane logged under ``logs_dir`` rather than Harbor's ``/logs`` mount."""

    async def setup(self, environment) -> None:
        self._session = TmuxSession(
            session_name=self.name(),
            environment=environment,
            logging_path=self.logs_dir / "terminus_2.pane",
            local_asciinema_recording_path=None,
            remote_asciinema_recording_path=None,
            pane_width=self.options.tmux_pane_width,
            pane_height=self.options.tmux_pane_height,
            extra_env=self._extra_env,
            user=None,
        )
        await self._session.start()


async def run(args: argparse.Namespace) -> dict:
    """Set Terminus-2 up in this sandbox, run it on the task, and return its counts."""
    logs = Path(args.logs_dir).resolve()
    logs.mkdir(parents=True, exist_ok=True)
    agent = HeadlessTerminus2(
        logs_dir=logs, model_name=args.model, api_base=args.api_base, max_turns=args.max_turns,
        record_terminal_session=False, suppress_max_turns_warning=True,
    )  # fmt: skip
    environment = CurrentSandbox(Path.cwd())
    context = AgentContext()
    try:
        await agent.setup(environment)
        await agent.run(args.task, environment, context)
    finally:
        await environment.exec("tmux kill-server")
    return {
        "agent": PROGRAM,
        "harbor": version("harbor"),
        "episodes": (context.metadata or {}).get("n_episodes"),
        "input_tokens": context.n_input_tokens,
        "output_tokens": context.n_output_tokens,
        "trajectory": str(logs / "trajectory.json"),
    }


def _stop(signum, frame):
    raise SystemExit(128 + signum)  # unwinds through run()'s finally: the tmux server goes with this program


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROGRAM, description="Harbor's Terminus-2 agent, headless in the current sandbox.")
    parser.add_argument("--version", action="version", version=f"{PROGRAM} (harbor {version('harbor')}, Terminus-2 {Terminus2.version(None)})")
    parser.add_argument("--model", required=True, help="LiteLLM model name, e.g. openai/gpt-5")
    parser.add_argument("--api-base", help="the model endpoint (OpenAI-compatible), e.g. http://127.0.0.1:8000/v1")
    parser.add_argument("--task", required=True, help="the instruction")
    parser.add_argument("--logs-dir", required=True, help="folder for the trajectory (ATIF JSON) and the pane log")
    parser.add_argument("--max-turns", type=int, help="episodes (model calls) Terminus-2 may take")
    args = parser.parse_args(argv)
    if shutil.which("tmux") is None:
        print(f"{PROGRAM}: Terminus-2 works in a tmux session and there is no tmux on PATH (Debian: apt-get install tmux)", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    # A tmux server of this run's own: two runs on one machine never share a session.
    os.environ["TMUX_TMPDIR"] = tempfile.mkdtemp(prefix="t2-")
    # tmux's server leaves this process group; if this program is killed outright (SIGKILL to the
    # group, as a cancelled sample's runner sends), a watcher outside the group ends the server.
    watcher = f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 1; done; tmux kill-server 2>/dev/null; rm -rf \"$TMUX_TMPDIR\""
    subprocess.Popen(["sh", "-c", watcher], start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        print(json.dumps(asyncio.run(run(args))))
    except Exception as err:  # noqa: BLE001 - the runner records stderr; a traceback helps nobody reading the log
        print(f"{PROGRAM}: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(os.environ["TMUX_TMPDIR"], ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
