"""Fourth sampling round (active learning): the shipped model ranks the uncoded
articles by how likely they are to take a side, and the top of the ranking is coded.

After three rounds the model's weak point was stance direction (hawkish read as
dovish and the reverse), learned from about 250 directional training articles.
This round adds directional examples where the model expects them: it ranks every
uncoded article of an `oped score` output by 1 - p_neutral and sends the top N to
coders, by the same procedure as the other rounds (labels come from coders reading
each text; the ranking only picks what gets read).

Because the model under study picked these articles, they go to the training split
only (build_labels.TRAIN_ONLY_POOLS): putting model-selected items into dev or test
would tilt the evaluation towards cases this model already finds directional.

    oped score CORPUS -o corpus_scores.jsonl --drop-fields
    python -m training.annotation.active_round --corpus CORPUS --scores corpus_scores.jsonl \
        --frame data/annotations/sample_frame.csv --batches /tmp/batches --n 160
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from training.annotation.sample import append_round, frame_for_new_round

POOL = "active_directional"
BATCH_SIZE = 20  # small batches: many coders in parallel


def rank_directional(scores: list[dict], exclude: set[str], n: int) -> list[str]:
    """Ids of the n uncoded, scored articles with the highest P(hawkish) + P(dovish)."""
    candidates = [r for r in scores if r.get("status") == "ok" and r["id"] not in exclude]
    candidates.sort(key=lambda r: (r["p_neutral"], r["id"]))
    return [r["id"] for r in candidates[:n]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--scores", required=True, help="oped score output over the corpus (JSON lines)")
    ap.add_argument("--frame", required=True)
    ap.add_argument("--batches", required=True)
    ap.add_argument("--n", type=int, default=160)
    args = ap.parse_args()
    frame = frame_for_new_round(args.frame, POOL)
    scores = [json.loads(line) for line in open(args.scores, encoding="utf-8")]
    chosen = rank_directional(scores, {r["id"] for r in frame}, args.n)
    wanted, by_id = set(chosen), {}
    with open(args.corpus, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row["id"] in wanted:
                by_id[row["id"]] = row
    rows = [by_id[i] for i in chosen]
    append_round(args.frame, rows, POOL, "a", 0, Path(args.batches), BATCH_SIZE)
    print(f"{len(rows)} articles ranked by 1 - p_neutral added to {args.frame} "
          f"({(len(rows) - 1) // BATCH_SIZE + 1} batches)")


if __name__ == "__main__":
    main()
