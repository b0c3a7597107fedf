"""Draw the annotation sample and write coder batches (outlet withheld).

    python -m training.annotation.sample --corpus ../shared/corpora/allsides_foreign_policy.jsonl \
        --frame data/annotations/sample_frame.csv --batches /tmp/batches

The frame (ids, hashes, pool, batch, paragraphs to code) is committed; the batch
files hold corpus text and stay outside the repository.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from collections import defaultdict
from pathlib import Path

from model.text import split_paragraphs, text_sha256
from training.annotation.screening import cue_rates, is_opinion

POOL_SIZES = {"dovish_screen": 330, "hawkish_screen": 200, "sovereignty_screen": 170, "stratified": 260}
PARAGRAPHS_PER_ARTICLE = 4
BATCH_SIZE = 61
DOUBLE_CODED = 120  # second, independent coder, article level only
SEED = 20261124


def _rank(rows, key, k, taken):
    ranked = sorted((r for r in rows if r["id"] not in taken), key=key, reverse=True)
    return ranked[:k]


def draw_sample(rows: list[dict], seed: int = SEED) -> list[dict]:
    """Screened pools first (top cue rates, opinion weighted), then a random
    sample of the rest stratified by topic x outlet lean."""
    rng = random.Random(seed)
    for r in rows:
        r["_rates"] = cue_rates(r["text"])
        r["_opinion"] = is_opinion(r.get("outlet"), r.get("url"))
    boost = lambda r: 2.0 if r["_opinion"] else 1.0  # noqa: E731
    taken: dict[str, str] = {}
    screens = {
        "dovish_screen": lambda r: boost(r) * r["_rates"]["dovish"] - 0.3 * r["_rates"]["hawkish"],
        "hawkish_screen": lambda r: boost(r) * r["_rates"]["hawkish"],
        "sovereignty_screen": lambda r: boost(r) * r["_rates"]["sovereignty"],
    }
    for pool, key in screens.items():
        for r in _rank(rows, key, POOL_SIZES[pool], taken):
            taken[r["id"]] = pool
    strata = defaultdict(list)
    for r in rows:
        if r["id"] not in taken:
            strata[(r.get("topic"), r.get("outlet_lean"))].append(r)
    rest = sum(len(v) for v in strata.values())
    want = POOL_SIZES["stratified"]
    for key in sorted(strata, key=str):
        group = strata[key]
        n = round(want * len(group) / rest)
        for r in rng.sample(group, min(n, len(group))):
            taken[r["id"]] = "stratified"
    chosen = [r for r in rows if r["id"] in taken]
    rng.shuffle(chosen)  # batches mix pools, so coders cannot infer a pool
    for r in chosen:
        r["_pool"] = taken[r["id"]]
    # The reliability subsample is a simple random draw from the whole sample,
    # so its agreement speaks for the sample as coded.
    for r in rng.sample(chosen, DOUBLE_CODED):
        r["_double"] = True
    return chosen


def paragraphs_to_code(paragraphs: list[str], k: int = PARAGRAPHS_PER_ARTICLE) -> list[int]:
    """First and last paragraph (ledes and closing recommendations), plus the
    middle paragraphs with the most stance or sovereignty cues."""
    n = len(paragraphs)
    if n <= k:
        return list(range(n))
    middle = sorted(range(1, n - 1), key=lambda i: (-sum(cue_rates(paragraphs[i]).values()), i))
    return sorted({0, n - 1, *middle[: k - 2]})


def batch_item(row: dict, code_paragraphs: list[int] | None = None) -> dict:
    """What a coder sees of one article: id, title and numbered paragraphs (no outlet, lean,
    date or URL), and which paragraphs to code."""
    return {"id": row["id"], "title": row.get("title") or "",
            "paragraphs": [{"index": j, "text": p} for j, p in enumerate(split_paragraphs(row["text"]))],
            "code_paragraphs": list(code_paragraphs or [])}


def frame_for_new_round(frame_path: str, pool: str) -> list[dict]:
    """The sample frame's rows, refusing a round (pool) that is already in it."""
    with open(frame_path, newline="", encoding="utf-8") as f:
        frame = list(csv.DictReader(f))
    if any(r["pool"] == pool for r in frame):
        raise SystemExit(f"{frame_path} already holds the {pool} round")
    return frame


def append_round(frame_path: str, rows: list[dict], pool: str, prefix: str, opinion_signal: int,
                 batches: Path, batch_size: int = BATCH_SIZE) -> None:
    """A later sampling round: frame rows (article level, no second coding) and coder
    batches named PREFIX00, PREFIX01, ... in the order given."""
    with open(frame_path, "a", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        for i, r in enumerate(rows):
            batch = f"{prefix}{i // batch_size:02d}"
            w.writerow([r["id"], text_sha256(r["text"]), pool, batch, opinion_signal, "", ""])
            _append(batches / f"{batch}.jsonl", batch_item(r))


def _append(path: Path, item: dict) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(item, ensure_ascii=False) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--frame", required=True, help="CSV sample frame to write (committed)")
    ap.add_argument("--batches", required=True, help="folder for coder batch files (not committed)")
    args = ap.parse_args()
    rows = [json.loads(line) for line in open(args.corpus, encoding="utf-8")]
    chosen = draw_sample(rows)
    out = Path(args.batches)
    out.mkdir(parents=True, exist_ok=True)
    if any(out.glob("*.jsonl")):
        raise SystemExit(f"{out} already holds batch files; use an empty folder")
    Path(args.frame).parent.mkdir(parents=True, exist_ok=True)
    n_double = 0
    with open(args.frame, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "sha256", "pool", "batch", "opinion_signal", "paragraphs_coded", "double_batch"])
        for i, r in enumerate(chosen):
            batch = f"b{i // BATCH_SIZE:02d}"
            paras = split_paragraphs(r["text"])
            coded = paragraphs_to_code(paras)
            double = f"d{n_double // (DOUBLE_CODED // 2):02d}" if r.get("_double") else ""
            n_double += bool(double)
            w.writerow([r["id"], text_sha256(r["text"]), r["_pool"], batch, int(r["_opinion"]),
                        " ".join(map(str, coded)), double])
            item = batch_item(r, coded)
            _append(out / f"{batch}.jsonl", item)
            if double:
                _append(out / f"{double}.jsonl", {**item, "code_paragraphs": []})
    print(f"{len(chosen)} articles in {(len(chosen) - 1) // BATCH_SIZE + 1} batches -> {out}")


if __name__ == "__main__":
    main()
