"""`oped bench fomc`: the project's pipeline on a public human-labelled benchmark.

Train on one of the paper's seed splits (a share of its train file held out as
dev for model selection), score its test file once, report weighted F1 (the
paper's metric), macro-F1 and accuracy.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from training.arguments import load_arguments

FOMC_DIR = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "fomc"
CONFIG = Path(__file__).resolve().parents[1] / "training" / "configs" / "fomc.toml"
SEEDS = (5768, 78516, 944601)


def run_fomc(seed: int, out: str, data_dir: str | Path = FOMC_DIR, overrides: list[str] | None = None) -> dict:
    from eval.metrics import accuracy, macro_f1, per_class, weighted_f1
    from model import load_model
    from training.examples import read_jsonl_file
    from training.trainer import train

    data_dir = Path(data_dir)
    train_file, test_file = data_dir / f"combined-train-{seed}.jsonl", data_dir / f"combined-test-{seed}.jsonl"
    for f in (train_file, test_file):
        if not f.is_file():
            raise FileNotFoundError(f"FOMC file not found: {f} (give --data-dir)")
    out_dir = Path(out)
    args = load_arguments(CONFIG, [f"train_file={train_file}", f"output_dir={out_dir / 'model'}",
                                   *(overrides or [])])
    started = time.time()
    record = train(args)
    test = read_jsonl_file(str(test_file), args.text_field)
    scorer = load_model(str(out_dir / "model"))
    pred = [r.values["stance"] for r in scorer.score([r["text"] for r in test], evidence=False)]
    gold = [r["label"] for r in test]
    labels = ["dovish", "neutral", "hawkish"]
    metrics = {
        "benchmark": "FOMC hawkish-dovish (combined), Shah et al. ACL 2023", "seed": seed,
        "base_model": args.base_model, "finetune": args.finetune, "n_test": len(test),
        "weighted_f1": weighted_f1(gold, pred, labels), "macro_f1": macro_f1(gold, pred, labels),
        "accuracy": accuracy(gold, pred), "per_class": per_class(gold, pred, labels),
        "dev": record["dev"], "best_epoch": record["best_epoch"], "seconds": round(time.time() - started, 1),
        "cpu": record["cpu"], "precision": record["precision"],
    }
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics
