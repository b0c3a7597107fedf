"""Ray engine throughput on this machine: the local engine, then Ray with 1 and 2
workers, on the same articles, in one run.

    python -m eval.bench_ray --corpus ../shared/corpora/allsides_foreign_policy.jsonl --n 300

Wall times include each run's start-up (model loading, and Ray's own start for the
Ray runs), as a user would see them. Writes eval/results/ray_scaling.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eval.bench_score import RESULTS, _subset, cpu_info


def _timed(cmd: list[str]) -> float:
    started = time.time()
    subprocess.run(cmd, check=True, capture_output=True, cwd=Path(__file__).resolve().parents[1])
    return time.time() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="../shared/corpora/allsides_foreign_policy.jsonl")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--model", default="default")
    ap.add_argument("--shard-mb", type=float, default=0.2, help="small shards, so a small input spreads over workers")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    src = tmp / "in.jsonl"
    _subset(args.corpus, args.n, src)
    base = [sys.executable, "-m", "cli", "score", str(src), "--model", args.model, "-q"]
    runs = {"local engine (2 torch threads)": _timed(base + ["-o", str(tmp / "local.jsonl")])}
    for workers in (1, 2):
        out = tmp / f"ray{workers}"
        runs[f"ray engine, {workers} worker{'s' * (workers > 1)} (1 thread each)"] = _timed(
            base + ["-o", str(out), "--engine", "ray", "--num-workers", str(workers), "--shard-mb", str(args.shard_mb)])
    shutil.rmtree(tmp, ignore_errors=True)
    result = {"command": "python -m eval.bench_ray " + " ".join(sys.argv[1:]), "n_docs": args.n, **cpu_info(),
              "runs": {k: {"seconds": v, "docs_per_s": args.n / v} for k, v in runs.items()}}
    out = RESULTS / "ray_scaling"
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [f"Command: `{result['command']}`; {args.n} articles; CPU: {result['cpu']}, {result['cores']} cores.", "",
             "| run | wall seconds (with start-up) | docs/s |", "|---|---|---|"]
    lines += [f"| {k} | {v['seconds']:.1f} | {v['docs_per_s']:.2f} |" for k, v in result["runs"].items()]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
