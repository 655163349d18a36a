"""Bubblewrap (``bwrap``): the isolation of the runner in the ``local`` sandbox.

Every run of a submission in the local sandbox (one-off runs and the warm
runner alike) starts as ``bwrap [view] python -I -c RUNNER``:

- its own user, PID, network, IPC, UTS and cgroup namespaces: no network at all
  (only a loopback interface of its own), no signal reaches the host's processes;
- one capability of its own user namespace, CAP_SYS_ADMIN (``--cap-drop ALL
  --cap-add CAP_SYS_ADMIN``), kept by the runner's supervisor alone, to give each
  worker a PID namespace and /proc of its own; every worker gives it up before a
  submission runs, so a submission, though uid 0 of the namespace, can set no host
  name and make no namespace or mount;
- a cleared environment: only the variables the caller names (the runner's:
  ``PATH``, ``HOME`` set to the job's folder, ``LANG``, the thread variables);
- a read-only view of what the interpreter needs: ``/usr`` (with the merged
  ``/bin``, ``/lib``... links), the interpreter's prefix(es) and the folders
  numpy and scipy load from (wherever they are: under ``/tmp``, ``/opt``,
  ``~/.local``, behind a symbolic link), the dynamic linker's cache and the
  alternatives links; a fresh ``/proc``, ``/dev`` and ``/tmp``;
- the job's working directory (the sandbox's folder) as the only writable place
  outside its private ``/tmp`` (the new root itself is read-only);
- it dies with the process that started it (``--die-with-parent``).

The data folder, the Hugging Face cache, the checkout, the user's home and every
other path are not in its view. Debian's package is ``bubblewrap`` (0.8.0 checked);
it needs user namespaces, which most kernels allow.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

INSTALL_HINT = "apt-get install bubblewrap"
MERGED_USR_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
READ_ONLY_EXTRAS = ("/etc/ld.so.cache", "/etc/alternatives")


EXECUTABLE_ENV = "SLDBENCH_BWRAP"


def executable() -> str | None:
    """Path of ``bwrap`` (``$SLDBENCH_BWRAP``, else found on ``PATH``), or None."""
    return shutil.which(os.environ.get(EXECUTABLE_ENV) or "bwrap")


@functools.cache
def interpreter_paths() -> tuple[tuple[str, str], ...]:
    """Folders the sandbox's Python needs read-only, as ``(folder on this machine, path inside)`` (found once).

    Its prefixes (a virtual environment's and its base interpreter's) and where numpy and
    scipy load from, each at its real path and at the path Python knows it by, so that a
    prefix behind a symbolic link (``/opt/env -> /data/env``) is found where Python looks.
    Paths inside another one of the list, or inside ``/usr``, are left out.
    """
    found = [sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(sys.executable), os.path.dirname(os.path.realpath(sys.executable))]
    for module in ("numpy", "scipy"):
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.origin:
            found += [str(Path(spec.origin).parents[1]), str(Path(spec.origin).resolve().parents[1])]  # site-packages
    mounts = {}
    for path in found:
        for inside in (os.path.abspath(path), os.path.realpath(path)):
            mounts.setdefault(inside, os.path.realpath(path))
    kept: list[tuple[str, str]] = []
    for inside in sorted(mounts, key=len):
        if inside in ("/", "") or inside == "/usr" or inside.startswith("/usr/"):
            continue
        if not any(inside == other or inside.startswith(other + os.sep) for _, other in kept):
            kept.append((mounts[inside], inside))
    return tuple(kept)


def view(workdir: str, environment: dict[str, str]) -> list[str]:
    """The bwrap options of the runner's view, with ``workdir`` the only writable folder (besides /tmp).

    Parameters
    ----------
    workdir : str
        Absolute path of the job's working directory on this machine; it keeps its path inside.
    environment : dict of str to str
        The whole environment inside (everything else is cleared).

    Returns
    -------
    list of str
        Options to put between ``bwrap`` and the command.
    """
    options = ["--ro-bind", "/usr", "/usr"]
    for link in MERGED_USR_LINKS:
        if os.path.islink(link):
            options += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            options += ["--ro-bind", link, link]
    for extra in READ_ONLY_EXTRAS:
        if os.path.exists(extra):
            options += ["--ro-bind", extra, extra]
    options += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    # after the /tmp mount, so that an interpreter (a virtual environment in /tmp) and a working
    # directory under /tmp are bound on top of it, not hidden by it
    for folder, inside in interpreter_paths():
        options += ["--ro-bind", folder, inside]
    options += ["--bind", workdir, workdir, "--chdir", workdir]
    options += ["--remount-ro", "/"]  # the new root itself: nothing but /tmp and workdir takes a write
    # one capability of its own user namespace, for the supervisor to make each worker's PID
    # namespace; workers drop it (runner.drop_capabilities), so nothing a submission sets in the
    # kernel (host name, namespaces, mounts) can carry state from one worker to the next
    options += ["--unshare-all", "--cap-drop", "ALL", "--cap-add", "CAP_SYS_ADMIN", "--die-with-parent", "--new-session", "--clearenv"]
    for name, value in environment.items():
        options += ["--setenv", name, value]
    return options


def wrap(argv: list[str], workdir: str, environment: dict[str, str]) -> list[str]:
    """``argv`` run under bubblewrap with the runner's view of ``workdir`` (see `view`)."""
    return [executable() or "bwrap", *view(workdir, environment), *argv]


@functools.lru_cache(maxsize=1)
def problem() -> str | None:
    """Why bubblewrap cannot isolate runs on this machine, or None when it can (checked once per process)."""
    if sys.platform != "linux":
        return f"bubblewrap needs Linux (this is {sys.platform})"
    if executable() is None:
        return f"bubblewrap (bwrap) is not installed ({INSTALL_HINT})"
    probe = Path(os.environ.get("TMPDIR", "/tmp")).resolve()
    try:
        completed = subprocess.run(
            wrap([os.path.realpath(sys.executable), "-I", "-S", "-c", "pass"], str(probe), {"PATH": "/usr/bin:/bin"}),
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bubblewrap does not run here: {err}"
    if completed.returncode != 0:
        reason = (completed.stderr or completed.stdout).strip().splitlines()
        return (
            f"bubblewrap cannot create its namespaces here ({reason[-1] if reason else f'exit {completed.returncode}'}); "
            "the kernel may forbid user namespaces (sysctl kernel.unprivileged_userns_clone=1, "
            "or user.max_user_namespaces > 0)"
        )
    return None


def version() -> str:
    """``bwrap --version``'s answer, or "" when there is none."""
    path = executable()
    if path is None:
        return ""
    try:
        return subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""
