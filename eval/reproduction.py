"""Does a retrained model reproduce a shipped one within noise? Both score the same split;
the report gives each model's figures, their paired-bootstrap difference, and how often the
two models give an article the same label (a retraining is a re-measurement: a researcher
should know how much of a result would move with it).

    python -m eval.reproduction model/default runs/repro [--split dev]

Writes eval/results/reproduction.{json,md}. Use dev to choose between models; test only
to report.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from eval.codebook_metrics import codebook_metrics, fmt, fmt_signed, paired_difference, side_errors

RESULTS = Path(__file__).resolve().parent / "results"


def _run_facts(scorer) -> dict:
    t = scorer.config.training or {}
    return {"model": scorer.model_id, "best_epoch": t.get("best_epoch"), "dev_selection_in_training":
            (t.get("dev") or {}).get("selection"), "code": t.get("code"), "data_sha256": t.get("data_sha256"),
            "seconds": t.get("seconds")}


def between_models(a: list[dict], b: list[dict]) -> dict:
    """How often two models' predictions give an article the same stance class and the same
    sovereignty code, with Cohen's kappa (agreement beyond what the label shares give by chance)."""
    from sklearn.metrics import cohen_kappa_score

    if len(a) != len(b) or not a:
        raise ValueError("two non-empty prediction lists of the same length are needed")
    out = {}
    for key in ("stance", "sovereignty"):
        x, y = [r[key] for r in a], [r[key] for r in b]
        out[f"{key}_same"] = sum(u == v for u, v in zip(x, y)) / len(x)
        out[f"{key}_kappa"] = float(cohen_kappa_score(x, y)) if len(set(x) | set(y)) > 1 else 1.0
    return out


def reproduction(reference: str, candidate: str, split: str = "dev", corpus: str | None = None) -> dict:
    from model import load_model
    from training.data import load_labelled

    rows = list(load_labelled(corpus, synthetic=None).articles[split])
    texts = [r["text"] for r in rows]
    scorers = {"reference": load_model(reference), "candidate": load_model(candidate)}
    preds = {k: [r.values for r in s.score(texts, evidence=False)] for k, s in scorers.items()}
    a, b = preds["reference"], preds["candidate"]
    return {
        "command": f"python -m eval.reproduction {reference} {candidate} --split {split}",
        "split": split, "n": len(rows),
        "models": {k: _model_report(p, scorers[k], codebook_metrics(rows, preds[k]))
                   for k, p in (("reference", reference), ("candidate", candidate))},
        "candidate_minus_reference": paired_difference(rows, b, a),
        "between_models": between_models(a, b),
    }


def _model_report(path: str, scorer, metrics: dict) -> dict:
    return {"path": path, **_run_facts(scorer), "metrics": metrics,
            "side_errors": side_errors(metrics["stance"]["confusion"])}


def _sides(e: dict | None) -> str:
    if not e:
        return "not recorded"
    return f"{e['dovish_read_as_hawkish']} / {e['hawkish_read_as_dovish']} of {e['with_a_side']}"


def _read_intervals(d: dict, split: str) -> str:
    """What the paired intervals say: an interval that spans 0 cannot tell the two models apart."""
    names = {"stance_macro_f1": "stance macro-F1", "sovereignty_f1": "sovereignty F1"}
    apart = {k: ("lower" if d[k]["ci95"][1] < 0 else "higher") for k in names
             if not d[k]["ci95"][0] <= 0 <= d[k]["ci95"][1]}
    if not apart:
        return "Both intervals span 0: the two cannot be told apart on this split."
    said = "; ".join(f"on {names[k]} the candidate is {v} than the reference" for k, v in apart.items())
    rest = [names[k] for k in names if k not in apart]
    return (f"{'Both intervals exclude' if not rest else 'The interval of ' + ', '.join(names[k] for k in apart) + ' excludes'} "
            f"0: {said} on this {split} split (95%, not corrected for the other comparisons made"
            f" on it)" + (f"; the interval of {rest[0]} spans 0." if rest else "."))


def markdown(report: dict) -> str:
    d, m = report["candidate_minus_reference"], report["between_models"]
    lines = [f"# Reproduction check on the {report['split']} split ({report['n']} articles)", "",
             f"Command: `{report['command']}`. Brackets: 95% bootstrap CIs (1,000 resamples of articles).", "",
             "| model | path | code commit | data fingerprint | best epoch | stance macro-F1 | sovereignty F1 "
             "| read with the wrong side: dovish as hawkish / hawkish as dovish |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in report["models"].items():
        code = r.get("code") or {}
        commit = (code.get("commit") or "not recorded")[:12] + (" (dirty)" if code.get("dirty") else "")
        lines.append(f"| {name}: {r['model']} | `{r['path']}` | {commit} | {(r.get('data_sha256') or 'not recorded')[:16]} "
                     f"| {r['best_epoch']} | {fmt(r['metrics']['stance']['macro_f1'])} | "
                     f"{fmt(r['metrics']['sovereignty']['f1'])} | {_sides(r.get('side_errors'))} |")
    lines += ["", f"Candidate minus reference, paired over the same articles: stance macro-F1 "
              f"{fmt_signed(d['stance_macro_f1'])}, sovereignty F1 {fmt_signed(d['sovereignty_f1'])}. "
              + _read_intervals(d, report["split"]), "",
              f"Same label from both models: stance class {m['stance_same']:.1%} of articles (Cohen's kappa "
              f"{m['stance_kappa']:.3f}), sovereignty {m['sovereignty_same']:.1%} (kappa {m['sovereignty_kappa']:.3f})."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("reference", nargs="?")
    p.add_argument("candidate", nargs="?")
    p.add_argument("--split", default="dev", choices=["dev", "test"])
    p.add_argument("--corpus", default=None)
    p.add_argument("--out", default=str(RESULTS / "reproduction"))
    p.add_argument("--render", metavar="JSON", help="only write the .md of an earlier report's .json again, "
                   "beside it (nothing is scored); reference and candidate are not needed")
    a = p.parse_args(argv)
    if a.render:
        report = json.loads(Path(a.render).read_text())
        Path(a.render).with_suffix(".md").write_text(markdown(report))
        return
    if not a.candidate:
        p.error("give a reference and a candidate model, or --render JSON")
    report = reproduction(a.reference, a.candidate, a.split, a.corpus)
    if a.out != p.get_default("out"):
        report["command"] += f" --out {a.out}"
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
