"""Inter-coder reliability of the project's double coding (first coders in
data/annotations/raw/, second coders in raw/double/), before adjudication; and of
round 5's double-coded paragraphs (raw/paragraphs/, raw/paragraphs/double/)."""

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


def double_coded_paragraph_pairs(root: str | Path = ANNOTATIONS) -> tuple[list[dict], list[dict]]:
    """Round 5's paragraphs coded by two coders (raw/paragraphs/ and raw/paragraphs/double/)."""
    root = Path(root) / "raw" / "paragraphs"

    def codes(paths):
        return {(r["id"], int(r["paragraph"])): r for p in paths for r in read_jsonl(p)}

    first, second = codes(sorted(root.glob("*.jsonl"))), codes(sorted((root / "double").glob("*.jsonl")))
    keys = sorted(k for k in second if k in first)
    return [first[k] for k in keys], [second[k] for k in keys]


def paragraph_reliability(root: str | Path = ANNOTATIONS) -> dict:
    """The same figures for round 5's double-coded paragraphs."""
    a, b = double_coded_paragraph_pairs(root)
    if not a:
        return {"double_coded_paragraphs": 0}
    return {"double_coded_paragraphs": len(a), "articles": len({r["id"] for r in a}), **_figures(a, b)}


def reliability(root: str | Path = ANNOTATIONS) -> dict:
    """Alpha, kappa, agreement and confusion per dimension for the double-coded articles."""
    a, b = double_coded_pairs(root)
    if not a:
        return {"double_coded_articles": 0}
    return {"double_coded_articles": len(a), **_figures(a, b)}


def _figures(a: list[dict], b: list[dict]) -> dict:
    col = lambda rows, f: [f(r) for r in rows]  # noqa: E731
    return {
        "stance_intensity": pairwise(col(a, lambda r: r["stance"]), col(b, lambda r: r["stance"]),
                                     "ordinal", labels=[-2, -1, 0, 1, 2]),
        "stance_class": pairwise(col(a, lambda r: stance_class(r["stance"])), col(b, lambda r: stance_class(r["stance"])),
                                 "nominal", labels=["dovish", "neutral", "hawkish"]),
        "sovereignty": pairwise(col(a, lambda r: r["sovereignty"]), col(b, lambda r: r["sovereignty"]),
                                "nominal", labels=[0, 1]),
        "sovereignty_salience": pairwise(col(a, lambda r: r["sovereignty_salience"]),
                                         col(b, lambda r: r["sovereignty_salience"]), "ordinal", labels=[0, 1, 2]),
    }


if __name__ == "__main__":  # python -m training.annotation.reliability: all figures as JSON
    import json

    print(json.dumps({"articles": reliability(), "round5_paragraphs": paragraph_reliability()}, indent=1))
