"""Validation folds shaped like the test split, from the train split alone (sldbench.folds)."""

import numpy as np
import pandas as pd
import pytest

from sldbench.data import Split, load_split
from sldbench.folds import fold_of, fold_r2s, fold_score, extrapolation_folds
from sldbench.specs import TaskSpec, get_spec


def _scale_of(split: Split, axes) -> dict[str, np.ndarray]:
    return {g: split.frame.loc[split.frame["group"] == g, list(axes)].to_numpy(dtype=float) for g in split.groups}


def test_each_fold_holds_out_one_larger_scale_per_group_and_fits_below_it(data_dir):
    train = load_split(get_spec("sft"), "train", data_dir)
    fit, held = extrapolation_folds(train)
    folds = sorted({fold_of(g) for g in held.groups})
    assert folds == ["sft_data_size: 2nd largest", "sft_data_size: 3rd largest", "sft_data_size: 4th largest", "sft_data_size: the largest"]
    fitted, holdout = _scale_of(fit, ["sft_data_size"]), _scale_of(held, ["sft_data_size"])
    for pseudo in held.groups:
        assert holdout[pseudo].min() > fitted[pseudo].max()  # the held rows lie beyond every fitted row
        assert len(np.unique(holdout[pseudo])) == 1  # one scale held out, as the test holds out each group's next size
    # the largest fold of every group holds out that group's largest train size
    for group in train.groups:
        rows = train.frame[train.frame["group"] == group]
        assert holdout[f"sft_data_size: the largest | {group}"][0, 0] == rows["sft_data_size"].max()


def test_two_axes_hold_out_one_grid_at_a_larger_combined_scale(data_dir):
    train = load_split(get_spec("lr_bsz"), "train", data_dir)
    fit, held = extrapolation_folds(train)
    axes = ["non_embedding_param_size", "data_size"]
    largest = held.frame[held.frame["group"].str.startswith("non_embedding_param_size x data_size: the largest")]
    # one (N, D) grid, the largest N*D of the train split, with its lr and bsz sweep
    assert len(largest[axes].drop_duplicates()) == 1
    product = train.frame[axes[0]] * train.frame[axes[1]]
    assert (largest[axes[0]] * largest[axes[1]]).iloc[0] == product.max()
    assert largest["lr"].nunique() > 3
    fitted = fit.frame[fit.frame["group"] == largest["group"].iloc[0]]
    assert (fitted[axes[0]] * fitted[axes[1]]).max() < product.max()


def test_a_task_without_an_axis_gets_interleaved_row_folds():
    frame = pd.DataFrame({"group": ["a"] * 20, "x": np.linspace(0, 1, 20), "y": np.linspace(1, 2, 20)})
    spec = TaskSpec("mix", "mix", ("x",), ("y",), None, "a mixture", extrapolates=())
    fit, held = extrapolation_folds(Split(spec, "train", frame, "memory"))
    assert sorted({fold_of(g) for g in held.groups}) == [f"rows {i} mod 5" for i in range(5)]
    assert len(held.frame) == 20 and len(fit.frame) == 80  # every row held out once, fitted four times


def test_one_r2_per_fold_clipped_and_their_mean():
    targets = {"f1 | a": np.array([[1.0], [2.0]]), "f1 | b": np.array([[3.0], [4.0]]), "f2 | a": np.array([[1.0], [2.0]])}
    perfect = {k: v.copy() for k, v in targets.items()}
    awful = dict(perfect, **{"f2 | a": np.array([[100.0], [-100.0]])})
    assert fold_r2s(targets, perfect) == [1.0, 1.0]
    assert fold_r2s(targets, awful) == [1.0, -1.0]  # clipped, as the leaderboard clips
    assert fold_score([1.0, -1.0, 0.5]) == pytest.approx(0.5 / 3) and fold_score([]) == -np.inf
