"""Turn raw coder output into the project's label files.

    python -m training.annotation.build_labels --corpus ../shared/corpora/allsides_foreign_policy.jsonl

Reads  data/annotations/sample_frame.csv, raw/*.jsonl (first coders),
       raw/paragraphs/*.jsonl (round 5: paragraph codes only),
       raw/double/*.jsonl (second coders), adjudication.jsonl
Writes data/annotations/articles.jsonl and paragraphs.jsonl: one final label a
       line, keyed by corpus id (+ paragraph index) and the sha256 of the text,
       with the article-level split. No corpus text is written.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from collections import defaultdict
from pathlib import Path

from model.text import split_paragraphs, text_sha256

ROOT = Path("data/annotations")
CODE_FIELDS = ("fp_relevant", "stance", "sovereignty", "sovereignty_salience", "sovereignty_whose")
COMPARED = ("stance", "sovereignty", "sovereignty_salience")  # a difference here needs adjudication
SPLIT_SHARES = (("train", 0.70), ("dev", 0.15), ("test", 0.15))
SPLIT_SEED = 5175
# Rounds picked by the model under study go to train only (see active_round.py).
TRAIN_ONLY_POOLS = ("active_directional",)
# Round 5 coded paragraphs only; its paragraph labels carry this pool, so that training's
# exclude_pools can leave them out (older paragraph labels have no pool of their own).
PARAGRAPH_ROUND = "paragraph_round"


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def stance_class(stance: int) -> str:
    return "hawkish" if stance > 0 else "dovish" if stance < 0 else "neutral"


def disagreements(first: dict, second: dict) -> list[str]:
    """Ids coded differently by the two coders on any compared field."""
    return sorted(i for i in second if i in first and any(first[i][k] != second[i][k] for k in COMPARED))


def assign_splits(labels: dict[str, dict], fixed: dict[str, str] | None = None,
                  seed: int = SPLIT_SEED) -> dict[str, str]:
    """Article-level splits, stratified by stance class x sovereignty. Articles in
    `fixed` keep their split (splits never move once published); articles of a
    train-only pool go to train; other new ones are assigned among themselves."""
    rng = random.Random(seed)
    out = {i: s for i, s in (fixed or {}).items() if i in labels}
    out.update({i: "train" for i in labels if i not in out and labels[i].get("pool") in TRAIN_ONLY_POOLS})
    strata = defaultdict(list)
    for i in sorted(labels):
        if i not in out:
            strata[(stance_class(labels[i]["stance"]), labels[i]["sovereignty"])].append(i)
    for key in sorted(strata):
        ids = strata[key]
        rng.shuffle(ids)
        n_dev = round(len(ids) * SPLIT_SHARES[1][1])
        n_test = round(len(ids) * SPLIT_SHARES[2][1])
        for j, i in enumerate(ids):
            out[i] = "test" if j < n_test else "dev" if j < n_test + n_dev else "train"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--root", default=str(ROOT))
    args = ap.parse_args()
    root = Path(args.root)
    with open(root / "sample_frame.csv", newline="", encoding="utf-8") as f:
        frame = {r["id"]: r for r in csv.DictReader(f)}
    first_articles, paragraphs = {}, {}
    for path in sorted((root / "raw").glob("*.jsonl")):
        for r in read_jsonl(path):
            if r.get("paragraph") is None:
                first_articles[r["id"]] = r
            else:
                paragraphs[(r["id"], int(r["paragraph"]))] = r
    # round 5 (paragraph_round.py): paragraph codes only, for articles coded earlier
    for path in sorted((root / "raw" / "paragraphs").glob("*.jsonl")):
        for r in read_jsonl(path):
            key = (r["id"], int(r["paragraph"]))
            if key in paragraphs:
                raise SystemExit(f"paragraph {key} has two first codes ({path.name} and an earlier file)")
            paragraphs[key] = {**r, "pool": PARAGRAPH_ROUND}
    second = {}
    for path in sorted((root / "raw" / "double").glob("*.jsonl")):
        second.update({r["id"]: r for r in read_jsonl(path) if r.get("paragraph") is None})
    adjudicated = {}
    if (root / "adjudication.jsonl").exists():
        adjudicated = {r["id"]: r for r in read_jsonl(root / "adjudication.jsonl")}
    pending = [i for i in disagreements(first_articles, second) if i not in adjudicated]
    if pending:
        raise SystemExit(f"{len(pending)} double-coded disagreements lack an adjudicated code, e.g. {pending[:5]}")
    texts = {}
    wanted = set(first_articles)
    with open(args.corpus, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row["id"] in wanted:
                texts[row["id"]] = row["text"]
    final = {}
    for i, r in first_articles.items():
        src = adjudicated.get(i, r)
        if frame[i]["sha256"] != text_sha256(texts[i]):
            raise SystemExit(f"corpus text of {i} differs from the text that was coded")
        final[i] = {"id": i, "sha256": frame[i]["sha256"], "pool": frame[i]["pool"],
                    **{k: src[k] for k in CODE_FIELDS},
                    "confidence": r.get("confidence"), "rationale": src["rationale"], "coder": src["coder"],
                    "double_coded": i in second, "adjudicated": i in adjudicated}
    previous = {}
    if (root / "articles.jsonl").exists():
        previous = {r["id"]: r["split"] for r in read_jsonl(root / "articles.jsonl")}
    splits = assign_splits(final, previous)
    with open(root / "articles.jsonl", "w", encoding="utf-8") as f:
        for i in sorted(final):
            f.write(json.dumps({**final[i], "split": splits[i]}, ensure_ascii=False) + "\n")
    with open(root / "paragraphs.jsonl", "w", encoding="utf-8") as f:
        for (i, k) in sorted(paragraphs):
            r = paragraphs[(i, k)]
            para = split_paragraphs(texts[i])[k]
            f.write(json.dumps({"id": i, "paragraph": k, "sha256": text_sha256(para),
                                **{c: r[c] for c in CODE_FIELDS}, "confidence": r.get("confidence"),
                                "rationale": r["rationale"], "coder": r["coder"],
                                **({"pool": r["pool"]} if r.get("pool") else {})}, ensure_ascii=False) + "\n")
    print(f"{len(final)} articles ({sum(v['adjudicated'] for v in final.values())} adjudicated), "
          f"{len(paragraphs)} paragraphs")


if __name__ == "__main__":
    main()
