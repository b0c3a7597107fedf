"""TF-IDF + logistic regression, one classifier per codebook dimension.

The baseline a reviewer expects: word and bigram TF-IDF, class-balanced
logistic regression (scikit-learn), C chosen on the dev split.
"""

from __future__ import annotations

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.pipeline import make_pipeline

from eval.codebook_metrics import STANCE_CLASSES, stance_class

C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)


def _fit(texts, y, c):
    return make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=200_000),
                         LogisticRegression(C=c, class_weight="balanced", max_iter=2000)).fit(texts, y)


def _select(train_x, train_y, dev_x, dev_y):
    """The C with the best dev macro-F1 (dev only; never the test split)."""
    scored = []
    for c in C_GRID:
        m = _fit(train_x, train_y, c)
        scored.append((f1_score(dev_y, m.predict(dev_x), average="macro"), -c, m))
    return max(scored, key=lambda t: (t[0], t[1]))[2]


class TfidfBaseline:
    def fit(self, train: list[dict], dev: list[dict]) -> "TfidfBaseline":
        tx, dx = [r["text"] for r in train], [r["text"] for r in dev]
        self.stance = _select(tx, [stance_class(r["stance"]) for r in train], dx, [stance_class(r["stance"]) for r in dev])
        self.sov = _select(tx, [int(r["sovereignty"]) for r in train], dx, [int(r["sovereignty"]) for r in dev])
        return self

    def predict(self, texts: list[str]) -> list[dict]:
        ps = self.stance.predict_proba(texts)
        cls = list(self.stance.classes_)
        pv = self.sov.predict_proba(texts)[:, list(self.sov.classes_).index(1)]
        out = []
        for row, p in zip(ps, pv):
            probs = {c: float(row[cls.index(c)]) if c in cls else 0.0 for c in STANCE_CLASSES}
            out.append({"stance": max(probs, key=probs.get), "stance_score": probs["hawkish"] - probs["dovish"],
                        **{f"p_{c}": v for c, v in probs.items()}, "sovereignty": int(p >= 0.5),
                        "p_sovereignty": float(p)})
        return out
