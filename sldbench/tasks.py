"""SLDBench as Inspect tasks.

Lin et al., "Can Language Models Discover Scaling Laws?" (ICLR 2026).
Each task is one discovery problem: from the training runs of one setting,
find a law (one functional form, constants per group) that extrapolates to
the held-out, larger-scale runs. Only the train split enters the sandbox;
the scorer sends the test features in at score time and computes R^2 on the
host.

Usage::

    inspect eval sldbench/moe --solver sldbench/human --model none
    inspect eval sldbench/moe --solver sldbench/file -S path=law.py --model none
    inspect eval sldbench/moe -T data_dir=DIR --epochs 5 ...   # the paper's protocol: 5 runs
    inspect eval sldbench/moe -T sandbox=docker ...            # one locked-down container per sample
    inspect eval sldbench/moe -T isolation=required ...        # bubblewrap, or fail at start
    inspect eval sldbench/custom -T spec=my_task.yaml ...      # a task of your own data (sldbench.specs)
    inspect eval sldbench/sldbench --epochs 5 ...              # all eight settings as the samples of one task

``-T sandbox=local`` (the default) runs submissions under bubblewrap where it works
(`sldbench.sandbox.local`); ``-T sandbox=docker`` selects the ``sldbench-docker`` provider (Docker SDK; Inspect's
own ``docker`` type needs Compose v2), ``-T sandbox=k8s`` Inspect's Kubernetes
provider with ``docker/k8s-values.yaml``: see `sldbench.sandbox.spec`.
"""

from __future__ import annotations

import contextlib

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample

from .data import DataError, load_split, resolve_data_dir
from .sandbox.errors import prerequisite_error
from .sandbox.spec import sandbox_spec
from .scorer import heldout_r2
from .specs import TASKS, SpecError, TaskSpec, load_spec_file

TRAIN_FILE = "data/train.csv"
DEFAULT_SCORE_TIMEOUT = 600
TASK_VERSION = 2
"""Bumped whenever scores stop being comparable with earlier logs (the prompt, the data, the metric).

2: the prompt names the feature(s) the held-out runs extrapolate along (``extrapolates`` of the spec).
"""


def task_prompt(spec: TaskSpec, groups: dict[str, int]) -> str:
    """The discovery problem in words: context, columns, groups, limits, submission shapes.

    Parameters
    ----------
    spec : TaskSpec
    groups : dict of str to int
        Training rows per group.
    """
    features = ", ".join(spec.features)
    targets = ", ".join(spec.targets)
    along = f"\nThe held-out runs lie beyond the training range in: {spec.axes_text()}." if spec.extrapolates else ""
    group_lines = "\n".join(f"  - {name}: {count} training runs" for name, count in groups.items())
    limit = (
        f"A law may use at most {spec.param_limit} fitted constants per group."
        if spec.param_limit
        else "There is no fixed limit on the number of constants, but prefer few."
    )
    return f"""\
You are discovering a scaling law.

{spec.description}

Data: {TRAIN_FILE} in your working directory, a CSV with columns
group, {features}, {targets}
(one row per training run). Inputs: {features}. Output(s) to predict: {targets}.
Groups ({len(groups)}):
{group_lines}

Find ONE functional form shared by all groups; its constants may differ per group.
{limit}
The law is tested on held-out runs at larger scale than any in the training data, so
it must extrapolate, not just interpolate: prefer forms that stay well behaved beyond
the observed range.{along} Score: R^2 on the held-out points (1 is perfect).

Submit the law in either shape:
1. Pre-fitted: a file law.py in the working directory defining
       def law(input_data: list[dict[str, float]], group: str) -> list[dict[str, float]]
   which returns, for each input dict (keys {features}), a dict with the predicted
   {targets}, using constants you fitted for that group.
2. Fit-and-predict: a program defining
       def scaling_law_func(data_points, params)   # data_points: (N, {len(spec.features)}) array in
                                                   # the column order above -> predictions, shape
                                                   # (N,){" or (N, " + str(len(spec.targets)) + ")" if len(spec.targets) > 1 else ""}
       def fit_scaling_law(data_points, loss_values)  # -> params for one group
   and the harness fits it on each group's training rows.
Only numpy and scipy are available to the law. It must not read files at prediction time.
"""


