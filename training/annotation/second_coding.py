"""Add a reliability batch: a random draw of already-coded articles from one pool,
to be coded again by an independent second coder (article level).

    python -m training.annotation.second_coding --frame data/annotations/sample_frame.csv \
        --pool opinion_followup --n 60 --batch d02 --seed 20261125 --batches /tmp/batches --corpus CORPUS

The first reliability draw (d00, d01) came from round 1, mostly news; this one
measures agreement on opinion pieces, where authorial stance actually occurs.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from pathlib import Path

from training.annotation.sample import _append, batch_item


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frame", required=True)
    ap.add_argument("--pool", required=True)
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--batch", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--batches", required=True)
    ap.add_argument("--corpus", required=True)
    args = ap.parse_args()
    with open(args.frame, newline="", encoding="utf-8") as f:
        frame = list(csv.DictReader(f))
    pool = [r["id"] for r in frame if r["pool"] == args.pool and not r["double_batch"]]
    chosen = set(random.Random(args.seed).sample(pool, args.n))
    texts = {}
    with open(args.corpus, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row["id"] in chosen:
                texts[row["id"]] = row
    for i in pool:  # frame order
        if i in chosen:
            _append(Path(args.batches) / f"{args.batch}.jsonl", batch_item(texts[i]))
    for r in frame:
        if r["id"] in chosen:
            r["double_batch"] = args.batch
    with open(args.frame, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(frame[0]))
        w.writeheader()
        w.writerows(frame)
    print(f"{len(chosen)} {args.pool} articles -> {args.batch}")


if __name__ == "__main__":
    main()
