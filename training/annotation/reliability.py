"""Inter-coder reliability of the project's double coding (first coders in
data/annotations/raw/, second coders in raw/double/), before adjudication."""

from __future__ import annotations

from pathlib import Path

from eval.agreement import pairwise
from training.annotation.build_labels import read_jsonl, stance_class
from training.data import ANNOTATIONS


def _articles(paths) -> dict[str, dict]:
    out = {}
    for p in paths:
        out.update({r["id"]: r for r in read_jsonl(p) if r.get("paragraph") is None})
    return out


def double_coded_pairs(root: str | Path = ANNOTATIONS) -> tuple[list[dict], list[dict]]:
    root = Path(root)
    first = _articles(sorted((root / "raw").glob("*.jsonl")))
    second = _articles(sorted((root / "raw" / "double").glob("*.jsonl")))
    ids = sorted(i for i in second if i in first)
    return [first[i] for i in ids], [second[i] for i in ids]


def reliability(root: str | Path = ANNOTATIONS) -> dict:
    """Alpha, kappa, agreement and confusion per dimension for the double-coded articles."""
    a, b = double_coded_pairs(root)
    if not a:
        return {"double_coded_articles": 0}
    col = lambda rows, f: [f(r) for r in rows]  # noqa: E731
    return {
        "double_coded_articles": len(a),
        "stance_intensity": pairwise(col(a, lambda r: r["stance"]), col(b, lambda r: r["stance"]),
                                     "ordinal", labels=[-2, -1, 0, 1, 2]),
        "stance_class": pairwise(col(a, lambda r: stance_class(r["stance"])), col(b, lambda r: stance_class(r["stance"])),
                                 "nominal", labels=["dovish", "neutral", "hawkish"]),
        "sovereignty": pairwise(col(a, lambda r: r["sovereignty"]), col(b, lambda r: r["sovereignty"]),
                                "nominal", labels=[0, 1]),
        "sovereignty_salience": pairwise(col(a, lambda r: r["sovereignty_salience"]),
                                         col(b, lambda r: r["sovereignty_salience"]), "ordinal", labels=[0, 1, 2]),
    }
