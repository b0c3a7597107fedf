"""What each scoring optimisation buys, measured in one run on the same articles.

    python -m eval.bench_perf --corpus ../shared/corpora/allsides_foreign_policy.jsonl --n 200

Variants of the local engine, each against the full configuration (bf16 where the
CPU supports it, length-sorted batches of 32 windows, tokenization prefetched in a
background thread, evidence on): one switched off at a time. Writes
eval/results/perf.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from eval.bench_score import RESULTS, _texts, cpu_info


class _NullSink:
    def write(self, rows):
        pass


def run(scorer, texts, prefetch=True, evidence=True) -> float:
    from model.pipeline import Summary, write_scores
    from model.readers import Record

    records = (Record(i, str(i), t) for i, t in enumerate(texts))
    columns = scorer.output_columns()
    if not evidence:  # the same pipeline with the evidence pass switched off
        original = scorer.score_prepared
        scorer.score_prepared = lambda docs, evidence=True, chunks=True: original(docs, False, chunks)
    started = time.time()
    write_scores(records, _NullSink(), scorer, Summary(), columns, prefetch=prefetch)
    seconds = time.time() - started
    if not evidence:
        scorer.score_prepared = original
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="../shared/corpora/allsides_foreign_policy.jsonl")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--model", default="default")
    args = ap.parse_args()
    from model import load_model

    texts = _texts(args.corpus, args.n)
    full = load_model(args.model)
    tokens = sum(full.prepare(t).n_tokens for t in texts)
    run(full, texts[:10])  # warm-up
    variants = {}
    variants["full configuration"] = run(full, texts)
    variants["fp32 instead of bf16"] = run(load_model(args.model, dtype="fp32"), texts)
    full.sort_by_length = False
    variants["file-order batches (no length sorting)"] = run(full, texts)
    full.sort_by_length = True
    variants["no background tokenization"] = run(full, texts, prefetch=False)
    variants["without evidence sentences"] = run(full, texts, evidence=False)
    for bs in (8, 64):
        variants[f"batch size {bs} instead of 32"] = run(load_model(args.model, batch_size=bs), texts)
    base = variants["full configuration"]
    result = {"command": "python -m eval.bench_perf " + " ".join(sys.argv[1:]), "n_docs": len(texts),
              "tokens": tokens, "dtype": str(full.dtype).replace("torch.", ""), **cpu_info(),
              "variants": {k: {"seconds": v, "tokens_per_s": tokens / v, "relative_to_full": base / v}
                           for k, v in variants.items()}}
    out = RESULTS / "perf"
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [f"# Scoring optimisations, measured ({len(texts)} articles, {tokens:,} tokens)", "",
             f"Command: `{result['command']}`", f"CPU: {result['cpu']}, {result['cores']} cores "
             f"(AVX-512 BF16: {result['avx512_bf16']}, AMX: {result['amx_bf16']}); full configuration in "
             f"{result['dtype']}.", "", "| variant | tokens/s | speed vs full configuration |", "|---|---|---|"]
    for k, v in result["variants"].items():
        lines.append(f"| {k} | {v['tokens_per_s']:,.0f} | {v['relative_to_full']:.2f}x |")
    lines.append("")
    out.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
