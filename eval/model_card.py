"""Evaluate a trained codebook model on the dev and test splits (with a TF-IDF
baseline trained on the same split) and write its model card (README.md)."""

from __future__ import annotations

import json
from pathlib import Path

from eval.baselines.tfidf import TfidfBaseline
from eval.codebook_metrics import codebook_metrics, fmt, fmt_signed, paired_difference, side_errors
from model.loading import resolve_model_dir

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


def articles_model_trained_on(data, record: dict | None) -> list[dict]:
    """The train-split articles a model's training run used, so that baselines fit on the
    same ones: its exclude_pools; a record without that key predates the train-only
    sampling rounds (the first shipped default), so those rounds are left out."""
    from training.annotation.build_labels import TRAIN_ONLY_POOLS
    from training.arguments import pool_names

    args = (record or {}).get("arguments", {})
    excluded = pool_names(args["exclude_pools"]) if "exclude_pools" in args else set(TRAIN_ONLY_POOLS)
    return [r for r in data.articles["train"] if r.get("pool") not in excluded]


def evaluate_codebook_model(model_dir: str | Path, args) -> dict:
    from model import load_model
    from training.data import load_labelled

    data = load_labelled(args.corpus, args.annotations, None)
    scorer = load_model(str(model_dir))
    report = {"model": scorer.model_id, "made": _made(model_dir)}
    train = articles_model_trained_on(data, scorer.config.training)
    baseline = TfidfBaseline().fit(train, list(data.articles["dev"]))
    for split in ("dev", "test"):
        rows = list(data.articles[split])
        preds = [r.values for r in scorer.score([r["text"] for r in rows], evidence=False)]
        base_preds = baseline.predict([r["text"] for r in rows])
        report[split] = codebook_metrics(rows, preds)
        report[f"{split}_tfidf_baseline"] = codebook_metrics(rows, base_preds)
        report[f"{split}_minus_tfidf"] = paired_difference(rows, preds, base_preds)
    seeds = sorted(SEEDS.glob("*.txt"))
    if seeds:  # the project's seed op-ed, when ../shared is beside the checkout
        report["seed"] = scorer.score([seeds[0].read_text(encoding="utf-8")], evidence=False)[0].values
    return report


def _made(model_dir) -> dict:
    """What produced a card's figures: the command, the code and the machine (scores differ
    slightly between CPUs and precisions)."""
    import torch

    from training.provenance import code_version
    from training.trainer import cpu_model

    return {"command": f"python -m eval.model_card {model_dir}", "code": code_version(), "cpu": cpu_model(),
            "torch": torch.__version__}


def _figures_line(model_dir: Path, report: dict) -> str:
    made = report.get("made")
    if not made:
        from training.provenance import last_commit

        commit = last_commit(Path(model_dir) / "metrics.json")
        where = f"; metrics.json was last committed in `{commit}`, whose message says which code made them" \
            if commit else ""
        return (f"Figures: `python -m eval.model_card {model_dir}`; the code and machine that made them are not "
                f"recorded (metrics.json predates that record){where}.")
    code = made.get("code") or {}
    state = (f"at commit `{code['commit'][:12]}`" + (" with uncommitted changes" if code.get("dirty") else "")
             if code.get("commit") else "at a commit not recorded")
    return f"Figures: `{made['command']}` {state}, on {made['cpu']}, torch {made['torch']}, scored in {report['model'].rsplit('-', 1)[-1]}."


def _row(name: str, m: dict) -> str:
    st, sv = m["stance"], m["sovereignty"]
    auc = fmt(sv["roc_auc"]) if "roc_auc" in sv else "n/a"
    return (f"| {name} | {m['n']} | {fmt(st['macro_f1'])} | {fmt(st['intensity_spearman'])} | "
            f"{fmt(sv['f1'])} | {auc} |")


def _provenance(record: dict) -> str:
    code = record.get("code") or {}
    if not code.get("commit"):
        return ("- Code and data version: not recorded (the run predates provenance records), so the command "
                "above reproduces its recipe, not necessarily its exact weights (eval/results/training_variants.md).")
    state = "with uncommitted changes" if code.get("dirty") else "clean tree"
    windowing = (f"windowing fingerprint `{record['windowing'][:16]}` (the token windows this code cuts a probe "
                 "text into, model.chunking; `oped score` warns when the code that reads the model cuts others)"
                 if record.get("windowing") else "windowing not recorded (trained before windowing fingerprints)")
    return (f"- Code: commit `{code['commit'][:12]}` ({state}); training data fingerprint "
            f"`{record.get('data_sha256', '')[:16]}` (sha256 of the examples in order, training/provenance.py); "
            f"{windowing}.")


