"""The ``sldbench`` command line.

``sldbench score LAW.py --task moe [--data-dir DIR] [--timeout S] [--json]``
scores a law written by hand through the same sandboxed runner and metrics as
the Inspect scorer, in the ``local`` sandbox.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from .data import DataError
from .specs import TASKS, get_spec


async def _score_file(path: Path, task: str, data_dir: str | None, timeout: float, shape: str):
    from inspect_ai.util._sandbox.local import LocalSandboxEnvironment

    from .scorer import score_program

    spec = get_spec(task)
    sandbox = LocalSandboxEnvironment()
    try:
        return await score_program(
            sandbox, path.read_text(), spec, data_dir=data_dir, timeout=timeout, shape=shape, source=str(path)
        )
    finally:
        sandbox.directory.cleanup()


def _cmd_score(args: argparse.Namespace) -> int:
    path = Path(args.law)
    if not path.is_file():
        print(f"sldbench score: no file at {path}", file=sys.stderr)
        return 2
    try:
        score = asyncio.run(_score_file(path, args.task, args.data_dir, args.timeout, args.shape))
    except (DataError, ValueError) as err:
        print(f"sldbench score: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"task": get_spec(args.task).name, "law": str(path), **score.value, "explanation": score.explanation, "metadata": score.metadata}))
    else:
        spec = get_spec(args.task)
        print(f"task      {spec.name} ({spec.config})")
        print(f"law       {path}")
        for key in ("r2", "r2_raw", "nmse", "nmae"):
            print(f"{key:<9} {score.value[key]:.6g}")
        per_target = (score.metadata or {}).get("r2_per_target")
        if per_target and len(per_target) > 1:
            for target, value in per_target.items():
                print(f"  r2[{target}] {value:.6g}")
        print(score.explanation)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sldbench", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    score = commands.add_parser("score", help="score a law file on a task's held-out split")
    score.add_argument("law", help="Python file defining law(input_data, group) or scaling_law_func + fit_scaling_law")
    score.add_argument("--task", required=True, help=f"task name: {', '.join(TASKS)} (or a config name)")
    score.add_argument("--data-dir", default=None, help="local data directory (default: $SLDBENCH_DATA_DIR, then the Hub)")
    score.add_argument("--timeout", type=float, default=600.0, help="wall seconds for the run (default 600)")
    score.add_argument("--shape", choices=("auto", "law", "fit_predict"), default="auto", help="submission shape (default auto)")
    score.add_argument("--json", action="store_true", help="print one JSON object with the score")
    score.set_defaults(run=_cmd_score)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sldbench`` console script."""
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
