"""`sldbench/openhands`: OpenHands CLI, headless (``openhands --headless --json``)."""

from __future__ import annotations

from inspect_ai.agent import Agent, AgentState, agent

from ._runner import Context, Launch, run_agent_cli
from .install import CLIS

CLI = CLIS["openhands"]


def launch(context: Context) -> Launch:
    """``openhands --headless --json`` with its LLM settings taken from the environment (the bridge)."""
    return Launch(
        argv=[context.executable, "--headless", "--json", "--override-with-envs", "-t", context.prompt],
        env={
            "LLM_MODEL": f"openai/{context.model}",
            "LLM_BASE_URL": f"{context.base_url}/v1",
            "LLM_API_KEY": "bridge",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no download of litellm's model list
            "OPENHANDS_SUPPRESS_BANNER": "1",
        },
    )


@agent(name="openhands")
def openhands(timeout: int = 3600, max_turns: int | None = 200) -> Agent:
    """OpenHands (pinned version in `sldbench.agents.install.CLIS`) on the eval's model.

    Parameters
    ----------
    timeout : int
        Wall seconds for the CLI run; the sample is then scored on the ``law.py`` it left.
    max_turns : int, optional
        Model calls allowed (None: no limit).
    """

    async def execute(state: AgentState) -> AgentState:
        return await run_agent_cli(state, CLI, launch, timeout, max_turns)

    return execute
