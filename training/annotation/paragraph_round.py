"""Fifth round: paragraph codes for the directional training articles that have none.

Only round-1 articles had their paragraphs coded. Rounds 2-4 (opinion pieces, the
model screen, the active round) were coded at article level, although they hold
most of the hawkish and dovish articles. The model's weak point is direction within
a window of text (an op-ed that argues for force but also counsels care about an
ally is read as dovish), and paragraph codes train the same head on single
paragraphs, so this round codes paragraphs of those articles: train split only,
article stance not neutral, the paragraphs chosen as in round 1 (first, last, and
the middle ones with the most cues), SIX per article instead of four.

Selection uses the articles' final codes and split, never a model's output.
A random draw of the selected articles goes to a second, independent coder
(paragraph agreement; the first coder's codes are the labels, as in round 1).

A second draw (`--splits dev,test --prefix r`) codes the same paragraphs of the dev
and test articles of that kind. Training never reads dev or test paragraphs; they
serve eval.evidence, which judges an evidence sentence only when it falls in a coded
paragraph, and had very few such sentences to judge on opinion pieces.

    python -m training.annotation.paragraph_round --corpus CORPUS --batches /tmp/pbatches
    python -m training.annotation.paragraph_round --corpus CORPUS --batches /tmp/rbatches \
        --splits dev,test --prefix r --batch-size 21 --double 0
    python -m training.annotation.paragraph_round --check /tmp/pbatches/q00.jsonl OUTPUT

writes data/annotations/paragraph_frame.csv (committed: ids, hashes, batches,
paragraphs) and the coder batches (with text, outside the repository). A draw is refused
once its prefix is in the frame: to redraw the committed ones, give a --root that holds
copies of sample_frame.csv and articles.jsonl but no paragraph_frame.csv. Coders'
output goes to data/annotations/raw/paragraphs/ (double: raw/paragraphs/double/);
`check_batch_output` validates one coder's file against its batch.
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

from model.text import split_paragraphs, text_sha256
from training.annotation.build_labels import read_jsonl
from training.annotation.label_import import VALID, WHOSE
from training.annotation.sample import _append, batch_item, paragraphs_to_code
from training.data import read_corpus

PARAGRAPHS_PER_ARTICLE = 6
BATCH_SIZE = 28
DOUBLE_CODED = 28
SEED = 20261202
PREFIX, DOUBLE_PREFIX = "q", "e"
FRAME_COLUMNS = ["id", "sha256", "batch", "paragraphs_coded", "double_batch"]


def select_articles(articles: list[dict], frame: dict[str, dict], splits=("train",),
                    drawn: set[str] = frozenset()) -> list[dict]:
    """Articles of the given splits with a hawkish or dovish final code and no paragraph
    codes yet (none from round 1, not drawn earlier in this round)."""
    return [a for a in articles if a["split"] in splits and a["stance"] != 0
            and not frame[a["id"]]["paragraphs_coded"].strip() and a["id"] not in drawn]


# the codebook's values (label_import, which hand codes go through too), plus fields coders always give
FIELDS = {"fp_relevant": (True, False), **{k: tuple(sorted(v)) for k, v in VALID.items()},
          "sovereignty_whose": (None, *sorted(WHOSE)), "confidence": ("high", "medium", "low")}


def code_problems(row: dict) -> list[str]:
    """What is wrong with one paragraph code: every field present, each value of the
    codebook's type (2 not "2", True not 1), salience and whose consistent with presence."""
    problems = [f"{k} is missing" for k in FIELDS if k not in row]
    for k, allowed in FIELDS.items():
        v = row.get(k, None)
        if k in row and not any(v is a or (type(v) is type(a) and v == a) for a in allowed):
            problems.append(f"{k} {v!r} is not one of {list(allowed)}")
    if not problems:
        present = row["sovereignty"] == 1
        if (row["sovereignty_salience"] > 0) != present or (row["sovereignty_whose"] is not None) != present:
            problems.append("sovereignty_salience and sovereignty_whose must be 0 and null exactly when sovereignty is 0")
    if not str(row.get("rationale") or "").strip() or not str(row.get("coder") or "").strip():
        problems.append("rationale and coder are required")
    return problems


