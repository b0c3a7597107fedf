"""Does the evidence sentence point at a passage the coders coded the same way?

    python -m eval.evidence [--model default] [--split dev] [--compare]

For the articles of a split that have paragraph codes (data/annotations/paragraphs.jsonl),
the model scores the article; where it predicts a signal class
(hawkish or dovish stance, sovereignty present) and names an evidence sentence, the
sentence is found in its paragraph, and it is a hit when that paragraph was coded with
the predicted class. The chance line is the hit rate of a sentence drawn at random from
the same article's coded paragraphs (every sentence equally likely): evidence is useful in
so far as it beats that. Paragraph codes cover a sample of each article's paragraphs, so
only evidence that falls in a coded paragraph is judged. The coders are model-based
(docs/data.md). Writes eval/results/evidence_{split}.{json,md}, for the scorer's evidence
method; --compare judges both methods (model.inference: in context, standalone) in one run,
with how often they pick the same sentence, into eval/results/evidence_methods_{split}.{json,md}.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from model.text import split_paragraphs, split_sentences

RESULTS = Path(__file__).resolve().parent / "results"


def _norm(text: str) -> str:
    return " ".join(text.split())


def matches(dimension: str, predicted: str, code: dict) -> bool | None:
    """Whether a paragraph's codes agree with the predicted class (None: not coded)."""
    value = code.get(dimension)
    if value is None:
        return None
    if dimension == "stance":
        return (value > 0) if predicted == "hawkish" else (value < 0)
    return int(value) == 1


def coded_articles(split: str, corpus: str | None) -> list[dict]:
    """Articles of the split with paragraph codes, all of whose coded paragraphs still
    match their text hash (training.data's own reading and hash check)."""
    from training.data import ANNOTATIONS, JoinReport, join, read_corpus, read_labels

    splits = {r["id"]: r["split"] for r in read_labels(ANNOTATIONS / "articles.jsonl", "article")}
    labels = [r for r in read_labels(ANNOTATIONS / "paragraphs.jsonl", "paragraph") if splits.get(r["id"]) == split]
    texts = read_corpus(corpus, {r["id"] for r in labels})
    report = JoinReport()
    matched = join(labels, texts, "paragraph", report)
    # a text changed since coding (or missing): none of its codes can locate passages any more
    stale = set(report.missing_ids) | {key.rsplit("#", 1)[0] for key in report.changed}
    codes: dict = defaultdict(dict)
    for row in matched:
        if row["id"] not in stale:
            codes[row["id"]][row["paragraph"]] = row
    return [{"id": doc_id, "text": texts[doc_id]["text"], "paragraphs": split_paragraphs(texts[doc_id]["text"]),
             "codes": by_index} for doc_id, by_index in sorted(codes.items())]


def locate(sentence: str, paragraphs: list[str]) -> int | None:
    """The paragraph holding the sentence; None when none or several do (a short sentence
    found in two paragraphs cannot be placed, so it is not judged)."""
    target = _norm(sentence)
    found = [i for i, p in enumerate(paragraphs) if target and target in _norm(p)]
    return found[0] if len(found) == 1 else None


def chance(dimension: str, predicted: str, article: dict) -> float | None:
    """Hit rate of a sentence drawn at random among the article's sentences in coded paragraphs."""
    hits = total = 0
    for i, paragraph in enumerate(article["paragraphs"]):
        agree = matches(dimension, predicted, article["codes"].get(i, {}))
        if agree is None:
            continue
        n = len(split_sentences(paragraph))
        total += n
        hits += n * agree
    return hits / total if total else None


def above_chance(hits: int, judged: int, chance_rate: float | None) -> float | None:
    """One-sided binomial p of at least `hits` in `judged` at the mean chance rate: how
    surprising the hit count would be from sentences drawn at random (an approximation,
    since each article has its own chance rate)."""
    if not judged or chance_rate is None:
        return None
    from scipy.stats import binomtest

    return float(binomtest(hits, judged, chance_rate, alternative="greater").pvalue)


def evaluate(model: str = "default", split: str = "dev", corpus: str | None = None) -> dict:
    from model import load_model

    articles = coded_articles(split, corpus)
    scorer = load_model(model)
    rows = [r.values for r in scorer.score([a["text"] for a in articles])]
    return {"command": f"python -m eval.evidence --model {model} --split {split}", "model": scorer.model_id,
            "evidence_method": scorer.evidence_method, "split": split,
            "articles_with_paragraph_codes": len(articles), "dimensions": judge(articles, rows)}


def compare(model: str = "default", split: str = "dev", corpus: str | None = None) -> dict:
    """Both evidence methods on the same articles and the same model (their scores are
    identical: only the evidence sentence differs), and how often they agree."""
    from model import load_model
    from model.inference import EVIDENCE_METHODS

    articles = coded_articles(split, corpus)
    scorer = load_model(model)
    rows = {}
    for method in EVIDENCE_METHODS:
        scorer.evidence_method = method
        rows[method] = [r.values for r in scorer.score([a["text"] for a in articles])]
    first, second = EVIDENCE_METHODS
    same = {}
    for dim in ("stance", "sovereignty"):
        pairs = [(x[f"evidence_{dim}"], y[f"evidence_{dim}"]) for x, y in zip(rows[first], rows[second])
                 if x[f"evidence_{dim}"] or y[f"evidence_{dim}"]]
        same[dim] = {"articles_with_evidence": len(pairs), "same_sentence": sum(a == b for a, b in pairs)}
    return {"command": f"python -m eval.evidence --model {model} --split {split} --compare",
            "model": scorer.model_id, "split": split, "articles_with_paragraph_codes": len(articles),
            "methods": {m: judge(articles, rows[m]) for m in EVIDENCE_METHODS}, "same_sentence": same}


