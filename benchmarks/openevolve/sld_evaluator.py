"""An OpenEvolve evaluation module equivalent to the paper's SLD evaluator, for benchmarks/vs_openevolve.py.

As the paper's evaluator does, ``evaluate(program_path)`` imports the candidate in the
evaluating process, calls ``fit_scaling_law`` per group on the train split and
``scaling_law_func`` on the points, each under a thread-pool timeout, and returns R^2,
NMSE, NMAE and ``combined_score = 1 / (1 + NMSE)``. Here the points are the train rows
(the fitness SLDAgent searches on) and the module also reports the time spent inside
``fit_scaling_law`` (``fit_seconds``), so the benchmark can split wall time into the
program's own work and the evaluator's overhead. The task and data come from
``SLD_BENCH_TASK`` and ``SLD_BENCH_DATA_DIR``.
"""

from __future__ import annotations

import concurrent.futures
import importlib.util
import os
import time

import numpy as np

TIMEOUT_SECONDS = float(os.environ.get("SLD_BENCH_TIMEOUT", "600"))
_DATA: dict = {}


def _train_groups() -> dict:
    """``{group: (X, y)}`` of the task's train split, read once per process."""
    key = (os.environ["SLD_BENCH_TASK"], os.environ["SLD_BENCH_DATA_DIR"])
    if key not in _DATA:
        from sldbench.data import load_split
        from sldbench.specs import get_spec

        split = load_split(get_spec(key[0]), "train", key[1])
        groups = {}
        for group in split.groups:
            x, y = split.arrays(group)
            groups[group] = (x, y[:, 0] if y.shape[1] == 1 else y)
        _DATA[key] = groups
    return _DATA[key]


def _with_timeout(function, *args):
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result(timeout=TIMEOUT_SECONDS)


def _failure(reason: str) -> dict:
    return {"r2": -1.0, "nmse": 100000.0, "nmae": 100000.0, "combined_score": 0.0, "fit_seconds": 0.0, "error": reason}


def evaluate(program_path: str) -> dict:
    """Fit per group, predict, and score the candidate at ``program_path`` (metrics as OpenEvolve expects them)."""
    try:
        spec = importlib.util.spec_from_file_location("candidate", program_path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        predicted, observed, fit_seconds = [], [], 0.0
        for x, y in _train_groups().values():
            started = time.perf_counter()
            params = _with_timeout(module.fit_scaling_law, x, y)
            fit_seconds += time.perf_counter() - started
            predicted.append(np.asarray(_with_timeout(module.scaling_law_func, x, params), dtype=float).reshape(len(x), -1))
            observed.append(np.asarray(y, dtype=float).reshape(len(x), -1))
        prediction, truth = np.concatenate(predicted), np.concatenate(observed)
        if not np.isfinite(prediction).all():
            return _failure("predictions contain NaN or Inf")
        nmse = float(np.mean(np.mean((truth - prediction) ** 2, axis=0) / np.var(truth, axis=0)))
        nmae = float(np.mean(np.mean(np.abs(truth - prediction), axis=0) / np.mean(np.abs(truth - truth.mean(axis=0)), axis=0)))
        return {"r2": 1.0 - nmse, "nmse": nmse, "nmae": nmae, "combined_score": 1.0 / (1.0 + nmse), "fit_seconds": fit_seconds}
    except Exception as err:  # noqa: BLE001 - a candidate's failure is its score
        return _failure(f"{type(err).__name__}: {err}")