def check_batch_output(batch_path: str | Path, output_path: str | Path) -> list[str]:
    """Problems in a coder's output: every listed paragraph of the batch exactly once,
    each a complete, valid code (code_problems)."""
    wanted = {(item["id"], k) for item in read_jsonl(Path(batch_path)) for k in item["code_paragraphs"]}
    problems, seen = [], set()
    for n, row in enumerate(read_jsonl(Path(output_path)), 1):
        index = row.get("paragraph")
        key = (row.get("id"), index)
        if type(index) is not int or key not in wanted:
            problems.append(f"line {n}: {key} is not a paragraph this batch asks for")
            continue
        if key in seen:
            problems.append(f"line {n}: {key} coded twice")
        seen.add(key)
        problems += [f"line {n}: {p}" for p in code_problems(row)]
    problems += [f"missing: {k}" for k in sorted(wanted - seen)]
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus")
    ap.add_argument("--batches", help="folder for coder batch files (not committed)")
    ap.add_argument("--root", default="data/annotations")
    ap.add_argument("--splits", default="train", help="comma-separated splits to draw from")
    ap.add_argument("--prefix", default=PREFIX, help="batch name prefix (a new one for each draw)")
    ap.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    ap.add_argument("--double", type=int, default=DOUBLE_CODED, help="articles also given to a second coder")
    ap.add_argument("--check", nargs=2, metavar=("BATCH", "OUTPUT"), help="only validate one coder's output")
    args = ap.parse_args()
    if args.check:
        problems = check_batch_output(*args.check)
        print("\n".join(problems) or "ok")
        raise SystemExit(1 if problems else 0)
    if not (args.corpus and args.batches):
        ap.error("--corpus and --batches are required to draw the round")
    root = Path(args.root)
    out_frame = root / "paragraph_frame.csv"
    drawn: list[dict] = []
    if out_frame.exists():
        with open(out_frame, newline="", encoding="utf-8") as f:
            drawn = list(csv.DictReader(f))
    if args.prefix.startswith(DOUBLE_PREFIX) or any(
            r["batch"].startswith(args.prefix) or r["double_batch"].startswith(args.prefix) for r in drawn):
        raise SystemExit(f"batches named {args.prefix}.. exist or are reserved for second coders: pick another --prefix")
    with open(root / "sample_frame.csv", newline="", encoding="utf-8") as f:
        frame = {r["id"]: r for r in csv.DictReader(f)}
    chosen = select_articles(read_jsonl(root / "articles.jsonl"), frame, tuple(args.splits.split(",")),
                             {r["id"] for r in drawn})
    if not chosen:
        raise SystemExit("no article left to draw from those splits")
    rng = random.Random(SEED)
    rng.shuffle(chosen)  # batches mix pools and directions
    double = {a["id"] for a in rng.sample(chosen, min(args.double, len(chosen)))}
    texts = read_corpus(args.corpus, {a["id"] for a in chosen})
    batches = Path(args.batches)
    batches.mkdir(parents=True, exist_ok=True)
    if any(batches.glob("*.jsonl")):
        raise SystemExit(f"{batches} already holds batch files; use an empty folder")
    n_double_batches = len({r["double_batch"] for r in drawn if r["double_batch"]})  # e00 for the first draw
    frame_rows, items = [], []  # all checked before anything is written: a failed draw leaves no trace
    for n, a in enumerate(chosen):
        row = texts.get(a["id"])
        if row is None or text_sha256(row["text"]) != a["sha256"]:
            raise SystemExit(f"corpus text of {a['id']} is missing or differs from the text that was coded")
        coded = paragraphs_to_code(split_paragraphs(row["text"]), PARAGRAPHS_PER_ARTICLE)
        batch = f"{args.prefix}{n // args.batch_size:02d}"
        second = f"{DOUBLE_PREFIX}{n_double_batches:02d}" if a["id"] in double else ""
        frame_rows.append([a["id"], a["sha256"], batch, " ".join(map(str, coded)), second])
        items.append((batch, second, batch_item(row, coded)))
    new_file = not out_frame.exists() or not out_frame.stat().st_size
    with open(out_frame, "a", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if new_file:
            w.writerow(FRAME_COLUMNS)
        w.writerows(frame_rows)
    for batch, second, item in items:
        _append(batches / f"{batch}.jsonl", item)
        if second:
            _append(batches / f"{second}.jsonl", item)
    n_batches = (len(chosen) - 1) // args.batch_size + 1
    print(f"{len(chosen)} articles in {n_batches} batches, {len(double)} also coded twice -> {batches}")


if __name__ == "__main__":
    main()