def judge(articles: list[dict], rows: list[dict]) -> dict:
    """Per dimension: articles with evidence, judged ones, hits, hit rate, chance and p."""
    per_dim = {}
    for dim, signal in (("stance", ("hawkish", "dovish")), ("sovereignty", (1,))):
        predicted = judged = hits = 0
        chances = []
        for article, row in zip(articles, rows):
            klass, sentence = row[dim], row[f"evidence_{dim}"]
            if klass not in signal or not sentence:
                continue
            predicted += 1
            where = locate(sentence, article["paragraphs"])
            agree = None if where is None else matches(dim, klass, article["codes"].get(where, {}))
            base = chance(dim, klass, article)
            if agree is not None and base is not None:
                judged += 1
                hits += agree
                chances.append(base)
        base = sum(chances) / judged if judged else None
        per_dim[dim] = {"with_evidence": predicted, "judged": judged, "hits": hits,
                        "hit_rate": hits / judged if judged else None, "chance": base,
                        "p_above_chance": above_chance(hits, judged, base)}
    return per_dim


ABOUT = ("A hit: the evidence sentence lies in a paragraph the coders coded with the class the model "
         "predicts for the article. Chance: the hit rate of a sentence drawn at random from the same "
         "article's coded paragraphs. Coded paragraphs are a sample (the first and last, and the two "
         "middle paragraphs with the most cues, of round-1 articles; the first, the last and the four "
         "middle ones with the most cues of the hawkish and dovish articles of later rounds: "
         "docs/data.md), so only evidence that falls in one is judged. The coders are language-model "
         "sessions.")
NOTE = ("p: one-sided binomial test of the hits against the mean chance rate (each article has "
         "its own rate, so this is an approximation). Few articles are judged: read the hit rates as "
         "a check that evidence points at coded passages more often than chance, not as a precise figure.")


def _table(rows: list[tuple[str, str, dict]]) -> list[str]:
    """(method or "", dimension, judged figures) rows; a method column when any is named."""
    named = any(m for m, _, _ in rows)
    lines = [("| method " if named else "") + "| dimension | articles with evidence | in a coded paragraph (judged) "
             "| hits | hit rate | chance | p, hits above chance |", "|---|" + "---|" * (6 + named)]
    for method, dim, r in rows:
        rate = "-" if r["hit_rate"] is None else f"{r['hit_rate']:.2f}"
        base = "-" if r["chance"] is None else f"{r['chance']:.2f}"
        p = r.get("p_above_chance")
        p = "-" if p is None else "< 0.001" if p < 0.001 else f"{p:.3f}"
        lines.append(("| " + method + " " if named else "")
                     + f"| {dim} | {r['with_evidence']} | {r['judged']} | {r['hits']} | {rate} | {base} | {p} |")
    return lines


def _head(report: dict, title: str) -> list[str]:
    return [f"# {title} ({report['split']} split)", "", f"Command: `{report['command']}`; model {report['model']}; "
            f"{report['articles_with_paragraph_codes']} {report['split']} articles with paragraph codes.", ""]


def markdown(report: dict) -> str:
    method = report.get("evidence_method", "standalone")
    lines = _head(report, "Evidence sentences against paragraph codes")
    lines += [f"Evidence method: {method} (model.inference).", "", ABOUT, ""]
    return "\n".join(lines + _table([("", d, r) for d, r in report["dimensions"].items()]) + ["", NOTE, ""])


def compare_markdown(report: dict) -> str:
    lines = _head(report, "Evidence methods against paragraph codes")
    lines += ["The same model and scores; only the evidence sentence differs. In-context: the sentence whose "
              "removal from the window's mean of token states lowers the class's probability most (one encoder "
              "pass). Standalone: each sentence of the window encoded again alone, the one scored highest for "
              "the class. The rule deciding between them: eval/results/evidence_methods.md.", "", ABOUT, ""]
    table = _table([(m, d, per_dim[d]) for d in ("stance", "sovereignty") for m, per_dim in report["methods"].items()])
    lines += table + ["", "| dimension | articles with evidence | the two methods pick the same sentence |",
                      "|---|---|---|"]
    for dim, r in report["same_sentence"].items():
        lines.append(f"| {dim} | {r['articles_with_evidence']} | {r['same_sentence']} |")
    return "\n".join(lines + ["", NOTE, ""])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--split", default="dev", choices=["train", "dev", "test"])
    ap.add_argument("--corpus", default=None)
    ap.add_argument("--compare", action="store_true", help="judge both evidence methods in one run")
    args = ap.parse_args(argv)
    if args.compare:
        report, out, text = compare(args.model, args.split, args.corpus), f"evidence_methods_{args.split}", compare_markdown
    else:
        report, out, text = evaluate(args.model, args.split, args.corpus), f"evidence_{args.split}", markdown
    out = RESULTS / out
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".md").write_text(text(report))
    print(text(report))


if __name__ == "__main__":
    main()