def _paired_line(report: dict) -> str:
    """This model minus the baseline on the same articles: a CI that spans 0 means the split
    is too small to tell the two apart."""
    parts = []
    for split in ("dev", "test"):
        d = report[f"{split}_minus_tfidf"]
        parts.append(f"{split}: stance macro-F1 {fmt_signed(d['stance_macro_f1'])}, "
                     f"sovereignty F1 {fmt_signed(d['sovereignty_f1'])}")
    return ("This model minus the baseline, paired bootstrap over the same articles (95% CI; an interval "
            "that spans 0 means this split cannot tell the two apart): " + "; ".join(parts) + ".")


def _direction_limit(report: dict, seed: dict | None) -> str:
    """The known-limits line on stance direction, from this model's own test confusion
    and (when ../shared is beside the checkout) its reading of the project's seed op-ed."""
    e = side_errors(report["test"]["stance"]["confusion"])
    crossed = e["hawkish_read_as_dovish"] + e["dovish_read_as_hawkish"]
    line = (f"- Direction: on the test split {e['hawkish_read_as_dovish']} hawkish articles are read as dovish and "
            f"{e['dovish_read_as_hawkish']} dovish as hawkish ({crossed} of {e['with_a_side']} articles with a side); "
            "the rest of the errors are stance missed or over-read (neutral vs. leaning). Both sides argue about the same few conflicts, so direction "
            "has to be learned within a debate from a few hundred directional examples.")
    if seed:
        line += (f" The project's seed op-ed (hawkish on Iran, with a central sovereignty frame) is "
                 f"scored {seed['stance']} (stance_score {seed['stance_score']:+.2f}), sovereignty "
                 f"{'present' if seed['sovereignty'] else 'absent'} (p {seed['p_sovereignty']:.2f}).")
    return line + (" Check direction on your own hand-coded sample before comparing outlets on stance_score.")


def _dev(report: dict) -> dict:
    return {"stance_macro_f1": report["dev"]["stance"]["macro_f1"]["value"],
            "sovereignty_f1": report["dev"]["sovereignty"]["f1"]["value"]}


def dev_figures(model: str) -> dict | None:
    """Dev stance macro-F1 and sovereignty F1 from a model's card (metrics.json), or None."""
    path = resolve_model_dir(model) / "metrics.json"
    return _dev(json.loads(path.read_text())) if path.is_file() else None


def _against_teacher(teacher: str, report: dict) -> str:
    """A student's dev figures next to its teacher's (from the teacher's card)."""
    t, s = dev_figures(teacher), _dev(report)
    if t is None:
        return f"Teacher `{teacher}` has no metrics.json to compare with."
    return (f"Against its teacher on dev: stance macro-F1 {s['stance_macro_f1']:.3f} vs {t['stance_macro_f1']:.3f} "
            f"({s['stance_macro_f1'] - t['stance_macro_f1']:+.3f}), sovereignty F1 {s['sovereignty_f1']:.3f} vs "
            f"{t['sovereignty_f1']:.3f} ({s['sovereignty_f1'] - t['sovereignty_f1']:+.3f}).")


def _soup_line(members: list[dict], args: dict) -> str:
    """A weight average (training.soup): what it averages, instead of one run's epochs."""
    def commit(m):
        c = (m.get("code") or {}).get("commit")
        return f"code {c[:7]}{'+dirty' if (m.get('code') or {}).get('dirty') else ''}" if c else "code unrecorded"

    runs = "; ".join(f"`{m['path']}` ({m['model']}, seed {m['seed']}, {commit(m)}, best dev epoch {m['best_epoch']}, "
                     f"dev selection {(m.get('dev') or {}).get('selection', float('nan')):.3f} in its training)"
                     for m in members)
    same_code = len({commit(m) for m in members}) == 1
    return (f"- A weight average of {len(members)} runs of this recipe (lr {args['learning_rate']}, head lr "
            f"{args['head_learning_rate']}, batch {args['batch_size']} windows), of one data set, at different seeds"
            f"{'' if same_code else ' and trained by different code'}: {runs}. "
            f"Its adapter is the mean of theirs (rank {len(members)} x {args['lora_r']}) and its heads the mean of "
            "their heads (training.soup). To reproduce it, train each member with `oped train` and this recipe "
            "(the arguments in oped_config.json) at its seed, in a checkout of the commit named for it, then "
            "average them with the command above.")


