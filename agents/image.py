"""The build context of the agents image: the CLIs at their pinned versions, Node.js, and the interpreters they need.

``docker/build.sh agents`` runs ``python -m sldbench.agents.image CONTEXT`` and then
builds ``docker/agents.Dockerfile`` on top of the scoring image with that context.
No image registry is needed: everything comes from the package registries.

1. The CLIs are installed as ``sldbench agents install`` does (npm, and each PyPI
   CLI in its own uv venv), with Node.js from npm (Gemini CLI needs >= 20), into
   ``/opt/sldbench/agents``: the path they keep in the image, so the venvs' and
   launchers' absolute paths hold there.
2. A PyPI CLI's venv takes the base image's own Python when that interpreter is
   on this machine at the same path and version (a Debian host and the Debian
   scoring image); otherwise the interpreter the install found here (OpenHands
   needs Python >= 3.12) is copied into the image at its own path, its
   ``site-packages`` and test suite left out.
3. ``agents.tar`` holds all of it, readable by the sandbox's user, with a CA
   bundle (Goose will not build its HTTP client without one, even for the
   bridge on localhost), and ``traverse.txt`` the folders on the way to it that
   the user must be able to enter.
4. ``debs/`` holds the Debian packages an agent needs beyond the CLIs (tmux, which
   Terminus-2 types into), with those of their dependencies the base image lacks,
   fetched with this machine's apt (the base image is Debian, like the scoring
   image) and installed by ``dpkg -i`` in the build.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from .install import CLIS, InstallError, install

PREFIX = Path("/opt/sldbench/agents")
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")  # where Debian's ca-certificates puts it
SKIPPED_IN_PREFIXES = ("site-packages", "test", "idlelib", "tkinter", "turtledemo")
DEBIAN_PACKAGES = ("tmux",)  # Terminus-2 works in a tmux session


def _docker_run(image: str, *command: str) -> str:
    completed = subprocess.run(["docker", "run", "--rm", "--network", "none", image, *command], capture_output=True, text=True, timeout=300)
    if completed.returncode != 0:
        raise InstallError(f"`{' '.join(command)}` fails in the base image {image}: {completed.stderr.strip()}")
    return completed.stdout


def base_python(image: str) -> tuple[str, tuple[int, int]]:
    """The base image's ``python3``: its real path and (major, minor)."""
    probe = "import os, sys; print(os.path.realpath(sys.executable)); print(*sys.version_info[:2])"
    path, version = _docker_run(image, "python3", "-c", probe).split("\n", 1)
    major, minor = version.split()
    return path.strip(), (int(major), int(minor))


