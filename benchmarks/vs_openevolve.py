"""SLDAgent's candidate evaluation beside OpenEvolve's, on the same candidates, in one run.

The paper's SLDAgent is OpenEvolve with an SLD evaluation module. This script takes a
fixed list of candidate programs (per task, the paper's initial program, the expert law
refitted by multi-start least squares, and variants of both that differ by a no-op
constant, so none is a duplicate) plus one runaway program (an endless loop in its fit),
and evaluates each on the train split:

(a) through this project's path: the warm runner in the local sandbox (bubblewrap where it
    works), a fresh fit worker and a fresh predict worker per candidate, the batch check,
    killed at the timeout;
(b) through OpenEvolve's ``Evaluator.evaluate_program`` with an evaluation module
    equivalent to the paper's (`benchmarks/openevolve/sld_evaluator.py`: the candidate is
    imported into the evaluating process, once to fit and once to predict, the split is
    read with ``datasets`` before each, and the program runs under thread-pool timeouts);
(c) the same with the split kept in the evaluating process after its first read, a best
    case for the peer that the paper's module does not have.

Per candidate it prints the wall time, the program's own fit time (measured around
``fit_scaling_law`` by each side) and the overhead (the difference), then the medians and
their ratios, and what became of the runaway program in each (killed at the timeout, or
still running). The sides run one after the other on this machine, task by task.

Then the search loop of each on moe with the same scripted proposer at a fixed model latency
(OpenEvolve reaches it as an OpenAI-compatible endpoint served on localhost), its wall time
beside the latency bound ``iterations * latency / parallel``.

    pip install -e ".[bench]"      # openevolve 0.4.1 and datasets
    python benchmarks/vs_openevolve.py --data-dir ../shared/sldbench-data/reconstructed \
        [--variants 23] [--timeout 10] [--iterations 50] [--latency 2] [--parallel 4]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).resolve().parent))  # evolution_speed, beside this script

from sldbench.data import load_split
from sldbench.evolution import TrainEvaluator
from sldbench.laws.expert import refit_program
from sldbench.laws.program import EVOLVE_END, INITIAL_PROGRAM
from sldbench.sandbox import bubblewrap
from sldbench.sandbox.local import IsolatedLocalSandbox
from sldbench.specs import get_spec

EVALUATION_MODULE = Path(__file__).resolve().parent / "openevolve" / "sld_evaluator.py"
TASKS = ("moe", "parallel")
RUNAWAY = INITIAL_PROGRAM.replace("    result = minimize(", "    while True:\n        pass\n    result = minimize(")


def candidates(task: str, variants: int) -> list[tuple[str, str]]:
    """``[(label, source)]``: the initial program, the refitted expert law, and ``variants`` no-op variants of them."""
    bases = [("initial", INITIAL_PROGRAM), ("expert refit", refit_program(task))]
    found = list(bases)
    for k in range(variants):
        label, source = bases[k % 2]
        found.append((f"{label} v{k + 1}", source.replace(EVOLVE_END, f"VARIANT = {k + 1}\n{EVOLVE_END}") if EVOLVE_END in source else source + f"\nVARIANT = {k + 1}\n"))
    return found


async def ours(task: str, programs: list[tuple[str, str]], timeout: float, data_dir: str) -> list[dict]:
    """Each program through SLDAgent's evaluation path (the warm runner started once before)."""
    train = load_split(get_spec(task), "train", data_dir)
    sandbox = IsolatedLocalSandbox("auto")
    evaluate = TrainEvaluator(sandbox, train, timeout)
    rows = []
    try:
        await evaluate(INITIAL_PROGRAM)  # starts the warm runner, as a search does once
        for label, source in programs:
            started = time.perf_counter()
            result = await evaluate(source)
            wall = time.perf_counter() - started
            rows.append({"label": label, "wall": wall, "fit": result.fit_seconds, "ok": result.ok, "kind": result.kind, "isolation": result.isolation})
    finally:
        await evaluate.close()
        sandbox.directory.cleanup()
    return rows


