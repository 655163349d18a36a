"""An agent of your own on SLDBench: Inspect's ReAct agent with a shell and Python in the task's sandbox.

    inspect eval sldbench/moe --solver examples/own_agent/my_agent.py@my_agent -T sandbox=docker --model openai/gpt-5

The agent gets the task prompt (the setting, the columns, the parameter limit, the
submission shapes), the train split as ``data/train.csv`` in its working directory,
and the tools below, which run in the sample's sandbox (a locked-down container with
``-T sandbox=docker``). It must leave ``law.py`` (a pre-fitted ``law(input_data,
group)``, or ``scaling_law_func`` and ``fit_scaling_law``) and may leave
``explain.md``; the task's scorer then runs the law on the held-out runs.
"""

from inspect_ai.agent import Agent, agent, react
from inspect_ai.tool import bash, python

INSTRUCTIONS = """\
Work in your current directory. Read data/train.csv, try candidate laws, fit them, and check
how each extrapolates by holding out the largest runs of the training data. Write the final law
to law.py and a short explanation of it to explain.md, then submit a one-line summary."""


@agent
def my_agent(timeout: int = 120) -> Agent:
    """A ReAct agent with ``bash`` and ``python`` tools (each call limited to ``timeout`` seconds)."""
    return react(
        name="my_agent",
        description="Discovers a scaling law from training runs with a shell and Python.",
        prompt=INSTRUCTIONS,
        tools=[bash(timeout=timeout), python(timeout=timeout)],
    )
