"""Which batch size (windows per encoder batch) `oped score` should use on this CPU.

    python -m eval.bench_batch_size --skip 1000 --n 200 --repeats 3

The whole local pipeline (windows, encoder, pooling, in-context evidence, rows to a null
sink) at each batch size, on articles the scoring benchmark's timed phases do not read (they
read the first 1,000; --skip 1000 starts after them; only its memory run reads further), every round running all sizes in a rotated
order. The rule, fixed before the first run (committed with this file): a batch size
replaces 32 as the CPU default only if its median time over the rounds is at least 3%
below 32's and it is faster than 32 in every round (paired by round), since rounds on a
shared 2-core machine move by several per cent. Of several that pass, the fastest median.
Writes eval/results/batch_size_{cpu}.{json,md} (cpu: amx or avx512bf16 or other).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

from eval.bench_perf import run
from eval.bench_score import RESULTS, _texts, cpu_info

CURRENT = 32
MIN_GAIN = 0.03  # the median must be at least this much faster than CURRENT's


def verdict(seconds: dict[int, list[float]]) -> tuple[int, dict[int, bool]]:
    """The rule above: the batch size to use, and whether each one passed it."""
    base = seconds[CURRENT]
    median = {b: statistics.median(v) for b, v in seconds.items()}
    passed = {b: b != CURRENT and median[b] <= (1 - MIN_GAIN) * median[CURRENT]
              and all(x < y for x, y in zip(v, base)) for b, v in seconds.items()}
    winners = [b for b, ok in passed.items() if ok]
    return (min(winners, key=median.get) if winners else CURRENT), passed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="../shared/corpora/allsides_foreign_policy.jsonl")
    ap.add_argument("--skip", type=int, default=1000)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--model", default="default")
    ap.add_argument("--sizes", default="8,16,24,32,48")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    from model import load_model

    sizes = [int(x) for x in args.sizes.split(",")]
    if CURRENT not in sizes:
        sizes.append(CURRENT)
    texts = _texts(args.corpus, args.n, skip=args.skip)
    scorers = {b: load_model(args.model, batch_size=b) for b in sizes}
    tokens = sum(scorers[CURRENT].prepare(t).n_tokens for t in texts)
    for s in scorers.values():
        run(s, texts[:10])  # warm-up: kernels for the common shapes
    seconds: dict[int, list[float]] = {b: [] for b in sizes}
    for r in range(args.repeats):
        for b in sizes[r % len(sizes):] + sizes[: r % len(sizes)]:
            seconds[b].append(run(scorers[b], texts))
    chosen, passed = verdict(seconds)
    info = cpu_info()
    kind = "amx" if info["amx_bf16"] else "avx512bf16" if info["avx512_bf16"] else "other"
    result = {"command": "python -m eval.bench_batch_size " + " ".join(sys.argv[1:]), "articles": len(texts),
              "first_article": args.skip, "tokens": tokens, "model": scorers[CURRENT].model_id, **info,
              "rule": f"replace {CURRENT} if the median is >= {MIN_GAIN:.0%} faster and every round is faster",
              "seconds": {str(b): v for b, v in seconds.items()}, "passed": {str(b): p for b, p in passed.items()},
              "chosen": chosen}
    out = RESULTS / f"batch_size_{kind}"
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    median = {b: statistics.median(v) for b, v in seconds.items()}
    lines = [f"# Batch size for `oped score` on this CPU ({len(texts)} articles from #{args.skip}, {tokens:,} tokens)",
             "", f"Command: `{result['command']}`",
             f"CPU: {info['cpu']}, {info['cores']} cores (AVX-512 BF16: {info['avx512_bf16']}, AMX: "
             f"{info['amx_bf16']}); model {result['model']}; code {info['code']['commit']} (uncommitted changes: "
             f"{info['code']['dirty']}).",
             f"Rule (fixed before the run): {result['rule']} (paired by round).", "",
             "| batch size | tokens/s (median) | vs 32 | seconds per round | passes the rule |", "|---|---|---|---|---|"]
    for b in sizes:
        lines.append(f"| {b} | {tokens / median[b]:,.0f} | {median[CURRENT] / median[b]:.2f}x | "
                     f"{', '.join(f'{x:.1f}' for x in seconds[b])} | {'yes' if passed[b] else '-'} |")
    lines += ["", f"Outcome: batch size **{chosen}**."]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
