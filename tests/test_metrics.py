import numpy as np
import pytest

from sldbench.metrics import PredictionError, as_prediction_matrix, heldout_metrics


def test_single_target_against_hand_computed_values():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    yhat = np.array([1.5, 2.0, 2.5, 4.0])
    # var(y) = 1.25 (ddof 0); mse = (0.25 + 0 + 0.25 + 0) / 4 = 0.125 -> nmse 0.1
    # mean|y - mean| = (1.5 + .5 + .5 + 1.5) / 4 = 1.0; mae = 0.25 -> nmae 0.25
    m = heldout_metrics(y, yhat)
    assert m.nmse == pytest.approx(0.1)
    assert m.nmae == pytest.approx(0.25)
    assert m.r2_raw == pytest.approx(0.9)
    assert m.r2 == pytest.approx(0.9)


def test_pooled_groups_use_pooled_variance_not_per_group():
    # Two groups with identical within-group spread but different levels: the pooled variance is
    # large, so a constant-per-group prediction scores well on the pooled normaliser.
    group_a = np.array([1.0, 1.2])
    group_b = np.array([5.0, 5.2])
    y = np.concatenate([group_a, group_b])
    yhat = np.concatenate([np.full(2, 1.1), np.full(2, 5.1)])
    pooled_var = np.var(y)  # 4.01
    expected_nmse = 0.01 / pooled_var
    m = heldout_metrics(y, yhat)
    assert m.nmse == pytest.approx(expected_nmse)
    assert m.r2_raw == pytest.approx(1 - expected_nmse)


def test_multi_target_averages_per_target_nmse():
    y = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    yhat = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 40.0]])
    # target 1 perfect; target 2: mse = 100/3, var = 200/3 -> nmse 0.5
    m = heldout_metrics(y, yhat)
    assert m.nmse_per_target == pytest.approx([0.0, 0.5])
    assert m.r2_per_target == pytest.approx([1.0, 0.5])
    assert m.r2_raw == pytest.approx(0.75)


def test_r2_is_clipped_but_raw_kept():
    y = np.array([0.0, 1.0])
    m = heldout_metrics(y, np.array([10.0, -10.0]))
    assert m.r2_raw < -100
    assert m.r2 == -1.0


def test_zero_variance_target_gives_infinite_nmse_as_reference():
    m = heldout_metrics(np.array([2.0, 2.0, 2.0]), np.array([2.0, 2.0, 2.1]))
    assert m.nmse == np.inf
    assert m.r2_raw == -np.inf
    assert m.r2 == -1.0


@pytest.mark.parametrize(
    "predictions, message",
    [
        ([1.0, float("nan"), 3.0], "NaN or Inf"),
        ([1.0, float("inf"), 3.0], "NaN or Inf"),
        ([1.0, 2.0], "shape"),
        ([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], "shape"),
        (["a", "b", "c"], "not numeric"),
    ],
)
def test_unscorable_predictions_are_rejected(predictions, message):
    with pytest.raises(PredictionError, match=message):
        as_prediction_matrix(predictions, 3, 1)


def test_one_dimensional_prediction_accepted_for_single_target():
    assert as_prediction_matrix([1, 2, 3], 3, 1).shape == (3, 1)