def reproduce_line(record: dict, command: str) -> str:
    """The card's Reproduce line: the command, and the commit it must run at (later code may cut
    texts into other token windows, or read other label files, from the same config file)."""
    code = record.get("code") or {}
    commit = (code.get("commit") or "")[:7]
    if command.startswith("git checkout"):
        where = ""
    elif not commit:
        where = " (the code that trained it is unrecorded)"
    elif code.get("dirty"):
        where = f" at commit `{commit}` with uncommitted changes, so that commit alone may not reproduce it"
    else:
        where = f" at commit `{commit}`, the code that trained it"
    later = (" Run at a later commit, the same command may train another model (other token windows, other "
             "examples).") if commit else ""
    return f"- Reproduce: `{command}`{where} (with ../shared beside the checkout).{later}"


def rewrite_reproduce_line(card: Path, line: str) -> None:
    """Replace only the Reproduce line of an existing card, leaving its figures as they were measured."""
    lines = card.read_text().split("\n")
    at = [i for i, x in enumerate(lines) if x.startswith("- Reproduce:")]
    if len(at) != 1:
        raise ValueError(f"{card}: expected one '- Reproduce:' line, found {len(at)}")
    lines[at[0]] = line
    card.write_text("\n".join(lines))


def write_model_card(model_dir: str | Path, record: dict, report: dict, command: str) -> Path:
    path = Path(model_dir) / "README.md"
    path.write_text(model_card_text(model_dir, record, report, command))
    return path


def model_card_text(model_dir: str | Path, record: dict, report: dict, command: str) -> str:
    """The card of a model folder, from its training record and its measured figures (metrics.json)."""
    d = Path(model_dir)
    t = record
    args = t["arguments"]
    per_class = lambda m: ", ".join(f"{k} {v['f1']:.3f} (n={v['support']})"  # noqa: E731
                                    for k, v in m["stance"]["per_class"].items())
    lines = [
        f"# {args['name']}: hawkish/dovish stance and sovereignty framing",
        "",
        "Scores articles on the two dimensions of the project codebook (docs/codebook.md): "
        "stance on force and coercion (dovish / neutral / hawkish, intensity -2..2) and "
        "sovereignty framing (present / absent, salience).",
        "",
        "## How it was made",
        reproduce_line(t, command),
        f"- Base encoder: `{args['base_model']}`"
        + (f", first {args['encoder_layers']} layers only" if args.get("encoder_layers") else "")
        + f"; fine-tuning: {args['finetune']}"
        + (f" (LoRA r={args['lora_r']}, alpha={args['lora_alpha']})" if args["finetune"] == "lora" else "")
        + f"; windows of {args['max_length']} tokens, article pooling per dimension as in oped_config.json.",
        *([f"- Distilled from `{args['teacher']}`: its article probabilities are soft targets (weight "
           f"{args['distill_weight']}) on the training texts and {args['distill_articles']} further corpus "
           f"articles outside dev and test, used without any labels they have; the student starts from the teacher's "
           f"{'own adapter and heads' if args.get('student_init', 'base') == 'teacher' else 'base weights'}."]
          if args.get("teacher") else []),
        *([f"- Loss: class NLL (class-weighted) + {args['level_loss_weight']} x level NLL"
           + (f" + {args['direction_loss_weight']} x side NLL (hawkish vs dovish, on items coded with a side)"
              if args.get("direction_loss_weight") else "") + "."]),
        *(["- Paragraph weights balanced by side: the larger side's (hawkish or dovish) paragraph weights scaled "
           "down to the smaller side's total (`balance_paragraph_sides`)."] if args.get("balance_paragraph_sides") else []),
        *([_soup_line(t["soup"]["members"], args)] if t.get("soup") else [
            f"- Epochs run: {len(t['history'])} (best on dev: epoch {t['best_epoch']}); lr {args['learning_rate']}, "
            f"head lr {args['head_learning_rate']}, batch {args['batch_size']} windows, seed {args['seed']}."]),
        f"- Training examples: {t['examples']['train']}; dev articles {sum(t['examples']['dev'].values())}, "
        f"test articles {sum(t['examples']['test'].values())}.",
        f"- {'Averaged and evaluated on dev' if t.get('soup') else 'Trained'} in {t['seconds'] / 60:.1f} min on "
        f"{t['cpu']} ({t['device']}, {t['precision']}), torch {t['torch']}.",
        _provenance(t),
        "",
        "## Results (95% bootstrap CIs, 1,000 resamples of articles)",
        "Model selection used the dev split only; the test split is read to report figures, never to choose a "
        "model or threshold. The baseline is TF-IDF + logistic regression trained on the same train split (C "
        "chosen on dev). " + _figures_line(d, report),
        "",
        "| model / split | n | stance macro-F1 | intensity Spearman | sovereignty F1 | sovereignty AUC |",
        "|---|---|---|---|---|---|",
        _row("this model, dev", report["dev"]),
        _row("this model, test", report["test"]),
        _row("TF-IDF + LR, dev", report["dev_tfidf_baseline"]),
        _row("TF-IDF + LR, test", report["test_tfidf_baseline"]),
        "",
        *([_paired_line(report)] if "test_minus_tfidf" in report else []),
        *([_against_teacher(args["teacher"], report)] if args.get("teacher") else []),
        f"Per-class stance F1, test: {per_class(report['test'])}.",
        f"Per-class stance F1, test, baseline: {per_class(report['test_tfidf_baseline'])}.",
        "",
        "## Known limits",
        "- Labels come from model-based coders (LLM sessions following the codebook), not human coders; "
        "see docs/data.md for their agreement. Validate on your own hand-coded sample (`oped eval`).",
        "- Training articles are US-centred English news and opinion (AllSides, 2012-2020). Dovish and "
        "hawkish articles are rare and mostly opinion pieces; the per-class test support above is small, "
        "so per-class figures carry wide uncertainty.",
        _direction_limit(report, report.get("seed")),
        "- Class weighting and the per-epoch down-sampling of all-neutral examples both favour the rare "
        "classes, so p_hawkish / p_dovish / p_sovereignty run high; the calibration figures of `oped eval` "
        "show by how much. Rank and compare scores, or calibrate on your own coded sample, rather than "
        "reading them as frequencies.",
        "- Model selection ran with bf16 autocast over fp32 weights; scoring runs the merged weights in bf16 "
        "where the CPU supports it, which moved dev stance macro-F1 by 0.009 in the one run compared (0.589 in "
        "training, 0.580 scored; eval/results/training_variants.md). The `model` column names the precision.",
        *([] if t.get("windowing") else [
            "- Its training recorded no windowing fingerprint, so `oped score` cannot warn when the code that "
            "reads it cuts texts into other windows than its training did; `python -m eval.windows_effect "
            "--model DIR --commit C` measures the effect on dev (eval/results/windows_effect_default.json: "
            "0.003 of dev selection for the bundled default)."]),
        "",
        "Full figures: metrics.json in this folder.",
        "",
    ]
    return "\n".join(lines)


