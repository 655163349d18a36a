"""`sldbench/mini_swe_agent`: mini-SWE-agent, headless (``mini --yolo --exit-immediately``).

mini-SWE-agent runs every command the model asks for (its ``bash`` tool) in a fresh
subshell of the working directory, and ends when the model runs
``echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT``. It reaches the model through LiteLLM
as an OpenAI model at the bridge's address; its trajectory (every message and
command output) is kept in the transcript.
"""

from __future__ import annotations

from inspect_ai.util import SandboxEnvironment

from ._runner import Context, Launch, cli_agent, read_json_if_present
from .install import CLIS

CLI = CLIS["mini_swe_agent"]
TRAJECTORY = "trajectory.json"


def launch(context: Context) -> Launch:
    """``mini`` on the prompt, confirming nothing and exiting when the model submits; no cost limit (the bridge counts turns)."""
    return Launch(
        argv=[
            context.executable, "--model", f"openai/{context.model}", "--task", context.prompt,
            "--yolo", "--exit-immediately", "--cost-limit", "0", "--output", f"{context.home}/{TRAJECTORY}",
        ],  # fmt: skip
        env={
            "OPENAI_API_BASE": f"{context.base_url}/v1",
            "OPENAI_API_KEY": "bridge",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no download of litellm's model list
            "MSWEA_COST_TRACKING": "ignore_errors",  # the bridge's model has no litellm price
            "MSWEA_CONFIGURED": "true",  # no first-run setup questions
            "MSWEA_GLOBAL_CONFIG_DIR": f"{context.home}/.config/mini-swe-agent",
        },
    )


async def trajectory(sandbox: SandboxEnvironment, context: Context):
    """mini-SWE-agent's own record of the run (its trajectory JSON)."""
    return await read_json_if_present(sandbox, f"{context.home}/{TRAJECTORY}")


mini_swe_agent = cli_agent(CLI, launch, history=trajectory)
