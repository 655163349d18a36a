"""Does discovery hold on data nobody tuned it to? `sldbench discover` on every task of the generality suite.

The suite: the public tasks of ``../shared/generality/`` and of `benchmarks/suite/public/`
(real training runs, each with a literature reference law; `benchmarks/suite/public.py` builds
the latter from their sources) and the synthetic tasks of `benchmarks/suite/synthetic.py` (runs
drawn from the literature's laws with noise, groups and extrapolation splits; written under
``--work``). For each task it runs discover at its defaults (symbolic search, budget and seed
fixed: counts, not seconds) and prints the chosen law, its held-out R^2, the reference law's
(its spec's ``law:``, fitted on train), the noise-free truth's (synthetic tasks), the best of the
search's own candidates on the test split (a search miss when that is low too, a selection miss
when only the chosen law is) and the wall time; then the summary against the targets.

``--data-seed`` draws the synthetic tasks' runs anew (the same laws, constants and splits; other
designs and noise): data the search was never measured on, to tell a rule that generalizes from one that fits
the suite's one draw. The suite's figures in the README are for data seed 0.

Development only: nothing here reads the eight SLDBench tasks.

    python benchmarks/generality.py [--tasks chinchilla,marin_isoflops] [--seed 42] [--budget 50] \\
        [--data-seed 0] [--shared ../shared] [--work /tmp/generality] [--json results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "suite"))

import synthetic  # noqa: E402

from sldbench import discovery  # noqa: E402
from sldbench.discovery import discover  # noqa: E402
from sldbench.escaping import for_terminal  # noqa: E402
from sldbench.specs import load_spec_file  # noqa: E402

PUBLIC = HERE / "suite" / "public"
SHARED_TASKS = ("llama3_isoflops", "marin_isoflops", "marin_isoflops_hparams", "scan_llm_hparams")
TOLERANCE = 0.01  # a task passes at or above its reference minus this


RUN_FOLDER = "{name}-data{data_seed}-seed{seed}"  # under ``work/runs``: a task's checkpoint, logs and plot, read back by selection_replay.py


def run_folder(work: Path, name: str, data_seed: int, seed: int) -> Path:
    """Where the run of task ``name`` (synthetic tasks drawn with ``data_seed``, searched with ``seed``) is kept under ``work``."""
    return work / "runs" / RUN_FOLDER.format(name=name, data_seed=data_seed, seed=seed)


def synthetic_folder(work: Path, data_seed: int) -> Path:
    """Where the synthetic tasks drawn with ``data_seed`` are written under ``work``."""
    return work / f"tasks-data{data_seed}"


def suite(shared: Path, work: Path, data_seed: int) -> dict[str, Path]:
    """Every task of the suite: name -> its task.yaml (the synthetic ones drawn with ``data_seed``, written under ``work``)."""
    tasks = {}
    for name in SHARED_TASKS:
        path = shared / "generality" / name / "task.yaml"
        if not path.is_file():
            raise SystemExit(f"{path} is missing: pass --shared, the folder that holds generality/ (expected {', '.join(SHARED_TASKS)})")
        tasks[name] = path
    for path in sorted(PUBLIC.glob("*/task.yaml")):
        tasks[path.parent.name] = path
    for task in synthetic.TASKS:
        tasks[task.name] = synthetic.write_task(task, synthetic_folder(work, data_seed), seed=data_seed)
    return tasks


def held_out_r2s(spec, codes: list[str]) -> list[float]:
    """Raw held-out R^2 of fit-and-predict programs, scored as the benchmark scores (`sldbench.discovery.held_out_r2s`)."""
    return asyncio.run(discovery.held_out_r2s(spec, codes))


def best_candidate(spec, checkpoint: Path) -> tuple[float, str]:
    """The best held-out R^2 among the search's evaluated candidates, and that candidate's id."""
    programs = sorted(json.loads(checkpoint.read_text())["database"]["programs"].items())
    scores = held_out_r2s(spec, [p["code"] for _, p in programs])
    return max(zip(scores, (pid for pid, _ in programs)))


def run_task(name: str, path: Path, out: Path, budget: int, seed: int) -> dict:
    """Discover on the task at ``path`` (its run kept in ``out``) and score the law, the reference's and the truth's."""
    spec = load_spec_file(path)
    reference_code = Path(spec.law_file).read_text() if spec.law_file else None
    reference = held_out_r2s(spec, [reference_code])[0] if reference_code else float("nan")
    truth_file = path.parent / "truth.json"
    truth = json.loads(truth_file.read_text())["r2"] if truth_file.is_file() else float("nan")
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / "search.json"
    checkpoint.unlink(missing_ok=True)  # a fresh search each time: the wall time is the search's
    started = time.perf_counter()
    found = discover(path, iterations=budget, seed=seed, log_dir=out / "logs", progress=False, plot=out / "law.png", checkpoint=checkpoint)
    wall = time.perf_counter() - started
    best, best_id = best_candidate(spec, checkpoint)
    return {
        "task": name, "law": found.formula or "(no formula)", "r2": found.r2_raw, "reference": reference, "truth": truth,
        "best_candidate": best, "best_candidate_id": best_id, "wall_seconds": wall, "param_limit": spec.param_limit,
        "log": found.log,
    }  # fmt: skip


def _r2(value: float) -> str:
    return "    —" if value != value else f"{max(value, -9.999):7.4f}"


def report(rows: list[dict]) -> str:
    lines = [f"{'task':<24}{'R²':>8}{'ref':>8}{'truth':>8}{'best cand':>10}{'wall s':>8}  verdict"]
    for row in rows:
        gap = row["r2"] - row["reference"]
        verdict = "ok" if gap >= -TOLERANCE else ("selection miss" if row["best_candidate"] >= row["reference"] - TOLERANCE else "search miss")
        lines.append(
            f"{row['task']:<24}{_r2(row['r2'])} {_r2(row['reference'])} {_r2(row['truth'])} {_r2(row['best_candidate']):>9}"
            f"{row['wall_seconds']:8.0f}  {verdict} ({gap:+.3f})"
        )
        lines.append(f"    law: {row['law'].splitlines()[0][:150]}")
    discovered = [r["r2"] for r in rows]
    references = [r["reference"] for r in rows]
    passed = sum(r["r2"] >= r["reference"] - TOLERANCE for r in rows)
    walls = [r["wall_seconds"] for r in rows]
    clipped = [max(v, -1.0) for v in discovered]
    lines += [
        "",
        f"tasks at or above their reference - {TOLERANCE}: {passed} of {len(rows)}  (target: all)",
        f"mean held-out R² (clipped at -1): discovered {statistics.mean(clipped):.4f}, references "
        f"{statistics.mean(max(v, -1.0) for v in references):.4f}  (target: discovered >= references + 0.01)",
        f"submitted law = best candidate on test (within 0.001): {sum(r['r2'] >= r['best_candidate'] - 1e-3 for r in rows)} of {len(rows)}",
        f"median wall per task: {statistics.median(walls):.0f} s (target <= 60 s); total {sum(walls) / 60:.1f} min",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default="", help="comma-separated task names (default: the whole suite)")
    parser.add_argument("--seed", type=int, default=42, help="the search's seed")
    parser.add_argument("--data-seed", type=int, default=0, help="the synthetic tasks' noise draw (0: the suite's own data)")
    parser.add_argument("--budget", type=int, default=50, help="proposals per search (discover's default)")
    parser.add_argument("--shared", type=Path, default=HERE.parents[1] / "shared")
    parser.add_argument("--work", type=Path, default=Path("/tmp/sldbench-generality"), help="where tasks, logs and checkpoints go")
    parser.add_argument("--json", type=Path, help="also write every row to this file")
    args = parser.parse_args()
    tasks = suite(args.shared, args.work, args.data_seed)
    chosen = [t.strip() for t in args.tasks.split(",") if t.strip()] or list(tasks)
    unknown = [t for t in chosen if t not in tasks]
    if unknown:
        raise SystemExit(f"unknown task(s) {', '.join(unknown)}; the suite has {', '.join(tasks)}")
    rows = []
    for name in chosen:
        print(f"{name} ...", file=sys.stderr, flush=True)
        rows.append(run_task(name, tasks[name], run_folder(args.work, name, args.data_seed, args.seed), args.budget, args.seed))
        row = rows[-1]
        print(f"  R² {row['r2']:.4f} (reference {row['reference']:.4f}, best candidate {row['best_candidate']:.4f}) in {row['wall_seconds']:.0f} s", file=sys.stderr, flush=True)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1))
    print(for_terminal(report(rows)))  # laws carry feature names from task files


if __name__ == "__main__":
    main()