def card_command(model_dir: Path, record: dict) -> str:
    """The command that made a model, rebuilt from its record: for a training run, the config file at
    the commit that trained it plus every recorded argument that file did not give."""
    from training.provenance import reproduce_command

    if record.get("soup"):
        return f"python -m training.soup {' '.join(m['path'] for m in record['soup']['members'])} --out {model_dir}"
    config, program = ("training/configs/fast.toml", "oped distill") if record["arguments"].get("teacher") else \
        ("training/configs/default.toml", "oped train")
    return (reproduce_command(record, config, str(model_dir), program)
            or f"{program} --config {config} --set output_dir={model_dir}")


def main(argv: list[str] | None = None) -> None:
    """Re-evaluate a trained codebook model on the current labels and rewrite its card, or
    (--reproduce-only) rewrite only its Reproduce line:

        python -m eval.model_card model/default
        python -m eval.model_card model/default --reproduce-only
    """
    import argparse

    from model.config import ModelConfig
    from training.arguments import TrainingArguments

    p = argparse.ArgumentParser(description="rewrite a trained model's card")
    p.add_argument("model_dir", nargs="?", default="model/default")
    p.add_argument("--reproduce-only", action="store_true",
                   help="rewrite only the Reproduce line, keeping the card's measured figures")
    p.add_argument("--from-metrics", action="store_true",
                   help="rewrite the whole card from this folder's metrics.json, scoring nothing (after a change "
                        "to the card's wording)")
    a = p.parse_args(argv)
    model_dir = Path(a.model_dir)
    record = ModelConfig.load(model_dir).training
    command = card_command(model_dir, record)
    if a.reproduce_only:
        rewrite_reproduce_line(model_dir / "README.md", reproduce_line(record, command))
        print(f"rewrote the Reproduce line of {model_dir / 'README.md'}")
        return
    if a.from_metrics:
        write_model_card(model_dir, record, json.loads((model_dir / "metrics.json").read_text()), command)
        print(f"rewrote {model_dir / 'README.md'} from its metrics.json")
        return
    report = evaluate_codebook_model(model_dir, TrainingArguments(**record["arguments"]))
    (model_dir / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    write_model_card(model_dir, record, report, command)
    print(f"rewrote {model_dir / 'README.md'}")


if __name__ == "__main__":
    main()