def peer_environment(task: str, data_dir: str, timeout: float, keep_data: bool = False) -> None:
    """Point the evaluation module (`benchmarks/openevolve/sld_evaluator.py`) at ``task``, in this process and its workers."""
    os.environ.update({
        "SLD_BENCH_TASK": task, "SLD_BENCH_DATA_DIR": str(Path(data_dir).resolve()), "SLD_BENCH_TIMEOUT": str(timeout),
        "SLD_BENCH_KEEP_DATA": "1" if keep_data else "0", "ENABLE_ARTIFACTS": "false",
        # progress bars off (datasets shows them by default): if anything, less work for the peer
        "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    })  # fmt: skip


async def peer(task: str, programs: list[tuple[str, str]], timeout: float, data_dir: str, keep_data: bool) -> list[dict]:
    """Each program through OpenEvolve's evaluator with the paper-equivalent evaluation module
    (``keep_data``: the split kept in the evaluating process after its first read)."""
    from openevolve.config import EvaluatorConfig
    from openevolve.evaluator import Evaluator

    peer_environment(task, data_dir, timeout, keep_data)
    config = EvaluatorConfig(timeout=int(timeout), max_retries=0, cascade_evaluation=False, parallel_evaluations=1, enable_artifacts=False)
    evaluator = Evaluator(config, str(EVALUATION_MODULE))
    await evaluator.evaluate_program(INITIAL_PROGRAM, "warm-up")  # imports the module and builds the data's cache once
    rows = []
    for index, (label, source) in enumerate(programs):
        started = time.perf_counter()
        metrics = await evaluator.evaluate_program(source, f"candidate-{index}")
        wall = time.perf_counter() - started
        ok = "error" not in metrics and not metrics.get("timeout")
        rows.append({"label": label, "wall": wall, "fit": float(metrics.get("fit_seconds", 0.0)), "ok": ok, "kind": "timeout" if metrics.get("timeout") else ""})
    return rows


def runaway_report(timeout: float, data_dir: str) -> list[list[str]]:
    """What each side does with a program that never returns from its fit."""
    rows = []
    (mine,) = asyncio.run(ours("parallel", [("runaway", RUNAWAY)], timeout, data_dir))
    rows.append(["this project", f"{mine['wall']:.1f}", mine["kind"] or "finished", "killed with its process tree at the timeout; the next candidate runs"])
    before_threads = {t.ident for t in threading.enumerate()}
    (theirs,) = asyncio.run(peer("parallel", [("runaway", RUNAWAY)], timeout, data_dir, keep_data=False))
    spinning = [t for t in threading.enumerate() if t.ident not in before_threads and t.is_alive()]
    cpu_before = time.process_time()
    time.sleep(2.0)
    burn = (time.process_time() - cpu_before) / 2.0
    fate = (
        f"reported as a timeout, but its thread is still running ({len(spinning)} thread(s) alive, "
        f"{burn:.0%} of a core busy 2 s later): it runs until the process exits"
        if spinning else "stopped"
    )
    rows.append(["OpenEvolve 0.4.1", f"{theirs['wall']:.1f}", theirs["kind"] or "finished", fate])
    return rows


class ScriptedEndpoint:
    """An OpenAI-compatible chat endpoint on localhost that answers each call, after ``latency`` seconds,
    with the next program of a fixed list (as a full rewrite in a ```python block)."""

    def __init__(self, replies: list[str], latency: float) -> None:
        import json
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        lock, queue = threading.Lock(), list(replies)
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server interface
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(latency)
                with lock:
                    text = queue.pop(0) if queue else "No more programs."
                    endpoint.calls += 1
                body = json.dumps({
                    "id": f"call-{endpoint.calls}", "object": "chat.completion", "created": int(time.time()), "model": "scripted",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": f"```python\n{text}```"}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }).encode()  # fmt: skip
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.calls = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def peer_loop(data_dir: str, latency: float, iterations: int, parallel: int, timeout: float) -> float:
    """OpenEvolve's search loop on moe with the scripted endpoint; wall seconds of ``run``."""
    import yaml
    from openevolve.config import load_config
    from openevolve.controller import OpenEvolve

    replies = [INITIAL_PROGRAM.replace(EVOLVE_END, f"VARIANT = {k}\n{EVOLVE_END}") for k in range(iterations)]
    endpoint = ScriptedEndpoint(replies, latency)
    peer_environment("moe", data_dir, timeout)
    try:
        with tempfile.TemporaryDirectory() as folder:
            initial = Path(folder) / "initial_program.py"
            initial.write_text(INITIAL_PROGRAM)
            settings = {
                "max_iterations": iterations, "checkpoint_interval": iterations + 1, "log_level": "ERROR", "random_seed": 42,
                "diff_based_evolution": False,
                "llm": {"api_base": endpoint.url, "api_key": "scripted", "models": [{"name": "scripted", "weight": 1.0}],
                        "timeout": 600, "retries": 0},
                "database": {"population_size": 100, "archive_size": 50, "num_islands": 5, "in_memory": True},
                "evaluator": {"timeout": int(timeout), "max_retries": 0, "cascade_evaluation": False,
                              "parallel_evaluations": parallel, "enable_artifacts": False},
            }  # fmt: skip
            config_path = Path(folder) / "config.yaml"
            config_path.write_text(yaml.safe_dump(settings))
            controller = OpenEvolve(str(initial), str(EVALUATION_MODULE), load_config(str(config_path)), output_dir=str(Path(folder) / "out"))
            started = time.perf_counter()
            asyncio.run(controller.run(iterations=iterations))
            elapsed = time.perf_counter() - started
    finally:
        endpoint.close()
    if endpoint.calls < iterations:
        print(f"(OpenEvolve made {endpoint.calls} model calls for {iterations} iterations)")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--variants", type=int, default=23, help="no-op variants per task (2 + variants candidates per task)")
    parser.add_argument("--timeout", type=float, default=10.0, help="evaluation timeout of both sides, seconds")
    parser.add_argument("--iterations", type=int, default=50, help="iterations of each search loop")
    parser.add_argument("--latency", type=float, default=2.0, help="seconds per scripted model call")
    parser.add_argument("--parallel", type=int, default=4, help="candidates in flight (OpenEvolve: worker processes)")
    args = parser.parse_args()
    logging.getLogger("openevolve").setLevel(logging.ERROR)
    try:
        import datasets  # noqa: F401 - the paper's evaluation module reads its data with it
        import openevolve
    except ImportError as err:
        sys.exit(f"{err.name} is not installed: pip install -e \".[bench]\" (openevolve 0.4.1 and datasets)")
    datasets_cache = tempfile.TemporaryDirectory(prefix="sldbench-datasets-")  # the peer's cache of the split, removed at the end
    os.environ.setdefault("HF_DATASETS_CACHE", datasets_cache.name)
    print(f"OpenEvolve {openevolve.__version__}; this project's runs under {'bubblewrap' if bubblewrap.problem() is None else 'rlimits only'}")
    table, overheads = [], {"ours": [], "paper": [], "kept": []}
    for task in TASKS:
        programs = candidates(task, args.variants)
        mine = asyncio.run(ours(task, programs, args.timeout, args.data_dir))
        paper = asyncio.run(peer(task, programs, args.timeout, args.data_dir, keep_data=False))
        kept = asyncio.run(peer(task, programs, args.timeout, args.data_dir, keep_data=True))
        for a, b, c in zip(mine, paper, kept):
            table.append([task, a["label"], *(f"{v * 1000:.1f}" for v in (a["wall"], a["fit"], a["wall"] - a["fit"], b["wall"], b["fit"], b["wall"] - b["fit"], c["wall"] - c["fit"]))])
            if a["ok"] and b["ok"] and c["ok"]:
                for name, row in (("ours", a), ("paper", b), ("kept", c)):
                    overheads[name].append(row["wall"] - row["fit"])
    headers = ["task", "candidate", "ours wall ms", "ours fit ms", "ours overhead ms",
               "OpenEvolve wall ms", "OpenEvolve fit ms", "OpenEvolve overhead ms", "OpenEvolve, data kept: overhead ms"]  # fmt: skip
    print(tabulate(table, headers=headers, tablefmt="github", disable_numparse=True))
    median = {name: statistics.median(values) for name, values in overheads.items()}
    print(f"\nmedian overhead per candidate ({len(overheads['ours'])} candidates all evaluated): this project {median['ours'] * 1000:.1f} ms; "
          f"OpenEvolve with the paper's evaluation module {median['paper'] * 1000:.1f} ms (/ this project = {median['paper'] / median['ours']:.2f}); "
          f"with the data kept in its process {median['kept'] * 1000:.1f} ms (/ this project = {median['kept'] / median['ours']:.2f})")  # fmt: skip
    print("(this project pays a fresh fit worker, a fresh predict worker and the batch check's worker per candidate; "
          "OpenEvolve imports the candidate into its own process, and the paper's module reads the split before each pass)")
    print(f"\nSearch loop on moe: {args.iterations} iterations, model latency {args.latency:g} s, {args.parallel} in flight")
    from evolution_speed import loop_speed

    loop, whole, ideal = loop_speed(args.data_dir, args.latency, args.iterations, args.parallel)
    theirs = peer_loop(args.data_dir, args.latency, args.iterations, args.parallel, args.timeout)
    print(tabulate(
        [["this project (sldbench/sldagent)", f"{loop:.1f}", f"{ideal:.1f}", f"{loop / ideal:.3f}", "first model call to last iteration"],
         ["OpenEvolve 0.4.1 (controller.run)", f"{theirs:.1f}", f"{ideal:.1f}", f"{theirs / ideal:.3f}", "the whole run (its start-up included)"]],
        headers=["system", "loop s", "latency bound s", "ratio", "timed"], tablefmt="github", disable_numparse=True,
    ))  # fmt: skip
    print(f"\nThe runaway program (an endless loop in fit_scaling_law), timeout {args.timeout:g} s:")
    print(tabulate(runaway_report(args.timeout, args.data_dir), headers=["system", "wall s", "outcome", "afterwards"], tablefmt="github", disable_numparse=True))
    sys.stdout.flush()
    datasets_cache.cleanup()
    os._exit(0)  # OpenEvolve's runaway thread would keep the interpreter from exiting


if __name__ == "__main__":
    main()
