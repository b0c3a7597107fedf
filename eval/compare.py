"""Four-way comparison on the project's test split: the fine-tuned default model
against a lexicon, TF-IDF + logistic regression and a zero-shot encoder baseline.

    oped eval --baselines [--corpus ../shared/corpora/allsides_foreign_policy.jsonl] [--model default]

Baselines fit only on train (TF-IDF) or choose thresholds only on dev (lexicon);
the zero-shot baseline uses no labels. The test split is scored once by each.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from eval.codebook_metrics import codebook_metrics, fmt

RESULTS = Path(__file__).resolve().parent / "results"


def compare(corpus: str | None = None, model: str = "default", out: str | Path = RESULTS / "baselines") -> dict:
    from eval.baselines.lexicon import LexiconBaseline
    from eval.baselines.tfidf import TfidfBaseline
    from eval.baselines.zero_shot import ZeroShotBaseline
    from eval.model_card import articles_model_trained_on
    from model import load_model
    from training.data import load_labelled

    data = load_labelled(corpus, synthetic=None)
    scorer = load_model(model)
    train = articles_model_trained_on(data, scorer.config.training)  # the baselines learn from what it learnt from
    dev, test = list(data.articles["dev"]), list(data.articles["test"])
    texts = [r["text"] for r in test]
    systems = {
        "lexicon (thresholds on dev)": LexiconBaseline().fit(train, dev).predict(texts),
        "TF-IDF + logistic regression (train; C on dev)": TfidfBaseline().fit(train, dev).predict(texts),
        "zero-shot base encoder (no labels)": ZeroShotBaseline().predict(texts),
        f"fine-tuned model ({scorer.model_id})": [r.values for r in scorer.score(texts, evidence=False)],
    }
    results = {name: codebook_metrics(test, preds) for name, preds in systems.items()}
    command = "oped eval --baselines" + (f" --corpus {corpus}" if corpus else "") + (
        f" --model {model}" if model != "default" else "")
    report = {"command": command, "split": "test", "n": len(test), "systems": results}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(report))
    return report


def markdown(report: dict) -> str:
    lines = [f"# Baselines on the test split ({report['n']} real articles)", "",
             f"Command: `{report['command']}`. Brackets: 95% bootstrap CIs (1,000 resamples).", "",
             "| system | stance macro-F1 | hawkish F1 | dovish F1 | intensity Spearman | sovereignty F1 | sovereignty AUC |",
             "|---|---|---|---|---|---|---|"]
    for name, m in report["systems"].items():
        st, sv = m["stance"], m["sovereignty"]
        lines.append(f"| {name} | {fmt(st['macro_f1'])} | {st['per_class']['hawkish']['f1']:.3f} | "
                     f"{st['per_class']['dovish']['f1']:.3f} | {fmt(st['intensity_spearman'])} | {fmt(sv['f1'])} | "
                     f"{fmt(sv['roc_auc']) if 'roc_auc' in sv else 'n/a'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(markdown(compare(*(sys.argv[1:2] or [None]))))
