"""Output files that survive kill -9: rows are appended in whole-row chunks,
flushed and fsynced, and a resumed run first repairs a torn last row.

JSON lines and CSV are written in place. Parquet cannot be appended safely, so
rows stream to OUTPUT.partial.jsonl and become OUTPUT when the run completes.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


def _fsync(f) -> None:
    f.flush()
    try:
        os.fsync(f.fileno())
    except (OSError, io.UnsupportedOperation):
        pass  # stdout or a pipe


def _json_default(o):
    if hasattr(o, "isoformat"):
        return o.isoformat()
    if hasattr(o, "item"):
        return o.item()
    return str(o)


class JsonlSink:
    def __init__(self, path: Path | None):
        self.path = path
        self.f = open(path, "a", encoding="utf-8") if path else sys.stdout

    def write(self, rows: list[dict]) -> None:
        self.f.write("".join(json.dumps(r, ensure_ascii=False, default=_json_default) + "\n" for r in rows))
        _fsync(self.f)

    def close(self) -> None:
        if self.path:
            self.f.close()
        else:
            self.f.flush()


class CsvSink:
    def __init__(self, path: Path, delimiter: str = ","):
        self.path, self.delimiter = path, delimiter
        self.columns = None
        self.warned: set = set()
        if path.exists() and path.stat().st_size:
            with open(path, newline="", encoding="utf-8") as f:
                self.columns = next(csv.reader(f, delimiter=delimiter))
        self.f = open(path, "a", newline="", encoding="utf-8")

    def write(self, rows: list[dict]) -> None:
        buf = io.StringIO()
        if self.columns is None:
            # a CSV header is fixed once written: the fields of the first rows written
            self.columns = list(dict.fromkeys(k for r in rows for k in r))
            csv.writer(buf, delimiter=self.delimiter).writerow(self.columns)
        late = {k for r in rows for k in r} - set(self.columns) - self.warned
        if late:
            self.warned |= late
            print(f"warning: fields first seen after the CSV header was written are not in {self.path}: "
                  f"{', '.join(sorted(late))} (JSON lines and Parquet outputs keep every field)", file=sys.stderr)
        w = csv.DictWriter(buf, fieldnames=self.columns, delimiter=self.delimiter, extrasaction="ignore")
        for r in rows:
            w.writerow({k: _cell(v) for k, v in r.items()})
        self.f.write(buf.getvalue())
        _fsync(self.f)

    def close(self) -> None:
        self.f.close()


def _cell(v):
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False, default=_json_default)
    return v


def output_format(path: str | None) -> str:
    if not path or path == "-":
        return "jsonl"
    ext = Path(path).suffix.lower()
    formats = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv", ".parquet": "parquet"}
    if ext not in formats:
        raise ValueError(f"{path}: unknown output format {ext!r}; use .jsonl, .csv, .tsv or .parquet")
    return formats[ext]


def stream_path(path: str) -> Path:
    """The file rows are appended to while the run goes on."""
    return Path(path + ".partial.jsonl") if output_format(path) == "parquet" else Path(path)


@dataclass
class Finished:
    """What a resumed run finds in OUTPUT: finished rows per id, and the settings their scores
    came from, which the run must share (one model, precision and evidence method per file)."""
    done: Counter = field(default_factory=Counter)
    models: set = field(default_factory=set)
    evidence_methods: set = field(default_factory=set)
    unrecorded_method: int = 0  # ok rows written before the evidence_method column existed

    def add(self, row_id: str, status, model, method) -> None:
        self.done[row_id] += 1
        if model:
            self.models.add(str(model))
        if status == "ok":
            if method:
                self.evidence_methods.add(str(method))
            else:
                self.unrecorded_method += 1


def repair_and_count(path: Path, fmt: str) -> Finished:
    """Drop a torn last row (left by a kill mid-write), then read the finished rows, in one
    pass over the file."""
    if not path.exists():
        return Finished()
    if fmt in ("csv", "tsv"):
        return _repair_csv(path, "," if fmt == "csv" else "\t")
    with open(path, "rb+") as f:
        data = f.read()
        good = data.rfind(b"\n") + 1
        if good < len(data):
            f.truncate(good)
    found = Finished()
    for line in data[:good].split(b"\n")[:-1]:
        try:
            row = json.loads(line)
            found.add(str(row["id"]), row.get("status"), row.get("model"), row.get("evidence_method"))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
            raise ValueError(f"{path} holds a row that is not from oped score; refusing to resume into it") from None
    return found


def keep_rows_below(path: Path, n_rows: int) -> None:
    """Per-window output on resume: keep whole lines whose input row is below n_rows
    (the rows the main output already holds); drop a torn tail and anything later."""
    if not path.exists():
        return
    kept = []
    for line in path.read_bytes().split(b"\n"):
        try:
            if json.loads(line)["row"] < n_rows:
                kept.append(line + b"\n")
        except (ValueError, KeyError, TypeError):
            continue  # a torn last line
    path.write_bytes(b"".join(kept))


def _last_row_end(data: bytes) -> int:
    """Where the last whole CSV row ends: after the last newline outside quotes. A newline
    inside a quoted cell (a multi-line field) has an odd number of quote bytes before it,
    since the writer quotes such cells and doubles the quotes inside them. One pass, line by
    line. Cutting in bytes, a kill inside a multi-byte character cannot break decoding either."""
    end = pos = odd = 0
    for line in data.split(b"\n")[:-1]:  # each piece here was followed by a newline
        pos += len(line) + 1
        odd ^= line.count(b'"') & 1
        if not odd:
            end = pos
    return end


def _repair_csv(path: Path, delimiter: str) -> Finished:
    found = Finished()
    data = path.read_bytes()
    cut = _last_row_end(data)
    torn = list(csv.reader(io.StringIO(data[cut:].decode("utf-8", "replace")), delimiter=delimiter))
    if len(torn) > 1:
        # a kill tears one row at most: more means a quote this writer would not leave (another
        # tool's file, or a damaged one), and cutting there would drop finished rows
        raise ValueError(f"{path}: its last {len(torn)} rows do not end where oped score's rows end (an unmatched "
                         "quote?); refusing to resume into it, so that no row is dropped")
    rows = list(csv.reader(io.StringIO(data[:cut].decode("utf-8", "replace")), delimiter=delimiter))
    if not rows:
        path.write_bytes(b"")
        return found
    header, complete = rows[0], rows[1:]
    short = sum(len(r) != len(header) for r in complete)
    if short:  # rows are written whole: one of another length is not from this writer
        raise ValueError(f"{path}: {short} rows have another number of cells than its header; refusing to "
                         "resume into it, so that no row is dropped")
    if cut < len(data):  # torn: the complete rows, whole or not at all (a kill here loses nothing)
        tmp = path.with_name(path.name + ".repair")
        with open(tmp, "wb") as f:
            f.write(data[:cut])
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    at = [header.index(c) if c in header else None for c in ("status", "model", "evidence_method")]
    for r in complete:
        found.add(r[0], *(r[k] if k is not None else None for k in at))
    return found


def open_sink(path: str | None):
    fmt = output_format(path)
    if fmt in ("csv", "tsv"):
        return CsvSink(Path(path), "," if fmt == "csv" else "\t")
    return JsonlSink(stream_path(path) if path and path != "-" else None)


def reopen_parquet(path: str) -> None:
    """A finished Parquet output back into its partial stream, so that a resume appends to
    its rows; the Parquet file stays until the run completes and rewrites it."""
    import pandas as pd

    part = stream_path(path)
    tmp = part.with_name(part.name + ".tmp")
    pd.read_parquet(path).to_json(tmp, orient="records", lines=True, force_ascii=False)
    os.replace(tmp, part)  # whole or absent: a kill here leaves the finished file as it was


def finish(path: str | None) -> None:
    """Parquet: turn the completed partial stream into the final file."""
    if not path or output_format(path) != "parquet":
        return
    import pandas as pd

    part = stream_path(path)
    frame = pd.read_json(part, lines=True, dtype=False) if part.stat().st_size else pd.DataFrame()
    frame.to_parquet(path, index=False)
    part.unlink()
