"""PNG plots for `oped eval`: confusion matrices, reliability diagrams, score
distributions by gold class."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402


def _confusion(ax, matrix, labels, title):
    m = np.asarray(matrix)
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(labels)), [str(x) for x in labels])
    ax.set_yticks(range(len(labels)), [str(x) for x in labels])
    ax.set_xlabel("model")
    ax.set_ylabel("gold")
    ax.set_title(title)
    for i in range(m.shape[0]):
        for k in range(m.shape[1]):
            ax.text(k, i, str(m[i, k]), ha="center", va="center", color="white" if m[i, k] > m.max() / 2 else "black")


def _reliability(ax, y, p, label):
    bins = min(10, max(2, len(y) // 20))
    frac, mean = calibration_curve(y, p, n_bins=bins, strategy="quantile")
    ax.plot(mean, frac, marker="o", label=label)


def write_plots(j, metrics: dict, out: Path) -> list[str]:
    files = []
    dims = [d for d in ("stance", "sovereignty") if d in metrics]
    fig, axes = plt.subplots(1, len(dims), figsize=(5 * len(dims), 4.2))
    for ax, d in zip(np.atleast_1d(axes), dims):
        c = metrics[d]["confusion"]
        _confusion(ax, c["rows_gold_cols_pred"], c["labels"], f"{d}: confusion (n={metrics[d]['n']})")
    fig.tight_layout()
    fig.savefig(out / "confusion.png", dpi=120)
    plt.close(fig)
    files.append("confusion.png")

    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    if "sovereignty" in metrics and len(set(j["sovereignty"])) == 2:
        _reliability(ax, j["sovereignty"].to_numpy(int), j["p_sovereignty"].to_numpy(float), "P(sovereignty frame)")
    if "stance" in metrics:
        for c in ("hawkish", "dovish"):
            y = (j["stance"] == c).to_numpy(int)
            if f"p_{c}" in j and 0 < y.sum() < len(y):
                _reliability(ax, y, j[f"p_{c}"].to_numpy(float), f"P({c})")
    ax.set_xlabel("mean predicted probability (quantile bins)")
    ax.set_ylabel("observed share in gold")
    ax.set_title("Reliability diagram")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "reliability.png", dpi=120)
    plt.close(fig)
    files.append("reliability.png")

    fig, axes = plt.subplots(1, len(dims), figsize=(5 * len(dims), 4.2))
    for ax, d in zip(np.atleast_1d(axes), dims):
        if d == "stance":
            groups = [("dovish", "dovish"), ("neutral", "neutral"), ("hawkish", "hawkish")]
            col, xlabel = "stance_score", "stance_score = P(hawkish) - P(dovish)"
            key = "stance"
        else:
            groups = [(0, "absent"), (1, "present")]
            col, xlabel = "p_sovereignty", "P(sovereignty frame)"
            key = "sovereignty"
        for value, name in groups:
            v = j.loc[j[key] == value, col].to_numpy(float)
            if len(v):
                ax.hist(v, bins=20, range=(-1, 1) if d == "stance" else (0, 1), alpha=0.55, label=f"gold {name} (n={len(v)})")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("items")
        ax.set_title(f"{d}: scores by gold class")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "score_distributions.png", dpi=120)
    plt.close(fig)
    files.append("score_distributions.png")
    return files
