"""Streaming batch scoring of a corpus: `score_corpus` (and `oped score`).

Rows are read lazily, cut into windows (in a background thread while the encoder
works on the previous group, when a core is free for it: see `prefetch_helps`), scored in groups with
length-sorted batches across documents, and written in input order in flushed
whole-row chunks. Memory depends on the group size, not the corpus size.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from model.readers import Record, checked_encoding, count_rows, input_notes, read_records
from model.writers import (OWN_COLUMNS, finish, keep_rows_below, open_sink, output_format, reopen_parquet, repair_and_count,
                           stream_path)

GROUP_WINDOWS = 256  # windows scored together: enough to sort by length, small enough for bounded memory
_ENGLISH = set("the of and to a in is that for it on was with as by be are this from at have not".split())


def english_warning(text: str) -> str:
    head = text[:5000]
    letters = [c for c in head if c.isalpha()]
    # scripts written without spaces (Chinese, Japanese) give few "words": count their letters
    if len(letters) >= 50 and sum(ord(c) > 0x24F for c in letters) > 0.5 * len(letters):
        return "text may not be English (mostly letters outside the Latin script); scored anyway, read with care"
    words = re.findall(r"[^\W\d_]+", head.lower())
    if len(words) >= 20 and sum(w in _ENGLISH for w in words) < 0.08 * len(words):
        return "text may not be English (few English function words); scored anyway, read with care"
    return ""


@dataclass
class Summary:
    rows: int = 0
    ok: int = 0
    errors: int = 0
    skipped: int = 0  # already complete in OUTPUT (--resume)
    tokens: int = 0
    seconds: float = 0.0
    input_error: str = ""  # the input broke off before its end (its last row says where)

    def line(self) -> str:
        rate = self.rows / self.seconds if self.seconds else 0.0
        return (f"{self.rows} rows scored ({self.ok} ok, {self.errors} error) in {self.seconds:.1f}s, "
                f"{rate:.1f} docs/s, {self.tokens / max(self.seconds, 1e-9):,.0f} tokens/s"
                + (f"; {self.skipped} already done (resume)" if self.skipped else ""))


def error_row(rec: Record, columns: list[str], model_id: str) -> dict:
    row = {c: None for c in columns}
    row.update(id=rec.id, status="error", error=rec.error, model=model_id)
    return row


def check_resumable(target, found, model_id: str, evidence_method: str) -> None:
    """A resumed run adds rows like the ones there: same model and precision, same evidence
    method (or none); rows from before the evidence_method column get a warning."""
    others = found.models - {model_id}
    if others:
        raise ValueError(f"{target} holds rows scored by {', '.join(sorted(others))}, not by this run's "
                         f"{model_id}: resume with that model and precision (--model, --dtype "
                         "bf16|fp32), or write to a new -o")
    others = found.evidence_methods - {evidence_method}
    if others:
        theirs = sorted(others)[0]
        hint = ("--no-evidence" if theirs == "none" else f"--evidence-method {theirs}"
                + (" and without --no-evidence" if evidence_method == "none" else ""))
        raise ValueError(f"{target} holds rows whose evidence method is {', '.join(sorted(others))}, not this "
                         f"run's {evidence_method}: resume with {hint}, or write to a new -o")
    if found.unrecorded_method:
        print(f"warning: {found.unrecorded_method} rows of {target} were written before oped score recorded "
              "the evidence method (evidence_method column): whether this run's evidence matches theirs "
              "cannot be checked (a CSV keeps the header it began with, so its new rows lack the column too)",
              file=sys.stderr)


def prefetch_helps(scorer) -> bool:
    """Whether to cut the next group into windows in a background thread. On a GPU the
    CPU is idle while the encoder runs; on a CPU only when a core is left over by torch's
    threads: where torch uses every core, a tokenizing thread makes the encoder's threads
    wait on each other, and switching it off measured 1.05x faster on a 2-core AMX CPU
    and 1.10x on a 2-core AMD EPYC (eval/results/perf*.md)."""
    import torch

    if scorer.device.type != "cpu":
        return True
    return _usable_cores() > torch.get_num_threads()


def _usable_cores() -> int:
    """Cores this process may run on (its affinity mask where the OS has one, as under
    taskset or a container's cpuset), not all the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _groups(records, scorer, limit: int | None, skip: Counter, summary: Summary):
    """Records in groups of about GROUP_WINDOWS windows, each record paired with its
    prepared windows (None for error rows and rows done by an earlier run)."""
    seen: Counter = Counter()
    group, windows = [], 0
    for n, rec in enumerate(records):
        if limit is not None and n >= limit:
            break
        seen[rec.id] += 1
        if rec.ends_input:
            summary.input_error = rec.error
        if seen[rec.id] > 1:
            rec.warnings.append(f"duplicate id {rec.id!r} (occurrence {seen[rec.id]}); scored again")
        if skip[rec.id] >= seen[rec.id]:
            summary.skipped += 1
            continue
        prepared = None
        if not rec.error:
            try:
                prepared = scorer.prepare(rec.text)
            except Exception as e:  # one unreadable text must not end the run
                rec.error = f"text could not be tokenized ({e.__class__.__name__}: {e})"
                prepared = None
            if prepared is not None and not prepared.chunks:
                rec.error = "text has no words to score"
                prepared = None
            else:
                warn = english_warning(rec.text)
                if warn:
                    rec.warnings.append(warn)
        group.append((rec, prepared))
        windows += len(prepared.chunks) if prepared else 0
        if windows >= GROUP_WINDOWS:
            yield group
            group, windows = [], 0
    if group:
        yield group


def score_corpus(input_path: str, output_path: str | None, scorer, text_field: str = "text",
                 id_field: str = "id", title_field: str | None = None, resume: bool = False,
                 limit: int | None = None, drop_fields: bool = False, paragraphs_path: str | None = None,
                 progress: bool | None = None, evidence: bool = True, overwrite: bool = False,
                 delimiter: str | None = None, encoding: str | None = None) -> Summary:
    """Score every row of INPUT into OUTPUT (stdout JSON lines when None); see `oped score --help`.
    delimiter: of a CSV input's cells, where it is not the extension's (, for .csv, tab for .tsv).
    encoding: of the input's text where it is not UTF-8 (UTF-16 and UTF-32 with a byte-order mark
    are found without it).
    overwrite=True replaces an OUTPUT (and paragraphs file) that exists, instead of refusing it.
    evidence=False leaves the evidence columns empty; it skips the sentence sums that in-context
    evidence reads (no measurable time: eval/results/bench_score.md), or the second encoder
    pass of scorer.evidence_method "standalone"."""
    started = time.time()
    fmt = output_format(output_path)
    if paragraphs_path:
        output_format(paragraphs_path)  # an unknown extension fails now, not after the run
    summary = Summary()
    skip: Counter = Counter()
    if resume and not (output_path and output_path != "-"):
        raise ValueError("--resume continues an output file: give it with -o")
    if resume and overwrite:
        raise ValueError("--resume continues OUTPUT and --overwrite replaces it: give one of them")
    check_output_paths(input_path, output_path, paragraphs_path)
    # raises before any file changes
    records = read_records(input_path, text_field, id_field, title_field, delimiter, encoding)
    if overwrite:
        for path in (output_path, paragraphs_path):
            if path and path != "-":
                for f in {Path(path), stream_path(path)}:
                    f.unlink(missing_ok=True)
    if resume and paragraphs_path and not _exists(output_path) and _exists(paragraphs_path):
        # its rows belong to a main output that is not there (a mistyped -o?): trimming them to
        # this empty output would delete them
        raise FileExistsError(f"{paragraphs_path} holds per-window rows but {output_path} does not exist; "
                              "resume with the -o that run wrote, or choose another --paragraphs")
    if output_path and output_path != "-":
        target = stream_path(output_path)
        reopened = _reopen_finished_parquet(output_path, resume, "-o", OWN_COLUMNS)
        if resume:
            try:
                found = repair_and_count(target, fmt)
                skip = found.done
                check_resumable(target, found, scorer.model_id, scorer.evidence_method if evidence else "none")
            except ValueError:
                if reopened:  # leave the finished file as it was, with no partial stream beside it
                    target.unlink()
                raise
        elif target.exists() and target.stat().st_size:
            raise FileExistsError(f"{target} exists; use --resume to continue it, --overwrite to replace it, or choose another -o")
    if paragraphs_path:
        part = stream_path(paragraphs_path)
        _reopen_finished_parquet(paragraphs_path, resume, "--paragraphs", {"id", "row"})
        if resume:
            # per-window rows carry their input row; keep those of rows the main output holds
            keep_rows_below(part, output_format(paragraphs_path), sum(skip.values()))
        elif part.exists() and part.stat().st_size:
            raise FileExistsError(f"{part} exists; use --resume to continue it, --overwrite to replace it, or choose another --paragraphs")
    for warning in [*input_notes(input_path), *scorer.load_warnings()]:
        print(f"warning: {warning}", file=sys.stderr)
    columns = scorer.output_columns()
    sink = open_sink(output_path)
    para_sink = open_sink(paragraphs_path) if paragraphs_path else None
    bar = _progress(progress, input_path, limit, checked_encoding(encoding))
    try:
        write_scores(records, sink, scorer, summary, columns, limit=limit, skip=skip, drop_fields=drop_fields,
                     para_sink=para_sink, bar=bar, evidence=evidence)
        if hasattr(sink, "write_header"):  # an input without rows still gives a CSV that tools can read
            sink.write_header(columns + ["warning"])
    finally:
        sink.close()
        if para_sink:
            para_sink.close()
        if bar is not None:
            bar.close()
    finish(output_path)
    if paragraphs_path:
        finish(paragraphs_path)
    summary.seconds = time.time() - started
    return summary


def check_output_paths(input_path: str, output_path: str | None, paragraphs_path: str | None) -> None:
    """Refuse outputs that would overwrite the input or each other, and folders that are not there,
    before any file is touched."""
    def where(path):
        return {Path(path).resolve(), stream_path(path).resolve()}

    if paragraphs_path == "-":
        raise ValueError("--paragraphs needs a file name: its rows cannot share stdout with the scores")
    outputs = [(o, p) for o, p in (("-o", output_path), ("--paragraphs", paragraphs_path)) if p and p != "-"]
    for option, path in outputs:
        if Path(path).is_dir():
            raise ValueError(f"{option} {path} is a folder; give a file name (.jsonl, .csv, .tsv or .parquet)")
        if not Path(path).resolve().parent.is_dir():
            raise ValueError(f"{option} {path}: the folder {Path(path).parent} does not exist")
        if input_path != "-" and Path(input_path).resolve() in where(path):
            raise ValueError(f"{option} {path} is the input file; write the scores to another file")
    if len(outputs) == 2 and where(outputs[0][1]) & where(outputs[1][1]):
        raise ValueError("-o and --paragraphs name the same file; give the per-window rows a file of their own")


def _exists(path: str) -> bool:
    """An output that a run has begun: the file, or a Parquet output's partial stream."""
    return Path(path).exists() or stream_path(path).exists()


def _reopen_finished_parquet(path: str, resume: bool, option: str, columns: set) -> bool:
    """A finished Parquet file is never overwritten: without --resume an error, with it the
    run continues after its rows (they go back into the partial stream), if it has the columns
    oped score writes there. True when reopened."""
    if output_format(path) != "parquet" or not Path(path).exists() or stream_path(path).exists():
        return False
    if not resume:
        raise FileExistsError(f"{path} exists; use --resume to continue it, --overwrite to replace it, or choose another {option}")
    import pyarrow.parquet as pq

    lacking = columns - set(pq.read_schema(path).names)
    if lacking:  # checked before copying its rows: another tool's file is left as it was, alone
        raise ValueError(f"{path} lacks {', '.join(sorted(lacking))}: not written by oped score; refusing to resume into it")
    reopen_parquet(path)
    return True


def write_scores(records, sink, scorer, summary: Summary, columns: list[str], limit: int | None = None,
                 skip: Counter | None = None, drop_fields: bool = False, para_sink=None, bar=None,
                 prefetch: bool | None = None, evidence: bool = True) -> None:
    """Score Records group by group into a sink; with prefetch the next group is cut into
    windows in a background thread while the current one encodes (None: where
    `prefetch_helps`)."""
    started = time.time()
    if prefetch is None:
        prefetch = prefetch_helps(scorer)
    with ThreadPoolExecutor(max_workers=1) as pool:
        groups = _groups(records, scorer, limit, skip or Counter(), summary)
        fetch = (lambda: pool.submit(next, groups, None)) if prefetch else (lambda: _Done(next(groups, None)))
        pending = fetch()
        while True:
            group = pending.result()
            if group is None:
                break
            pending = fetch()
            rows, para_rows = _score_group(group, scorer, columns, drop_fields, summary, para_sink is not None,
                                           evidence)
            if para_sink and para_rows:  # before the main rows: a resume trims window rows past the last done row
                para_sink.write(para_rows)
            sink.write(rows)
            if bar is not None:
                bar.update(len(rows))
                bar.set_postfix_str(f"{summary.tokens / max(time.time() - started, 1e-9):,.0f} tok/s")


class _Done:
    """A finished value with a Future's result() (prefetch off)."""

    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


def _score_group(group, scorer, columns, drop_fields, summary, want_chunks=False, evidence=True):
    docs = [p for _, p in group if p is not None]
    scores = iter(scorer.score_prepared(docs, evidence=evidence, chunks=want_chunks)) if docs else iter(())
    rows, para_rows = [], []
    for rec, prepared in group:
        if prepared is None:
            row = error_row(rec, columns, scorer.model_id)
            summary.errors += 1
        else:
            result = next(scores)
            row = {"id": rec.id, "status": "ok", "error": "", **result.values}
            summary.ok += 1
            summary.tokens += prepared.n_tokens
            para_rows += [{"id": rec.id, "row": rec.row, **c} for c in result.chunks]
        row["warning"] = "; ".join(rec.warnings)
        if not drop_fields:
            for k, v in rec.fields.items():
                row.setdefault(k if k not in row else f"input_{k}", v)
        rows.append(row)
        summary.rows += 1
    return rows, para_rows


def _progress(progress: bool | None, input_path: str, limit: int | None, encoding: str | None):
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    from tqdm.auto import tqdm

    total = count_rows(input_path, encoding)
    if limit is not None:
        total = min(total, limit) if total is not None else limit
    return tqdm(total=total, unit="doc", file=sys.stderr, mininterval=1.0)
