"""`sldbench/terminus_2`: Terminus-2, Harbor's terminal agent, headless (``terminus-2``, a front end of ours).

Terminus-2 (PyPI ``harbor``) is an agent class, not a CLI: `terminus_2_cli` drives it,
unchanged, against the sample's own sandbox instead of one of Harbor's environment back
ends. It keys commands into a tmux session and reads the screen back; it asks for no
tools, only replies in its JSON format, and ends when it has twice declared the task
complete. It reaches the model through LiteLLM as an OpenAI model at the bridge's
address; its trajectory (ATIF: every reply, keystroke and screen) is kept in the transcript.
"""

from __future__ import annotations

from inspect_ai.util import SandboxEnvironment

from ._runner import Context, Launch, cli_agent, read_json_if_present
from .install import CLIS

CLI = CLIS["terminus_2"]
LOGS = "terminus-2"


def launch(context: Context) -> Launch:
    """``terminus-2`` on the prompt; its episode limit is the bridge's turn limit, so a stopped run ends at once."""
    return Launch(
        argv=[
            context.executable, "--model", f"openai/{context.model}", "--api-base", f"{context.base_url}/v1",
            "--task", context.prompt, "--logs-dir", f"{context.home}/{LOGS}",
            *(["--max-turns", str(context.max_turns)] if context.max_turns else []),
        ],  # fmt: skip
        env={"OPENAI_API_KEY": "bridge"},  # the front end itself keeps LiteLLM from fetching its model list
    )


async def trajectory(sandbox: SandboxEnvironment, context: Context):
    """Terminus-2's own record of the run (its ATIF trajectory)."""
    return await read_json_if_present(sandbox, f"{context.home}/{LOGS}/trajectory.json")


terminus_2 = cli_agent(CLI, launch, history=trajectory)
