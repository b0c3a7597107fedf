"""report.md for `oped eval`: tables a researcher can paste."""

from __future__ import annotations

from pathlib import Path


def _ci(m: dict) -> str:
    if not isinstance(m, dict) or "value" not in m:
        return "n/a"
    lo, hi = m["ci95"]
    return f"{m['value']:.3f} [{lo:.3f}, {hi:.3f}]"


def write_report(metrics: dict, plots: list[str], path: Path) -> None:
    lines = [f"# Evaluation: {metrics['predictions']} vs {metrics['gold']}", "",
             f"{metrics['n']} gold items. Brackets: 95% bootstrap CIs (1,000 resamples of items).", ""]
    rows = [("accuracy", "accuracy"), ("macro-F1", "macro_f1"), ("Cohen's kappa", "cohen_kappa"),
            ("Krippendorff's alpha (nominal)", "alpha_nominal")]
    lines += ["| figure | stance | sovereignty |", "|---|---|---|"]
    st, sv = metrics.get("stance", {}), metrics.get("sovereignty", {})
    for name, key in rows:
        lines.append(f"| {name} | {_ci(st.get(key))} | {_ci(sv.get(key))} |")
    lines.append(f"| Spearman: stance_score vs gold intensity | {_ci(st.get('spearman_score_vs_gold_intensity'))} | |")
    lines.append(f"| Krippendorff's alpha (ordinal): intensity / salience | {_ci(st.get('alpha_ordinal_intensity'))} | "
                 f"{_ci(sv.get('alpha_ordinal_salience'))} |")
    lines.append(f"| F1 (frame present) | | {_ci(sv.get('f1'))} |")
    lines.append(f"| ROC AUC / average precision | | {_ci(sv.get('roc_auc'))} / {_ci(sv.get('average_precision'))} |")
    for dim, m in (("stance", st), ("sovereignty", sv)):
        if not m:
            continue
        lines += ["", f"## {dim}: per class", "", "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        for c, v in m["per_class"].items():
            lines.append(f"| {c} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |")
        labels = [str(x) for x in m["confusion"]["labels"]]
        lines += ["", "Confusion (rows gold, columns model):", "", "| gold \\ model | " + " | ".join(labels) + " |",
                  "|---" * (len(labels) + 1) + "|"]
        for lab, row in zip(labels, m["confusion"]["rows_gold_cols_pred"]):
            lines.append(f"| {lab} | " + " | ".join(map(str, row)) + " |")
        cal = m["calibration"]
        lines += ["", "Calibration: " + "; ".join(
            f"{k}: ECE {v['ece']:.3f}, Brier {v['brier']:.3f}" for k, v in
            (cal.items() if dim == "stance" else [("P(present)", cal)]))]
    lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    path.write_text("\n".join(lines))
