"""The resampled classification scores equal sklearn's and the report's own definitions on the
resampled arrays, ties and binary tasks included."""

import numpy as np
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from cnnkit.tasks.calibration import expected_calibration_error
from cnnkit.tasks.classification_scores import ClassificationScores


def problem(n: int, classes: int, seed: int = 0, decimals: int | None = None):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    logits = rng.normal(size=(n, classes))
    logits[np.arange(n), y] += 1.5
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    if decimals is not None:  # coarse scores: many ties within a class's column
        probs = np.round(probs, decimals)
    return y, probs, -np.log(np.clip(probs[np.arange(n), y], 1e-9, None))


@pytest.mark.parametrize(("classes", "decimals"), [(10, None), (4, 1), (2, None), (2, 1)])
def test_each_resample_matches_the_direct_computation(classes, decimals):
    y, probs, loss = problem(600, classes, decimals=decimals)
    scores = ClassificationScores(y, probs, loss, top_k=2 if classes > 2 else 0)
    rng = np.random.default_rng(1)
    for _ in range(5):
        index = rng.integers(0, len(y), len(y))
        got = scores(index)
        yi, pi = y[index], probs[index]
        assert got["loss"] == pytest.approx(loss[index].mean())
        assert got["accuracy"] == pytest.approx(np.mean(pi.argmax(1) == yi))
        assert got["macro_f1"] == pytest.approx(
            f1_score(yi, pi.argmax(1), average="macro", labels=list(range(classes)), zero_division=0))
        assert got["ece"] == pytest.approx(expected_calibration_error(yi, pi))
        # one-vs-rest, macro: sklearn's multi_class="ovr" (which also insists on rows summing to 1)
        expected_auc = (roc_auc_score(yi, pi[:, 1]) if classes == 2 else
                        np.mean([roc_auc_score(yi == c, pi[:, c]) for c in range(classes)]))
        assert got["auc"] == pytest.approx(expected_auc, abs=1e-12)
        if classes > 2:
            rank = (pi > pi[np.arange(len(yi)), yi][:, None]).sum(1)
            assert got["top2_accuracy"] == pytest.approx(np.mean(rank < 2))


def test_auc_is_left_out_when_a_class_is_not_drawn():
    y, probs, loss = problem(50, 3)
    scores = ClassificationScores(y, probs, loss, top_k=0)
    assert "auc" not in scores(np.flatnonzero(y != 2))
    assert "top0_accuracy" not in scores(np.arange(50))
