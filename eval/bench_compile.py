"""Does `oped score --compile` pay for its compilation? Both settings in one run.

    python -m eval.bench_compile --n 3000 --repeats 2

The whole `oped score` process (start-up, compilation, read, tokenize, encode, pool,
evidence, write) on the first N rows of the corpus (read again past its end), without
and with --compile, for --repeats rounds in alternating order (the first round starts
without, the second with), since one process on a shared machine moves by several per
cent; reports each setting's fastest round and all rounds' seconds, docs/s, peak RSS,
the ratio of the fastest rounds, and how far the scores of the two settings differ. --fp32-n N adds, in this
process, how far bf16 scores with and without compilation are from fp32 scores on
the first N articles (bf16 is used only where it stays within 1e-2 of fp32). Writes
eval/results/bench_compile.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from eval.bench_score import RESULTS, _subset, cpu_info, score_process


def run(src: Path, out: Path, model: str, compiled: bool) -> dict:
    seconds, rss, rows, stderr = score_process(src, out, model, *(["--compile"] if compiled else []))
    return {"seconds": seconds, "docs_per_s": len(rows) / seconds, "rows": len(rows), "peak_rss_mb": rss,
            "fell_back": "torch.compile failed" in stderr, "scores": rows}


def fastest(rounds: list[dict]) -> dict:
    """The fastest round, with every round's seconds and the largest peak RSS."""
    best = dict(min(rounds, key=lambda r: r["seconds"]))
    best.pop("scores", None)
    return {**best, "seconds_all_rounds": [r["seconds"] for r in rounds],
            "peak_rss_mb": max(r["peak_rss_mb"] for r in rounds),
            "fell_back": any(r["fell_back"] for r in rounds)}


def fp32_distance(corpus: str, n: int, model: str) -> dict:
    """Largest |p - p_fp32| over the class probabilities of the first n articles, for
    bf16 without and with compilation."""
    import numpy as np

    from eval.bench_score import _texts
    from model import load_model

    texts = _texts(corpus, n)
    keys = ("p_dovish", "p_neutral", "p_hawkish", "p_sovereignty")

    def probs(scorer):
        return np.array([[r.values[k] for k in keys] for r in scorer.score(texts, evidence=False)])

    reference = probs(load_model(model, dtype="fp32"))
    out = {"articles": n}
    for name, kwargs in (("bf16", {}), ("bf16_compiled", {"compile": True})):
        gap = np.abs(probs(load_model(model, dtype="bf16", **kwargs)) - reference)
        out[name] = {"max": float(gap.max()), "p99": float(np.quantile(gap, 0.99)),
                     "rows_over_1e-2": int((gap.max(1) > 1e-2).sum())}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="../shared/corpora/allsides_foreign_policy.jsonl")
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--model", default="default")
    ap.add_argument("--repeats", type=int, default=2, help="rounds of both settings, in alternating order")
    ap.add_argument("--fp32-n", type=int, default=400, help="articles for the distance to fp32 (0: skip)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        _subset(args.corpus, args.n, src)
        rounds = {False: [], True: []}
        for r in range(args.repeats):
            for setting in ((False, True) if r % 2 == 0 else (True, False)):
                rounds[setting].append(run(src, Path(tmp) / f"{setting}_{r}.jsonl", args.model, setting))
    plain, compiled = (fastest(rounds[s]) for s in (False, True))
    a, b = rounds[False][-1]["scores"], rounds[True][-1]["scores"]
    for r in rounds[False] + rounds[True]:
        r.pop("scores")
    ok = [(x, y) for x, y in zip(a, b) if x["status"] == y["status"] == "ok"]
    result = {"command": "python -m eval.bench_compile " + " ".join(sys.argv[1:]), "n": args.n, "model": args.model,
              "repeats": args.repeats,
              **cpu_info(), "without_compile": plain, "with_compile": compiled,
              "speed_ratio": plain["seconds"] / compiled["seconds"],
              "max_abs_difference": max(abs(x[k] - y[k]) for x, y in ok for k in ("p_dovish", "p_hawkish", "p_sovereignty")),
              "rows_compared": len(ok), "same_stance_class": sum(x["stance"] == y["stance"] for x, y in ok),
              "same_evidence_stance": sum(x["evidence_stance"] == y["evidence_stance"] for x, y in ok)}
    if args.fp32_n:
        result["distance_to_fp32"] = fp32_distance(args.corpus, args.fp32_n, args.model)
    out = RESULTS / "bench_compile"
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [f"# `oped score --compile` against `oped score` ({args.n:,} rows, model {args.model})", "",
             f"Command: `{result['command']}`",
             f"CPU: {result['cpu']}, {result['cores']} cores (AVX-512 BF16: {result['avx512_bf16']}, "
             f"AMX: {result['amx_bf16']}); code {result['code']['commit']} (uncommitted changes: "
             f"{result['code']['dirty']}). Whole processes, {args.repeats} round(s) of each in alternating order "
             "(the first without --compile); each setting's fastest round.", "",
             "| run | seconds (with start-up), fastest | docs/s | every round's seconds | peak RSS (MB) |",
             "|---|---|---|---|---|"]
    for name, r in (("`oped score`", plain), ("`oped score --compile`", compiled)):
        lines.append(f"| {name} | {r['seconds']:.1f} | {r['docs_per_s']:.2f} | "
                     f"{', '.join(f'{x:.1f}' for x in r['seconds_all_rounds'])} | {r['peak_rss_mb']:,.0f} |")
    lines += ["", f"--compile: **{result['speed_ratio']:.2f}x** the speed, compilation included"
              + (" (compilation FAILED and the run fell back to eager)" if compiled["fell_back"] else "") + ".",
              f"Scores of the two runs: largest difference in a probability {result['max_abs_difference']:.4f}; "
              f"the same stance class for {result['same_stance_class']:,} and the same stance evidence for "
              f"{result['same_evidence_stance']:,} of {result['rows_compared']:,} rows.", ""]
    if "distance_to_fp32" in result:
        d = result["distance_to_fp32"]
        lines += [f"Distance to fp32 scores on the first {d['articles']} articles (largest |p - p_fp32| over "
                  "the class probabilities): "
                  + "; ".join(f"{name.replace('_', ' ')}: max {d[name]['max']:.4f}, 99th percentile "
                              f"{d[name]['p99']:.4f}, rows over 1e-2: {d[name]['rows_over_1e-2']}"
                              for name in ("bf16", "bf16_compiled")) + ".", ""]
    out.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
