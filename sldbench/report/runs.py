"""Runs: one row per scored attempt of one solver on one task, from Inspect logs or per-run CSVs.

Every table of the report is computed from a single runs frame (columns
`RUN_COLUMNS`), whatever the runs came from:

* Inspect eval logs (``.eval`` or ``.json``, files or directories), read with
  ``inspect_ai.analysis.evals_df`` / ``samples_df``: each sample epoch is one run;
* per-run CSV files with the header ``task,agent,model,run_index,reward_r2``
  (the published leaderboard's format; ``task`` is a short task name or a data
  config name).

Rows are keyed by ``(agent, model)``. Agent labels follow the published
leaderboard (``sldagent``, ``codex``, ``claude-code``, ``human`` ...), models are
the model name without the provider prefix (``openai/gpt-5`` is ``gpt-5``),
and solvers that call no model get the model ``none``.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import pandas as pd

from ..escaping import from_csv_cell
from ..metrics import SCORER, unscored_reason
from ..specs import BY_CONFIG, TASKS
from .sources import RUNS_CSV_COLUMNS

RUN_COLUMNS = [
    "task", "agent", "model", "run_index", "r2", "r2_raw", "nmse", "nmae", "error",
    "input_tokens", "output_tokens", "total_tokens", "cost", "total_time", "working_time",
    "origin", "source", "sample_uuid", "epoch", "data_dir", "spec_file",
]  # fmt: skip
"""Columns of a runs frame. ``origin`` is ``log`` or ``csv``; ``source`` the file a run came from;
``spec_file`` the spec of a task of your own data (empty for the eight SLDBench tasks)."""


NO_MODEL = "none"
"""Model label of solvers that call no model (Inspect's ``none/none``)."""

MODEL_ALIASES = {"human": NO_MODEL}
"""The published leaderboard writes the expert laws' model as ``human``; they call no model."""

UNISOLATED_SUFFIX = " (unisolated)"
LOG_SUFFIXES = (".eval", ".json")


class ReportError(ValueError):
    """An input of the report could not be read. The message names the file and the fix."""


def normalise_model(model: str) -> str:
    """Model label of a row: the model name without its provider prefix.

    Parameters
    ----------
    model : str
        ``provider/name`` as Inspect writes it (``openai/gpt-5``, ``none/none``), or a bare name.

    Returns
    -------
    str
        ``gpt-5``; ``none`` for Inspect's ``none/none``; aliases of `MODEL_ALIASES` resolved.
    """
    model = str(model).strip()
    if "/" in model:
        model = model.split("/", 1)[1]
    return MODEL_ALIASES.get(model, model)


def agent_label(solver: str, solver_args: dict | None) -> str:
    """Row label of a solver, in the published leaderboard's vocabulary.

    Parameters
    ----------
    solver : str
        Registry name from the log (``sldbench/human``, ``sldbench/claude_code``, ``my_solver``).
    solver_args : dict, optional
        The solver's arguments: they tell the expert-law variants and law files apart.

    Returns
    -------
    str
        ``human`` (published constants), ``human-refit`` (form refitted on train),
        ``sldagent``, ``file:<law file stem>``, an agent name with hyphens
        (``claude-code``, ``gemini-cli``, ``codex``), or the solver name itself. An agent
        run on this machine by explicit opt-in (``-S unisolated=true``) gets the suffix
        `` (unisolated)``, so its row never mixes with the isolated runs.
    """
    args = solver_args or {}
    if args.get("unisolated") in (True, "true", "True"):
        return agent_label(solver, {k: v for k, v in args.items() if k != "unisolated"}) + UNISOLATED_SUFFIX
    name = solver.split("/", 1)[1] if solver.startswith("sldbench/") else solver
    if name == "human":
        return "human" if args.get("constants") else "human-refit"
    if name == "file":
        path = args.get("path")
        return f"file:{Path(str(path)).stem}" if path else "file"
    if name in ("codex_cli", "codex-cli"):
        return "codex"
    # Adapter modules use underscores (claude_code); the leaderboard writes hyphens (claude-code).
    return name.replace("_", "-") if solver.startswith("sldbench/") else solver


def task_name(value: str) -> str | None:
    """Short task name of ``value`` (a short name or a data config name), None if unknown."""
    value = str(value).strip()
    if value in TASKS:
        return value
    spec = BY_CONFIG.get(value)
    return spec.name if spec else None


def clip_r2(value: float) -> float:
    """The leaderboard value of a raw R^2: clipped to [-1, 1]; NaN (a failed run) is -1."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return -1.0
    return float(min(1.0, max(-1.0, value)))


def find_inputs(paths: list[str | Path]) -> tuple[list[Path], list[Path]]:
    """Split the report's inputs into log files and per-run CSV files.

    Parameters
    ----------
    paths : list of path
        Files (``.eval``, ``.json``, ``.csv``) or directories, searched recursively for those.

    Returns
    -------
    (logs, csvs) : tuple of list of Path

    Raises
    ------
    ReportError
        For a path that does not exist, or a file that is neither a log nor a CSV.
    """
    logs: list[Path] = []
    csvs: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                if found.suffix == ".csv":
                    csvs.append(found)
                elif found.suffix in LOG_SUFFIXES and _is_eval_log(found):
                    # Log directories also hold other JSON (Inspect's logs.json index, for one).
                    logs.append(found)
        elif path.is_file():
            if path.suffix == ".csv":
                csvs.append(path)
            elif path.suffix in LOG_SUFFIXES:
                if not _is_eval_log(path):
                    raise ReportError(f"{path} is not an Inspect eval log (it could not be read as one)")
                logs.append(path)
            else:
                raise ReportError(
                    f"{path} is neither an Inspect eval log (.eval, .json) nor a per-run CSV "
                    f"(.csv with header {','.join(RUNS_CSV_COLUMNS)})"
                )
        else:
            raise ReportError(f"{path} does not exist (expected an Inspect log, a per-run CSV or a folder of them)")
    return logs, csvs


def _is_eval_log(path: Path) -> bool:
    from inspect_ai.log import read_eval_log

    try:
        read_eval_log(str(path), header_only=True)
    except Exception:
        return False
    return True


def load_runs(paths: list[str | Path]) -> pd.DataFrame:
    """Read every run in ``paths`` (logs and per-run CSVs) into one runs frame.

    Parameters
    ----------
    paths : list of path
        Inspect eval logs (``.eval``/``.json``), per-run CSVs, or directories of them.

    Returns
    -------
    pandas.DataFrame
        Columns `RUN_COLUMNS`, one row per run.

    Raises
    ------
    ReportError
        For unreadable inputs; the message names the file.
    """
    logs, csvs = find_inputs(paths)
    frames = [runs_from_csv(path) for path in csvs]
    if logs:
        frames.append(runs_from_logs(logs))
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return pd.DataFrame(columns=RUN_COLUMNS)
    return pd.concat(frames, ignore_index=True)[RUN_COLUMNS]


def runs_from_csv(path: str | Path) -> pd.DataFrame:
    """Read a per-run CSV (``task,agent,model,run_index,reward_r2``).

    Parameters
    ----------
    path : path
        The CSV file. ``task`` is a short task name or a data config name;
        ``reward_r2`` is the held-out R^2 (clipped here to [-1, 1]; empty means a failed run).

    Returns
    -------
    pandas.DataFrame
        A runs frame (columns `RUN_COLUMNS`; usage and time unknown).

    Raises
    ------
    ReportError
        For a missing column, an unknown task, or a non-numeric ``run_index``/``reward_r2``;
        the message names the file, the column and the expected header.
    """
    path = Path(path)
    expected = f"expected header {','.join(RUNS_CSV_COLUMNS)}"
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as err:
        raise ReportError(f"{path}: cannot be read as CSV ({err}); {expected}") from err
    frame = frame.map(from_csv_cell)  # the texts this package's CSVs guard against formulas, as written
    missing = [column for column in RUNS_CSV_COLUMNS if column not in frame.columns]
    if missing:
        raise ReportError(f"{path}: missing column(s) {', '.join(missing)}; {expected} (got {','.join(frame.columns)})")
    tasks = frame["task"].map(task_name)
    unknown = sorted(set(frame.loc[tasks.isna(), "task"]))
    if unknown:
        raise ReportError(
            f"{path}: column task has unknown task(s) {', '.join(map(repr, unknown))}; "
            f"expected one of {', '.join(TASKS)} or a config name ({', '.join(BY_CONFIG)})"
        )
    reward = frame["reward_r2"].str.strip()
    blank = reward.str.lower().isin(["", "nan"])  # a run that produced no score
    values = pd.to_numeric(reward.where(~blank, "nan"), errors="coerce")
    bad = reward[values.isna() & ~blank]
    if len(bad):
        raise ReportError(f"{path}: column reward_r2 has non-numeric value {bad.iloc[0]!r} (line {bad.index[0] + 2}); {expected}")
    run_index = pd.to_numeric(frame["run_index"], errors="coerce")
    if run_index.isna().any():
        line = int(run_index[run_index.isna()].index[0]) + 2
        raise ReportError(f"{path}: column run_index must be an integer (line {line}); {expected}")
    return pd.DataFrame(
        {
            "task": tasks,
            "agent": frame["agent"].str.strip(),
            "model": frame["model"].map(normalise_model),
            "run_index": run_index.astype(int),
            "r2": values.map(clip_r2),
            "r2_raw": values,
            "nmse": math.nan,
            "nmae": math.nan,
            "error": values.isna().map(lambda failed: "no score" if failed else ""),
            "input_tokens": math.nan,
            "output_tokens": math.nan,
            "total_tokens": math.nan,
            "cost": math.nan,
            "total_time": math.nan,
            "working_time": math.nan,
            "origin": "csv",
            "source": str(path),
            "sample_uuid": "",
            "epoch": run_index.astype(int),
            "data_dir": "",
            "spec_file": "",
        }
    )[RUN_COLUMNS]


def _solver_of(log_path: str, solver: object, solver_args: object) -> tuple[str, dict]:
    """The solver and its arguments: ``eval.solver`` is empty without ``--solver``, the plan has it."""
    args = _as_dict(solver_args)
    if isinstance(solver, str) and solver:
        return solver, args
    from inspect_ai.log import read_eval_log

    header = read_eval_log(log_path, header_only=True)
    if header.plan and header.plan.steps:
        step = header.plan.steps[-1]
        return step.solver, dict(step.params or {})
    return "unknown", {}


def _as_dict(value: object) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _text(value: object) -> str:
    """A text field of a samples frame; "" where it is missing (None, NaN or pandas' NA once frames are mixed)."""
    return value if isinstance(value, str) else ""


def _usage_totals(model_usage: object) -> dict[str, float]:
    """Sum token counts and cost over the models a sample used (cost NaN when no model reports one)."""
    usage = _as_dict(model_usage)
    totals = {"input_tokens": 0.0, "output_tokens": 0.0, "total_tokens": 0.0, "cost": math.nan}
    for entry in usage.values():
        entry = _as_dict(entry)
        for key in ("input_tokens", "output_tokens", "total_tokens"):
            totals[key] += float(entry.get(key) or 0)
        if entry.get("total_cost") is not None:
            totals["cost"] = (0.0 if math.isnan(totals["cost"]) else totals["cost"]) + float(entry["total_cost"])
    return totals


def runs_from_logs(paths: list[str | Path]) -> pd.DataFrame:
    """Read the runs of Inspect eval logs of SLDBench tasks.

    Parameters
    ----------
    paths : list of path
        ``.eval`` or ``.json`` log files.

    Returns
    -------
    pandas.DataFrame
        A runs frame. A sample without a ``heldout_r2`` score (the eval was interrupted, or the
        harness failed: no law was scored) has R^2 NaN and its error: not a score, so the report
        leaves it out of the tables and lists it (a law that fails is scored -1 with its reason).
        A sample of ``sldbench/custom`` (its metadata names a spec file) is a run of the task
        its spec names, a column of its own in the tables.

    Raises
    ------
    ReportError
        For a log that is not an SLDBench eval (its samples carry no ``task`` metadata).
    """
    from inspect_ai.analysis import evals_df, samples_df

    files = [str(Path(p)) for p in paths]
    with warnings.catch_warnings():
        # inspect_ai's frame code uses a pandas keyword that pandas 3 deprecates; nothing for users to act on.
        warnings.filterwarnings("ignore", message="The inplace keyword")
        evals = evals_df(files, quiet=True)
        samples = samples_df(files, quiet=True)
    for column in ("metadata_task", "metadata_spec_file"):
        if column not in samples.columns:
            samples[column] = None
    rows = []
    for _, ev in evals.iterrows():
        log_samples = samples[samples["eval_id"] == ev["eval_id"]]
        if len(log_samples) and log_samples["metadata_task"].isna().all():
            raise ReportError(f"{ev['log']} is not an SLDBench eval log: its samples have no 'task' metadata")
        solver, solver_args = _solver_of(ev["log"], ev.get("solver"), ev.get("solver_args"))
        agent = agent_label(solver, solver_args)
        model = normalise_model(ev["model"])
        for _, sample in log_samples.iterrows():
            spec_file = _text(sample.get("metadata_spec_file"))
            task = str(sample["metadata_task"]) if spec_file else task_name(sample["metadata_task"])
            if task is None:
                raise ReportError(f"{ev['log']}: sample {sample['id']} has unknown task {sample['metadata_task']!r}")
            score = _as_dict(sample.get(f"score_{SCORER}"))
            raw = score.get("r2_raw")
            clipped = score.get("r2")
            error = str(sample.get("error") or "") if clipped is not None else unscored_reason(ev.get("status"), sample.get("error"))
            rows.append(
                {
                    "task": task,
                    "agent": agent,
                    "model": model,
                    "run_index": int(sample["epoch"]),
                    "r2": clip_r2(clipped) if clipped is not None else math.nan,
                    "r2_raw": float(raw) if raw is not None else math.nan,
                    "nmse": float(score.get("nmse", math.nan)),
                    "nmae": float(score.get("nmae", math.nan)),
                    "error": error,
                    **_usage_totals(sample.get("model_usage")),
                    "total_time": float(sample.get("total_time") or math.nan),
                    "working_time": float(sample.get("working_time") or math.nan),
                    "origin": "log",
                    "source": str(ev["log"]),
                    "sample_uuid": str(sample["sample_id"]),
                    "epoch": int(sample["epoch"]),
                    "data_dir": _text(sample.get("metadata_data_dir")),
                    "spec_file": spec_file,
                }
            )
    frame = pd.DataFrame(rows, columns=RUN_COLUMNS)
    # each (log, epoch) is a run of its own: logs of one entry and task, each of epoch 1, are runs 1, 2, ...
    # in the order of the logs (a single log keeps its epochs as run numbers)
    ordered = frame.sort_values(["source", "epoch"], kind="stable")
    frame.loc[ordered.index, "run_index"] = ordered.groupby(["task", "agent", "model"]).cumcount().to_numpy() + 1
    return frame

