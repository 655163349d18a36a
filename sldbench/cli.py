"""The ``sldbench`` command line.

``sldbench score LAW.py --task moe [--data-dir DIR] [--timeout S] [--json]``
scores a law written by hand through the same sandboxed runner and metrics as
the Inspect scorer, in the ``local`` sandbox.

``sldbench report PATH... [--format md|csv|latex|html] [--out DIR] [--runs N]``
turns Inspect logs and per-run CSVs into the paper's tables;
``sldbench leaderboard PATH... --out DIR`` writes them as an HTML and a
Markdown page with plots.

``sldbench agents install [NAME...]`` installs the agent CLIs at their pinned
versions for the ``local`` sandbox; ``sldbench agents list`` shows where they are.

``sldbench discover RUNS.csv --features N,D --target loss ...`` finds a law for
training runs of your own; ``sldbench show LOG...`` prints the law each sample of
Inspect logs (files or folders) was scored on, with its held-out R².

``sldbench doctor`` prints which isolation each sandbox (local, docker, k8s) gives
on this machine and how to get more.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from .escaping import for_terminal
from .specs import TASKS, get_spec, load_spec_file


def _prerequisite_error() -> type[Exception]:
    """Inspect's PrerequisiteError, imported when an error is matched: a command that fails early
    (a usage or validation error) never pays for importing Inspect."""
    from inspect_ai._util.error import PrerequisiteError  # inspect-evals-lint: ignore[private_api_imports] -- PrerequisiteError is not exported; Inspect prints it as one line

    return PrerequisiteError


def _harness_error() -> type[Exception]:
    from .sandbox.errors import HarnessError

    return HarnessError


def _data_error() -> type[Exception]:
    from .data import DataError

    return DataError


async def _score_file(path: Path, spec, data_dir: str | None, timeout: float, shape: str, isolation: str):
    from .sandbox.local import IsolatedLocalSandbox, prove_policy
    from .scorer import score_program

    await prove_policy(isolation)  # the sandbox scores a known law exactly, or this stops with the cause
    sandbox = IsolatedLocalSandbox(isolation)
    try:
        return await score_program(
            sandbox, path.read_text(), spec, data_dir=data_dir, timeout=timeout, shape=shape, source=str(path)
        )
    finally:
        sandbox.directory.cleanup()


def _task_spec(task: str, allow_outside_paths: bool = False):
    """A built-in task by name, or a task of your own by its spec file (.yaml, .yml, .json)."""
    if task.endswith((".yaml", ".yml", ".json")):
        return load_spec_file(task, allow_outside_paths)
    return get_spec(task)


def _not_a_file(path: Path, expected: str) -> str:
    """Why ``path`` cannot be read as ``expected``, for a one-line error."""
    if path.is_dir():
        return f"{path} is a folder; expected {expected}"
    return f"no file at {path}; expected {expected}"


def _cmd_score(args: argparse.Namespace) -> int:
    path = Path(args.law)
    if not path.is_file():
        print(f"sldbench score: {_not_a_file(path, 'a Python file with the law')}", file=sys.stderr)
        return 2
    try:
        spec = _task_spec(args.task, args.allow_outside_paths)
        score = asyncio.run(_score_file(path, spec, args.data_dir, args.timeout, args.shape, args.isolation))
    except (ValueError, _prerequisite_error()) as err:  # a DataError or SpecError is a ValueError
        print(f"sldbench score: {err}", file=sys.stderr)
        return 2
    except _harness_error() as err:  # not the law's failure: no score
        print(f"sldbench score: the harness failed, so the law has no score: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"task": spec.name, "law": str(path), **score.value, "explanation": score.explanation, "metadata": score.metadata}))
    else:
        print(f"task      {spec.name} ({spec.spec_file or spec.config})")
        print(f"law       {path}")
        for key in ("r2", "r2_raw", "nmse", "nmae"):
            print(f"{key:<9} {score.value[key]:.6g}")
        print(f"isolation {(score.metadata or {}).get('isolation', '')}")
        per_target = (score.metadata or {}).get("r2_per_target")
        if per_target and len(per_target) > 1:
            for target, value in per_target.items():
                print(f"  r2[{target}] {value:.6g}")
        print(for_terminal(score.explanation))
    return 0


def _report_from(args: argparse.Namespace, command: str):
    """Load the runs named on the command line and compute the tables; None (after a message) on bad input."""
    from .report import ReportError, build_report, load_runs
    from .metrics import first_line
    from .report.tables import scored_runs

    if args.runs is not None and args.runs < 1:
        print(f"sldbench {command}: --runs must be at least 1, got {args.runs}", file=sys.stderr)
        return None
    try:
        runs = load_runs(args.paths)
        if runs.empty:
            print(f"sldbench {command}: no runs found in {', '.join(args.paths)}", file=sys.stderr)
            return None
        scored, left_out = scored_runs(runs)
        if scored.empty:
            first = left_out.iloc[0]
            print(
                f"sldbench {command}: no scored runs in {', '.join(args.paths)}: {len(left_out)} run{'s' * (len(left_out) > 1)} ended without a score "
                f"(interrupted, or the harness failed), e.g. {for_terminal(Path(first['source']).name)}: {for_terminal(first_line(first['error']))}",
                file=sys.stderr,
            )  # fmt: skip
            return None
        return build_report(runs, args.runs, args.published)
    except ReportError as err:
        print(f"sldbench {command}: {err}", file=sys.stderr)
        return None


def _cmd_report(args: argparse.Namespace) -> int:
    from .report.render import render_text, write_report

    report = _report_from(args, "report")
    if report is None:
        return 2
    sys.stdout.write(for_terminal(render_text(report, args.format, with_stderr=args.stderr)))  # names and errors come from logs
    if args.out:
        for path in write_report(report, args.out, args.format, with_stderr=args.stderr):
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from .report.leaderboard import write_leaderboard

    report = _report_from(args, "leaderboard")
    if report is None:
        return 2
    written = write_leaderboard(report, args.out, data_dir=args.data_dir, timeout=args.timeout, isolation=args.isolation)
    print(f"wrote {written['html']} and {written['markdown']} ({len(written) - 2} plots)")
    return 0


def _cmd_agents(args: argparse.Namespace) -> int:
    from .agents.install import CLIS, InstallError, agents_home, bin_dir, install

    unknown = [name for name in args.names if name not in CLIS]
    if unknown:
        print(f"sldbench agents: unknown agent(s) {', '.join(unknown)}; expected {', '.join(CLIS)}", file=sys.stderr)
        return 2
    if args.action == "list":
        name_width = max(len(name) for name in CLIS)
        requirement_width = max(len(cli.requirement) for cli in CLIS.values())
        for cli in (CLIS[name] for name in (args.names or CLIS)):
            launcher = bin_dir() / cli.command
            where = str(launcher) if launcher.exists() else "not installed"
            print(f"{cli.name:<{name_width}} {cli.registry:<4} {cli.requirement:<{requirement_width}} {where}")
        return 0
    try:
        install(args.names or None, log=lambda line: print(line, file=sys.stderr))
    except InstallError as err:
        print(f"sldbench agents install: {err}", file=sys.stderr)
        return 1
    print(f"installed into {agents_home()}")
    return 0


def _columns(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _cmd_discover(args: argparse.Namespace) -> int:
    from .discovery import SearchFailed, SearchInterrupted, discover, render, write_spec
    from .specs import SpecError

    data = Path(args.data)
    if not data.is_file():
        print(f"sldbench discover: {_not_a_file(data, 'a CSV of training runs')}", file=sys.stderr)
        return 2
    if (args.holdout is None) == (args.test is None):
        print('sldbench discover: say which runs are held out: --holdout "COLUMN: largest K" (or "COLUMN >= VALUE"), or --test TEST.csv', file=sys.stderr)
        return 2
    if args.budget < 1:
        print(f"sldbench discover: --budget must be at least 1 proposal, got {args.budget}", file=sys.stderr)
        return 2
    out = Path(args.out or f"{data.stem}-discovery")
    try:
        notes: list[str] = []
        spec_file = write_spec(
            data, _columns(args.features), _columns(args.target), args.group, args.holdout, Path(args.test) if args.test else None,
            args.param_limit, out, _columns(args.log_features or ""), _columns(args.extrapolates or ""), notes,
        )  # fmt: skip
        for note in notes:
            print(f"sldbench discover: {for_terminal(note)}", file=sys.stderr)  # column names come from the data
        # an interrupted search is kept here, and the same command goes on from it; a finished one is in the log
        checkpoint = out / "search.json"
        if not args.json:
            print(f"searching for a law of {args.target} in {data} ({args.budget} proposals{', model ' + args.model if args.model else ', no model'}) ...", file=sys.stderr)
            if checkpoint.is_file():
                print(f"  going on from the interrupted search kept in {checkpoint}", file=sys.stderr)
        try:
            found = discover(
                spec_file, iterations=args.budget, model=args.model, seed=args.seed, progress=not args.json, isolation=args.isolation,
                allow_outside_paths=True, intervals=args.intervals,  # the spec holds the paths given on this command line
                checkpoint=checkpoint,
            )  # fmt: skip
        except KeyboardInterrupt:  # after the search (scoring, plotting): its checkpoint is whole
            raise SearchInterrupted(checkpoint) from None
        checkpoint.unlink(missing_ok=True)
    except (SpecError, _data_error(), _prerequisite_error()) as err:
        print(f"sldbench discover: {err}", file=sys.stderr)
        return 2
    except SearchInterrupted as err:
        print(f"{'' if args.json else chr(10)}sldbench discover: {err}", file=sys.stderr)  # below the progress line
        return 130  # as a shell reports a command Ctrl-C stopped
    except (_harness_error(), SearchFailed) as err:
        print(f"sldbench discover: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(found.as_json()))
    else:
        print(for_terminal(render(found)))
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from .report.runs import ReportError, find_inputs
    from .show import show

    missing = [path for path in args.logs if not Path(path).expanduser().exists()]
    if missing:
        print(f"sldbench show: no log at {missing[0]}; expected an Inspect log (.eval, .json) or a folder of them", file=sys.stderr)
        return 2
    try:
        logs, csvs = find_inputs(args.logs)
    except ReportError as error:
        print(f"sldbench show: {error}", file=sys.stderr)
        return 2
    if csvs:
        print(f"sldbench show: {csvs[0]} is a CSV; show reads the laws in Inspect logs (.eval, .json)", file=sys.stderr)
        return 2
    if not logs:
        print(f"sldbench show: no Inspect logs (.eval, .json) in {', '.join(args.logs)}", file=sys.stderr)
        return 2
    for path in logs:
        print(show(str(path)))
    return 0


def _optimize(args: argparse.Namespace, spec):
    """Check ``sldbench optimize``'s options; return how to decide in a sandbox, and how to describe the result."""
    from .data import load_split
    from .decisions.inputs import feature_list, point
    from .decisions.optimize import check_request, describe, find_optimum

    minimize, at = feature_list(args.minimize, "--minimize", spec), point(args.at, "--at", spec)
    train = load_split(spec, "train", args.data_dir)
    group, target = check_request(spec, minimize, at, train, args.group, args.target)
    runs = [train, load_split(spec, "test", args.data_dir)]  # they judge the decision; the law sees train alone
    return lambda sandbox, program: find_optimum(sandbox, program, spec, train, runs, minimize, at, group, target, timeout=args.timeout), describe


