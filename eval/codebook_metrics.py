"""Headline metrics of predictions against codebook gold labels, with 95% CIs.

Gold: stance (-2..2) and sovereignty (0/1). Predictions: the columns of
`oped score` (stance class, p_dovish/p_neutral/p_hawkish, stance_score,
stance_intensity, sovereignty, p_sovereignty).
"""

from __future__ import annotations

import numpy as np

from eval.metrics import binary_scores, macro_f1, per_class, spearman, with_ci

STANCE_CLASSES = ["dovish", "neutral", "hawkish"]


def stance_class(v: int) -> str:
    return "hawkish" if v > 0 else "dovish" if v < 0 else "neutral"


def stance_macro_f1(y, p) -> float:
    return macro_f1(y, p, STANCE_CLASSES)


def sovereignty_f1(y, p) -> float:
    """F1 of the positive class (frame present)."""
    from sklearn.metrics import f1_score

    return float(f1_score(y, p, zero_division=0))


def side_errors(confusion: dict) -> dict:
    """From a stance confusion (codebook_metrics): the articles coded with a side, and those a
    model reads with the other side, counted in both directions: the error that matters most
    for hawkish-vs-dovish comparisons."""
    labels, m = confusion["labels"], confusion["rows_gold_cols_pred"]
    dov, haw = labels.index("dovish"), labels.index("hawkish")
    return {"with_a_side": sum(m[dov]) + sum(m[haw]), "dovish_read_as_hawkish": m[dov][haw],
            "hawkish_read_as_dovish": m[haw][dov]}


def codebook_metrics(gold: list[dict], pred: list[dict], n_boot: int = 1000) -> dict:
    if len(gold) != len(pred):
        raise ValueError("gold and predictions differ in length")
    g_st = np.array([stance_class(int(g["stance"])) for g in gold])
    p_st = np.array([p["stance"] for p in pred])
    g_int = np.array([int(g["stance"]) for g in gold], float)
    p_score = np.array([float(p.get("stance_intensity", p.get("stance_score", 0.0))) for p in pred])
    g_sov = np.array([int(g["sovereignty"]) for g in gold])
    p_sov = np.array([int(p["sovereignty"]) for p in pred])
    p_psov = np.array([float(p["p_sovereignty"]) for p in pred])
    from sklearn.metrics import confusion_matrix

    out = {
        "n": len(gold),
        "stance": {
            "macro_f1": with_ci(stance_macro_f1, g_st, p_st, n=n_boot),
            "accuracy": with_ci(lambda y, p: float(np.mean(y == p)), g_st, p_st, n=n_boot),
            "per_class": per_class(g_st, p_st, STANCE_CLASSES),
            "confusion": {"labels": STANCE_CLASSES, "rows_gold_cols_pred":
                          confusion_matrix(g_st, p_st, labels=STANCE_CLASSES).tolist()},
            "intensity_spearman": with_ci(spearman, g_int, p_score, n=n_boot),
        },
        "sovereignty": {
            "f1": with_ci(sovereignty_f1, g_sov, p_sov, n=n_boot),
            "macro_f1": with_ci(lambda y, p: macro_f1(y, p, [0, 1]), g_sov, p_sov, n=n_boot),
            "per_class": per_class(g_sov, p_sov, [0, 1]),
            "confusion": {"labels": [0, 1], "rows_gold_cols_pred": confusion_matrix(g_sov, p_sov, labels=[0, 1]).tolist()},
        },
    }
    if len(set(g_sov)) == 2:
        from sklearn.metrics import roc_auc_score

        out["sovereignty"]["roc_auc"] = with_ci(lambda y, p: float(roc_auc_score(y, p)) if len(set(y)) == 2
                                                else float("nan"), g_sov, p_psov, n=n_boot)
        out["sovereignty"].update({k: v for k, v in binary_scores(g_sov, p_psov).items() if k != "roc_auc"})
    return out


def paired_difference(gold: list[dict], pred_a: list[dict], pred_b: list[dict], n_boot: int = 1000) -> dict:
    """A minus B on the same articles, with a paired bootstrap CI (both resampled together),
    for stance macro-F1 and sovereignty F1: whether A beats B beyond the noise of a small split."""
    if not len(gold) == len(pred_a) == len(pred_b):
        raise ValueError("gold and predictions differ in length")
    g_st = np.array([stance_class(int(g["stance"])) for g in gold])
    g_sov = np.array([int(g["sovereignty"]) for g in gold])
    a_st, b_st = (np.array([p["stance"] for p in pred]) for pred in (pred_a, pred_b))
    a_sov, b_sov = (np.array([int(p["sovereignty"]) for p in pred]) for pred in (pred_a, pred_b))
    gap = lambda metric: lambda y, a, b: metric(y, a) - metric(y, b)  # noqa: E731
    return {"stance_macro_f1": with_ci(gap(stance_macro_f1), g_st, a_st, b_st, n=n_boot),
            "sovereignty_f1": with_ci(gap(sovereignty_f1), g_sov, a_sov, b_sov, n=n_boot)}


def fmt(m: dict) -> str:
    lo, hi = m["ci95"]
    return f"{m['value']:.3f} [{lo:.3f}, {hi:.3f}]"


def fmt_signed(m: dict) -> str:
    """A difference with its CI, signs shown: +0.021 [-0.074, +0.121]."""
    lo, hi = m["ci95"]
    return f"{m['value']:+.3f} [{lo:+.3f}, {hi:+.3f}]"
