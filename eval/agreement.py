"""Agreement between two codings of the same items: Krippendorff's alpha, Cohen's
kappa, raw agreement and the coder-by-coder confusion table.

Used for the project's double coding (docs/data.md) and for researchers' own
(`oped agreement A B`), and between a model and gold labels (`oped eval`).
"""

from __future__ import annotations

import krippendorff
import numpy as np
from sklearn.metrics import cohen_kappa_score, confusion_matrix


def alpha(a, b, level: str = "nominal") -> float:
    """Krippendorff's alpha for two coders; level is nominal, ordinal or interval.
    Items either coder left empty (None) are dropped pairwise by the library."""
    data = np.array([[np.nan if x is None else float(x) for x in a],
                     [np.nan if x is None else float(x) for x in b]])
    values = np.unique(data[~np.isnan(data)])
    if len(values) < 2:
        return float("nan")  # alpha is undefined when only one value occurs
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement=level, value_domain=values))


def pairwise(a, b, level: str = "nominal", labels=None) -> dict:
    """All agreement figures for one dimension of one pair of codings."""
    if len(a) != len(b):
        raise ValueError(f"codings differ in length: {len(a)} vs {len(b)}")
    keep = [i for i in range(len(a)) if a[i] is not None and b[i] is not None]
    x = [a[i] for i in keep]
    y = [b[i] for i in keep]
    labels = list(labels) if labels is not None else sorted(set(x) | set(y))
    out = {
        "n": len(keep),
        "agreement": float(np.mean([p == q for p, q in zip(x, y)])) if keep else float("nan"),
        # alpha works on numbers: code each value by its position in `labels` (the ordinal order)
        "alpha": alpha([labels.index(v) for v in x], [labels.index(v) for v in y], level),
        "alpha_level": level,
        "cohen_kappa": float(cohen_kappa_score(x, y, labels=labels, weights="linear" if level == "ordinal" else None))
        if keep else float("nan"),
        "labels": labels,
        "confusion": confusion_matrix(x, y, labels=labels).tolist() if keep else [],
    }
    return out
