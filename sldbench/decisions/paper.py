"""The paper's two applications on their tasks, as one line each for the leaderboard's law dialog.

- lr_bsz: the learning rate and batch size the law puts the optimum at for the test split's
  point (N = 1,073,741,824 non-embedding parameters, D = 1e11 tokens), and the regret of the
  run nearest to it (the paper: 0.067%);
- sft: the model each dataset's law chooses from 6.25% of the data, RelAcc and PearCorr (the
  paper's SLDAgent law: 100% and 87.7%).

A law can extrapolate with a high R^2 and still decide badly; the dialog shows both.
"""

from __future__ import annotations

from ..data import Split
from ..specs import TaskSpec
from .optimize import DecisionError, Optimum, find_optimum
from .select import Selection, select_models

LR_BSZ_POINT = {"data_size": 1e11, "non_embedding_param_size": 1073741824.0}
SFT_FRACTION = 0.0625
PAPER_REGRET_PERCENT = 0.067
PAPER_SELECTION = (1.0, 0.877)  # RelAcc, PearCorr of the paper's SLDAgent law
TASKS = ("lr_bsz", "sft")


async def paper_decision(runner, program: str, spec: TaskSpec, train: Split, test: Split, timeout: float = 300.0) -> str:
    """The decision ``program`` makes in the paper's application on ``spec`` (lr_bsz or sft), as one line.

    Parameters
    ----------
    runner : SandboxEnvironment
    program : str
    spec : TaskSpec
        A built-in task of `TASKS`.
    train, test : Split
    timeout : float

    Returns
    -------
    str
        The decision and its score beside the paper's, or why the law could not decide.
    """
    try:
        if spec.name == "lr_bsz":
            found = await find_optimum(runner, program, spec, train, [train, test], ["lr", "bsz"], LR_BSZ_POINT, train.groups[0], spec.targets[0], timeout)
            return f"Decision (1B model, 100B tokens): {optimum_words(found)}" + ("" if found.monotone else f" (the paper's SLDAgent law: {PAPER_REGRET_PERCENT}%)")
        chosen = await select_models(runner, program, spec, train, test, SFT_FRACTION, timeout)
        return (
            f"Decision (model to fine-tune, from {100 * SFT_FRACTION:g}% of the data): {selection_words(chosen)} "
            f"(the paper's SLDAgent law: {100 * PAPER_SELECTION[0]:.0f}%, {100 * PAPER_SELECTION[1]:.1f}%)"
        )
    except (DecisionError, ValueError) as err:
        return f"Decision: the law could not decide: {err}"


def optimum_words(found: Optimum) -> str:
    """Where a law puts the optimum of lr and batch size and the regret of the nearest run, or why it has none.

    Parameters
    ----------
    found : Optimum
        `find_optimum`'s result over ``lr`` and ``bsz``, judged by runs at its point.

    Returns
    -------
    str
    """
    if found.monotone:
        return "no optimum: " + "; ".join(f"{name}: {note}" for name, note in found.monotone.items())
    return (
        f"lr {found.optimum['lr']:.4g}, batch size {found.optimum['bsz']:.4g}; "
        f"nearest run's loss {found.nearest_loss:.4f}, best run's {found.best_loss:.4f}: regret {found.regret_percent:.3f}%"
    )


def selection_words(chosen: Selection) -> str:
    """The model chosen per dataset (and the best where they differ), RelAcc and PearCorr.

    Parameters
    ----------
    chosen : Selection
        `select_models`' result.

    Returns
    -------
    str
    """
    choices = "; ".join(f"{name}: {c.chosen}" + ("" if c.chosen == c.best else f" (best {c.best})") for name, c in chosen.per_dataset.items())
    pearson = "n/a" if chosen.pearson is None else f"{100 * chosen.pearson:.1f}%"
    return f"{choices}; RelAcc {100 * chosen.rel_acc:.1f}%, PearCorr {pearson}"
