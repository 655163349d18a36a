"""Loading and validating SLDBench splits.

Three sources, one schema (``group``, then features, then targets; one row per
training run):

* for the SLDBench tasks, a local directory ``<dir>/<config>/{train,test}.csv``,
  chosen by the task argument ``data_dir`` or the environment variable
  ``SLDBENCH_DATA_DIR``;
* otherwise the Hugging Face Hub dataset ``pkuHaowei/sldbench`` (needs the
  ``hub`` extra; cached on disk by ``datasets``);
* for a task of your own (`sldbench.specs`), the CSV files its spec names,
  split by its ``holdout`` rule or given as train and test files.

Every split is validated at this boundary, so code downstream can rely on
numeric, finite, complete columns.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import operator
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .specs import TaskSpec

DATA_DIR_ENV = "SLDBENCH_DATA_DIR"
HUB_DATASET = "pkuHaowei/sldbench"
HUB_REVISION_ENV = "SLDBENCH_HUB_REVISION"
# The dataset revision the published numbers refer to (the one other public SLDBench harnesses pin).
HUB_REVISION = "721b846056f031737ff7fa72572c021324e3ec0e"
SPLITS = ("train", "test")


class DataError(ValueError):
    """A split could not be found, read or validated. The message says how to fix it."""


@dataclass(frozen=True)
class Split:
    """One validated split of one task.

    Attributes
    ----------
    spec : TaskSpec
    name : {"train", "test"}
    frame : pandas.DataFrame
        Columns ``spec.columns``; ``group`` is str, the rest float64.
    source : str
        Where it came from (a file path or ``hub:<dataset>@<revision>``).
    """

    spec: TaskSpec
    name: str
    frame: pd.DataFrame
    source: str

    @functools.cached_property
    def _group_arrays(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        # built once: a search asks for the same rows for every candidate it evaluates
        arrays = {}
        for group, rows in sorted(self.frame.groupby("group"), key=lambda item: item[0]):
            x = rows[list(self.spec.features)].to_numpy(dtype=float)
            y = rows[list(self.spec.targets)].to_numpy(dtype=float)
            x.flags.writeable = y.flags.writeable = False  # shared by every caller
            arrays[group] = (x, y)
        return arrays

    @property
    def groups(self) -> list[str]:
        """Group names in sorted order (the order predictions are concatenated in)."""
        return list(self._group_arrays)

    def arrays(self, group: str) -> tuple[np.ndarray, np.ndarray]:
        """Rows of one group as ``(X, Y)`` with shapes ``(n, F)`` and ``(n, T)`` (read-only)."""
        return self._group_arrays[group]

    def stacked_targets(self) -> np.ndarray:
        """All targets, groups concatenated in sorted order, shape ``(N, T)``."""
        return np.concatenate([self.arrays(g)[1] for g in self.groups])


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path | None:
    """The local data directory in force: the argument, else ``SLDBENCH_DATA_DIR``, else None."""
    chosen = data_dir if data_dir not in (None, "") else os.environ.get(DATA_DIR_ENV) or None
    return Path(chosen).expanduser().resolve() if chosen else None


def load_split(spec: TaskSpec, split: str, data_dir: str | os.PathLike | None = None) -> Split:
    """Load and validate one split of a task.

    Parameters
    ----------
    spec : TaskSpec
    split : {"train", "test"}
    data_dir : path, optional
        Local directory in the Hub schema. Defaults to ``$SLDBENCH_DATA_DIR``; when
        neither is set, the Hub is used.

    Returns
    -------
    Split

    Raises
    ------
    DataError
        On a missing folder, file or column, a non-numeric, NaN or infinite value,
        an empty split, or an unreachable Hub; the message names the file, the
        column and the expected schema.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if spec.is_custom:
        return load_custom_split(spec, split)
    root = resolve_data_dir(data_dir)
    if root is None:
        return _load_from_hub(spec, split)
    return _load_from_dir(spec, split, root)


def _load_from_dir(spec: TaskSpec, split: str, root: Path) -> Split:
    path = root / spec.config / f"{split}.csv"
    modified = path.stat().st_mtime_ns if path.is_file() else 0
    return Split(spec, split, _read_csv_cached(spec, path, modified), str(path))


def _expected_schema(spec: TaskSpec) -> str:
    if spec.is_custom:
        group = f"{spec.group} (the group: text), " if spec.group else ""
        return f"expected columns {group}{', '.join(spec.features + spec.targets)} (finite numbers), as {spec.spec_file} says"
    return (
        f"expected a CSV with header {','.join(spec.columns)} "
        f"(group: text; {', '.join(spec.features + spec.targets)}: finite numbers)"
    )


