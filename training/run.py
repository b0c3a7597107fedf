"""`oped train`: fine-tune, then report dev and test figures and write the model card."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from training.arguments import TrainingArguments
from training.trainer import train


def train_and_report(args: TrainingArguments, log=print) -> dict:
    if args.data == "codebook":
        # imported before training, so that the card and its test figures come from the code the
        # run records as its commit, even if the working tree changes while it trains
        import eval.model_card  # noqa: F401
        import training.annotation.build_labels  # noqa: F401  (model_card imports it lazily)
    record = train(args, log=log)
    out = Path(record["output_dir"])
    command = "oped " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else "oped train"
    if args.data != "codebook":
        return record
    from eval.model_card import evaluate_codebook_model, write_model_card

    report = evaluate_codebook_model(out, args)
    (out / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    write_model_card(out, record, report, command)
    log(f"model card: {out / 'README.md'}")
    return {**record, "report": report}
