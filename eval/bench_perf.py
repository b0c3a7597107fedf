"""What each scoring optimisation buys, measured in one run on the same articles.

    python -m eval.bench_perf --n 100 --repeats 3 --rss-n 300

Variants of the local engine, each against the full configuration (bf16 where the
CPU supports it, length-sorted batches of 32 windows with widths rounded up to a
multiple of 16 tokens, tokenization in a background thread only where a core is free
for it (pipeline.prefetch_helps), evidence on): one changed at a time. Every round runs all
variants (order rotated between rounds); the median and the extreme ratios over rounds are
reported, since one run on a shared 2-core machine moves by several per cent.
--rss-n N adds peak memory with rounded and with exact batch widths, each in a fresh
process on the first N articles. Writes eval/results/perf.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from eval.bench_score import _RSS_WRAPPER, RESULTS, _texts, cpu_info


class _NullSink:
    def write(self, rows):
        pass


def run(scorer, texts, prefetch=None, evidence=True) -> float:
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


def rss_probe(model: str, texts: list[str], pad_multiple: int) -> None:
    """Score texts with the given batch-width rounding; run in a fresh process per setting
    (oneDNN's kernel cache lives per process), whose peak RSS the wrapper reports."""
    from model import load_model

    scorer = load_model(model)
    scorer.pad_multiple = pad_multiple
    run(scorer, texts)


def rss_by_width(args) -> dict:
    """Peak RSS of a fresh process per batch-width setting, on the first --rss-n articles."""
    import subprocess

    from model.chunking import PAD_MULTIPLE

    out = {}
    for multiple in (PAD_MULTIPLE, 1):
        # through a small wrapper process: Linux keeps a process's peak RSS across exec, so a
        # probe forked straight from this (large) process would report this one's peak
        proc = subprocess.run([sys.executable, "-c", _RSS_WRAPPER, sys.executable, "-m", "eval.bench_perf",
                               "--corpus", args.corpus, "--model", args.model, "--n", str(args.rss_n),
                               "--rss-probe", str(multiple)], capture_output=True, text=True, check=True)
        out[str(multiple)] = int(proc.stdout.strip().splitlines()[-1]) / 1024  # the wrapper's child's peak, KB
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="../shared/corpora/allsides_foreign_policy.jsonl")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--model", default="default")
    ap.add_argument("--repeats", type=int, default=3, help="rounds over all variants (order rotated each round); "
                    "the table reports the median")
    ap.add_argument("--rss-n", type=int, default=300, help="articles scored by each fresh process of the peak-memory "
                    "comparison (rounded vs exact batch widths); 0 skips it")
    ap.add_argument("--rss-probe", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rss_probe is not None:
        rss_probe(args.model, _texts(args.corpus, args.n), args.rss_probe)  # the wrapper prints the peak
        return
    from model import load_model

    texts = _texts(args.corpus, args.n)
    full = load_model(args.model)
    tokens = sum(full.prepare(t).n_tokens for t in texts)
    fp32 = load_model(args.model, dtype="fp32")
    small, large = load_model(args.model, batch_size=8), load_model(args.model, batch_size=64)
    unsorted = load_model(args.model)
    unsorted.sort_by_length = False
    exact = load_model(args.model)
    exact.pad_multiple = 1
    from model.pipeline import prefetch_helps

    background = prefetch_helps(full)
    variants = {
        "full configuration": lambda: run(full, texts),
        "fp32 instead of bf16": lambda: run(fp32, texts),
        "file-order batches (no length sorting)": lambda: run(unsorted, texts),
        ("no background tokenization" if background else "background tokenization (off by default on this CPU)"):
            lambda: run(full, texts, prefetch=not background),
        "without evidence sentences": lambda: run(full, texts, evidence=False),
        "batch size 8 instead of 32": lambda: run(small, texts),
        "batch size 64 instead of 32": lambda: run(large, texts),
        "exact batch widths (not rounded up to a multiple of 16)": lambda: run(exact, texts),
    }
    for scorer in (full, fp32, small, large, unsorted, exact):
        run(scorer, texts[:10])  # warm-up
    names = list(variants)
    seconds = {k: [] for k in names}
    for r in range(args.repeats):  # rotate the order so no variant always runs first or last
        for k in names[r % len(names):] + names[: r % len(names)]:
            seconds[k].append(variants[k]())
    median = {k: statistics.median(v) for k, v in seconds.items()}
    base = median["full configuration"]
    result = {"command": "python -m eval.bench_perf " + " ".join(sys.argv[1:]), "n_docs": len(texts),
              "tokens": tokens, "dtype": str(full.dtype).replace("torch.", ""), "repeats": args.repeats, **cpu_info(),
              "variants": {k: {"seconds": seconds[k], "median_seconds": median[k], "tokens_per_s": tokens / median[k],
                               "relative_to_full": base / median[k],
                               "relative_range": [min(seconds["full configuration"]) / max(seconds[k]),
                                                  max(seconds["full configuration"]) / min(seconds[k])]}
                           for k in names}}
    if args.rss_n:
        result["peak_rss_mb_by_width"] = {"articles": args.rss_n, **rss_by_width(args)}
    out = RESULTS / "perf"
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [f"# Scoring optimisations, measured ({len(texts)} articles, {tokens:,} tokens, "
             f"median of {args.repeats} rounds)", "",
             f"Command: `{result['command']}`", f"CPU: {result['cpu']}, {result['cores']} cores "
             f"(AVX-512 BF16: {result['avx512_bf16']}, AMX: {result['amx_bf16']}); full configuration in "
             f"{result['dtype']}.", "", "| variant | tokens/s (median) | speed vs full configuration | extremes over rounds |",
             "|---|---|---|---|"]
    for k, v in result["variants"].items():
        lo, hi = v["relative_range"]
        lines.append(f"| {k} | {v['tokens_per_s']:,.0f} | {v['relative_to_full']:.2f}x | {lo:.2f}-{hi:.2f}x |")
    lines.append("")
    if "peak_rss_mb_by_width" in result:
        from model.chunking import PAD_MULTIPLE

        rss = result["peak_rss_mb_by_width"]
        lines += [f"Peak RSS of a fresh process scoring the first {rss['articles']} articles (`oped score`'s pipeline, "
                  f"no output file): batch widths rounded up to a multiple of {PAD_MULTIPLE}, "
                  f"{rss[str(PAD_MULTIPLE)]:,.0f} MB; exact widths, {rss['1']:,.0f} MB.", ""]
    out.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