@functools.lru_cache(maxsize=64)
def _read_csv_cached(spec: TaskSpec, path: Path, _mtime: int) -> pd.DataFrame:
    # _mtime is part of the cache key so an edited file is read again.
    if not path.parent.parent.is_dir():
        raise DataError(
            f"data directory {path.parent.parent} does not exist; set {DATA_DIR_ENV} "
            f"(or -T data_dir=DIR) to a folder holding <config>/train.csv and test.csv"
        )
    if not path.parent.is_dir():
        raise DataError(
            f"{path.parent} is missing: the data directory {path.parent.parent} has no "
            f"folder for task config {spec.config!r}; {_expected_schema(spec)} at "
            f"{path.parent}/train.csv and test.csv"
        )
    if not path.is_file():
        raise DataError(f"{path} is missing; {_expected_schema(spec)}")
    try:
        frame = pd.read_csv(path, dtype={"group": str}, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot be parsed as CSV ({err}); {_expected_schema(spec)}") from err
    return validate_frame(spec, frame, str(path))


def _did_you_mean(missing: list[str], columns) -> str:
    """`` (did you mean 'lr' for 'LR'?)`` for missing names that match a column but for case; "" otherwise."""
    by_case = {str(column).lower(): str(column) for column in columns}
    hints = [f"{by_case[name.lower()]!r} for {name!r}" for name in missing if name.lower() in by_case]
    return f" (did you mean {', '.join(hints)}?)" if hints else ""


def validate_frame(spec: TaskSpec, frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check a raw split against the task schema and return it with typed columns.

    Parameters
    ----------
    spec : TaskSpec
    frame : pandas.DataFrame
        Raw rows as read.
    source : str
        Name used in error messages (file path or Hub id).

    Returns
    -------
    pandas.DataFrame
        Exactly the columns ``spec.columns``, ``group`` as str, others float64.
    """
    missing = [c for c in spec.columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(missing)} "
            f"(found {', '.join(map(str, frame.columns))}){_did_you_mean(missing, frame.columns)}; {_expected_schema(spec)}"
        )
    if frame.empty:
        raise DataError(f"{source}: no data rows; {_expected_schema(spec)}")
    out = pd.DataFrame({"group": frame["group"].astype(str)})
    blank = out["group"].str.strip() == ""
    if blank.any():
        row = int(np.flatnonzero(blank.to_numpy())[0])
        raise DataError(f"{source}: column 'group' is empty at data row {row + 1}; {_expected_schema(spec)}")
    for column in spec.features + spec.targets:
        raw = frame[column]
        values = pd.to_numeric(raw, errors="coerce").astype(float)
        bad = ~np.isfinite(values.to_numpy())
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            value = raw.iloc[row]
            shown = repr(value) if isinstance(value, str) else str(value)  # numpy's repr says np.float64(inf)
            raise DataError(
                f"{source}: column {column!r} has a non-numeric, NaN or infinite value "
                f"{shown} at data row {row + 1}; {_expected_schema(spec)}"
            )
        if column in spec.log_features and (values <= 0).any():
            row = int(np.flatnonzero((values <= 0).to_numpy())[0])
            raise DataError(
                f"{source}: column {column!r} has the value {values.iloc[row]:g} at data row {row + 1}, but "
                f"{column} is listed in log_features (laws may take its log or a power of it, so it must be > 0); "
                f"fix the row, or drop {column} from log_features in {spec.spec_file or 'the spec'}"
            )
        out[column] = values
    return out


def _hub_revision() -> str:
    return os.environ.get(HUB_REVISION_ENV) or HUB_REVISION


def _load_from_hub(spec: TaskSpec, split: str) -> Split:
    revision = _hub_revision()
    source = f"hub:{HUB_DATASET}/{spec.config}/{split}@{revision}"
    how_to_fix = (
        f"Set {DATA_DIR_ENV}=DIR (or -T data_dir=DIR) to a folder holding "
        f"{spec.config}/train.csv and test.csv to work offline."
    )
    try:
        import datasets
    except ImportError as err:
        raise DataError(
            f"loading {HUB_DATASET} from the Hugging Face Hub needs the 'datasets' "
            f"package: pip install 'sldbench[hub]'. {how_to_fix}"
        ) from err
    reachable = _hub_reachable(revision)
    try:
        with _hub_offline(not reachable):  # unreachable: the cache alone, without five retries per file
            table = datasets.load_dataset(HUB_DATASET, name=spec.config, split=split, revision=revision)
    except Exception as err:  # network, auth and schema errors all end here
        if not reachable:
            raise DataError(
                f"the Hugging Face Hub is not reachable from here and {HUB_DATASET} config {spec.config!r} "
                f"(revision {revision}) is not in its cache. {how_to_fix}"
            ) from None
        raise DataError(
            f"could not load {HUB_DATASET} config {spec.config!r} split {split!r} "
            f"(revision {revision}) from the Hugging Face Hub: {err}. {how_to_fix}"
        ) from err
    return Split(spec, split, validate_frame(spec, table.to_pandas(), source), source)


HUB_PROBE_SECONDS = 10


@functools.lru_cache(maxsize=4)
def _hub_reachable(revision: str) -> bool:
    """Whether the Hub answers about the dataset (once per process): one request, no retries.

    An answer of any status (a missing revision, a gated dataset) counts as reachable, so
    `datasets` reports it; no answer (no network, no DNS, a timeout) does not.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    try:
        HfApi().dataset_info(HUB_DATASET, revision=revision, timeout=HUB_PROBE_SECONDS)
    except HfHubHTTPError:
        return True
    except Exception:  # noqa: BLE001 -- connection refused, name resolution, timeouts, proxies
        return False
    return True


@contextlib.contextmanager
def _hub_offline(offline: bool):
    """``datasets`` and ``huggingface_hub`` in offline mode for the block (cache only), when ``offline``."""
    if not offline:
        yield
        return
    import datasets
    import huggingface_hub.constants

    saved = datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE
    datasets.config.HF_HUB_OFFLINE = huggingface_hub.constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE = saved


# ------------------------------------------------------------------ tasks of your own data

COMPARE = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


def load_custom_split(spec: TaskSpec, split: str) -> Split:
    """One split of a task of your own (its spec's files and holdout rule), validated.

    Raises
    ------
    DataError
        On a missing file or column, a repeated column name, a non-numeric, NaN or
        infinite value, or a split that leaves a group without train or test rows;
        the message names the file, the column (or group) and the fix.
    """
    files = dict(spec.files)
    stamps = tuple(Path(path).stat().st_mtime_ns if Path(path).is_file() else 0 for path in files.values())
    splits = _custom_splits(spec, stamps)
    return splits[split]


@functools.lru_cache(maxsize=16)
def _custom_splits(spec: TaskSpec, _stamps: tuple) -> dict[str, Split]:
    files = dict(spec.files)
    if "data" in files:
        frame = _read_custom(spec, files["data"])
        held = _held_out(spec, frame, files["data"])
        parts = {"train": (frame[~held], files["data"]), "test": (frame[held], files["data"])}
        rule = f" ({spec.holdout.describe()} held out)"
    else:
        parts = {name: (_read_custom(spec, files[name]), files[name]) for name in SPLITS}
        rule = ""
    train_groups = set(parts["train"][0]["group"])
    for name, (frame, path) in parts.items():
        if frame.empty:
            raise DataError(f"{path}: the {name} split has no rows; {_split_fix(spec)}")
    missing = sorted(set(parts["test"][0]["group"]) - train_groups)
    if missing:
        raise DataError(
            f"{parts['test'][1]}: group(s) {', '.join(map(repr, missing))} have test rows but no train rows, "
            f"so no constants can be fitted for them; {_split_fix(spec)}"
        )
    return {
        name: Split(spec, name, frame.reset_index(drop=True), f"{path}{rule}" if name == "test" or rule else path)
        for name, (frame, path) in parts.items()
    }


def _split_fix(spec: TaskSpec) -> str:
    if spec.holdout is not None:
        return f"change holdout ({spec.holdout.describe()}) in {spec.spec_file} so each group keeps runs on both sides"
    return f"give every group runs in both train and test files ({spec.spec_file})"


def _read_custom(spec: TaskSpec, path: str) -> pd.DataFrame:
    """A data file of a custom task, validated, with its group column as ``group`` (or ``all_data``)."""
    source = Path(path)
    expected = (
        f"expected a CSV with columns {', '.join(spec.features + spec.targets)}"
        + (f" and the group column {spec.group}" if spec.group else "")
        + f" (see {spec.spec_file})"
    )
    if not source.is_file():
        raise DataError(f"{source} is missing: {spec.spec_file} names it; {expected}")
    try:
        with open(source, newline="") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"{source}: cannot be read as CSV ({err}); {expected}") from err
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise DataError(f"{source}: column name(s) {', '.join(map(repr, repeated))} appear more than once in the header; rename them so each column has one name")
    try:
        frame = pd.read_csv(source, dtype={spec.group: str} if spec.group else None, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"{source}: cannot be parsed as CSV ({err}); {expected}") from err
    needed = [c for c in ((spec.group,) if spec.group else ()) + spec.features + spec.targets if c not in frame.columns]
    if needed:
        raise DataError(f"{source}: missing column(s) {', '.join(map(repr, needed))} (found {', '.join(map(str, frame.columns))}){_did_you_mean(needed, frame.columns)}; {expected}")
    frame = frame.assign(group=frame[spec.group].astype(str) if spec.group else "all_data")
    return validate_frame(spec, frame, str(source))


def _held_out(spec: TaskSpec, frame: pd.DataFrame, path: str) -> np.ndarray:
    """Rows of ``frame`` its spec's holdout rule puts in the test split (per group for ``largest`` and ``smallest``)."""
    rule = spec.holdout
    values = frame[rule.column].to_numpy()
    if rule.rule not in ("largest", "smallest"):
        return COMPARE[rule.rule](values, rule.value)
    held = np.zeros(len(frame), dtype=bool)
    for group in frame["group"].unique():
        rows = (frame["group"] == group).to_numpy()
        distinct = np.unique(values[rows])
        if len(distinct) <= rule.count:
            raise DataError(
                f"{path}: group {group!r} has {len(distinct)} distinct value(s) of {rule.column}, so holding out its "
                f"{rule.count} {rule.rule} leaves no train rows; {_split_fix(spec)}"
            )
        held |= rows & ((values >= distinct[-rule.count]) if rule.rule == "largest" else (values <= distinct[rule.count - 1]))
    return held
