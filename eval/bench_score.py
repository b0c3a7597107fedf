"""Scoring benchmark: `oped score` against a plain transformers baseline, in one run.

    python -m eval.bench_score --n 1000 --model default --model fast --rss-n 10000 --repeats 2

Measures on the first N articles of the corpus, each phase in its own process,
(b) and (c) once per --model:
  (a) baseline: AutoModelForSequenceClassification on the same encoder, fp32,
      batch 8, truncation at 512 tokens, file order, whole process;
  (b) encoder alone: pre-tokenized, length-sorted 256-token windows of every
      token, in the dtype `oped score` uses (the practical ceiling);
  (c) `oped score`, whole process: start-up, read, tokenize, encode, pool,
      evidence, write; for the last --model (the one --rss-n uses) also with --no-evidence, which
      shows what finding the evidence sentences costs.
--repeats R runs (a), (b) and (c) R times in turn and keeps each phase's fastest
round, so one slow spell of a shared machine does not decide a ratio.
--rss-n adds one long `oped score` run (the corpus read again past its end) for
peak memory. Reports docs/s, tokens/s and peak RSS of each, each model's dev-split
figures from its card, the CPU and its bf16 support, and
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


def _texts(path: str, n: int, skip: int = 0) -> list[str]:
    """The texts of n articles, after the first `skip`."""
    out = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= skip:
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


def sorted_windows(scorer, texts: list[str]) -> list[list[int]]:
    """Every window of the texts, as token ids, shortest first (as `oped score` batches them)."""
    return sorted((c.input_ids for t in texts for c in scorer.prepare(t).chunks), key=len)


def phase_encoder(corpus: str, n: int, model: str) -> dict:
    import torch

    from model import load_model

    scorer = load_model(model)
    windows = sorted_windows(scorer, _texts(corpus, n))
    tokens = sum(len(w) - 2 for w in windows)
    started = time.time()
    with torch.inference_mode():
        for s in range(0, len(windows), scorer.batch_size):
            ids, mask = scorer.pad(windows[s: s + scorer.batch_size])
            scorer.net.encoder(input_ids=ids.to(scorer.device), attention_mask=mask.to(scorer.device))
    seconds = time.time() - started
    return {"tokens": tokens, "seconds": seconds, "windows": len(windows), "window_tokens": scorer.config.max_length,
            "layers": scorer.net.encoder.config.num_hidden_layers,
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
    from training.provenance import code_version

    # the commit the measurement ran on (and whether the tree had changes), so a result file names its code
    return {"cpu": model, "cores": os.cpu_count(), "avx512_bf16": "avx512_bf16" in flags, "amx_bf16": "amx_bf16" in flags,
            "code": code_version()}


def _run_phase(args: list[str]) -> tuple[dict, float]:
    started = time.time()
    out = subprocess.run([sys.executable, "-m", "eval.bench_score", *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1]), time.time() - started


def _subset(corpus: str, n: int, dest: Path) -> None:
    """The first n rows of the corpus; past its end the corpus is read again with ids
    suffixed (#2, #3...), so a memory run can be longer than the corpus."""
    written, lap = 0, 1
    with open(dest, "w", encoding="utf-8") as g:
        while written < n:
            with open(corpus, encoding="utf-8") as f:
                for line in f:
                    if written >= n:
                        break
                    row = json.loads(line)
                    if lap > 1:
                        row["id"] = f"{row.get('id')}#{lap}"
                    g.write(json.dumps(row, ensure_ascii=False) + "\n")
                    written += 1
            lap += 1


def score_process(src: Path, out: Path, model: str, *extra: str) -> tuple[float, float, list[dict], str]:
    """One whole `oped score` process on src: (wall seconds, peak RSS in MB, output rows,
    stderr). A wrapper process reports the peak RSS of its only child."""
    started = time.time()
    proc = subprocess.run([sys.executable, "-c", _RSS_WRAPPER, sys.executable, "-m", "cli", "score", str(src),
                           "-o", str(out), "--model", model, "-q", *extra], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parents[1])
    wall = time.time() - started
    rss = int(proc.stdout.strip().splitlines()[-1]) / 1024
    return wall, rss, [json.loads(line) for line in open(out, encoding="utf-8")], proc.stderr


def phase_score(corpus: str, n: int, model: str, *extra: str) -> dict:
    """The whole `oped score` process on the first n rows (extra: more `oped score` options)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        _subset(corpus, n, src)
        wall, rss, rows, _ = score_process(src, Path(tmp) / "out.jsonl", model, *extra)
    tokens = sum(r["n_tokens"] or 0 for r in rows)
    return {"docs_per_s": len(rows) / wall, "tokens_per_s": tokens / wall, "tokens_read": tokens,
            "peak_rss_mb": rss, "seconds": wall, "rows": len(rows), "ok": sum(r["status"] == "ok" for r in rows)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="../shared/corpora/allsides_foreign_policy.jsonl")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--model", action="append", help="model(s) to benchmark, repeatable (default: default); "
                    "the last one also runs with --no-evidence, and makes the --rss-n run")
    ap.add_argument("--rss-n", type=int, default=0, help="also run `oped score` on this many rows (the corpus read "
                    "again past its end) with the last --model, for peak memory on a long run")
    ap.add_argument("--repeats", type=int, default=1, help="rounds of (a), (b) and (c); each phase reports its "
                    "fastest round, and the json keeps every round's seconds")
    ap.add_argument("--phase", choices=["baseline", "encoder"], help=argparse.SUPPRESS)
    ap.add_argument("--out", default=str(RESULTS / "bench_score"))
    args = ap.parse_args()
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    from eval.model_card import dev_figures

    models = args.model or ["default"]
    if args.phase == "baseline":
        print(json.dumps(phase_baseline(args.corpus, args.n)))
        return
    if args.phase == "encoder":
        print(json.dumps(phase_encoder(args.corpus, args.n, models[0])))
        return
    command = "python -m eval.bench_score " + " ".join(sys.argv[1:])
    n_docs = len(_texts(args.corpus, args.n))
    peak = matmul_peak_tflops()
    # every phase once per round; each phase keeps its fastest round (as timeit does), all
    # rounds are recorded; a slow spell of a shared machine then rarely decides a ratio,
    # and the order rotates between rounds, so that no phase always runs first
    rounds = {"baseline": [], **{m: {"encoder": [], "score": [], "startup": [], "no_evidence": []} for m in models}}
    order = ["baseline", *models]
    for r in range(args.repeats):
        for what in order[r % len(order):] + order[: r % len(order)]:
            if what == "baseline":
                rounds["baseline"].append(_run_phase(["--phase", "baseline", "--corpus", args.corpus,
                                                      "--n", str(args.n)]))
                continue
            enc, _ = _run_phase(["--phase", "encoder", "--corpus", args.corpus, "--n", str(args.n), "--model", what])
            rounds[what]["encoder"].append(enc)
            # (c) and (c) without evidence swap places between rounds, so neither always runs second
            with_and_without = [("score", ()), *([("no_evidence", ("--no-evidence",))] if what == models[-1] else [])]
            for key, extra in with_and_without[:: 1 if r % 2 == 0 else -1]:
                rounds[what][key].append(phase_score(args.corpus, args.n, what, *extra))
            rounds[what]["startup"].append(phase_score(args.corpus, 1, what))
    base, base_wall = min(rounds["baseline"], key=lambda r: r[1])
    result = {
        "command": command, "n_docs": n_docs, **cpu_info(), "matmul_peak_tflops": peak, "repeats": args.repeats,
        "baseline": {"docs_per_s": n_docs / base_wall, "tokens_per_s": base["tokens"] / base_wall,
                     "tokens_read": base["tokens"], "peak_rss_mb": max(r[0]["peak_rss_mb"] for r in rounds["baseline"]),
                     "seconds": base_wall, "seconds_all_rounds": [round(r[1], 2) for r in rounds["baseline"]],
                     "note": "fp32, batch 8, truncation at 512, whole process"},
        "models": {},
    }
    for model in models:
        enc = min(rounds[model]["encoder"], key=lambda r: r["seconds"])
        score = dict(min(rounds[model]["score"], key=lambda r: r["seconds"]))
        score["peak_rss_mb"] = max(r["peak_rss_mb"] for r in rounds[model]["score"])
        score["seconds_all_rounds"] = [round(r["seconds"], 2) for r in rounds[model]["score"]]
        # the fixed cost of a process (imports, model loading, one article): measured as a
        # whole 1-row run; subtracted, it estimates the rate a long run approaches
        startup = min(rounds[model]["startup"], key=lambda r: r["seconds"])
        score["startup_seconds"] = startup["seconds"]
        score["startup_seconds_all_rounds"] = [round(r["seconds"], 2) for r in rounds[model]["startup"]]
        rest = score["seconds"] - startup["seconds"]  # the 1-row run's article is taken out with its time
        steady = (score["tokens_read"] - startup["tokens_read"]) / rest if rest > 0 else None
        flops = encoder_flops_per_token(model)
        encoder = {"tokens_per_s": enc["tokens"] / enc["seconds"], "tokens_read": enc["tokens"], "dtype": enc["dtype"],
                   "windows": enc["windows"], "peak_rss_mb": max(r["peak_rss_mb"] for r in rounds[model]["encoder"]),
                   "seconds": enc["seconds"], "seconds_all_rounds": [round(r["seconds"], 2) for r in rounds[model]["encoder"]]}
        no_evidence = None
        if rounds[model]["no_evidence"]:
            no_evidence = dict(min(rounds[model]["no_evidence"], key=lambda r: r["seconds"]))
            no_evidence["peak_rss_mb"] = max(r["peak_rss_mb"] for r in rounds[model]["no_evidence"])
            no_evidence["seconds_all_rounds"] = [round(r["seconds"], 2) for r in rounds[model]["no_evidence"]]
            no_evidence["tokens_per_s_vs_encoder_alone"] = no_evidence["tokens_per_s"] / encoder["tokens_per_s"]
            # the share of (c)'s whole-process time (start-up included) that finding evidence takes
            no_evidence["evidence_share_of_score_seconds"] = 1 - no_evidence["seconds"] / score["seconds"]
        result["models"][model] = {
            "layers": enc["layers"], "encoder_alone": encoder, "oped_score": score, "dev": dev_figures(model),
            "oped_score_no_evidence": no_evidence,
            "arithmetic": {"encoder_gflops_per_token": flops / 1e9,
                           "encoder_alone_utilisation": encoder["tokens_per_s"] * flops / (peak * 1e12),
                           "oped_score_utilisation": score["tokens_per_s"] * flops / (peak * 1e12)},
            "ratios": {"score_docs_per_s_vs_baseline": score["docs_per_s"] / result["baseline"]["docs_per_s"],
                       "score_tokens_per_s_vs_baseline": score["tokens_per_s"] / result["baseline"]["tokens_per_s"],
                       "score_tokens_per_s_vs_encoder_alone": score["tokens_per_s"] / encoder["tokens_per_s"],
                       "score_without_startup_vs_encoder_alone": steady / encoder["tokens_per_s"] if steady else None},
        }
    if args.rss_n:
        long_run = phase_score(args.corpus, args.rss_n, models[-1])
        long_run["tokens_per_s_vs_encoder_alone"] = (long_run["tokens_per_s"]
                                                     / result["models"][models[-1]]["encoder_alone"]["tokens_per_s"])
        result["long_run"] = {"model": models[-1], "n": args.rss_n, **long_run}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out + ".json").write_text(json.dumps(result, indent=2) + "\n")
    Path(args.out + ".md").write_text(_markdown(result))
    print(_markdown(result))


def _markdown(r: dict) -> str:
    b = r["baseline"]
    bf16 = "AMX" if r["amx_bf16"] else "AVX-512 BF16" if r["avx512_bf16"] else "none"
    lines = [
        f"# Scoring benchmark ({r['n_docs']} articles)",
        "",
        f"Command: `{r['command']}`",
        f"CPU: {r['cpu']}, {r['cores']} cores, bf16 support: {bf16}; measured 2048x2048 matmul peak "
        f"{r['matmul_peak_tflops']:.2f} TFLOP/s.",
        *([f"Each phase: the fastest of {r['repeats']} rounds, run in turn (every round's seconds are in the .json); "
           "peak RSS: the largest of the rounds."] if r.get("repeats", 1) > 1 else []),
        "",
        "| phase | model | docs/s | tokens/s | tokens read | peak RSS (MB) |",
        "|---|---|---|---|---|---|",
        f"| (a) baseline: transformers, fp32, batch 8, truncate 512 | MiniLM, 6 layers | {b['docs_per_s']:.2f} | "
        f"{b['tokens_per_s']:,.0f} | {b['tokens_read']:,} | {b['peak_rss_mb']:,.0f} |",
    ]
    for name, m in r["models"].items():
        e, s = m["encoder_alone"], m["oped_score"]
        lines += [
            f"| (b) encoder alone, {e['dtype']}, sorted 256-token windows | {name}, {m['layers']} layers | - | "
            f"{e['tokens_per_s']:,.0f} | {e['tokens_read']:,} | {e['peak_rss_mb']:,.0f} |",
            f"| (c) `oped score`, whole process | {name}, {m['layers']} layers | {s['docs_per_s']:.2f} | "
            f"{s['tokens_per_s']:,.0f} | {s['tokens_read']:,} | {s['peak_rss_mb']:,.0f} |",
        ]
        ne = m.get("oped_score_no_evidence")
        if ne:
            lines.append(f"| (c) `oped score --no-evidence`, whole process | {name}, {m['layers']} layers | "
                         f"{ne['docs_per_s']:.2f} | {ne['tokens_per_s']:,.0f} | {ne['tokens_read']:,} | "
                         f"{ne['peak_rss_mb']:,.0f} |")
    if "long_run" in r:
        lr = r["long_run"]
        lines.append(f"| (c) `oped score`, {lr['n']:,} rows (memory run) | {lr['model']} | {lr['docs_per_s']:.2f} | "
                     f"{lr['tokens_per_s']:,.0f} | {lr['tokens_read']:,} | {lr['peak_rss_mb']:,.0f} |")
    lines.append("")
    for name, m in r["models"].items():
        q, a = m["ratios"], m["arithmetic"]
        dev = m["dev"]
        quality = (f"dev stance macro-F1 {dev['stance_macro_f1']:.3f}, dev sovereignty F1 {dev['sovereignty_f1']:.3f}"
                   if dev else "no dev figures in its card")
        lines += [
            f"**{name}** ({m['layers']} layers; {quality}):",
            f"- (c) docs/s vs (a): **{q['score_docs_per_s_vs_baseline']:.2f}x**; tokens/s vs (a): "
            f"{q['score_tokens_per_s_vs_baseline']:.2f}x; tokens/s vs (b): **{q['score_tokens_per_s_vs_encoder_alone']:.0%}**",
            f"- start-up (a whole `oped score` process on 1 article): {m['oped_score']['startup_seconds']:.1f} s of "
            f"(c)'s {m['oped_score']['seconds']:.1f} s; (c) with it subtracted vs (b): "
            + (f"{q['score_without_startup_vs_encoder_alone']:.0%}" if q["score_without_startup_vs_encoder_alone"]
               else "n/a (the run was no longer than start-up)")
            + " (an estimate of the rate a long run approaches)",
            *([f"- evidence: `--no-evidence` runs at {m['oped_score_no_evidence']['tokens_per_s_vs_encoder_alone']:.0%} "
               f"of (b) and {m['oped_score_no_evidence']['docs_per_s'] / r['baseline']['docs_per_s']:.2f}x (a)'s "
               f"docs/s; finding the evidence sentences takes "
               + (f"{m['oped_score_no_evidence']['evidence_share_of_score_seconds']:.0%} of (c)'s time"
                  if m['oped_score_no_evidence']['evidence_share_of_score_seconds'] > 0
                  else "no measurable share of (c)'s time (within the rounds' noise)")]
              if m.get("oped_score_no_evidence") else []),
            f"- arithmetic: {a['encoder_gflops_per_token'] * 1000:.1f} MFLOP per token at 256-token windows; (b) uses "
            f"{a['encoder_alone_utilisation']:.0%} and (c) {a['oped_score_utilisation']:.0%} of the measured matmul peak",
            "",
        ]
    if "long_run" in r:
        lr = r["long_run"]
        lines += [f"Memory run ({lr['n']:,} rows, {lr['model']}): tokens/s vs that model's (b): "
                  f"**{lr['tokens_per_s_vs_encoder_alone']:.0%}** (start-up spread over {lr['n']:,} rows).", ""]
    lines += ["Targets (issue 9, default model): (c) docs/s >= 1.15x (a); (c) tokens/s >= 85% of (b); peak RSS < 2 GB "
              "at 1,000 and 10,000 rows. Fast model (issue 10): (c) docs/s >= 2x (a), dev figures within 0.03 of the "
              "default's.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
