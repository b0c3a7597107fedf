"""The project's own labels against the shared corpus (skipped without ../shared)."""

import json
import re
import subprocess
from pathlib import Path

from tests.conftest import CORPUS, needs_shared

ROOT = Path(__file__).resolve().parents[1]


@needs_shared
def test_every_label_joins_its_text_and_the_data_plan_is_met():
    from training.stats import data_stats

    s = data_stats(CORPUS)
    assert s["unmatched_labels"] == 0
    assert s["articles"]["total"] >= 800 and s["articles"]["test"] >= 150
    assert s["article_labels"]["hawkish"] >= 150 and s["article_labels"]["dovish"] >= 150 and s["article_labels"]["sovereignty_present"] >= 150
    assert s["paragraphs"] >= 3000 and s["paragraph_articles"] >= 400
    assert s["synthetic_texts"] >= 400
    assert s["double_coded_articles"] >= 100
    assert set(s["alpha"]) == {"stance_intensity", "stance_class", "sovereignty"}


@needs_shared
def test_a_sampling_round_can_be_left_out_of_training_and_never_reaches_dev_or_test():
    from training.arguments import TrainingArguments
    from training.examples import build_examples

    labels = [json.loads(line) for line in open(ROOT / "data/annotations/articles.jsonl", encoding="utf-8")]
    active = {r["id"] for r in labels if r["pool"] == "active_directional"}
    assert active and all(r["split"] == "train" for r in labels if r["id"] in active)
    args = TrainingArguments(corpus=str(CORPUS), exclude_pools="active_directional")
    train = build_examples(args, args.schema())["train"]
    assert not {e["id"] for e in train if e["kind"] == "article"} & active


@needs_shared
def test_no_corpus_sentence_is_committed():
    """The project stores ids, hashes and its own labels, never the articles' text."""
    def sentences(text):
        for s in re.split(r"(?<=[.!?])\s+|\n+", text):
            s = " ".join(s.split())
            if len(s) >= 60:
                yield s

    known = set()
    with open(CORPUS, encoding="utf-8") as f:
        for line in f:
            known.update(sentences(json.loads(line)["text"]))
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    leaks = {}
    for name in files:
        path = ROOT / name
        if path.suffix in (".jsonl", ".json", ".md", ".py", ".csv", ".txt", ".toml") and path.is_file():
            text = path.read_text(encoding="utf-8", errors="ignore")
            text = text.replace('\\"', '"').replace("\\n", "\n")
            hits = sum(s in known for s in sentences(text))
            if hits >= 2:
                leaks[name] = hits
    assert not leaks, f"corpus sentences found in committed files: {leaks}"


@needs_shared
def test_data_export_writes_a_gold_file(tmp_path):
    from typer.testing import CliRunner

    from cli import app

    out = tmp_path / "test.jsonl"
    res = CliRunner().invoke(app, ["data", "export", "--split", "test", "--corpus", str(CORPUS), "-o", str(out)])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in open(out)]
    assert len(rows) >= 150 and all(r["text"] and r["stance"] in (-2, -1, 0, 1, 2) for r in rows)


@needs_shared
def test_balancing_paragraph_sides_reweights_only_sided_paragraphs():
    from training.arguments import TrainingArguments
    from training.examples import build_examples

    def train(balance):
        args = TrainingArguments(corpus=str(CORPUS), balance_paragraph_sides=balance)
        return build_examples(args, args.schema())["train"]

    plain, balanced = train(False), train(True)
    assert [(e["id"], e["kind"]) for e in plain] == [(e["id"], e["kind"]) for e in balanced]
    changed = {e["kind"] for e, f in zip(plain, balanced) if e["weight"] != f["weight"]}
    assert changed == {"paragraph"}  # articles and synthetic texts keep their weights
    side = {0: "dovish", 1: "dovish", 3: "hawkish", 4: "hawkish"}  # stance level index -> side
    totals = {"dovish": 0.0, "hawkish": 0.0}
    for e in balanced:
        if e["kind"] == "paragraph" and e["levels"]["stance"] in side:
            totals[side[e["levels"]["stance"]]] += e["weight"]
    assert abs(totals["dovish"] - totals["hawkish"]) < 1e-6