def record_to_sample(spec: TaskSpec, data_dir: str | None, score_timeout: float) -> Sample:
    """The one sample of a task: the prompt, and the train split placed in the sandbox."""
    train = load_split(spec, "train", data_dir)
    groups = train.frame["group"].value_counts(sort=False).to_dict()
    resolved = None if spec.is_custom else resolve_data_dir(data_dir)
    return Sample(
        id=spec.name,
        input=task_prompt(spec, {g: int(groups[g]) for g in train.groups}),
        target="",
        files={TRAIN_FILE: train.frame.to_csv(index=False)},
        metadata={
            "task": spec.name,
            "config": spec.config,
            "features": list(spec.features),
            "targets": list(spec.targets),
            "param_limit": spec.param_limit,
            "extrapolates": list(spec.extrapolates),
            "toward_smaller": list(spec.toward_smaller),
            "data_dir": str(resolved) if resolved else None,
            "data_source": train.source,
            "score_timeout": score_timeout,
            "spec_file": spec.spec_file,  # a task of your own: solvers and the scorer read it from here
            "allow_outside_paths": spec.allow_outside_paths,  # ... with the permission it was read with
        },
    )


@contextlib.contextmanager
def one_line_input_errors():
    """A bad spec or data file stops ``inspect eval`` with its message alone, as ``sldbench`` prints it.

    Inspect prints any other exception raised while it builds a task as a long traceback whose
    last line is the message; a PrerequisiteError it prints as one line.
    """
    try:
        yield
    except (SpecError, DataError) as err:
        raise prerequisite_error(str(err)) from None


def sldbench_task(
    name: str | TaskSpec,
    data_dir: str | None = None,
    sandbox: str = "local",
    isolation: str = "auto",
    time_limit: int | None = None,
    score_timeout: float = DEFAULT_SCORE_TIMEOUT,
) -> Task:
    """Build the Inspect task for one SLDBench problem.

    Parameters
    ----------
    name : str or TaskSpec
        Short task name (``moe``), or the spec of a task of your own.
    data_dir : str, optional
        Local data directory in the Hub schema (default: ``$SLDBENCH_DATA_DIR``, then the Hub).
    sandbox : str
        ``local`` (default: this machine, submissions under bubblewrap), ``docker[:IMAGE]``
        (the ``sldbench-docker`` provider, not Inspect's Compose-based ``docker``),
        ``k8s[:VALUES.yaml]``, or another provider's type name; see
        `sldbench.sandbox.spec.sandbox_spec`.
    isolation : {"auto", "required", "rlimits"}
        The local sandbox's isolation policy: bubblewrap where it works (``auto``), or
        fail at start without it (``required``), or never (``rlimits``, an explicit choice).
    time_limit : int, optional
        Seconds for the solver; the sample is still scored on what it left.
    score_timeout : float
        Wall seconds for the sandboxed run of the submission at score time (paper: 600).
    """
    spec = name if isinstance(name, TaskSpec) else TASKS[name]
    with one_line_input_errors():
        sample = record_to_sample(spec, data_dir, score_timeout)
    return Task(
        dataset=MemoryDataset([sample], name=f"sldbench/{spec.name}"),
        scorer=heldout_r2(),
        sandbox=sandbox_spec(sandbox, isolation),
        time_limit=time_limit,
        epochs=1,
        version=TASK_VERSION,
        name=spec.name if spec.is_custom else None,  # a task of your own is named after its spec in logs
        metadata={"benchmark": "sldbench", "task": spec.name, "config": spec.config, "sandbox": sandbox, "isolation": isolation, "spec_file": spec.spec_file},
    )


@task
def sldbench(
    data_dir: str | None = None, sandbox: str = "local", isolation: str = "auto", time_limit: int | None = None, score_timeout: float = DEFAULT_SCORE_TIMEOUT
) -> Task:
    """The whole benchmark as one task: the eight settings are its samples (ids ``parallel`` ... ``u_shape``).

    Inspect's headline metric is then the paper's average over the eight settings
    (a submission that fails counts -1); ``--limit`` and ``--sample-id`` select
    settings. The arguments are those of the single-setting tasks.
    """
    with one_line_input_errors():
        samples = [record_to_sample(spec, data_dir, score_timeout) for spec in TASKS.values()]
    return Task(
        dataset=MemoryDataset(samples, name="sldbench/sldbench"),
        scorer=heldout_r2(),
        sandbox=sandbox_spec(sandbox, isolation),
        time_limit=time_limit,
        epochs=1,
        version=TASK_VERSION,
        metadata={"benchmark": "sldbench", "task": "sldbench", "tasks": list(TASKS), "sandbox": sandbox, "isolation": isolation},
    )


