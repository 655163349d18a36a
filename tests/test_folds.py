"""Validation folds shaped like the test split, from the train split alone (sldbench.folds)."""

import numpy as np
import pandas as pd
import pytest

from sldbench.data import Split, load_split
from sldbench.folds import SEARCH_ROWS, extrapolation_folds, fold_of, fold_r2s, fold_score, nearest_fold, search_rows
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


def test_the_fold_nearest_the_test_is_found_where_the_folds_r2_lists_it(data_dir):
    train = load_split(get_spec("sft"), "train", data_dir)
    _, held = extrapolation_folds(train)
    targets = {g: held.arrays(g)[1] for g in held.groups}
    # a prediction off on the largest fold's rows alone: that fold's R^2 is the one that drops
    off = {g: y + (10.0 if fold_of(g).endswith("the largest") else 0.0) for g, y in targets.items()}
    scores = fold_r2s(targets, off)
    assert nearest_fold(held) == 3 and scores[3] == -1.0 and scores[:3] == [1.0, 1.0, 1.0]
    # interleaved row folds have no order of scale, nor has a split that is not folds
    frame = pd.DataFrame({"group": ["a"] * 20, "x": np.linspace(0, 1, 20), "y": np.linspace(1, 2, 20)})
    mix = Split(TaskSpec("mix", "mix", ("x",), ("y",), None, "a mixture", extrapolates=()), "train", frame, "memory")
    assert nearest_fold(extrapolation_folds(mix)[1]) is None and nearest_fold(train) is None


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


def _curves(groups: int, steps: int) -> Split:
    """Learning curves logged at every step (rows in the file's order: by group, then step)."""
    rng = np.random.default_rng(1)
    step = np.arange(50, 50 + steps, dtype=float)
    frames = [pd.DataFrame({"group": f"run{g}", "step": step, "loss": (2 + g / 10 + 3 * (step / 100) ** -0.3) * np.exp(0.01 * rng.standard_normal(steps))}) for g in range(groups)]
    spec = TaskSpec("curves", "curves", ("step",), ("loss",), None, "learning curves", extrapolates=("step",), log_features=("step",))
    return Split(spec, "train", pd.concat(frames, ignore_index=True), "memory")


def test_a_search_fits_on_at_most_search_rows_spread_evenly_along_the_scale():
    small = _curves(2, 500)
    assert search_rows(small) is small  # a task of SEARCH_ROWS rows or fewer is searched on every row
    train = _curves(10, 3000)
    kept = search_rows(train)
    assert len(kept.frame) == SEARCH_ROWS and kept.groups == train.groups
    assert kept.frame.equals(search_rows(train).frame)  # the same rows every time: a count, not a draw
    for group in train.groups:
        every, thinned = (s.frame.loc[s.frame["group"] == group, "step"].to_numpy() for s in (train, kept))
        assert len(thinned) == SEARCH_ROWS // 10 and thinned.min() == every.min() and thinned.max() == every.max()
        # the same scales in the same proportions: the kept rows' quantiles are the group's
        assert np.allclose(np.quantile(thinned, [0.1, 0.25, 0.5, 0.75, 0.9]), np.quantile(every, [0.1, 0.25, 0.5, 0.75, 0.9]), rtol=0.01)
    # so the folds cut the thinned rows as they cut the whole: the same folds, every group in each
    assert extrapolation_folds(train)[1].groups == extrapolation_folds(kept)[1].groups


def test_the_rows_kept_do_not_depend_on_the_order_of_the_file():
    # a sweep of 12 learning rates at each of 500 sizes: which runs of one size are kept is the rows' choice, not the file's
    n, lr = np.repeat(np.geomspace(1e7, 1e9, 500), 12), np.tile(np.geomspace(1e-4, 1e-2, 12), 500)
    frame = pd.DataFrame({"group": "all", "N": n, "lr": lr, "loss": 2 + 1e3 / n**0.3 + np.log(lr / 1e-3) ** 2})
    spec = TaskSpec("sweep", "sweep", ("N", "lr"), ("loss",), None, "a sweep", extrapolates=("N",), log_features=("N", "lr"))
    kept = [
        search_rows(Split(spec, "train", rows.reset_index(drop=True), "memory")).frame.sort_values(["N", "lr"]).reset_index(drop=True)
        for rows in (frame, frame.sample(frac=1.0, random_state=3), frame.sort_values(["lr", "N"], ascending=False))
    ]
    assert len(kept[0]) == SEARCH_ROWS
    assert kept[0].equals(kept[1]) and kept[0].equals(kept[2])
    assert kept[0]["lr"].nunique() == 12  # and they keep runs of every rate


def test_folds_along_an_axis_toward_smaller_values_hold_out_the_smallest_and_fit_above():
    # a downstream error against the loss: the test models have the lowest loss, so each fold holds out the lowest
    loss = np.geomspace(2.6, 6.0, 40)
    frame = pd.DataFrame({"group": "all", "loss": loss, "error": 0.85 - 2.3 * np.exp(-0.8 * loss)})
    spec = TaskSpec("down", "down", ("loss",), ("error",), 3, "error from loss", extrapolates=("loss",), toward_smaller=("loss",))
    fit, held = extrapolation_folds(Split(spec, "train", frame, "memory"))
    assert sorted({fold_of(g) for g in held.groups}) == ["loss: 2nd smallest", "loss: 3rd smallest", "loss: 4th smallest", "loss: the smallest"]
    fitted, holdout = _scale_of(fit, ["loss"]), _scale_of(held, ["loss"])
    for pseudo in held.groups:
        assert holdout[pseudo].max() < fitted[pseudo].min()  # every held row lies below every fitted row
    assert holdout["loss: the smallest | all"].min() == loss.min()
    # the same rows held out as the mirror task extrapolating upward along -loss holds out
    mirror = TaskSpec("up", "up", ("loss",), ("error",), 3, "error from -loss", extrapolates=("loss",))
    _, mirrored = extrapolation_folds(Split(mirror, "train", frame.assign(loss=-frame["loss"]), "memory"))
    assert sorted(-mirrored.frame["loss"]) == sorted(held.frame["loss"])
