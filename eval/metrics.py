"""Metrics for scores against gold codes, with bootstrap confidence intervals.

Everything is computed with scikit-learn / scipy; this module only fixes which
figures a report shows and how their uncertainty is estimated (percentile
bootstrap over items, a fixed seed so reports reproduce).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import (accuracy_score, average_precision_score, brier_score_loss, f1_score,
                             precision_recall_fscore_support, roc_auc_score)

BOOTSTRAP_SEED = 2026


def macro_f1(y_true, y_pred, labels) -> float:
    """Mean F1 over the classes that occur in the gold codes or the predictions: a class absent
    from both (a small coded sample without dovish articles, or a bootstrap resample) says nothing
    about the model and is left out rather than counted as 0."""
    seen = set(y_true) | set(y_pred)
    present = [c for c in labels if c in seen] or list(labels)
    return float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0))


def weighted_f1(y_true, y_pred, labels) -> float:
    return float(f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0))


def per_class(y_true, y_pred, labels) -> dict:
    p, r, f, n = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {str(lab): {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(n[i])}
            for i, lab in enumerate(labels)}


def spearman(x, y) -> float:
    if len(set(x)) < 2 or len(set(y)) < 2:
        return float("nan")
    return float(spearmanr(x, y).statistic)


def expected_calibration_error(y_true01, p, n_bins: int = 10) -> float:
    """ECE of binary probabilities: mean |accuracy - confidence| over equal-width bins, weighted by bin size."""
    y, p = np.asarray(y_true01, float), np.asarray(p, float)
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    return float(sum(abs(y[bins == b].mean() - p[bins == b].mean()) * (bins == b).mean()
                     for b in range(n_bins) if (bins == b).any()))


def binary_scores(y_true01, p) -> dict:
    y = np.asarray(y_true01, int)
    out = {"brier": float(brier_score_loss(y, p)), "ece": expected_calibration_error(y, p)}
    if len(set(y)) == 2:
        out["roc_auc"] = float(roc_auc_score(y, p))
        out["average_precision"] = float(average_precision_score(y, p))
    return out


def bootstrap_ci(metric, *arrays, n: int = 1000, level: float = 0.95, seed: int = BOOTSTRAP_SEED):
    """Percentile bootstrap CI of metric(*arrays) resampling items with replacement."""
    arrays = [np.asarray(a) for a in arrays]
    size = len(arrays[0])
    rng = np.random.default_rng(seed)
    stats = []
    for _ in range(n):
        idx = rng.integers(0, size, size)
        value = metric(*(a[idx] for a in arrays))
        if not np.isnan(value):
            stats.append(value)
    if not stats:
        return (float("nan"), float("nan"))
    lo, hi = np.percentile(stats, [(1 - level) / 2 * 100, (1 + level) / 2 * 100])
    return (float(lo), float(hi))


def with_ci(metric, *arrays, n: int = 1000) -> dict:
    return {"value": float(metric(*arrays)), "ci95": list(bootstrap_ci(metric, *arrays, n=n))}


def accuracy(y_true, y_pred) -> float:
    return float(accuracy_score(y_true, y_pred))
