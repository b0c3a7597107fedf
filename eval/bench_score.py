"""Scoring benchmark: `oped score` against a plain transformers baseline, in one run.

    python -m eval.bench_score --corpus ../shared/corpora/allsides_foreign_policy.jsonl --n 1000

Measures on the first N articles of the corpus, each phase in its own process:
  (a) baseline: AutoModelForSequenceClassification on the same encoder, fp32,
      batch 8, truncation at 512 tokens, file order, whole process;
  (b) encoder alone: pre-tokenized, length-sorted 256-token windows of every
      token, in the dtype `oped score` uses (the practical ceiling);
  (c) `oped score`, whole process: start-up, read, tokenize, encode, pool,
      evidence, write.
Reports docs/s, tokens/s and peak RSS of each, the CPU and its bf16 support, and
writes eval/results/bench_score.{json,md}. Speed targets are ratios within this
run, never absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _texts(path: str, n: int) -> list[str]:
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            out.append(json.loads(line)["text"])
            if len(out) >= n:
                break
    return out


def phase_baseline(corpus: str, n: int) -> dict:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from model.base import resolve_base_model

    path = resolve_base_model(None)
    tok = AutoTokenizer.from_pretrained(path)
    net = AutoModelForSequenceClassification.from_pretrained(path, num_labels=3).eval()
    texts = _texts(corpus, n)
    tokens = 0
    with torch.inference_mode():
        for s in range(0, len(texts), 8):
            enc = tok(texts[s: s + 8], truncation=True, max_length=512, padding=True, return_tensors="pt")
            tokens += int(enc["attention_mask"].sum()) - 2 * enc["input_ids"].shape[0]
            net(**enc)
    return {"tokens": tokens, "peak_rss_mb": _peak_rss_mb()}


def phase_encoder(corpus: str, n: int, model: str) -> dict:
    import torch

    from model import load_model
    from model.chunking import pad_batch

    scorer = load_model(model)
    texts = _texts(corpus, n)
    windows = [c.input_ids for t in texts for c in scorer.prepare(t).chunks]
    windows.sort(key=len)
    width = scorer.config.max_length
    tokens = sum(len(w) - 2 for w in windows)
    started = time.time()
    with torch.inference_mode():
        for s in range(0, len(windows), scorer.batch_size):
            ids, mask = pad_batch(windows[s: s + scorer.batch_size], scorer.pad_id)
            scorer.net.encoder(input_ids=ids.to(scorer.device), attention_mask=mask.to(scorer.device))
    seconds = time.time() - started
    return {"tokens": tokens, "seconds": seconds, "windows": len(windows), "window_tokens": width,
            "dtype": str(scorer.dtype).replace("torch.", ""), "peak_rss_mb": _peak_rss_mb()}


_RSS_WRAPPER = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
                "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def matmul_peak_tflops(n: int = 2048, repeats: int = 10) -> float:
    """Measured bf16 (or fp32 without bf16 support) n x n matmul rate: the arithmetic ceiling here."""
    import torch

    from model.inference import pick_device_dtype

    device, dtype = pick_device_dtype()
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    started = time.time()
    for _ in range(repeats):
        a @ b
    if device.type == "cuda":
        torch.cuda.synchronize()
    return 2 * n**3 * repeats / (time.time() - started) / 1e12


def encoder_flops_per_token(model: str, window: int = 256) -> float:
    """Forward FLOPs per token of a BERT-style encoder at a given window length:
    per layer 2 x (4 d^2 projections + 2 d d_ff feed-forward) + 4 d L attention."""
    from model import load_model

    cfg = load_model(model).net.encoder.config
    d, ff, layers = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
    return layers * (2 * (4 * d * d + 2 * d * ff) + 4 * d * window)


def cpu_info() -> dict:
    model, flags = "unknown", ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name") and model == "unknown":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "avx512_bf16": "avx512_bf16" in flags, "amx_bf16": "amx_bf16" in flags}


def _run_phase(args: list[str]) -> tuple[dict, float]:
    started = time.time()
    out = subprocess.run([sys.executable, "-m", "eval.bench_score", *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1]), time.time() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="../shared/corpora/allsides_foreign_policy.jsonl")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--model", default="default")
    ap.add_argument("--phase", choices=["baseline", "encoder"], help=argparse.SUPPRESS)
    ap.add_argument("--out", default=str(RESULTS / "bench_score"))
    args = ap.parse_args()
    if args.phase == "baseline":
        print(json.dumps(phase_baseline(args.corpus, args.n)))
        return
    if args.phase == "encoder":
        print(json.dumps(phase_encoder(args.corpus, args.n, args.model)))
        return
    command = "python -m eval.bench_score " + " ".join(sys.argv[1:])
    n_docs = len(_texts(args.corpus, args.n))
    peak = matmul_peak_tflops()
    flops = encoder_flops_per_token(args.model)
    base, base_wall = _run_phase(["--phase", "baseline", "--corpus", args.corpus, "--n", str(args.n)])
    enc, _ = _run_phase(["--phase", "encoder", "--corpus", args.corpus, "--n", str(args.n), "--model", args.model])
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        with open(args.corpus, encoding="utf-8") as f, open(src, "w", encoding="utf-8") as g:
            for i, line in enumerate(f):
                if i >= args.n:
                    break
                g.write(line)
        out = Path(tmp) / "out.jsonl"
        started = time.time()
        # a wrapper process reports the peak RSS of its only child, `oped score`
        proc = subprocess.run([sys.executable, "-c", _RSS_WRAPPER, sys.executable, "-m", "cli", "score", str(src),
                               "-o", str(out), "--model", args.model, "-q"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).resolve().parents[1])
        wall = time.time() - started
        rss = int(proc.stdout.strip().splitlines()[-1]) / 1024
        rows = [json.loads(line) for line in open(out, encoding="utf-8")]
    tokens = sum(r["n_tokens"] or 0 for r in rows)
    result = {
        "command": command, "n_docs": n_docs, **cpu_info(),
        "baseline": {"docs_per_s": n_docs / base_wall, "tokens_per_s": base["tokens"] / base_wall,
                     "tokens_read": base["tokens"], "peak_rss_mb": base["peak_rss_mb"], "seconds": base_wall,
                     "note": "fp32, batch 8, truncation at 512, whole process"},
        "encoder_alone": {"tokens_per_s": enc["tokens"] / enc["seconds"], "tokens_read": enc["tokens"],
                          "dtype": enc["dtype"], "windows": enc["windows"], "peak_rss_mb": enc["peak_rss_mb"],
                          "seconds": enc["seconds"]},
        "oped_score": {"docs_per_s": n_docs / wall, "tokens_per_s": tokens / wall, "tokens_read": tokens,
                       "peak_rss_mb": rss, "seconds": wall, "rows": len(rows),
                       "ok": sum(r["status"] == "ok" for r in rows)},
    }
    result["arithmetic"] = {
        "matmul_peak_tflops": peak, "encoder_gflops_per_token": flops / 1e9,
        "encoder_alone_utilisation": result["encoder_alone"]["tokens_per_s"] * flops / (peak * 1e12),
        "oped_score_utilisation": result["oped_score"]["tokens_per_s"] * flops / (peak * 1e12),
    }
    result["ratios"] = {
        "score_docs_per_s_vs_baseline": result["oped_score"]["docs_per_s"] / result["baseline"]["docs_per_s"],
        "score_tokens_per_s_vs_baseline": result["oped_score"]["tokens_per_s"] / result["baseline"]["tokens_per_s"],
        "score_tokens_per_s_vs_encoder_alone": result["oped_score"]["tokens_per_s"] / result["encoder_alone"]["tokens_per_s"],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out + ".json").write_text(json.dumps(result, indent=2) + "\n")
    Path(args.out + ".md").write_text(_markdown(result))
    print(_markdown(result))


def _markdown(r: dict) -> str:
    b, e, s, q = r["baseline"], r["encoder_alone"], r["oped_score"], r["ratios"]
    bf16 = "AMX" if r["amx_bf16"] else "AVX-512 BF16" if r["avx512_bf16"] else "none"
    return "\n".join([
        f"# Scoring benchmark ({r['n_docs']} articles)",
        "",
        f"Command: `{r['command']}`",
        f"CPU: {r['cpu']}, {r['cores']} cores, bf16 support: {bf16}.",
        "",
        "| phase | docs/s | tokens/s | tokens read | peak RSS (MB) |",
        "|---|---|---|---|---|",
        f"| (a) baseline: transformers, fp32, batch 8, truncate 512 | {b['docs_per_s']:.2f} | {b['tokens_per_s']:,.0f} | "
        f"{b['tokens_read']:,} | {b['peak_rss_mb']:,.0f} |",
        f"| (b) encoder alone, {e['dtype']}, sorted 256-token windows | - | {e['tokens_per_s']:,.0f} | {e['tokens_read']:,} | "
        f"{e['peak_rss_mb']:,.0f} |",
        f"| (c) `oped score`, whole process | {s['docs_per_s']:.2f} | {s['tokens_per_s']:,.0f} | {s['tokens_read']:,} | "
        f"{s['peak_rss_mb']:,.0f} |",
        "",
        f"- (c) docs/s vs (a): **{q['score_docs_per_s_vs_baseline']:.2f}x** (target >= 1.15x)",
        f"- (c) tokens/s vs (a): {q['score_tokens_per_s_vs_baseline']:.2f}x",
        f"- (c) tokens/s vs (b): **{q['score_tokens_per_s_vs_encoder_alone']:.0%}** (target >= 85%)",
        f"- Arithmetic: measured 2048x2048 matmul peak {r['arithmetic']['matmul_peak_tflops']:.2f} TFLOP/s; encoder "
        f"{r['arithmetic']['encoder_gflops_per_token'] * 1000:.1f} MFLOP per token at 256-token windows; (b) uses "
        f"{r['arithmetic']['encoder_alone_utilisation']:.0%} and (c) {r['arithmetic']['oped_score_utilisation']:.0%} of the peak.",
        "",
    ])


if __name__ == "__main__":
    main()
