"""The `oped` command: a thin layer over model/, training/ and eval/."""

from __future__ import annotations

import json
import sys
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
    t.add_row("synthetic paragraphs", str(stats["synthetic_paragraphs"]))
    t.add_row("double-coded articles", str(stats["double_coded_articles"]))
    for k, v in stats["alpha"].items():
        t.add_row(f"  Krippendorff's alpha, {k}", f"{v:.3f}")
    t.add_row("labels not matching the corpus", str(stats["unmatched_labels"]))
    Console().print(t)


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
def score(input: str = typer.Argument(..., help="corpus: .jsonl/.json/.csv/.tsv/.parquet (optionally .gz), "
                                                 "a folder of .txt files, or - for JSON lines on stdin"),
          output: Optional[str] = typer.Option(None, "-o", "--output", help=".jsonl, .csv, .tsv or .parquet; "
                                                                             "stdout JSON lines when omitted"),
          model: str = typer.Option("default", help="'default', 'fast', or a model directory"),
          text_field: str = typer.Option("text", help="field holding the article text"),
          id_field: str = typer.Option("id", help="field holding the article id"),
          title_field: Optional[str] = typer.Option(None, help="field with a title to read before the text"),
          batch_size: int = typer.Option(32, help="windows per encoder batch"),
          device: str = typer.Option("auto", help="auto, cpu or cuda"),
          dtype: str = typer.Option("auto", help="auto (bf16 where supported), bf16 or fp32"),
          paragraphs: Optional[str] = typer.Option(None, "--paragraphs", help="also write per-window scores to this file"),
          resume: bool = typer.Option(False, help="continue an interrupted run: skip rows already in OUTPUT"),
          limit: Optional[int] = typer.Option(None, help="score only the first N rows"),
          drop_fields: bool = typer.Option(False, help="do not copy the input's other fields to the output"),
          quiet: bool = typer.Option(False, "-q", "--quiet", help="no progress bar or summary")):
    """Score every article of a corpus: one output row per input row, in input order.

    Example: oped score examples/articles.jsonl -o scores.csv
    """
    from model import load_model
    from model.pipeline import score_corpus
    from model.readers import InputError

    if device not in ("auto", "cpu", "cuda") or dtype not in ("auto", "bf16", "fp32"):
        _fail("--device takes auto, cpu or cuda; --dtype takes auto, bf16 or fp32")
    try:
        scorer = load_model(model, device=device, dtype=dtype, batch_size=batch_size)
        summary = score_corpus(input, output, scorer, text_field=text_field, id_field=id_field,
                               title_field=title_field, resume=resume, limit=limit, drop_fields=drop_fields,
                               paragraphs_path=paragraphs, progress=None if not quiet else False)
    except (InputError, FileNotFoundError, FileExistsError, ValueError, RuntimeError) as e:
        _fail(str(e))
    if not quiet:
        typer.echo(summary.line(), err=True)


def main():  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
