"""Where the encoder's time goes on this machine: a torch.profiler table of the encoder
on length-sorted windows, the share of attention, linear layers and the rest, and two
alternatives measured in the same run (eager attention instead of SDPA; torch.compile).

    python -m eval.profile_encoder --n 150 --model default

Writes eval/results/profile_encoder.{json,md}. Each timing is the best of --repeats passes
over the same windows, after one warm-up pass.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from eval.bench_score import RESULTS, _texts, cpu_info, sorted_windows

ATTENTION_OPS = ("scaled_dot_product", "softmax", "bmm", "baddbmm")
LINEAR_OPS = ("addmm", "mm", "linear")


def _pass(encode, windows, scorer) -> float:
    import torch

    started = time.time()
    with torch.inference_mode():
        for s in range(0, len(windows), scorer.batch_size):
            ids, mask = scorer.pad(windows[s: s + scorer.batch_size])
            encode(ids.to(scorer.device), mask.to(scorer.device))
    return time.time() - started


def _best(encode, windows, scorer, repeats: int) -> float:
    _pass(encode, windows, scorer)  # warm-up: kernel selection, caches
    return min(_pass(encode, windows, scorer) for _ in range(repeats))


def _set_attention(encoder, implementation: str) -> None:
    for module in encoder.modules():
        config = getattr(module, "config", None)
        if config is not None and hasattr(config, "_attn_implementation"):
            config._attn_implementation = implementation


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="../shared/corpora/allsides_foreign_policy.jsonl")
    ap.add_argument("--n", type=int, default=150)
    ap.add_argument("--model", default="default")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile measurement")
    args = ap.parse_args()
    import torch
    from torch.profiler import ProfilerActivity, profile

    from model import load_model

    scorer = load_model(args.model)
    windows = sorted_windows(scorer, _texts(args.corpus, args.n))
    tokens = sum(len(w) for w in windows)
    encode = scorer.net.encode
    configured = scorer.net.encoder.config._attn_implementation
    seconds = {f"as shipped ({configured} attention)": _best(encode, windows, scorer, args.repeats)}

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        _pass(encode, windows, scorer)
    ops = [(e.key, e.self_cpu_time_total) for e in prof.key_averages()]
    total = sum(t for _, t in ops) or 1.0
    share = {"attention": sum(t for k, t in ops if any(a in k for a in ATTENTION_OPS)) / total,
             "linear layers": sum(t for k, t in ops if k.split("::")[-1] in LINEAR_OPS) / total}
    share["everything else (GELU, layer norm, adds, copies, masks)"] = 1 - sum(share.values())
    top = sorted(ops, key=lambda kv: -kv[1])[:10]

    _set_attention(scorer.net.encoder, "eager")
    seconds["eager attention (matmul + softmax)"] = _best(encode, windows, scorer, args.repeats)
    _set_attention(scorer.net.encoder, configured)
    compile_seconds = None
    if not args.no_compile:
        import torch._inductor.config as inductor

        inductor.freezing = True  # weights as constants, so oneDNN can prepack them
        compiled = torch.compile(encode, dynamic=True)
        started = time.time()
        _pass(compiled, windows[-scorer.batch_size:], scorer)
        compile_seconds = time.time() - started
        seconds["torch.compile (inductor, freezing, dynamic shapes)"] = _best(compiled, windows, scorer, args.repeats)

    result = {"command": "python -m eval.profile_encoder " + " ".join(sys.argv[1:]), "n_docs": args.n,
              "windows": len(windows), "tokens": tokens, "model": scorer.model_id, **cpu_info(),
              "threads": torch.get_num_threads(), "time_share": share,
              "top_ops_ms": {k: round(t / 1000, 1) for k, t in top},
              "tokens_per_s": {k: tokens / v for k, v in seconds.items()}, "compile_seconds": compile_seconds}
    out = RESULTS / "profile_encoder"
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    base = next(iter(seconds.values()))
    lines = [f"# Where the encoder's time goes ({args.n} articles, {len(windows):,} windows, {tokens:,} tokens)", "",
             f"Command: `{result['command']}`", f"CPU: {result['cpu']}, {result['cores']} cores, {result['threads']} "
             f"torch threads (AVX-512 BF16: {result['avx512_bf16']}, AMX: {result['amx_bf16']}); model "
             f"{scorer.model_id}.", "", "Share of the encoder's CPU time (torch.profiler, one pass):", "",
             "| part | share |", "|---|---|", *[f"| {k} | {v:.0%} |" for k, v in share.items()], "",
             "Largest operators: " + "; ".join(f"`{k}` {t / 1000:,.0f} ms" for k, t in top[:6]) + ".", "",
             f"| variant (best of {args.repeats} passes after a warm-up) | tokens/s | vs as shipped |", "|---|---|---|",
             *[f"| {k} | {tokens / v:,.0f} | {base / v:.2f}x |" for k, v in seconds.items()], ""]
    if compile_seconds is not None:
        lines += [f"torch.compile's first call (compilation) took {compile_seconds:.0f} s.", ""]
    out.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
