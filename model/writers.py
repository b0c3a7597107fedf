"""Output files that survive kill -9: rows are appended in whole-row chunks,
flushed and fsynced, and a resumed run first repairs a torn last row.

JSON lines and CSV are written in place. Parquet cannot be appended safely, so
rows stream to OUTPUT.partial.jsonl and become OUTPUT when the run completes.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from model.readers import INPUT_BREAKS_OFF, format_delimiter


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


def _finite(v):
    """NaN and infinities have no JSON spelling: null, which strict readers (jq, R's jsonlite) accept."""
    if type(v).__module__ == "numpy":
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


def json_line(row: dict) -> str:
    """One output row as a line of strict JSON."""
    try:
        return json.dumps(row, ensure_ascii=False, default=_json_default, allow_nan=False) + "\n"
    except ValueError:  # a NaN in a carried input field (pandas writes missing numbers so)
        return json.dumps(_finite(row), ensure_ascii=False, default=_json_default, allow_nan=False) + "\n"


class JsonlSink:
    def __init__(self, path: Path | None):
        self.path = path
        self.f = open(path, "a", encoding="utf-8") if path else sys.stdout

    def write(self, rows: list[dict]) -> None:
        self.f.write("".join(map(json_line, rows)))
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

    def write_header(self, columns: list[str]) -> None:
        """The header alone, where no row has written one yet."""
        if self.columns is None:
            self.columns = list(columns)
            csv.writer(self.f, delimiter=self.delimiter).writerow(self.columns)
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

    def uncount(self, row_id: str) -> None:
        """Take back one finished row of an id (the row that stood for an unread rest)."""
        self.done[row_id] -= 1
        if not self.done[row_id]:
            del self.done[row_id]

    def add(self, row_id: str, status, model, method) -> None:
        self.done[row_id] += 1
        if model:
            self.models.add(str(model))
        if status == "ok":
            if method:
                self.evidence_methods.add(str(method))
            else:
                self.unrecorded_method += 1


OWN_COLUMNS = {"id", "status", "model"}  # in every row oped score writes, ok or error


def repair_and_count(path: Path, fmt: str) -> Finished:
    """Read the finished rows, then drop a torn last row (left by a kill mid-write). One
    streaming pass: memory does not grow with the output. A file that holds rows this writer
    would not write is refused before anything in it changes."""
    if not path.exists():
        return Finished()
    if fmt in ("csv", "tsv"):
        return _repair_csv(path, format_delimiter(fmt))
    found = Finished()
    with open(path, "rb+") as f:
        good, broke = 0, None  # broke: (id, start) of a last row that stood for an unread rest
        for line in f:
            if not line.endswith(b"\n"):
                break  # torn: written up to here when the run was killed
            try:
                row = json.loads(line)
                if not OWN_COLUMNS <= row.keys():
                    raise KeyError
                found.add(str(row["id"]), row.get("status"), row.get("model"), row.get("evidence_method"))
                broke = (str(row["id"]), good) if str(row.get("error") or "").startswith(INPUT_BREAKS_OFF) else None
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
                raise ValueError(f"{path} holds a row that is not from oped score (no {', '.join(sorted(OWN_COLUMNS))}); "
                                 "refusing to resume into it") from None
            good += len(line)
        _truncate(f, _without_break_off(found, broke, good))
    return found


def _without_break_off(found: Finished, broke: tuple | None, end: int) -> int:
    """Where a resumed output is cut: after its whole rows, or before its last row where that row
    stood for the unread rest of an input that broke off (the resume reads that rest instead)."""
    if broke is None:
        return end
    found.uncount(broke[0])
    return broke[1]


def _truncate(f, size: int) -> None:
    """Cut a file to its whole rows: one system call, so a kill leaves it before or after."""
    f.seek(0, os.SEEK_END)
    if f.tell() > size:
        f.truncate(size)
        _fsync(f)


def _whole_csv_rows(f):
    """(bytes, end offset) of each whole CSV row of a binary file, in order; stops before a torn
    one. A newline inside a quoted cell (a multi-line field) has an odd number of quote bytes
    before it in its row, since the writer quotes such cells and doubles the quotes inside them.
    Cutting in bytes, a kill inside a multi-byte character cannot break decoding either."""
    pieces, odd, pos = [], 0, 0
    for line in f:
        if not line.endswith(b"\n"):
            return
        pos += len(line)
        pieces.append(line)
        odd ^= line.count(b'"') & 1
        if not odd:
            yield b"".join(pieces), pos
            pieces = []


def _csv_cells(raw: bytes, delimiter: str) -> list[str]:
    return next(csv.reader(io.StringIO(raw.decode("utf-8", "replace")), delimiter=delimiter), [])


def _repair_csv(path: Path, delimiter: str) -> Finished:
    found = Finished()
    with open(path, "rb+") as f:
        header, short, cut, at, broke = None, 0, 0, None, None
        for raw, end in _whole_csv_rows(f):
            cells = _csv_cells(raw, delimiter)
            start, cut = cut, end
            if header is None:
                header = cells
                if not OWN_COLUMNS <= set(header):
                    raise ValueError(f"{path}: its header lacks {', '.join(sorted(OWN_COLUMNS - set(header)))}: not an "
                                     "oped score output; refusing to resume into it")
                at = [header.index(c) if c in header else None for c in ("id", "status", "model", "evidence_method")]
                error_at = header.index("error") if "error" in header else None
                continue
            if len(cells) != len(header):  # rows are written whole: one of another length is not from this writer
                short += 1
                continue
            found.add(*(cells[k] if k is not None else None for k in at))
            broke = (cells[at[0]], start) if error_at is not None and cells[error_at].startswith(INPUT_BREAKS_OFF) \
                else None
        f.seek(cut)
        torn = list(csv.reader(io.StringIO(f.read().decode("utf-8", "replace")), delimiter=delimiter))
        if len(torn) > 1:
            # a kill tears one row at most: more means a quote this writer would not leave (another
            # tool's file, or a damaged one), and cutting there would drop finished rows
            raise ValueError(f"{path}: its last {len(torn)} rows do not end where oped score's rows end (an "
                             "unmatched quote?); refusing to resume into it, so that no row is dropped")
        if short:
            raise ValueError(f"{path}: {short} rows have another number of cells than its header; refusing to "
                             "resume into it, so that no row is dropped")
        _truncate(f, _without_break_off(found, broke, cut))
    return found


def keep_rows_below(path: Path, fmt: str, n_rows: int) -> None:
    """Per-window output on resume: keep the rows of input rows below n_rows (those the main
    output holds), cut a torn tail and anything later. Window rows are written in input order,
    before the main rows of their group, so the cut is the first row at or past n_rows."""
    if not path.exists():
        return
    with open(path, "rb+") as f:
        cut = 0
        if fmt in ("csv", "tsv"):
            column = None
            for raw, end in _whole_csv_rows(f):
                cells = _csv_cells(raw, format_delimiter(fmt))
                if column is None:  # the header
                    if "row" not in cells:
                        raise ValueError(f"{path} has no 'row' column: not oped score's per-window output; "
                                         "refusing to resume into it")
                    column = cells.index("row")
                elif not _row_below(cells[column] if column < len(cells) else None, n_rows):
                    break
                cut = end
        else:
            for line in f:
                if not line.endswith(b"\n"):
                    break
                try:
                    row = json.loads(line)["row"]
                except (ValueError, KeyError, TypeError):
                    raise ValueError(f"{path} holds a row that is not oped score's per-window output; refusing to "
                                     "resume into it") from None
                if not _row_below(row, n_rows):
                    break
                cut += len(line)
        _truncate(f, cut)


def _row_below(value, n_rows: int) -> bool:
    try:
        return int(value) < n_rows
    except (TypeError, ValueError):
        return False


def open_sink(path: str | None):
    fmt = output_format(path)
    if fmt in ("csv", "tsv"):
        return CsvSink(Path(path), format_delimiter(fmt))
    return JsonlSink(stream_path(path) if path and path != "-" else None)


def reopen_parquet(path: str) -> None:
    """A finished Parquet output back into its partial stream, so that a resume appends to
    its rows; the Parquet file stays until the run completes and rewrites it."""
    import pyarrow.parquet as pq

    part = stream_path(path)
    tmp = part.with_name(part.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=PARQUET_ROWS):
            f.write("".join(map(json_line, batch.to_pylist())))
        _fsync(f)
    os.replace(tmp, part)  # whole or absent: a kill here leaves the finished file as it was


PARQUET_ROWS = 10_000  # rows per Parquet row group: what the conversion holds in memory at once


def _kind(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int" if -2**63 <= v < 2**63 else "text"
    if isinstance(v, float):
        return "float"
    return "str" if isinstance(v, str) else "text"


def _arrow_type(kinds: set):
    """One column type for every row: the values' own type where they share one, else text
    (numbers and nested values written as JSON), so a field whose type varies between rows
    (a page number 3 here, "4A" there) cannot stop the conversion."""
    import pyarrow as pa

    kinds = kinds - {"null"}
    if not kinds:
        return pa.null()
    if kinds == {"bool"}:
        return pa.bool_()
    if kinds == {"int"}:
        return pa.int64()
    if kinds <= {"int", "float"}:
        return pa.float64()
    return pa.string()


def _as_text(v):
    if isinstance(v, float) and v.is_integer():
        return str(int(v))  # 3 and 3.0 one text: a resumed Parquet file may have widened 3 to 3.0
    return v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False)


def jsonl_to_parquet(source: Path, target: Path) -> None:
    """Convert JSON lines to Parquet in row groups, with memory bounded by PARQUET_ROWS. Two
    passes: the first fixes each column's type from every row, so row groups agree."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    kinds: dict[str, set] = {}
    with open(source, encoding="utf-8") as f:
        for line in f:
            for k, v in json.loads(line).items():
                kinds.setdefault(k, set()).add(_kind(v))
    schema = pa.schema([(k, _arrow_type(v)) for k, v in kinds.items()])
    text = {k for k in kinds if schema.field(k).type == pa.string()}

    def table(rows: list[dict]):
        return pa.Table.from_pydict({k: [_as_text(r.get(k)) if k in text else r.get(k) for r in rows]
                                     for k in kinds}, schema=schema)

    with pq.ParquetWriter(target, schema) as writer, open(source, encoding="utf-8") as f:
        rows = []
        for line in f:
            rows.append(json.loads(line))
            if len(rows) == PARQUET_ROWS:
                writer.write_table(table(rows))
                rows = []
        if rows or not kinds:
            writer.write_table(table(rows))


def finish(path: str | None) -> None:
    """Parquet: turn the completed partial stream into the final file (whole or absent)."""
    if not path or output_format(path) != "parquet":
        return
    part = stream_path(path)
    tmp = Path(path + ".tmp")
    jsonl_to_parquet(part, tmp)
    os.replace(tmp, path)
    part.unlink()