@task
def parallel(data_dir: str | None = None, sandbox: str = "local", isolation: str = "auto", time_limit: int | None = None, score_timeout: float = DEFAULT_SCORE_TIMEOUT) -> Task:
    """Parallel scaling (ParScale): loss vs parameters and number of parallel streams."""
    return sldbench_task("parallel", data_dir, sandbox, isolation, time_limit, score_timeout)


@task
def vocab(data_dir: str | None = None, sandbox: str = "local", isolation: str = "auto", time_limit: int | None = None, score_timeout: float = DEFAULT_SCORE_TIMEOUT) -> Task:
    """Vocabulary scaling: unigram-normalised loss vs parameters, vocabulary size and data."""
    return sldbench_task("vocab", data_dir, sandbox, isolation, time_limit, score_timeout)


@task
def sft(data_dir: str | None = None, sandbox: str = "local", isolation: str = "auto", time_limit: int | None = None, score_timeout: float = DEFAULT_SCORE_TIMEOUT) -> Task:
    """Supervised fine-tuning scaling: loss vs fine-tuning data size, per (model, dataset)."""
    return sldbench_task("sft", data_dir, sandbox, isolation, time_limit, score_timeout)


@task
def domain_mix(data_dir: str | None = None, sandbox: str = "local", isolation: str = "auto", time_limit: int | None = None, score_timeout: float = DEFAULT_SCORE_TIMEOUT) -> Task:
    """Domain mixture: five per-domain losses vs the five mixture proportions, per model size."""
    return sldbench_task("domain_mix", data_dir, sandbox, isolation, time_limit, score_timeout)


@task
def moe(data_dir: str | None = None, sandbox: str = "local", isolation: str = "auto", time_limit: int | None = None, score_timeout: float = DEFAULT_SCORE_TIMEOUT) -> Task:
    """Mixture-of-experts scaling: loss vs number of experts and dense parameter count."""
    return sldbench_task("moe", data_dir, sandbox, isolation, time_limit, score_timeout)


@task
def d_constrain(data_dir: str | None = None, sandbox: str = "local", isolation: str = "auto", time_limit: int | None = None, score_timeout: float = DEFAULT_SCORE_TIMEOUT) -> Task:
    """Data-constrained scaling: loss vs unique tokens, parameters and total tokens."""
    return sldbench_task("d_constrain", data_dir, sandbox, isolation, time_limit, score_timeout)


@task
def lr_bsz(data_dir: str | None = None, sandbox: str = "local", isolation: str = "auto", time_limit: int | None = None, score_timeout: float = DEFAULT_SCORE_TIMEOUT) -> Task:
    """Learning-rate and batch-size scaling: loss vs lr, batch size, data and parameters."""
    return sldbench_task("lr_bsz", data_dir, sandbox, isolation, time_limit, score_timeout)


@task
def u_shape(data_dir: str | None = None, sandbox: str = "local", isolation: str = "auto", time_limit: int | None = None, score_timeout: float = DEFAULT_SCORE_TIMEOUT) -> Task:
    """U-shaped scaling on easy questions: Brier score vs log training compute, per benchmark."""
    return sldbench_task("u_shape", data_dir, sandbox, isolation, time_limit, score_timeout)


@task
def custom(
    spec: str, sandbox: str = "local", isolation: str = "auto", time_limit: int | None = None,
    score_timeout: float = DEFAULT_SCORE_TIMEOUT, allow_outside_paths: bool = False,
) -> Task:  # fmt: skip
    """A task of your own data: ``-T spec=my_task.yaml`` (the schema: `sldbench.specs`).

    The same prompt structure (the spec's description where a built-in task's
    context goes), scorer and sandbox choices as the eight SLDBench tasks; any
    solver runs on it. The files the spec names must lie in its folder unless
    ``-T allow_outside_paths=true``.
    """
    with one_line_input_errors():
        loaded = load_spec_file(spec, allow_outside_paths)
    return sldbench_task(loaded, None, sandbox, isolation, time_limit, score_timeout)
