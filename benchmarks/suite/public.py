"""Public training-run tasks of the generality suite, built from fetched copies of their sources.

Each task is a folder of the spec format of ``../shared/generality/`` under
``benchmarks/suite/public/``: ``task.yaml``, ``train.csv``, ``test.csv``, ``reference_law.py``
(the literature's law for that data, fitted per group on train) and ``SOURCE.md`` (repository,
commit, paths and licence). The folders are in the repository because their sources carry a
licence that allows it; this script rebuilds their CSVs from a git directory of the source, read
at the pinned commit, so anyone can check them.

    python benchmarks/suite/public.py [--gadre MLFOUNDATIONS_SCALING_GIT_DIR] [--porian FORMLL_GIT_DIR]

Tasks:
- ``overtrain_c4``: Gadre et al. 2024, "Language models scale reliably with over-training and
  on downstream tasks" (mlfoundations/scaling, MIT). 104 open_lm models of 11M to 6.9B
  parameters trained on C4, RedPajama or RefinedWeb (the group) with 5 to 640 tokens per
  parameter; the target is the loss on C4's validation set. Train: the four grid sizes (11M to
  411M, every token multiplier); test: the 1.4B and 6.9B models, the paper's own extrapolation.
- ``downstream_error``: the same 104 models (Gadre et al. 2024); the target is the average top-1
  error on the paper's 17 downstream tasks, the feature the C4 validation loss, which the test
  models (1.4B and 6.9B) bring below the train models': a law extrapolated toward smaller values.
- ``porian_isoflops``: Porian et al. 2024, "Resolving Discrepancies in Compute-Optimal Scaling of
  Language Models" (formll/resolving-scaling-law-discrepancies, MIT). IsoFLOP sweeps of 12
  budgets (1.25e16 to 2.56e19 FLOPs) with tuned hyper-parameters and a constant learning rate,
  on RefinedWeb and OpenWebText2 (the group), the runs of at least 5 tokens per parameter.
  Train: budgets up to 6.4e18; test: the two largest.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
from pathlib import Path

import pandas as pd
import yaml

from sldbench.laws import literature

HERE = Path(__file__).resolve().parent
OUT = HERE / "public"
GADRE_REPO = "mlfoundations/scaling"
GADRE_COMMIT = "a003c4913793ac2ae7ef87b28ecb562955d026d5"
GADRE_TEST_MODELS = ("open_lm_1b", "open_lm_7b")  # the paper's extrapolation targets: 1.4B and 6.9B parameters
# upstream's SUBSET (scaling/constants.py): the 17 tasks on which its 154M models are 10 points above chance
GADRE_DOWNSTREAM = (
    "bigbench_operators", "pubmed_qa_labeled", "hellaswag_zeroshot", "boolq", "arc_easy", "coqa", "bigbench_dyck_languages",
    "lambada_openai", "bigbench_novel_concepts", "winograd", "bigbench_cs_algorithms", "commonsense_qa",
    "bigbench_qa_wikidata", "hellaswag", "copa", "squad", "piqa",
)  # fmt: skip
PORIAN_REPO = "formll/resolving-scaling-law-discrepancies"
# Unpickling runs code: the pickles are read only at this commit, whose content its hash fixes.
PORIAN_COMMIT = "0dc60d91b8a525858a3067fc9e4a46ff5374cc6f"
PORIAN_SWEEPS = {"rw": "data/summary_df.pickle.xz", "owt2": "data/summary_df_owt2.pickle.xz"}
PORIAN_TEST_BUDGET = 1e19  # budgets above it (1.28e19, 2.56e19 FLOPs) are the test split
PORIAN_MIN_TOKENS_PER_PARAMETER = 5  # the shortest runs of overtrain_c4: 5 tokens per parameter


def _git(git_dir: Path, *args: str) -> str:
    return _git_bytes(git_dir, *args).decode()


def _git_bytes(git_dir: Path, *args: str) -> bytes:
    done = subprocess.run(["git", "--git-dir", str(git_dir), *args], capture_output=True)
    if done.returncode:
        reason = done.stderr.decode(errors="replace").strip()
        raise SystemExit(f"git --git-dir {git_dir} {' '.join(args)} failed ({reason}): pass a git directory of the source that holds the pinned commit")
    return done.stdout


def gadre_runs(git_dir: Path, commit: str) -> pd.DataFrame:
    """One row per model of ``exp_data/models``: training set, size, tokens and the C4 validation loss.

    Parameters
    ----------
    git_dir : Path
        A git directory of mlfoundations/scaling.
    commit : str
        The commit to read the files at.

    Returns
    -------
    pandas.DataFrame
        Columns ``group`` (training set), ``model``, ``N`` (parameters), ``D`` (tokens), ``loss``, and
        ``error``: the mean top-1 error (1 - accuracy) over `GADRE_DOWNSTREAM` in the model's
        ``exp_data/evals`` file, as upstream's ``err_avg_subset``.
    """
    rows = []
    for path in _git(git_dir, "ls-tree", "--name-only", f"{commit}:exp_data/models").split():
        run = json.loads(_git(git_dir, "show", f"{commit}:exp_data/models/{path}"))
        hyper = run["hyperparameters"]
        # upstream's own key for an eval set: the folder of its shard ("c4_val")
        losses = {result["val_data"][0].split("/")[-2]: result["loss"] for result in run["results"]}
        evals = json.loads(_git(git_dir, "show", f"{commit}:exp_data/evals/evaluation_{Path(path).stem}_heavy.json"))
        accuracy = evals["eval_metrics"]["icl"]
        rows.append({
            "group": run["dataset_name"], "model": Path(hyper["model"]).stem,
            "N": float(hyper["params"]), "D": float(hyper["tokens"]), "loss": losses["c4_val"],
            "error": sum(1.0 - accuracy[task] for task in GADRE_DOWNSTREAM) / len(GADRE_DOWNSTREAM),
        })  # fmt: skip
    return pd.DataFrame(rows)


def write(spec: dict, train: pd.DataFrame, test: pd.DataFrame, reference: str, source: str) -> None:
    """Write one task's folder: its CSVs (sorted, 10 significant digits), spec, reference law and source note.

    Parameters
    ----------
    spec : dict
        The task.yaml mapping (``train``, ``test`` and ``law`` are filled in here).
    train, test : pandas.DataFrame
        ``group``, the features, the target.
    reference : str
        The catalogue family (`sldbench.laws.literature`) fitted per group on train, its roles in feature order.
    source : str
        SOURCE.md: repository, commit, paths, licence, what was kept.
    """
    folder = OUT / spec["name"]
    folder.mkdir(parents=True, exist_ok=True)
    for split, frame in (("train", train), ("test", test)):
        frame.sort_values(list(frame.columns[:-1])).to_csv(folder / f"{split}.csv", index=False, float_format="%.10g")
    bound = literature.bind(literature.CATALOGUE[reference], range(len(spec["features"])))
    (folder / "reference_law.py").write_text(literature.program(bound, spec["features"], spec["targets"]))
    spec = {**spec, "train": "train.csv", "test": "test.csv", "law": "reference_law.py"}
    (folder / "task.yaml").write_text(yaml.safe_dump(spec, sort_keys=False, width=100))
    (folder / "SOURCE.md").write_text(source)
    print(f"{spec['name']}: {len(train)} train / {len(test)} test rows -> {folder}")


def overtrain_c4(runs: pd.DataFrame) -> None:
    """Write ``overtrain_c4`` from `gadre_runs`."""
    commit = GADRE_COMMIT
    test = runs.model.isin(GADRE_TEST_MODELS)
    columns = ["group", "N", "D", "loss"]
    spec = {
        "name": "overtrain_c4",
        "description": (
            "Dense open_lm transformers of N parameters trained on D tokens of one of three web corpora "
            "(group: c4_original, rpj = RedPajama, rw_original = RefinedWeb), from compute-optimal to heavily "
            "over-trained (5 to 640 tokens per parameter). loss is the final loss on C4's validation set "
            "(nats per token). Train: models of 11M to 411M parameters; test: 1.4B and 6.9B parameters, "
            "so you extrapolate along N (and D). Constants are fitted per corpus."
        ),
        "features": ["N", "D"], "targets": ["loss"], "group": "group", "param_limit": 5,
        "extrapolates": ["N"], "log_features": ["N", "D"],
    }  # fmt: skip
    source = f"""# overtrain_c4: source

