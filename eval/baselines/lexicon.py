"""A transparent dictionary baseline: cue counts with quotation and negation handling.

Rules (all in this file):
- Text inside quotation marks, and sentences that attribute speech (said, told,
  according to, ...), are skipped: the codebook codes the author's voice, not sources.
- A cue preceded within three words by a negator (not, no, never, against, oppose,
  ...) counts for the opposite side ("we must not strike" is a dovish cue).
- stance score = (hawkish cues - dovish cues) / sqrt(words / 100); the class comes
  from two thresholds, and sovereignty from a cue rate threshold, chosen on dev.
The cue lists are the project's screening lexicon (training/annotation/screening.py).
"""

from __future__ import annotations

import math
import re

import numpy as np
from sklearn.metrics import f1_score

from eval.codebook_metrics import STANCE_CLASSES, stance_class
from training.annotation.screening import DOVISH_CUES, HAWKISH_CUES, SOVEREIGNTY_CUES

_QUOTED = re.compile(r"[\"“][^\"”]{0,600}[\"”]")
_ATTRIBUTION = re.compile(r"\b(said|says|told|according to|stated|declared|argued|warned|added)\b", re.I)
_NEGATOR = re.compile(r"\b(not|no|never|against|oppose[sd]?|opposing|without|n't|avoid|rather than)\b", re.I)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _pattern(cues):
    return re.compile(r"\b(?:" + "|".join(cues) + r")\b", re.I)


HAWK, DOVE, SOV = _pattern(HAWKISH_CUES), _pattern(DOVISH_CUES), _pattern(SOVEREIGNTY_CUES)


def _negated(sentence: str, start: int) -> bool:
    return bool(_NEGATOR.search(" ".join(sentence[:start].split()[-3:])))


def cue_counts(text: str) -> tuple[float, float, float, int]:
    """(hawkish, dovish, sovereignty) cue counts in the author's voice, and words."""
    hawk = dove = sov = 0.0
    for sentence in _SENTENCE.split(_QUOTED.sub(" ", text)):
        if _ATTRIBUTION.search(sentence):
            continue
        for m in HAWK.finditer(sentence):
            if _negated(sentence, m.start()):
                dove += 1
            else:
                hawk += 1
        for m in DOVE.finditer(sentence):
            if _negated(sentence, m.start()):
                hawk += 1
            else:
                dove += 1
        sov += len(SOV.findall(sentence))
    return hawk, dove, sov, max(len(text.split()), 1)


def features(text: str) -> tuple[float, float]:
    hawk, dove, sov, words = cue_counts(text)
    return (hawk - dove) / math.sqrt(words / 100), 1000 * sov / words


class LexiconBaseline:
    def fit(self, train: list[dict], dev: list[dict]) -> "LexiconBaseline":
        """Thresholds only, chosen for dev macro-F1 (no weights are learned)."""
        f = np.array([features(r["text"]) for r in dev])
        y = [stance_class(r["stance"]) for r in dev]
        grid = np.quantile(f[:, 0], np.linspace(0.02, 0.98, 49))
        best = (-1.0, 0.0, 0.0)
        for lo in grid:
            for hi in grid[grid > lo]:
                pred = np.where(f[:, 0] >= hi, "hawkish", np.where(f[:, 0] <= lo, "dovish", "neutral"))
                score = f1_score(y, pred, labels=STANCE_CLASSES, average="macro", zero_division=0)
                best = max(best, (score, lo, hi))
        _, self.low, self.high = best
        ys = [int(r["sovereignty"]) for r in dev]
        self.sov = max(np.quantile(f[:, 1], np.linspace(0.02, 0.98, 49)),
                       key=lambda t: f1_score(ys, (f[:, 1] >= t).astype(int), zero_division=0))
        return self

    def predict(self, texts: list[str]) -> list[dict]:
        out = []
        for t in texts:
            s, rate = features(t)
            cls = "hawkish" if s >= self.high else "dovish" if s <= self.low else "neutral"
            ph = 1 / (1 + math.exp(-(s - self.high)))
            pdv = 1 / (1 + math.exp(s - self.low))
            pn = max(1e-6, 1 - ph - pdv)
            z = ph + pdv + pn
            out.append({"stance": cls, "stance_score": (ph - pdv) / z, "p_dovish": pdv / z, "p_neutral": pn / z,
                        "p_hawkish": ph / z, "sovereignty": int(rate >= self.sov),
                        "p_sovereignty": 1 - math.exp(-rate / max(self.sov, 1e-6))})
        return out
