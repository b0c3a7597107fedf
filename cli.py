"""The `oped` command: a thin layer over model/, training/ and eval/."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

app = typer.Typer(help="Score op-eds and news on hawkish/dovish stance and sovereignty framing "
                       "(codebook: docs/codebook.md).", no_args_is_help=True, add_completion=False)
data_app = typer.Typer(help="The project's labelled data.", no_args_is_help=True)
app.add_typer(data_app, name="data")


def _fail(message: str, code: int = 2):
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@data_app.command("stats")
def data_stats(corpus: Optional[str] = typer.Option(None, help="corpus JSONL the labels refer to "
                                                               "[default: ../shared/corpora/allsides_foreign_policy.jsonl]"),
               as_json: bool = typer.Option(False, "--json", help="print one JSON object")):
    """Counts, label balance, reliability and join health of the labelled data.

    Example: oped data stats --json --corpus ../shared/corpora/allsides_foreign_policy.jsonl
    """
    from training.data import DataError
    from training.stats import data_stats as compute

    try:
        stats = compute(corpus)
    except DataError as e:
        _fail(str(e))
    if as_json:
        typer.echo(json.dumps(stats, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title="oped-stance labelled data")
    t.add_column("what")
    t.add_column("value", justify="right")
    a = stats["articles"]
    t.add_row("articles (train/dev/test)", f"{a['total']} ({a['train']}/{a['dev']}/{a['test']})")
    for k, v in stats["article_labels"].items():
        if not isinstance(v, dict):
            t.add_row(f"  {k}", str(v))
    t.add_row("paragraphs (real)", str(stats["paragraphs"]))
    t.add_row("synthetic texts (training only)", str(stats["synthetic_texts"]))
    t.add_row("double-coded articles", str(stats["double_coded_articles"]))
    for k, v in stats["alpha"].items():
        t.add_row(f"  Krippendorff's alpha, {k}", f"{v:.3f}")
    for k, v in stats["paragraph_alpha"].items():
        t.add_row(f"  paragraphs (round 5), alpha, {k}", f"{v:.3f}")
    t.add_row("labels not matching the corpus", str(stats["unmatched_labels"]))
    Console().print(t)


@data_app.command("export")
def data_export(split: str = typer.Option("test", help="train, dev or test"),
                corpus: Optional[str] = typer.Option(None, help="corpus JSONL the labels refer to"),
                output: str = typer.Option(..., "-o", "--output", help="JSONL to write (id, text, codes); keep it "
                                                                         "outside the repository: it holds corpus text")):
    """Write one split's labelled articles with their text, e.g. as GOLD for `oped eval`.

    Example: oped data export --split test -o /tmp/test.jsonl && oped score /tmp/test.jsonl -o /tmp/pred.jsonl
    """
    from training.data import SPLITS, DataError, load_labelled

    if split not in SPLITS:
        _fail(f"--split takes one of {', '.join(SPLITS)}")
    try:
        rows = list(load_labelled(corpus, synthetic=None).articles[split])
    except DataError as e:
        _fail(str(e))
    keep = ("id", "text", "stance", "sovereignty", "sovereignty_salience", "sovereignty_whose", "fp_relevant")
    with open(output, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps({k: r[k] for k in keep}, ensure_ascii=False) + "\n")
    typer.echo(f"wrote {len(rows)} {split} articles to {output}")


@data_app.command("fetch")
def data_fetch(out: str = typer.Option("data/corpus/allsides_foreign_policy.jsonl", help="where to write the corpus"),
               source: str = typer.Option(None, help="source zip URL or local path [default: GitHub archive]")):
    """Download the public AllSides dataset (ramybaly/Article-Bias-Prediction) and write the
    foreign-policy corpus the labels refer to. Needs network.

    Example: oped data fetch --out corpus/allsides_foreign_policy.jsonl
    """
    from training.fetch import SOURCE_ZIP, fetch_corpus

    try:
        n = fetch_corpus(out, source or SOURCE_ZIP)
    except (RuntimeError, OSError, ValueError) as e:
        _fail(str(e))
    typer.echo(f"wrote {n} articles to {out}")


@app.command()
def train(config: str = typer.Option("training/configs/default.toml", help="TOML training config"),
          set_: Optional[List[str]] = typer.Option(None, "--set", help="override a config key: key=value (repeatable)")):
    """Fine-tune a model; selects the best epoch on the dev split and saves it.

    Example: oped train --config training/configs/default.toml --set epochs=3 --set output_dir=runs/try
    """
    from training.arguments import ConfigError, load_arguments
    from training.data import DataError

    try:
        args = load_arguments(config, set_ or [])
        from training.run import train_and_report

        train_and_report(args)
    except (ConfigError, DataError, FileNotFoundError) as e:
        _fail(str(e))


@app.command()
def distill(config: str = typer.Option("training/configs/fast.toml", help="TOML config with teacher, encoder_layers "
                                                                         "and distill_* keys"),
            teacher: Optional[str] = typer.Option(None, help="teacher model directory [default: the config's]"),
            layers: Optional[int] = typer.Option(None, help="keep the base encoder's first N layers"),
            set_: Optional[List[str]] = typer.Option(None, "--set", help="override a config key: key=value")):
    """Distil a smaller, faster student from a trained model (soft targets on labelled and unlabelled text).

    Example: oped distill --teacher runs/my-model --layers 3 --set output_dir=runs/my-fast
    """
    extra = list(set_ or []) + ([f"teacher={teacher}"] if teacher else []) + ([f"encoder_layers={layers}"] if layers else [])
    train(config=config, set_=extra)


@app.command()
def average(members: List[str] = typer.Argument(..., help="model directories: runs of one recipe that differ in their seed"),
            out: str = typer.Option(..., "--out", help="directory for the averaged model"),
            card: bool = typer.Option(True, "--card/--no-card", help="evaluate on dev and test and write the model card")):
    """Average the weights of several LoRA runs of one recipe into one model of the same size and speed.

    Example: oped average runs/s13 runs/s14 runs/s15 --out runs/average
    """
    from training.soup import SoupError, average_and_report

    try:
        average_and_report(list(members), out, card=card, log=typer.echo)
    except SoupError as e:  # says why: members that cannot be averaged or read, or a failed evaluation after the save
        _fail(str(e))


@app.command()
def score(input: str = typer.Argument(..., help="corpus: .jsonl/.json/.csv/.tsv/.parquet (optionally .gz), "
                                                 "a folder of .txt files, or - for JSON lines on stdin"),
          output: Optional[str] = typer.Option(None, "-o", "--output", help=".jsonl, .csv, .tsv or .parquet; "
                                                                             "stdout JSON lines when omitted"),
          model: str = typer.Option("default", help="'default' (bundled), 'fast' (bundled 3-layer student, "
                                                       "about 1.7-1.9x the default's speed on 2-core CPUs, similar "
                                                       "dev figures, weaker test stance: model/fast/README.md)"
                                                       ", or a model directory"),
          text_field: str = typer.Option("text", help="field holding the article text"),
          id_field: str = typer.Option("id", help="field holding the article id"),
          title_field: Optional[str] = typer.Option(None, help="field with a title to read before the text"),
          delimiter: Optional[str] = typer.Option(None, help="CSV cell separator where it is not the extension's "
                                                  "(, for .csv, tab for .tsv): ';' for a spreadsheet saved under a "
                                                  "European locale; '\\t' for a tab"),
          encoding: Optional[str] = typer.Option(None, help="the input's text encoding where it is not UTF-8, "
                                                 "e.g. cp1252 (UTF-16 and UTF-32 with a byte-order mark are "
                                                 "found without it; when given, it is used even where a file "
                                                 "has a mark); not for Parquet, which is UTF-8"),
          batch_size: int = typer.Option(32, min=1, help="windows per encoder batch"),
          device: str = typer.Option("auto", help="auto, cpu or cuda"),
          dtype: str = typer.Option("auto", help="auto (bf16 where supported), bf16 or fp32"),
          compile: bool = typer.Option(False, "--compile", help="torch.compile the encoder: whole runs of 6,000 "
                                       "articles 1.16-1.35x faster on an AMX CPU, compilation (~30 s) included, "
                                       "no gain on an AMD EPYC; for runs of thousands of articles (docs/scaling.md)"),
          evidence: bool = typer.Option(True, "--evidence/--no-evidence", help="find each article's evidence "
                                        "sentences; --no-evidence leaves those columns empty (faster only with "
                                        "--evidence-method standalone: eval/results/bench_score_amx_session8.md)"),
          evidence_method: str = typer.Option("in-context", help="in-context: the sentence the window's own "
                                              "encoding rests on most (no second pass); standalone: each "
                                              "sentence encoded again alone, slower "
                                              "(eval/results/evidence_methods.md)"),
          paragraphs: Optional[str] = typer.Option(None, "--paragraphs", help="also write per-window scores to this file"),
          resume: bool = typer.Option(False, help="continue an interrupted run: skip rows already in OUTPUT "
                                      "(--engine ray always does: a re-run keeps the finished shards)"),
          overwrite: bool = typer.Option(False, "--overwrite", help="replace OUTPUT (and the --paragraphs file) "
                                         "if it exists; without it an existing output is refused"),
          limit: Optional[int] = typer.Option(None, help="score only the first N rows"),
          drop_fields: bool = typer.Option(False, help="do not copy the input's other fields to the output"),
          quiet: bool = typer.Option(False, "-q", "--quiet", help="no progress bar or summary"),
          engine: str = typer.Option("local", help="local, or ray (a Ray cluster; OUTPUT is then a folder of shards)"),
          address: Optional[str] = typer.Option(None, help="ray: cluster address ('auto', 'ray://host:10001'); "
                                                            "a local cluster when omitted"),
          num_workers: int = typer.Option(2, help="ray: scoring actors (each loads the model once)"),
          gpus_per_worker: float = typer.Option(0.0, help="ray: GPUs per actor"),
          shard_format: str = typer.Option("jsonl", help="ray: shard files as jsonl or parquet"),
          shard_mb: float = typer.Option(8.0, help="ray: megabytes of JSON lines per shard (smaller: more "
                                                   "parallelism on small inputs, more files)")):
    """Score every article of a corpus: one output row per input row, in input order.

    Example: oped score examples/articles.jsonl -o scores.csv
    """
    from model import load_model
    from model.pipeline import score_corpus
    from model.readers import InputError

    if device not in ("auto", "cpu", "cuda") or dtype not in ("auto", "bf16", "fp32"):
        _fail("--device takes auto, cpu or cuda; --dtype takes auto, bf16 or fp32")
    if engine == "ray":
        from model.ray_engine import score_with_ray

        if not output or Path(output).suffix:
            _fail("--engine ray writes a folder of shards: give -o FOLDER")
        if shard_format not in ("jsonl", "parquet"):
            _fail("--shard-format takes jsonl or parquet")
        local_only = [name for name, given in (("--limit", limit is not None), ("--paragraphs", paragraphs),
                                               ("--overwrite", overwrite), ("--delimiter", delimiter),
                                               ("--encoding", encoding)) if given]
        if local_only:  # refused rather than ignored: a run would silently do other than asked
            _fail(f"{' and '.join(local_only)}: not supported by --engine ray (run locally, or without them)"
                  + ("; a Ray re-run into the same folder always continues from its finished shards"
                     if overwrite else ""))
        try:
            r = score_with_ray(input, output, address, num_workers, gpus_per_worker, int(shard_mb * 2**20),
                               model=model, device=device,
                               dtype=dtype, batch_size=batch_size, compile=compile, text_field=text_field,
                               id_field=id_field,
                               title_field=title_field, drop_fields=drop_fields, shard_format=shard_format,
                               evidence=evidence, evidence_method=evidence_method)
        except (InputError, FileNotFoundError, ValueError, RuntimeError) as e:
            _fail(str(e))
        if not quiet:
            typer.echo(f"{r['rows']} rows scored ({r['ok']} ok, {r['errors']} error) in {r['shards']} shards "
                       f"({r['skipped_shards']} already done) -> {output}", err=True)
        return
    if engine != "local":
        _fail("--engine takes local or ray")
    try:
        scorer = load_model(model, device=device, dtype=dtype, batch_size=batch_size, compile=compile,
                            evidence_method=evidence_method)
        summary = score_corpus(input, output, scorer, text_field=text_field, id_field=id_field,
                               title_field=title_field, resume=resume, limit=limit, drop_fields=drop_fields,
                               paragraphs_path=paragraphs, progress=None if not quiet else False,
                               evidence=evidence, overwrite=overwrite, delimiter=delimiter,
                               encoding=encoding)
    except (InputError, FileNotFoundError, FileExistsError, ValueError, RuntimeError) as e:
        _fail(str(e))
    except (OSError, EOFError, csv.Error) as e:  # mid-run: a truncated .gz, a full disk, a bad CSV record
        _fail(f"stopped: {type(e).__name__}: {e}. The rows written so far are kept; fix the cause and re-run "
              "with --resume to continue")
    if not quiet:
        typer.echo(summary.line(), err=True)
    if summary.input_error:  # every row before it is written; the last row says where the input broke off
        _fail(summary.input_error, code=3)


@app.command("eval")
def evaluate(gold: Optional[str] = typer.Option(None, help="hand-coded file (.jsonl/.csv/.tsv/.parquet): id and any of stance, "
                                                "stance_intensity, sovereignty, sovereignty_salience (and text for --model)"),
             pred: Optional[str] = typer.Option(None, help="an `oped score` output to evaluate"),
             model: Optional[str] = typer.Option(None, help="score GOLD's text with this model instead of --pred"),
             out: str = typer.Option("eval_out", help="folder for report.md, metrics.json and plots"),
             baselines: bool = typer.Option(False, "--baselines", help="instead: compare the model with lexicon, "
                                            "TF-IDF and zero-shot baselines on the project's test split"),
             corpus: Optional[str] = typer.Option(None, help="with --baselines: the corpus the labels refer to"),
             stance_field: Optional[str] = typer.Option(None, help="GOLD column holding the stance class, when it "
                                                                   "is not 'stance' (e.g. label)")):
    """Validity against hand coding: F1, kappa, alpha, Spearman, AUC, calibration, with 95% CIs.

    Example: oped eval --gold my_coding.csv --pred scores.csv --out eval_out
    """
    from eval.evaluate import evaluate as run
    from eval.gold import EvalInputError

    if baselines:
        from eval.compare import compare, markdown
        from training.data import DataError

        try:
            typer.echo(markdown(compare(corpus, model or "default")))
        except (DataError, FileNotFoundError) as e:
            _fail(str(e))
        return
    if not gold:
        _fail("--gold is required (or --baselines)")
    if pred and model:
        _fail("give --pred or --model, not both")
    try:
        metrics = run(gold, pred, model, out, stance_field=stance_field)
    except (EvalInputError, FileNotFoundError) as e:
        _fail(str(e))
    st, sv = metrics.get("stance"), metrics.get("sovereignty")
    if st:
        typer.echo(f"stance: macro-F1 {st['macro_f1']['value']:.3f}, kappa {st['cohen_kappa']['value']:.3f}")
    if sv:
        typer.echo(f"sovereignty: F1 {sv['f1']['value']:.3f}, kappa {sv['cohen_kappa']['value']:.3f}")
    typer.echo(f"report: {out}/report.md")


@app.command()
def agreement(a: str = typer.Argument(..., help="first coder's file (id + codes)"),
              b: str = typer.Argument(..., help="second coder's file (id + codes)"),
              as_json: bool = typer.Option(False, "--json", help="print JSON")):
    """Inter-coder reliability of two coders' files: alpha, kappa, agreement, confusion.

    Example: oped agreement coder_a.csv coder_b.csv
    """
    from eval.coder_agreement import coder_agreement, format_agreement
    from eval.gold import EvalInputError

    try:
        r = coder_agreement(a, b)
    except EvalInputError as e:
        _fail(str(e))
    typer.echo(json.dumps(r, indent=2) if as_json else format_agreement(r))


@app.command()
def report(scores: str = typer.Argument(..., help="an `oped score` output (.jsonl/.csv/.parquet)"),
           by: Optional[List[str]] = typer.Option(None, "--by", help="group by a field, or FIELD:month|year|week "
                                                                   "for dates (repeatable)"),
           meta: Optional[str] = typer.Option(None, help="the scored input, to join fields by id when the scores "
                                                         "were made with --drop-fields"),
           out: str = typer.Option("report", help="folder for report.html, CSVs and PNGs")):
    """Aggregate a scored corpus by outlet, period or any field: tables with CIs, plots, one HTML file.

    Example: oped report scores.csv --by outlet --by date:month --out report
    """
    from eval.corpus_report import write_report
    from eval.gold import EvalInputError

    try:
        path = write_report(scores, list(by or ["outlet"]), out, meta)
    except EvalInputError as e:
        _fail(str(e))
    typer.echo(f"report: {path}")


@app.command()
def sample(scores: str = typer.Argument(..., help="an `oped score` output"),
           n: int = typer.Option(200, "-n", help="articles to pick"),
           strategy: str = typer.Option("uncertainty", help="uncertainty | diverse | stratified"),
           by: str = typer.Option("outlet", help="field to spread a 'diverse' sample over"),
           meta: Optional[str] = typer.Option(None, help="the scored input, to include text and titles"),
           output: str = typer.Option("batch.csv", "-o", "--output", help="CSV to write (Label Studio files beside it)")):
    """Pick the articles whose hand coding would most improve the model, as a coding batch.

    Example: oped sample scores.csv -n 200 --strategy diverse --meta corpus.jsonl -o batch.csv
    """
    from eval.gold import EvalInputError
    from training.annotation.active import export, pick
    from eval.corpus_report import load_scores

    try:
        files = export(pick(load_scores(scores), n, strategy, by), output, meta)
    except EvalInputError as e:
        _fail(str(e))
    typer.echo("wrote " + ", ".join(map(str, files)))


@app.command("import-labels")
def import_labels(file: str = typer.Argument(..., help="coded CSV/TSV, or a Label Studio JSON export"),
                  output: str = typer.Option("labels.jsonl", "-o", "--output", help="JSON lines of valid labels")):
    """Bring hand codes back, validated against the codebook; each bad row is named with its reason.

    Example: oped import-labels batch_coded.csv -o my_labels.jsonl
    """
    from eval.gold import EvalInputError
    from training.annotation.label_import import import_labels as run

    try:
        n_good, errors = run(file, output)
    except EvalInputError as e:
        _fail(str(e))
    for line in errors:
        typer.echo(f"error: {line}", err=True)
    typer.echo(f"{n_good} labels written to {output}; {len(errors)} rows rejected")
    if errors:
        raise typer.Exit(1)


bench_app = typer.Typer(help="Published benchmarks, run through the project's own train and eval.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("fomc")
def bench_fomc(seed: int = typer.Option(5768, help="the paper's seed split: 5768, 78516 or 944601"),
               base_model: Optional[str] = typer.Option(None, help="encoder: HF id or path [default: packaged MiniLM]"),
               out: str = typer.Option("runs/fomc", help="folder for the model and metrics.json"),
               data_dir: Optional[str] = typer.Option(None, help="folder with combined-{train,test}-SEED.jsonl "
                                                                  "[default: ../shared/benchmarks/fomc]"),
               set_: Optional[List[str]] = typer.Option(None, "--set", help="override a training key: key=value")):
    """Train and test on the FOMC hawkish/dovish benchmark (Shah et al., ACL 2023) for one seed split.

    Example: oped bench fomc --seed 5768 --out runs/fomc-5768
    """
    from eval.fomc import FOMC_DIR, run_fomc
    from training.arguments import ConfigError
    from training.data import DataError

    overrides = list(set_ or []) + ([f"base_model={base_model}"] if base_model else [])
    try:
        m = run_fomc(seed, f"{out}", data_dir or FOMC_DIR, overrides)
    except (ConfigError, DataError, FileNotFoundError) as e:
        _fail(str(e))
    typer.echo(f"FOMC seed {seed}: weighted F1 {m['weighted_f1']:.3f}, macro-F1 {m['macro_f1']:.3f}, "
               f"accuracy {m['accuracy']:.3f} ({m['seconds']:.0f}s) -> {out}/metrics.json")


def main():  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