- Runs: {GADRE_REPO}@{commit}: `exp_data/models/*.json` (one file per model; 104 models).
- Paper: Gadre et al. 2024, "Language models scale reliably with over-training and on downstream tasks".
- Licence: MIT (the repository's `LICENSE.txt`, "Copyright (c) 2024 mlfoundations").
- Kept per model: `dataset_name` (group), `hyperparameters.params` (N, embeddings included, as upstream's
  analysis code counts), `hyperparameters.tokens` (D), and the `loss` of the result whose `val_data` is
  C4's validation shards (`c4_val`, 174M tokens).
- As recorded upstream, the 6.9B models were trained at peak learning rate 3e-4, every other model at 3e-3.
- Split: test = the models `{GADRE_TEST_MODELS[0]}` and `{GADRE_TEST_MODELS[1]}` (1.4B at 1 and 4-32 times the
  compute-optimal tokens, 6.9B at 1 time), the paper's extrapolation targets; train = the four grid sizes
  (11M, 79M, 154M, 411M) at every token multiplier.
- Reference law: Chinchilla (Hoffmann et al. 2022), 5 constants per corpus. Gadre et al. fit the same form
  with the two exponents tied.
- Rebuild: `python benchmarks/suite/public.py --gadre GIT_DIR`.
"""
    write(spec, runs.loc[~test, columns], runs.loc[test, columns], "chinchilla", source)


def downstream_error(runs: pd.DataFrame) -> None:
    """Write ``downstream_error`` from `gadre_runs`."""
    commit = GADRE_COMMIT
    test = runs.model.isin(GADRE_TEST_MODELS)
    columns = ["group", "loss", "error"]
    spec = {
        "name": "downstream_error",
        "description": (
            "Dense open_lm transformers of 11M to 6.9B parameters trained on one of three web corpora (group: "
            "c4_original, rpj = RedPajama, rw_original = RefinedWeb), from compute-optimal to heavily over-trained. "
            "loss is the model's final loss on C4's validation set (nats per token); error is its top-1 error "
            "(1 - accuracy) averaged over 17 downstream tasks (ARC-Easy, BoolQ, COPA, HellaSwag, LAMBADA, PIQA, "
            "SQuAD, ... in-context evaluations), at chance for the weakest models. Train: models of 11M to 411M "
            "parameters; test: 1.4B and 6.9B parameters, whose loss is lower, so you extrapolate along loss "
            "toward smaller values. Constants are fitted per corpus."
        ),
        "features": ["loss"], "targets": ["error"], "group": "group", "param_limit": 4,
        "extrapolates": {"loss": "smaller"},
    }  # fmt: skip
    source = f"""# downstream_error: source

- Runs: {GADRE_REPO}@{commit}: `exp_data/models/*.json` (the loss) and `exp_data/evals/evaluation_*_heavy.json`
  (the downstream accuracies), one of each per model; 104 models.
- Paper: Gadre et al. 2024, "Language models scale reliably with over-training and on downstream tasks".
- Licence: MIT (the repository's `LICENSE.txt`, "Copyright (c) 2024 mlfoundations").
- Kept per model: `dataset_name` (group); `loss`: the loss of the result whose `val_data` is C4's validation
  shards (`c4_val`); `error`: the mean of 1 - accuracy over the 17 tasks of upstream's `SUBSET`
  (`scaling/constants.py`: the tasks on which its 154M models are at least 10 points above chance), as its
  `err_avg_subset`.
- Split: test = the models `{GADRE_TEST_MODELS[0]}` and `{GADRE_TEST_MODELS[1]}`, as in `overtrain_c4`; their losses lie
  below every train model's, but for RedPajama's 1.4B model at 20 tokens per parameter (2.769, at the
  train's 2.768). The paper fits on a handful of small models; here every train model counts.
- Reference law: Gadre et al.'s own, error = E - k exp(-gamma loss), 3 constants per corpus.
- Rebuild: `python benchmarks/suite/public.py --gadre GIT_DIR`.
"""
    write(spec, runs.loc[~test, columns], runs.loc[test, columns], "downstream_error", source)


def porian_runs(git_dir: Path, commit: str) -> pd.DataFrame:
    """Every run of the isoFLOP sweeps with tuned hyper-parameters, a short warmup and a constant learning rate.

    Parameters
    ----------
    git_dir : Path
        A git directory of formll/resolving-scaling-law-discrepancies.
    commit : str
        The commit to read the files at.

    Returns
    -------
    pandas.DataFrame
        Columns ``group`` (corpus), ``C`` (the sweep's budget in FLOPs), ``N``, ``D``, ``loss`` (validation loss).
    """
    frames = []
    for corpus, path in PORIAN_SWEEPS.items():
        summary = pd.read_pickle(io.BytesIO(_git_bytes(git_dir, "show", f"{commit}:{path}")), compression="xz")
        chosen = summary[(summary.hparams == "tuned") & (summary.warmup == "short") & (summary.decay == "const") & (summary.val == "val")]
        if len(chosen) != 1:
            raise SystemExit(f"{path} at {commit}: expected one tuned, short-warmup, constant-lr sweep, found {len(chosen)}")
        for _, budget in chosen.iloc[0]["data"].iterrows():
            frames.append(pd.DataFrame({
                "group": corpus, "C": float(budget.flops), "N": budget.orig_n, "D": budget.orig_t, "loss": budget.orig_loss,
            }))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def porian_isoflops(runs: pd.DataFrame) -> None:
    """Write ``porian_isoflops`` from `porian_runs`."""
    commit = PORIAN_COMMIT
    runs = runs[runs.D >= PORIAN_MIN_TOKENS_PER_PARAMETER * runs.N]
    test = runs.C > PORIAN_TEST_BUDGET
    columns = ["group", "N", "D", "loss"]
    spec = {
        "name": "porian_isoflops",
        "description": (
            "IsoFLOP sweeps of decoder-only transformers on two corpora (group: rw = RefinedWeb, owt2 = "
            "OpenWebText2): at each compute budget 6 N D from 1.25e16 to 2.56e19 FLOPs, models of N parameters "
            "trained on D tokens with tuned learning rate, batch size and AdamW beta2, a short warmup and a "
            "constant learning rate, at least 5 tokens per parameter. loss is the validation loss (nats per "
            "token). Train: budgets up to 6.4e18 FLOPs; test: the "
            "two largest, so you extrapolate along N and D. Constants are fitted per corpus."
        ),
        "features": ["N", "D"], "targets": ["loss"], "group": "group", "param_limit": 5,
        "extrapolates": ["N", "D"], "log_features": ["N", "D"],
    }  # fmt: skip
    source = f"""# porian_isoflops: source

- Runs: {PORIAN_REPO}@{commit}: `{PORIAN_SWEEPS['rw']}` and `{PORIAN_SWEEPS['owt2']}` (pandas pickles).
- Paper: Porian et al. 2024, "Resolving Discrepancies in Compute-Optimal Scaling of Language Models".
- Licence: MIT (the repository's `LICENSE`).
- Kept: in each file the one sweep with `hparams == "tuned"`, `warmup == "short"`, `decay == "const"`,
  `val == "val"`; per budget (`flops`) the runs of its `orig_n` (N), `orig_t` (D) and `orig_loss` (loss)
  with D >= {PORIAN_MIN_TOKENS_PER_PARAMETER} N. 6 N D equals the budget on every run. The shorter runs (big models at small
  budgets, down to 0.02 tokens per parameter, losses up to 8.8) end far up the steep side of their budget's
  sweep, where the loss follows the learning-rate schedule's early course more than N and D (the paper
  fits only each budget's minimum); 5 tokens per parameter is also the shortest run of `overtrain_c4`.
- Split: test = the budgets above {PORIAN_TEST_BUDGET:g} FLOPs (1.28e19 and 2.56e19), train = the ten below.
- Reference law: Chinchilla (Hoffmann et al. 2022), 5 constants per corpus.
- Rebuild: `python benchmarks/suite/public.py --porian GIT_DIR`.
"""
    write(spec, runs.loc[~test, columns], runs.loc[test, columns], "chinchilla", source)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gadre", type=Path, help=f"a git directory of {GADRE_REPO} (builds overtrain_c4 and downstream_error)")
    parser.add_argument("--porian", type=Path, help=f"a git directory of {PORIAN_REPO} (builds porian_isoflops)")
    args = parser.parse_args()
    if not (args.gadre or args.porian):
        parser.error("pass --gadre and/or --porian: the git directories to build from")
    if args.gadre:
        runs = gadre_runs(args.gadre, GADRE_COMMIT)  # both tasks come from the same 104 models: read them once
        overtrain_c4(runs)
        downstream_error(runs)
    if args.porian:
        porian_isoflops(porian_runs(args.porian, PORIAN_COMMIT))


if __name__ == "__main__":
    main()
