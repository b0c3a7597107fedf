"""`oped eval`: validity figures of predictions against hand-coded gold labels.

Per dimension: accuracy, macro-F1, per-class precision/recall/F1, confusion
matrix, Krippendorff's alpha and Cohen's kappa between model and gold; Spearman
between stance_score and gold intensity; for sovereignty ROC AUC and average
precision; calibration (ECE, Brier, reliability diagrams). Headline figures carry
95% bootstrap CIs. Writes report.md, metrics.json and PNG plots.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from eval.agreement import alpha
from eval.gold import STANCE_CLASSES, EvalInputError, match, normalise_gold, read_table
from eval.metrics import binary_scores, macro_f1, per_class, spearman, with_ci

N_BOOT = 1000


def _kappa(labels):
    return lambda y, p: float(cohen_kappa_score(y, p, labels=labels))


def _alpha(labels, level):
    return lambda y, p: alpha([labels.index(v) for v in y], [labels.index(v) for v in p], level)


def stance_metrics(j: pd.DataFrame) -> dict:
    j = j[j["stance"].notna()]  # items not coded on stance are left out
    y, p = j["stance"].to_numpy(), j["stance_pred"].to_numpy()
    out = {
        "n": len(j),
        "accuracy": with_ci(lambda a, b: float(np.mean(a == b)), y, p, n=N_BOOT),
        "macro_f1": with_ci(lambda a, b: macro_f1(a, b, STANCE_CLASSES), y, p, n=N_BOOT),
        "cohen_kappa": with_ci(_kappa(STANCE_CLASSES), y, p, n=N_BOOT),
        "alpha_nominal": with_ci(_alpha(STANCE_CLASSES, "nominal"), y, p, n=N_BOOT),
        "per_class": per_class(y, p, STANCE_CLASSES),
        "confusion": {"labels": STANCE_CLASSES, "rows_gold_cols_pred": confusion_matrix(y, p, labels=STANCE_CLASSES).tolist()},
        "calibration": {c: binary_scores((y == c).astype(int), j[f"p_{c}"].to_numpy(float))
                        for c in ("hawkish", "dovish") if f"p_{c}" in j},
    }
    if "stance_intensity" in j and j["stance_intensity"].notna().all():
        g = j["stance_intensity"].to_numpy(float)
        out["spearman_score_vs_gold_intensity"] = with_ci(spearman, g, j["stance_score"].to_numpy(float), n=N_BOOT)
        if "stance_intensity_pred" in j:
            # the model's point prediction on the ordinal scale: its expected intensity, rounded
            levels = [-2, -1, 0, 1, 2]
            pi = np.clip(np.rint(j["stance_intensity_pred"].to_numpy(float)), -2, 2).astype(int)
            out["alpha_ordinal_intensity"] = with_ci(_alpha(levels, "ordinal"), g.astype(int), pi, n=N_BOOT)
    return out


def sovereignty_metrics(j: pd.DataFrame) -> dict:
    j = j[j["sovereignty"].notna()]
    y, p = j["sovereignty"].to_numpy(int), j["sovereignty_pred"].to_numpy(int)
    prob = j["p_sovereignty"].to_numpy(float)
    from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

    out = {
        "n": len(j),
        "accuracy": with_ci(lambda a, b: float(np.mean(a == b)), y, p, n=N_BOOT),
        "f1": with_ci(lambda a, b: float(f1_score(a, b, zero_division=0)), y, p, n=N_BOOT),
        "macro_f1": with_ci(lambda a, b: macro_f1(a, b, [0, 1]), y, p, n=N_BOOT),
        "cohen_kappa": with_ci(_kappa([0, 1]), y, p, n=N_BOOT),
        "alpha_nominal": with_ci(_alpha([0, 1], "nominal"), y, p, n=N_BOOT),
        "per_class": per_class(y, p, [0, 1]),
        "confusion": {"labels": [0, 1], "rows_gold_cols_pred": confusion_matrix(y, p, labels=[0, 1]).tolist()},
        "calibration": binary_scores(y, prob),
    }
    if len(set(y)) == 2:
        both = lambda f: (lambda a, b: float(f(a, b)) if len(set(a)) == 2 else float("nan"))  # noqa: E731
        out["roc_auc"] = with_ci(both(roc_auc_score), y, prob, n=N_BOOT)
        out["average_precision"] = with_ci(both(average_precision_score), y, prob, n=N_BOOT)
    if "sovereignty_salience" in j and "sovereignty_salience_pred" in j and j["sovereignty_salience"].notna().all():
        out["alpha_ordinal_salience"] = with_ci(_alpha([0, 1, 2], "ordinal"), j["sovereignty_salience"].to_numpy(int),
                                                j["sovereignty_salience_pred"].to_numpy(int), n=N_BOOT)
    return out


def evaluate(gold_path: str, pred_path: str | None = None, model: str | None = None, out_dir: str = "eval_out",
             batch_size: int = 32, stance_field: str | None = None) -> dict:
    table = read_table(gold_path)
    if stance_field:
        if stance_field not in table.columns:
            raise EvalInputError(f"{gold_path}: no column {stance_field!r}")
        table = table.drop(columns=[c for c in ("stance",) if c in table.columns]).rename(columns={stance_field: "stance"})
    gold = normalise_gold(table, gold_path)
    if pred_path:
        pred = read_table(pred_path)
    else:
        if "text" not in gold:
            raise EvalInputError(f"{gold_path}: scoring with --model needs a 'text' column")
        from model import load_model

        scorer = load_model(model or "default", batch_size=batch_size)
        rows = [r.values for r in scorer.score(list(gold["text"]), evidence=False)]
        pred = pd.DataFrame(rows)
        pred.insert(0, "id", list(gold["id"]))
        pred["status"] = "ok"
    joined = match(gold, pred.rename(columns={c: f"{c}_pred" for c in
                                              ("stance", "sovereignty", "stance_intensity", "sovereignty_salience")
                                              if c in pred.columns}))
    metrics = {"gold": str(gold_path), "predictions": str(pred_path or f"model {model or 'default'}"),
               "n": len(joined)}
    if "stance" in joined and "stance_pred" in joined:
        metrics["stance"] = stance_metrics(joined)
    if "sovereignty" in joined and "sovereignty_pred" in joined:
        metrics["sovereignty"] = sovereignty_metrics(joined)
    if not {"stance", "sovereignty"} & set(metrics):
        raise EvalInputError("no dimension is in both the gold file and the predictions")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    from eval.plots import write_plots
    from eval.report import write_report

    plots = write_plots(joined, metrics, out)
    write_report(metrics, plots, out / "report.md")
    return metrics
