"""`oped data stats`: counts, label balance, reliability and join health of the
project's data, against a corpus file."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from training.annotation.build_labels import stance_class
from training.annotation.reliability import paragraph_reliability, reliability
from training.data import ANNOTATIONS, SPLITS, SYNTHETIC, load_labelled


def data_stats(corpus: str | Path | None = None, annotations: str | Path = ANNOTATIONS,
               synthetic: str | Path = SYNTHETIC) -> dict:
    data = load_labelled(corpus, annotations, synthetic, strict=False)
    arts = [r for s in SPLITS for r in data.articles[s]]
    classes = Counter(stance_class(r["stance"]) for r in arts)
    rel = reliability(annotations)
    alpha = {k: rel[k]["alpha"] for k in ("stance_intensity", "stance_class", "sovereignty") if k in rel}
    return {
        "articles": {"total": len(arts), **{s: data.articles[s].num_rows for s in SPLITS}},
        "article_labels": {"hawkish": classes["hawkish"], "neutral": classes["neutral"], "dovish": classes["dovish"],
                           "sovereignty_present": sum(r["sovereignty"] for r in arts),
                           "sovereignty_central": sum(r["sovereignty_salience"] == 2 for r in arts),
                           "stance_intensity": {str(k): v for k, v in sorted(Counter(r["stance"] for r in arts).items())}},
        "paragraphs": sum(data.paragraphs[s].num_rows for s in SPLITS),
        "paragraph_articles": len({r["id"] for s in SPLITS for r in data.paragraphs[s]}),
        "synthetic_texts": data.synthetic.num_rows,
        "double_coded_articles": rel.get("double_coded_articles", 0),
        "adjudicated_articles": sum(bool(r.get("adjudicated")) for r in arts),
        "alpha": alpha,
        "paragraph_alpha": {k: v["alpha"] for k, v in paragraph_reliability(annotations).items()
                            if isinstance(v, dict)},
        "unmatched_labels": data.report.unmatched,
    }
