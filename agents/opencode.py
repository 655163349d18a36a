"""`sldbench/opencode`: OpenCode, headless (``opencode run --format json``).

OpenCode reaches the model through an OpenAI-compatible provider of its own config
(``OPENCODE_CONFIG_CONTENT``) at the bridge's address, its small model (session
titles) included; it fetches no model list, plugins or language servers, shares
nothing, and runs every tool without asking (``--auto``). Its JSON event stream is
kept in the transcript.
"""

from __future__ import annotations

import json

from ._runner import Context, Launch, cli_agent
from .install import CLIS

CLI = CLIS["opencode"]


def config(context: Context) -> str:
    """OpenCode's config: one provider, the bridge, serving the eval's model under its own name."""
    return json.dumps({
        "provider": {
            "bridge": {
                "npm": "@ai-sdk/openai-compatible",
                "name": "Inspect bridge",
                "options": {"baseURL": f"{context.base_url}/v1", "apiKey": "bridge"},
                "models": {context.model: {"name": context.model}},
            }
        },
        "model": f"bridge/{context.model}",
        "small_model": f"bridge/{context.model}",
        "autoupdate": False,
        "share": "disabled",
        "permission": {"*": "allow", "webfetch": "deny", "websearch": "deny"},
    })  # fmt: skip


def launch(context: Context) -> Launch:
    """``opencode run`` on the prompt in the working directory, JSON events on stdout."""
    return Launch(
        argv=[
            context.executable, "run", "--format", "json", "--model", f"bridge/{context.model}",
            "--dir", context.workdir, "--auto", context.prompt,
        ],  # fmt: skip
        env={
            "OPENCODE_CONFIG_CONTENT": config(context),
            "OPENCODE_DISABLE_MODELS_FETCH": "true",  # no network: the model list is not fetched
            "OPENCODE_DISABLE_AUTOUPDATE": "true",
            "OPENCODE_DISABLE_SHARE": "true",
            "OPENCODE_DISABLE_LSP_DOWNLOAD": "true",
            "OPENCODE_DISABLE_DEFAULT_PLUGINS": "true",
            "OPENCODE_DISABLE_CLAUDE_CODE": "true",  # reads no other agent's instructions or skills
            "OPENCODE_DISABLE_EXTERNAL_SKILLS": "true",
            "OPENCODE_DISABLE_PROJECT_CONFIG": "true",
        },
    )


opencode = cli_agent(CLI, launch)