def _select(args: argparse.Namespace, spec):
    """Check ``sldbench select``'s options; return how to decide in a sandbox, and how to describe the result."""
    from .data import load_split
    from .decisions.select import check_fraction, describe, select_models

    fraction = check_fraction(args.fraction)
    train, test = load_split(spec, "train", args.data_dir), load_split(spec, "test", args.data_dir)
    return lambda sandbox, program: select_models(sandbox, program, spec, train, test, fraction, timeout=args.timeout), describe


def _predict(args: argparse.Namespace, spec):
    """Check ``sldbench predict``'s options; return how to decide in a sandbox, and how to describe the result."""
    from .data import load_split
    from .decisions.inputs import point
    from .decisions.optimize import check_request
    from .decisions.predict import check_level, describe, predict_with_interval

    check_level(args.level, args.resamples)
    points = [point(text, "--at", spec) for text in args.at]
    train = load_split(spec, "train", args.data_dir)
    for values in points:
        group, target = check_request(spec, [], values, train, args.group, args.target)

    def decide(sandbox, program):
        return predict_with_interval(sandbox, program, spec, train, points, group, target, args.level, args.resamples, args.seed, timeout=args.timeout)

    return decide, describe


async def _in_sandbox(isolation: str, decide, program: str):
    from .sandbox.local import IsolatedLocalSandbox, prove_policy

    await prove_policy(isolation)  # the sandbox decides with a known law exactly, or this stops with the cause
    sandbox = IsolatedLocalSandbox(isolation)
    try:
        return await decide(sandbox, program)
    finally:
        sandbox.directory.cleanup()


