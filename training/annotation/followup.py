"""Second sampling round: every opinion-signal article not yet in the sample.

The first round (training.annotation.sample) showed that articles outside
opinion outlets and opinion URLs almost never carry an authorial stance (see
docs/data.md, "Sampling"), so hawkish and dovish codes come from opinion pieces.
This round adds all remaining opinion-signal articles, coded at article level,
ordered by stance-cue rate so the most promising are coded first.

    python -m training.annotation.followup --corpus CORPUS --frame data/annotations/sample_frame.csv \
        --batches /tmp/batches
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from training.annotation.sample import BATCH_SIZE, append_round, frame_for_new_round
from training.annotation.screening import cue_rates, is_opinion

POOL = "opinion_followup"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--frame", required=True, help="the sample frame to extend")
    ap.add_argument("--batches", required=True)
    args = ap.parse_args()
    frame = frame_for_new_round(args.frame, POOL)
    taken = {r["id"] for r in frame}
    rows = [json.loads(line) for line in open(args.corpus, encoding="utf-8")]
    new = [r for r in rows if r["id"] not in taken and is_opinion(r.get("outlet"), r.get("url"))]
    rate = {r["id"]: cue_rates(r["text"]) for r in new}
    new.sort(key=lambda r: -(rate[r["id"]]["dovish"] + rate[r["id"]]["hawkish"]))
    append_round(args.frame, new, POOL, "o", 1, Path(args.batches))
    print(f"{len(new)} articles added in {(len(new) - 1) // BATCH_SIZE + 1} batches")


if __name__ == "__main__":
    main()