def shared_pythons(image: str) -> list[str]:
    """The base image's interpreter, when this machine has the same one at the same path (then nothing is copied)."""
    path, version = base_python(image)
    if not os.access(path, os.X_OK):
        return []
    here = subprocess.run([path, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True)
    return [path] if here.returncode == 0 and tuple(map(int, here.stdout.split())) == version else []


def debian_packages(image: str, packages: tuple[str, ...], folder: Path) -> list[str]:
    """Download into ``folder`` the ``.deb`` files of ``packages`` and of their dependencies that ``image`` lacks.

    Returns the package names downloaded (none when the image has them all).
    """
    installed = set(_docker_run(image, "dpkg-query", "-W", "-f", "${Package}\\n").split())
    depends = subprocess.run(
        ["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts", "--no-breaks",
         "--no-replaces", "--no-enhances", *packages],
        capture_output=True, text=True,
    )  # fmt: skip
    if depends.returncode != 0:
        raise InstallError(f"apt-cache cannot resolve {', '.join(packages)} here ({depends.stderr.strip()}); run apt-get update first")
    closure = sorted({line.strip() for line in depends.stdout.splitlines() if line[:1].isalnum()})
    missing = [name for name in closure if name not in installed]
    folder.mkdir(parents=True, exist_ok=True)
    if missing:
        downloaded = subprocess.run(["apt-get", "download", *missing], cwd=folder, capture_output=True, text=True)
        if downloaded.returncode != 0:
            raise InstallError(f"apt-get download {' '.join(missing)} failed: {downloaded.stderr.strip()[-2000:]}")
    return missing


def interpreter_prefixes(prefix: Path) -> list[Path]:
    """The base prefixes of the venvs under ``prefix`` (from their ``pyvenv.cfg``), outside ``/usr``."""
    found = []
    for config in sorted((prefix / "venvs").glob("*/pyvenv.cfg")):
        home = next((line.split("=", 1)[1].strip() for line in config.read_text().splitlines() if line.startswith("home")), None)
        if home is None:
            raise InstallError(f"{config} names no base interpreter (no 'home = ...' line)")
        base = Path(home).resolve().parent
        if base != Path("/usr") and Path("/usr") not in base.parents and base not in found:
            found.append(base)
    return found


def _readable(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """Owned by root, readable (and, where executable or a folder, runnable) by everyone."""
    member.uid = member.gid = 0
    member.uname = member.gname = "root"
    member.mode |= 0o444 | (0o111 if member.isdir() or member.mode & 0o100 else 0)
    return member


def _without_libraries(member: tarfile.TarInfo) -> tarfile.TarInfo | None:
    """An interpreter's file, except what the venvs never load (its own site-packages, its test suite)."""
    parts = Path(member.name).parts
    for i, part in enumerate(parts[:-1]):
        if part.startswith("python3.") and parts[i - 1] == "lib" and parts[i + 1] in SKIPPED_IN_PREFIXES:
            return None
    return _readable(member)


def ca_bundle() -> Path:
    """This machine's CA bundle, else certifi's (the public certificate authorities: nothing of this machine's own)."""
    if CA_BUNDLE.is_file():
        return CA_BUNDLE
    import certifi

    return Path(certifi.where())


def write_context(context: Path, prefix: Path, interpreters: list[Path]) -> Path:
    """Write ``agents.tar`` (the prefix and the interpreters at their paths, a CA bundle) and ``traverse.txt`` into ``context``."""
    archive = context / "agents.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(prefix, arcname=str(prefix).lstrip("/"), filter=_readable)
        for interpreter in interpreters:
            tar.add(interpreter, arcname=str(interpreter).lstrip("/"), filter=_without_libraries)
        tar.add(ca_bundle().resolve(), arcname=str(CA_BUNDLE).lstrip("/"), filter=_readable)
    folders = sorted({str(parent) for path in (prefix, *interpreters) for parent in path.parents if str(parent) != "/"})
    (context / "traverse.txt").write_text("\n".join(folders) + "\n")
    (context / "versions.json").write_text(json.dumps({cli.command: cli.version for cli in CLIS.values()}))
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Make the build context of the agents image (run by docker/build.sh agents).")
    parser.add_argument("context", type=Path, help="an empty folder for the context")
    parser.add_argument("--base", default=os.environ.get("SLDBENCH_SCORING_IMAGE", "sldbench-scoring"), help="the base image")
    args = parser.parse_args(argv)
    if PREFIX.exists():
        shutil.rmtree(PREFIX)
    try:
        pythons = shared_pythons(args.base)
        install(None, home=PREFIX, log=lambda line: print(line, file=sys.stderr), pythons=pythons, node=True)
        interpreters = interpreter_prefixes(PREFIX)
        archive = write_context(args.context, PREFIX, interpreters)
        packages = debian_packages(args.base, DEBIAN_PACKAGES, args.context / "debs")
    except InstallError as err:
        print(f"sldbench.agents.image: {err}", file=sys.stderr)
        return 1
    copied = ", ".join(map(str, interpreters)) or "none (the base image's own)"
    print(
        f"{archive} ({archive.stat().st_size / 2**20:.0f} MiB): the CLIs in {PREFIX}; interpreters copied: {copied}; "
        f"Debian packages added: {', '.join(packages) or 'none (the base image has them)'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