def _cmd_decide(args: argparse.Namespace) -> int:
    """``sldbench optimize|select|predict``: read the law and the options, decide in the sandbox, print the result."""
    from .decisions.inputs import law_program
    from .decisions.optimize import DecisionError

    try:
        spec = _task_spec(args.task, args.allow_outside_paths)
        program, label = law_program(args.law, spec, args.expert)
        decide, describe = args.decision(args, spec)
        result = asyncio.run(_in_sandbox(args.isolation, decide, program))
    except (ValueError, DecisionError, _prerequisite_error()) as err:  # a DecisionInputError, DataError or SpecError is a ValueError
        print(f"sldbench {args.command}: {for_terminal(str(err))}", file=sys.stderr)
        return 2
    except _harness_error() as err:
        print(f"sldbench {args.command}: the harness failed: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"task": spec.name, "law": label, **result.as_json()}))
    else:
        print(for_terminal(describe(result, label, spec)))
    return 0


def _add_decision_inputs(parser: argparse.ArgumentParser, task_help: str, expert_help: str, json_keys: str) -> None:
    """What every decision command takes: the law, the task, the data, the sandbox, the output."""
    parser.add_argument("law", nargs="?", default=None, help="the law: a Python file (either shape) or an Inspect log of a scored run; or --expert")
    parser.add_argument("--expert", action="store_true", help=expert_help)
    parser.add_argument("--task", required=True, help=task_help)
    parser.add_argument("--data-dir", default=None, help="local data directory (default: $SLDBENCH_DATA_DIR, then the Hub)")
    parser.add_argument("--timeout", type=float, default=600.0, help="wall seconds for each run of the law (default 600)")
    parser.add_argument("--allow-outside-paths", action="store_true", help="let a task spec file name files outside its own folder")
    parser.add_argument("--json", action="store_true", help=f"print one JSON object ({json_keys})")
    _add_isolation(parser)
    parser.set_defaults(run=_cmd_decide)


def _cmd_doctor(args: argparse.Namespace) -> int:
    from .sandbox.doctor import findings

    found = findings()
    if args.json:
        print(json.dumps([finding.__dict__ for finding in found]))
        return 0
    print("What a submission runs under in each sandbox on this machine (-T sandbox=NAME):")
    for finding in found:
        print(f"\n{finding.sandbox:<7} {finding.isolation}\n        {finding.detail}")
        if finding.self_test:
            print(f"        self-test: {finding.self_test}")
        if finding.fix:
            print(f"        for more: {finding.fix}")
    return 0 if all(finding.isolation != "failed" for finding in found) else 1


def _add_isolation(parser: argparse.ArgumentParser) -> None:
    """The local sandbox's isolation policy: one option, the same name and values as ``-T isolation=`` of the tasks."""
    parser.add_argument(
        "--isolation", choices=("auto", "required", "rlimits"), default="auto",
        help="how laws run on this machine: under bubblewrap where it works (auto, default), or fail without it (required), "
        "or never (rlimits: resource limits only, an explicit choice; runs record it)",
    )  # fmt: skip


def _add_run_inputs(parser: argparse.ArgumentParser) -> None:
    from .report.sources import PUBLISHED_DIR, RUNS_CSV_COLUMNS

    parser.add_argument(
        "paths", nargs="+", metavar="PATH",
        help=f"Inspect logs (.eval, .json), per-run CSVs ({','.join(RUNS_CSV_COLUMNS)}) or folders of them",
    )  # fmt: skip
    parser.add_argument("--runs", type=int, default=None, metavar="N", help="runs per cell; missing runs count -1 (the paper: 5)")
    parser.add_argument(
        "--published", nargs="?", const=str(PUBLISHED_DIR), default=None, metavar="DIR",
        help="put the paper's published tables beside these runs (default DIR: results/paper)",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sldbench",
        description="Scaling-law discovery: score and discover laws, and read SLDBench runs as tables and laws.",
        epilog="Each command has its own help: sldbench COMMAND --help. The benchmark itself runs with inspect eval sldbench/TASK.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    score = commands.add_parser("score", help="score a law file on a task's held-out split")
    score.add_argument("law", help="Python file defining law(input_data, group) or scaling_law_func + fit_scaling_law")
    score.add_argument("--task", required=True, help=f"task name: {', '.join(TASKS)} (or a config name), or a task spec file of your own")
    score.add_argument("--data-dir", default=None, help="local data directory (default: $SLDBENCH_DATA_DIR, then the Hub)")
    score.add_argument("--timeout", type=float, default=600.0, help="wall seconds for the run (default 600)")
    score.add_argument("--shape", choices=("auto", "law", "fit_predict"), default="auto", help="submission shape (default auto)")
    _add_isolation(score)
    score.add_argument(
        "--allow-outside-paths", action="store_true",
        help="let a task spec file name data or law files outside its own folder (off: they must lie inside it)",
    )  # fmt: skip
    score.add_argument("--json", action="store_true", help="print one JSON object with the score")
    score.set_defaults(run=_cmd_score)

    report = commands.add_parser("report", help="the paper's tables from Inspect logs and per-run CSVs")
    _add_run_inputs(report)
    report.add_argument("--format", choices=("md", "csv", "latex", "html"), default="md", help="output format (csv: Table 1 only on stdout)")
    report.add_argument("--out", default=None, metavar="DIR", help="also write the report (csv: one file per table) into DIR")
    report.add_argument("--stderr", action="store_true", help="print Table 1 cells as mean ± standard error")
    report.set_defaults(run=_cmd_report)

    leaderboard = commands.add_parser("leaderboard", help="an HTML and a Markdown leaderboard with plots")
    _add_run_inputs(leaderboard)
    leaderboard.add_argument("--out", required=True, metavar="DIR", help="folder for index.html, leaderboard.md and the PNG plots")
    leaderboard.add_argument("--data-dir", default=None, help="data for the law plots (default: the folder in each log, then $SLDBENCH_DATA_DIR)")
    leaderboard.add_argument("--timeout", type=float, default=300.0, help="wall seconds to re-run each best law (default 300)")
    _add_isolation(leaderboard)
    leaderboard.set_defaults(run=_cmd_leaderboard)

    agents = commands.add_parser("agents", help="install the agent CLIs for the local sandbox")
    agents.add_argument("action", choices=("install", "list"), help="install: pinned versions into $SLDBENCH_AGENTS_HOME; list: what is installed")
    agents.add_argument("names", nargs="*", metavar="NAME", help="agents (default: all): aider, openhands, codex, goose, claude_code, gemini_cli")
    agents.set_defaults(run=_cmd_agents)

    discover = commands.add_parser("discover", help="find a law for a CSV of training runs (no API key needed) and show it")
    discover.add_argument("data", help="CSV with one row per training run (or the train rows, with --test)")
    discover.add_argument("--features", required=True, help="input columns, comma-separated (e.g. N,D)")
    discover.add_argument("--target", required=True, help="output column(s), comma-separated (e.g. loss)")
    discover.add_argument("--group", default=None, help="column of runs that share a law's constants (default: one group)")
    discover.add_argument("--holdout", default=None, help='held-out rows per group: "COLUMN: largest K" (or smallest) or "COLUMN >= VALUE" (or >, <=, <)')
    discover.add_argument("--test", default=None, help="a CSV of the held-out runs instead of --holdout")
    discover.add_argument(
        "--param-limit", type=int, default=None,
        help="fitted constants allowed per group (default: no limit for a model; the symbolic search keeps to 16 per target)",
    )  # fmt: skip
    discover.add_argument("--log-features", default=None, help="features on a multiplicative scale (sizes, counts), comma-separated: each value must be > 0")
    discover.add_argument("--extrapolates", default=None, help="features the held-out runs lie beyond, comma-separated; NAME:smaller where they lie below the train runs (default: the --holdout column, the way it holds out)")
    discover.add_argument("--budget", type=int, default=50, help="proposals the search evaluates (default 50: a count, the same on any machine)")
    discover.add_argument("--model", default=None, help="an Inspect model for SLDAgent (default: the symbolic search, no model)")
    discover.add_argument("--seed", type=int, default=42, help="seed of the search (default 42): for the symbolic search, the same seed and budget give the same law")
    discover.add_argument(
        "--intervals", type=int, default=20, metavar="N",
        help="refits per group on the runs with their residuals drawn again, bounding each constant (default 20; 0: none)",
    )  # fmt: skip
    discover.add_argument("--out", default=None, help="folder for the spec, the log and the plot (default: DATA-discovery)")
    discover.add_argument("--json", action="store_true", help="print one JSON object (formula, program, constants, intervals, r2, r2_raw, baselines, log, plot, spec_file)")
    _add_isolation(discover)
    discover.set_defaults(run=_cmd_discover)

    any_task = f"task name: {', '.join(TASKS)}, or a task spec file of your own"
    optimize = commands.add_parser("optimize", help="where a law puts the optimum of some features (lr, batch size) at a target scale")
    _add_decision_inputs(
        optimize, any_task, "use the task's expert law, refitted on the train split",
        "optimum, predicted, nearest_run, nearest_loss, best_loss, regret_percent, ...",
    )  # fmt: skip
    optimize.add_argument("--minimize", required=True, metavar="FEATURES", help="features to optimize, comma-separated (e.g. lr,bsz)")
    optimize.add_argument("--at", required=True, metavar="FEATURE=VALUE,...", help="values of every other feature (e.g. data_size=1e11,non_embedding_param_size=1.07e9)")
    optimize.add_argument("--group", default=None, help="the group whose train rows the law is fitted on (default: the only one)")
    optimize.add_argument("--target", default=None, help="the target to minimize (default: the only one)")
    optimize.set_defaults(decision=_optimize)

    select = commands.add_parser("select", help="which model to fine-tune, chosen by a law fitted on a small subset of the data")
    _add_decision_inputs(
        select, "sft, or a task spec of your own whose groups are written ('MODEL', 'DATASET')", "use the task's expert law, refitted per pair",
        "rel_acc, pearson, per_dataset",
    )  # fmt: skip
    select.add_argument("--fraction", type=float, default=0.0625, help="share of the full data size the law is fitted on (default 0.0625, the paper's)")
    select.set_defaults(decision=_select)

    predict = commands.add_parser("predict", help="a law's prediction at new points, with an interval from refits on resampled runs")
    _add_decision_inputs(
        predict, any_task, "use the task's expert law, refitted on the train split",
        "points, predicted, low, high, constants, constants_low, constants_high, constant_names",
    )  # fmt: skip
    predict.add_argument("--at", required=True, action="append", metavar="FEATURE=VALUE,...", help="a point: a value for every feature (repeat for more points)")
    predict.add_argument("--group", default=None, help="the group whose train rows the law is fitted on (default: the only one)")
    predict.add_argument("--target", default=None, help="the target to predict (default: the only one)")
    predict.add_argument("--level", type=float, default=0.9, help="the interval's share of the refits (default 0.9)")
    predict.add_argument("--resamples", type=int, default=100, help="refits on resampled runs (default 100: a count, the same on any machine)")
    predict.add_argument("--seed", type=int, default=0, help="seed of the resampling (default 0)")
    predict.set_defaults(decision=_predict)

    show_parser = commands.add_parser("show", help="the law each sample of an Inspect log was scored on, with its R²")
    show_parser.add_argument("logs", nargs="+", metavar="LOG", help="Inspect logs (.eval, .json) or folders of them")
    show_parser.set_defaults(run=_cmd_show)

    doctor = commands.add_parser("doctor", help="which isolation each sandbox gives on this machine, and how to get more")
    doctor.add_argument("--json", action="store_true", help="print the findings as one JSON list")
    doctor.set_defaults(run=_cmd_doctor)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sldbench`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:  # Ctrl-C: one line, not a traceback (discover says what it kept)
        print(f"\nsldbench {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
