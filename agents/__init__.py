"""Adapters that run CLI coding agents headless in the task's sandbox (one module per agent)."""

from .aider import aider
from .claude_code import claude_code
from .codex import codex
from .gemini_cli import gemini_cli
from .goose import goose
from .mini_swe_agent import mini_swe_agent
from .opencode import opencode
from .openhands import openhands
from .terminus_2 import terminus_2

__all__ = ["aider", "claude_code", "codex", "gemini_cli", "goose", "mini_swe_agent", "opencode", "openhands", "terminus_2"]
