"""Input rows for scoring, from any supported format, streamed.

Every physical input row becomes exactly one Record, in input order. A row that
cannot be used (bad JSON, no text, text that is not a string) becomes a Record
with `error` set, so the output can say why instead of dropping it. Problems
with the input as a whole (unreadable file, a text field no row has) raise
InputError before any scoring starts.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import json
import os
import re
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

csv.field_size_limit(2**31 - 1)  # long articles in a CSV cell are fine
PEEK_ROWS = 200  # rows checked for the text field before any work


class InputError(Exception):
    """The input as a whole cannot be read as asked."""


@dataclass
class Record:
    row: int  # 0-based position in the input
    id: str
    text: str | None
    error: str = ""
    warnings: list = field(default_factory=list)
    fields: dict = field(default_factory=dict)  # the input's other fields, carried to the output
    ends_input: bool = False  # an error row that stands for the rest of an input that cannot be read


def _is_gzip(path) -> bool:
    return str(path).lower().endswith(".gz")


GZIP_MAGIC = b"\x1f\x8b"


def _open_binary(path: Path):
    """The file's bytes, gunzipped where it is gzip data: by its name, or by its first bytes
    (a gzipped file saved without .gz)."""
    return gzip.open(path, "rb") if _is_gzip(path) or is_gzip_data(path) else open(path, "rb")


def is_gzip_data(path) -> bool:
    """A regular file that starts as gzip data does, whatever its name. A pipe is never checked:
    its first bytes cannot be read twice."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        return False
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def bom_encoding(head: bytes) -> str | None:
    """UTF-16 or UTF-32, by the byte-order mark that opens text saved so (Windows PowerShell's
    `>` writes UTF-16); None for anything else, read as UTF-8."""
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    return None


def file_bom_encoding(path) -> str | None:
    """bom_encoding of a regular file's first bytes (gunzipped where need be); a pipe is never checked."""
    if path == "-" or not stat.S_ISREG(os.stat(path).st_mode):
        return None
    with _open_binary(Path(path)) as f:
        return bom_encoding(f.read(4))


def checked_encoding(encoding: str | None) -> str | None:
    """An --encoding as a codec name; None for UTF-8, which is read as it always is (bytes that
    are not UTF-8 are replaced and the row says so)."""
    if encoding is None:
        return None
    try:
        codec = codecs.lookup(encoding)
    except LookupError:
        codec = None
    if codec is None or not getattr(codec, "_is_text_encoding", True):  # rot13, base64, hex: not text
        raise InputError(f"--encoding {encoding!r}: not a text encoding Python knows (e.g. cp1252, latin-1, "
                         "utf-16)")
    return None if codec.name in ("utf-8", "utf-8-sig") else codec.name


def _mark_undecodable(error: UnicodeDecodeError):
    # what surrogateescape makes of a byte 0xff: a row's text with it is cleaned, with a warning,
    # as undecodable UTF-8 is (surrogateescape itself cannot carry broken UTF-16)
    return "\udcff", error.end


codecs.register_error("oped-mark", _mark_undecodable)


def _decoding(other: str | None) -> tuple[str, str]:
    """Codec and error handler for text in `other` encoding (None: UTF-8). utf-8-sig: files saved
    by Excel or PowerShell start with a byte-order mark; undecodable bytes become surrogates that
    _clean replaces, with a warning."""
    return (other, "oped-mark") if other else ("utf-8-sig", "surrogateescape")


def _open_text(path: Path, other: str | None) -> io.TextIOWrapper:
    """The file as text in `other` encoding, or UTF-8 (None); lines kept as they end, for csv."""
    codec, errors = _decoding(other)
    return io.TextIOWrapper(_open_binary(path), encoding=codec, errors=errors, newline="")


def _byte_lines(path: str, encoding: str | None = None) -> Iterator[bytes]:
    """The input's lines as UTF-8 bytes, ending at \\n only (a raw \\r inside a JSON string is text);
    encoding: the input's, where it is not UTF-8 (else UTF-16 or UTF-32 by a byte-order mark)."""
    stream = sys.stdin.buffer if path == "-" else _open_binary(Path(path))
    text = None
    try:
        other = encoding or (_peeked_bom_encoding(stream) if path == "-" else file_bom_encoding(path))
        if other:
            text = io.TextIOWrapper(stream, encoding=other, errors="oped-mark", newline="\n")
            yield from (line.encode("utf-8", "surrogateescape") for line in text)
        else:
            yield from iter(stream.readline, b"")
    finally:
        if path == "-" and text is not None:
            text.detach()  # else the wrapper closes stdin when it is collected
        elif path != "-":
            stream.close()


def _peeked_bom_encoding(stream) -> str | None:
    """bom_encoding of a stream's first bytes, peeked at, not read (a pipe cannot give them
    twice); None for a stream that cannot be peeked at (a BytesIO standing in for stdin)."""
    peek = getattr(stream, "peek", None)
    return bom_encoding(peek(4)[:4]) if peek else None


def parse_json_line(raw: bytes, line_no: int, first: bool = False):
    """One JSON lines record from raw bytes (lines end at \\n only), or a _BadRow saying why."""
    if first and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        # strict=False: raw tabs or carriage returns inside strings (common in scraped text) are kept
        return json.loads(raw.decode("utf-8", "surrogateescape"), strict=False)
    except (ValueError, RecursionError) as e:  # JSONDecodeError, and e.g. integers past Python's digit limit
        return _BadRow(f"line {line_no} is not valid JSON ({getattr(e, 'msg', None) or e.__class__.__name__})",
                       raw=raw.strip().decode("utf-8", "replace") if len(raw) < 16 else "")


def is_blank(raw: bytes) -> bool:
    """The blank-line rule shared by the local and the distributed reader."""
    return not raw.decode("utf-8", "surrogateescape").strip()


def format_delimiter(fmt: str) -> str:
    """The cell separator of a delimited format, csv or tsv, where none is given."""
    return "," if fmt == "csv" else "\t"


def _format(path: str) -> str:
    if path == "-":
        return "jsonl"
    p = Path(path)
    if p.is_dir():
        return "txtdir"
    suffixes = [s.lower() for s in p.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    formats = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv",
               ".parquet": "parquet", ".txt": "txtdir"}
    if ext not in formats:
        raise InputError(f"{path}: unknown input format {ext or '(no extension)'}; use .jsonl, .json, .csv, .tsv, "
                         ".parquet (optionally .gz) or a folder of .txt files")
    return formats[ext]


# Surrogates that surrogateescape cannot turn back into bytes: JSON escapes of half an
# emoji ("\\ud83d" in text cut mid-character), which json.loads returns as they are.
_LONE_SURROGATE = re.compile("[\ud800-\udc7f\udd00-\udfff]")


def _clean(text: str, warnings: list) -> str:
    """Undecodable bytes arrive as surrogates: replace them and say so (once per row)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        note = ("input had bytes that are not UTF-8 (nor text in the encoding given), or half of a character; "
                "replaced with U+FFFD (a text file in another encoding: oped score --encoding, e.g. cp1252)")
        if note not in warnings:
            warnings.append(note)
        text = _LONE_SURROGATE.sub("\ufffd", text)
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _clean_all(value, warnings: list):
    """_clean applied to every string inside carried input fields."""
    if isinstance(value, str):
        return _clean(value, warnings)
    if isinstance(value, dict):
        return {_clean(str(k), warnings): _clean_all(v, warnings) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_all(v, warnings) for v in value]
    return value


def _make(row: int, obj, text_field: str, id_field: str, title_field: str | None) -> Record:
    if not isinstance(obj, dict):
        return Record(row, f"row{row}", None, "row is not a JSON object")
    warnings: list = []
    rid = obj.get(id_field)
    rid = f"row{row}" if rid is None or rid == "" else _clean(str(rid), warnings)
    fields = _clean_all({k: v for k, v in obj.items() if k not in (text_field, id_field)}, warnings)
    text = obj.get(text_field)
    if text is None:
        said = f"{text_field!r} is null" if text_field in obj else f"no {text_field!r} field"
        return Record(row, rid, None, said, warnings, fields)
    if not isinstance(text, str):
        return Record(row, rid, None, f"{text_field!r} is a {type(text).__name__}, not a string", warnings, fields)
    text = _clean(text, warnings)
    if "\x00" in text or sum(not (c.isprintable() or c.isspace()) for c in text[:2000]) > 0.1 * min(len(text), 2000):
        return Record(row, rid, None, "text looks like binary data, not prose", warnings, fields)
    title = obj.get(title_field) if title_field else None
    if isinstance(title, str) and title.strip():
        text = _clean(title.strip(), warnings) + "\n\n" + text
    if not text.strip():
        return Record(row, rid, None, f"{text_field!r} is empty", warnings, fields)
    return Record(row, rid, text, "", warnings, fields)


def _jsonl(path: str, encoding: str | None) -> Iterator[tuple[int, object]]:
    for n, raw in enumerate(_byte_lines(path, encoding)):
        if not is_blank(raw):
            yield n, parse_json_line(raw, n + 1, first=n == 0)


# the error of the row that stands for the unread rest of an input; a resume drops that row
INPUT_BREAKS_OFF = "the input breaks off here"


class _BadRow:
    def __init__(self, reason: str, row_id: str | None = None, raw: str = "", cells: dict | None = None,
                 ends_input: bool = False):
        self.reason, self.id, self.raw = reason, row_id, raw  # raw: the line, stripped, where it is short
        self.cells = cells or {}  # what could be read of the row, for its id
        self.ends_input = ends_input  # the input breaks off here: no row follows


def _csv(path: str, delimiter: str, encoding: str | None, delimiter_given: bool = False
         ) -> Iterator[tuple[int, object]]:
    with _open_text(Path(path), encoding or file_bom_encoding(path)) as f:
        lines = _Lines(f)
        reader = csv.reader(lines, delimiter=delimiter)
        header = next((cells for cells in reader if cells), [])
        header_lines = [line for line in lines.taken if line.strip()]
        if len(header_lines) > 1 and any(_quoting("".join(header_lines), delimiter)):
            raise InputError(f"{path}: the header runs on over {len(header_lines)} lines, from line "
                             f"{lines.count - len(header_lines) + 1}: a quote in it is never closed")
        if header:  # a byte-order mark that the codec asked for keeps (utf-16-le names no mark)
            header[0] = header[0].removeprefix("\ufeff")
        if not delimiter_given and len(header) == 1:
            found = [d for d in (";", "|", "\t", ",") if d != delimiter and d in header[0]]
            if found:  # a European spreadsheet's ;-separated file, read with commas, is all one field
                raise InputError(f"{path}: the header reads as one field, {header[0][:80]!r}; if its cells are "
                                 f"separated by {found[0]!r}, give --delimiter {found[0]!r}")
        lines.taken.clear()
        yield from _csv_rows(lines, header, delimiter)


class _Lines:
    """The physical lines of a text stream, keeping those of the record being parsed: csv's
    reader takes lines one at a time and only as far as the record it returns."""

    def __init__(self, lines, count: int = 0):
        self.rest, self.taken, self.count, self.ended = iter(lines), [], count, False

    def __iter__(self):
        return self

    def __next__(self):
        try:
            line = next(self.rest)
        except StopIteration:
            self.ended = True
            raise
        self.taken.append(line)
        self.count += 1
        return line


def _csv_rows(lines: _Lines, header: list, delimiter: str) -> Iterator[tuple[int, object]]:
    """Rows as dicts keyed by the header (a short record's missing cells are None, as for
    csv.DictReader).

    A quote that is never closed makes csv's reader take the lines after it into one cell, until
    the next quote or the end of the file. Where a later quote ends that cell, the record breaks
    strict quoting (a closing quote followed by more than a delimiter); if the lines after its first
    read as rows of the header's width, the record is one error row and reading starts again on
    its second line. Where the file ends inside the cell, a quote never closed cannot be told from
    a file cut short inside a long cell, so the row says that the input breaks off there and where."""
    reader, n = csv.reader(lines, delimiter=delimiter), 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        first_line = lines.count - len(lines.taken) + 1
        taken, lines.taken = lines.taken, []
        if not cells:  # a blank line, as csv.DictReader skips it
            continue
        n += 1
        # csv's own strict reading finds well-formed records (nearly all) at C speed
        suspect = lines.ended or (len(taken) > 1 and not _strictly_quoted(taken, delimiter))
        ends_inside, closes_a_run_on = _quoting("".join(taken), delimiter) if suspect else (False, False)
        if lines.ended and ends_inside:
            yield n - 1, _BadRow(f"{INPUT_BREAKS_OFF}: the file ends inside a quoted cell of record {n}, which "
                                 f"begins on line {first_line}: a file cut short, or a quote on that line never "
                                 "closed (mend it, and a --resume scores the rows from there)",
                                 cells=_first_cells(taken[0], header, delimiter), ends_input=True)
            return
        if closes_a_run_on and _reads_as_rows(taken[1:], delimiter, len(header)):
            yield n - 1, _BadRow(f"record {n} (line {first_line}) opens a quote that is never closed, so it is "
                                 "not scored; the lines after it are read as rows of their own (mend it and "
                                 "run again with --overwrite: a --resume keeps error rows)",
                                 cells=_first_cells(taken[0], header, delimiter))
            # read on from its second line, through the rest of the file: the quote that ended the
            # swallowed lines may open a later row's cell
            lines = _Lines(itertools.chain(taken[1:], lines.rest), count=first_line)
            reader = csv.reader(lines, delimiter=delimiter)
            continue
        if len(cells) > len(header):
            yield n - 1, _BadRow(f"record {n} has more cells than the header", cells=dict(zip(header, cells)))
        else:
            yield n - 1, dict(itertools.zip_longest(header, cells))


def _first_cells(line: str, header: list, delimiter: str) -> dict:
    """The cells of a record's first line before the one its unclosed quote opens, keyed by the
    header: the id of a row that cannot be read whole."""
    cells = next(csv.reader([line], delimiter=delimiter), [])
    return dict(zip(header, cells[:-1]))


def _strictly_quoted(lines: list, delimiter: str) -> bool:
    """No quote closed and then followed by more than a delimiter or a line end, and no quoted
    cell left open: as files written by csv, pandas or a spreadsheet are."""
    try:
        for _ in csv.reader(lines, delimiter=delimiter, strict=True):
            pass
    except csv.Error:
        return False
    return True


def _quoting(text: str, delimiter: str) -> tuple[bool, bool]:
    """How csv's reader (double quotes escape a quote; not strict) reads the quotes of text:
    whether it ends inside a quoted cell, and whether a quoted cell ran on over lines to a quote
    at the start of a cell (the line's start, or after a delimiter) that is followed by more than
    a delimiter or a line end: the opening quote of a later row's cell, taken as the end of a
    cell whose own quote was never closed. A quote inside prose ('she said "no" then') follows a
    space or a letter instead. Only quotes, delimiters and line ends are visited."""
    state, last, quote_at, lines_in_cell, closes_a_run_on = "start", -1, -1, 0, False
    starts_a_cell = f"\r\n{delimiter}"

    def plain_after_closing_quote() -> bool:
        return state == "quote" and lines_in_cell > 0 and quote_at > 0 and text[quote_at - 1] in starts_a_cell

    for m in re.finditer(f'["\r\n{re.escape(delimiter)}]', text):
        i, c = m.start(), m.group()
        if i > last + 1:  # plain characters since the last special one
            closes_a_run_on = closes_a_run_on or plain_after_closing_quote()
            if state in ("start", "quote"):
                state = "plain"
        last = i
        if state == "quoted":
            if c == '"':
                state, quote_at = "quote", i
            else:
                lines_in_cell += c != delimiter  # a line end inside the quoted cell
        elif c == '"' and state in ("start", "quote"):
            if state == "start":
                lines_in_cell = 0
            state = "quoted"  # opens a quoted cell, or is the second of an escaped pair
        elif c != '"':
            state = "start"  # a delimiter or a line end; a quote inside a plain cell is a plain character
    if len(text) > last + 1:
        closes_a_run_on = closes_a_run_on or plain_after_closing_quote()
    return state == "quoted", closes_a_run_on


def _reads_as_rows(lines: list, delimiter: str, width: int, sample: int = 20) -> bool:
    """Whether the first lines after an unclosed quote parse as records of the header's width
    (rows swallowed by the quote) rather than as the lines of one long cell."""
    # blank lines are records without cells: read more records than the sample to skip them
    records = [cells for cells in itertools.islice(csv.reader(lines, delimiter=delimiter), 4 * sample) if cells]
    return bool(records) and all(len(cells) == width for cells in records[:sample])


def _parquet(path: str) -> Iterator[tuple[int, object]]:
    import pyarrow.parquet as pq

    n = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=256):
        for row in batch.to_pylist():
            # binary columns without a string annotation hold the text as bytes
            yield n, {k: v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else v for k, v in row.items()}
            n += 1


def _txt_files(path: str) -> list[Path]:
    """The .txt files of a folder (any case of the suffix), in name order; a lone .txt file."""
    return _folder_entries(Path(path))[0] if Path(path).is_dir() else [Path(path)]


def _folder_entries(folder: Path) -> tuple[list[Path], list[Path]]:
    """A folder's .txt files, and what else it holds, hidden files (.DS_Store) left aside; both
    in name order, from one listing."""
    txt, unread = [], []
    for f in sorted(folder.iterdir()):
        # not f.is_file(): a broken link named .txt is an error row of its own, not silently nothing
        if f.suffix.lower() == ".txt" and not f.is_dir():
            txt.append(f)
        elif not f.name.startswith("."):
            unread.append(f)
    return txt, unread


def _txtdir(path: str, encoding: str | None) -> Iterator[tuple[int, object]]:
    files = _txt_files(path)
    if not files:
        others = sorted({f.suffix or f.name for f in Path(path).iterdir()})[:8]
        raise InputError(f"{path}: a folder is read as .txt files (one article each) and this one has none"
                         + (f" (it holds: {', '.join(others)})" if others else " (it is empty)")
                         + _data_files_hint(_folder_entries(Path(path))[1]))
    for n, f in enumerate(files):
        try:
            data = f.read_bytes()
            other = encoding or bom_encoding(data[:4])
            text = data.decode(*_decoding(other))
            if other:  # a mark that the codec asked for keeps (utf-16-le names none)
                text = text.removeprefix("\ufeff")
            yield n, {"id": f.stem, "text": text}
        except OSError as e:  # one unreadable file (a broken link, no permission) is one error row
            yield n, _BadRow(f"{f.name} cannot be read ({e.strerror or e})", f.stem)


def _data_files_hint(unread: list[Path]) -> str:
    """Where a folder's unread entries include data files, how to score them."""
    if not any(_is_data_file(f) for f in unread):
        return ""
    return ("; to score a folder of data files, give each file, or join them (JSON lines: cat DIR/*.jsonl | "
            "oped score -), or use --engine ray, which reads a folder of .jsonl or .parquet files")


def _is_data_file(f: Path) -> bool:
    try:
        return f.is_file() and _format(str(f)) in ("jsonl", "csv", "tsv", "parquet")
    except InputError:
        return False


def input_notes(path: str) -> list[str]:
    """What to tell a user about the input as a whole before a run: the files of a folder that
    are not read, so that none is left out without a word."""
    if path == "-" or not Path(path).is_dir():
        return []
    txt, unread = _folder_entries(Path(path))
    if not unread or not txt:
        return []  # a folder without .txt files is an InputError of its own
    kinds = sorted({"folders" if f.is_dir() else (f.suffix.lower() or "no extension") for f in unread})
    return [f"{path}: {len(unread)} entries that are not .txt files are not read ({', '.join(kinds[:8])})"
            + _data_files_hint(unread)]


def raw_rows(path: str, delimiter: str | None = None, encoding: str | None = None) -> Iterator[tuple[int, object]]:
    """delimiter: of a .csv or .tsv input's cells, where it is not the extension's (, or tab);
    encoding: of the input's text, where it is not UTF-8 (Parquet stores UTF-8: not for Parquet)."""
    fmt = _format(path)
    if path != "-" and not Path(path).exists():
        raise InputError(f"{path}: no such file or folder")
    delimiter = "\t" if delimiter == "\\t" else delimiter  # as typed in a shell: --delimiter '\t'
    if delimiter is not None and fmt not in ("csv", "tsv"):
        raise InputError(f"--delimiter is for .csv or .tsv input; {path} is read as "
                         + ("JSON lines (stdin always is)" if path == "-" else fmt))
    if delimiter is not None and (len(delimiter) != 1 or delimiter in '"\r\n'):
        raise InputError(f"--delimiter {delimiter!r}: give one character other than a quote or a line end")
    encoding = checked_encoding(encoding)
    if encoding and fmt == "parquet":
        raise InputError("--encoding: Parquet text columns are UTF-8 by definition; leave it out")
    if fmt == "jsonl":
        return _jsonl(path, encoding)
    if fmt in ("csv", "tsv"):
        return _csv(path, delimiter or format_delimiter(fmt), encoding, delimiter is not None)
    if fmt == "parquet":
        return _parquet(path)
    return _txtdir(path, encoding)


def read_jsonl_range(path: str, start: int, end: int, first_row: int, first_line: int, text_field: str = "text",
                    id_field: str = "id", title_field: str | None = None) -> Iterator[Record]:
    """Records of the JSON lines between byte offsets [start, end) of an uncompressed
    file (both at line starts): one shard of a distributed run. first_row counts the
    non-blank rows before the shard and first_line the physical lines, so rows and
    error messages read exactly as in a local run."""
    with open(path, "rb") as f:
        f.seek(start)
        row, line_no, pos = first_row, first_line, start
        while pos < end:
            raw = f.readline()
            if not raw:
                break
            pos += len(raw)
            line_no += 1
            if is_blank(raw):
                continue
            yield record(row, parse_json_line(raw, line_no, first=line_no == 1), text_field, id_field, title_field)
            row += 1


def read_records(path: str, text_field: str = "text", id_field: str = "id",
                 title_field: str | None = None, delimiter: str | None = None,
                 encoding: str | None = None) -> Iterator[Record]:
    """All rows of the input as Records. Reads and checks the first rows now (so a wrong
    field name, a file that is not what its name says, or an unreadable file fails before any
    work) and the rest lazily. An input that cannot be read further after that ends with one
    error row saying so, after every row read before it."""
    rows = raw_rows(path, delimiter, encoding)
    fmt = _format(path)
    if fmt == "txtdir":
        text_field, id_field = "text", "id"
    head = []
    try:
        for item in rows:
            head.append(item)
            if len(head) >= PEEK_ROWS:
                break
    except InputError:
        raise
    except (OSError, EOFError, UnicodeError, csv.Error) as e:
        raise InputError(f"{path}: cannot be read ({e})") from None
    except Exception as e:  # pyarrow and gzip raise their own types for corrupt files
        raise InputError(f"{path}: cannot be read ({type(e).__name__}: {e})") from None
    dicts = [obj for _, obj in head if isinstance(obj, dict)]
    if fmt == "jsonl" and head and _looks_like_one_json_document(head[0][1]):
        raise InputError(f"{path}: this is one JSON document (an array, or a pretty-printed object), not JSON lines; "
                         "the input must hold one article object per line")
    for name, option in ((text_field, "--text-field"), (None if id_field == "id" else id_field, "--id-field"),
                         (title_field, "--title-field")):
        if name and dicts and not any(name in d for d in dicts):
            seen = sorted({k for d in dicts for k in d})[:12]
            raise InputError(f"{path}: no row has a {name!r} field (fields seen: {', '.join(seen)}); "
                             f"pick one with {option}")

    return _records(itertools.chain(head, _until_unreadable(rows, path)), text_field, id_field, title_field)


def _looks_like_one_json_document(first) -> bool:
    """A JSON array of articles on one line, or a file whose first line opens a pretty-printed
    array or object: one document, which JSON lines reading would turn into error rows."""
    if isinstance(first, list):
        return bool(first) and all(isinstance(x, dict) for x in first)
    return isinstance(first, _BadRow) and first.raw in ("[", "{")


def _until_unreadable(rows, path: str):
    """The rows after the first checked ones; where the input breaks off (a truncated .gz, a
    damaged Parquet page), one last row that says so instead of a crash that loses the rows
    read before it."""
    try:
        yield from rows
    except Exception as e:  # noqa: BLE001 - OSError, EOFError, csv.Error, and pyarrow's own for damaged files
        yield -1, _BadRow(f"{INPUT_BREAKS_OFF}: {path} cannot be read past this point ({type(e).__name__}: {e}); "
                          "the rows after it are not scored (a --resume with the whole input scores them)",
                          ends_input=True)


def _records(rows, text_field: str, id_field: str, title_field: str | None) -> Iterator[Record]:
    for k, (_, obj) in enumerate(rows):
        yield record(k, obj, text_field, id_field, title_field)


def record(row: int, obj, text_field: str, id_field: str, title_field: str | None) -> Record:
    """One parsed input row as a Record; a row that breaks the reader in a way not foreseen
    becomes an error row, so that one odd row cannot stop a corpus."""
    if isinstance(obj, _BadRow):  # ids and reasons from file names: not necessarily UTF-8
        warnings: list = []
        rid = obj.id or obj.cells.get(id_field) or f"row{row}"
        return Record(row, _clean(str(rid), warnings), None, _clean(obj.reason, warnings), warnings,
                      ends_input=obj.ends_input)
    try:
        return _make(row, obj, text_field, id_field, title_field)
    except Exception as e:  # noqa: BLE001 - any failure here is about this row only
        return Record(row, f"row{row}", None, f"row could not be read ({type(e).__name__}: {e})")


def count_rows(path: str, encoding: str | None = None) -> int | None:
    """Rows in an input, cheaply, for a progress bar's ETA; None when unknown (stdin).
    encoding: the --encoding given (a checked codec name, None for UTF-8)."""
    if path == "-":
        return None
    fmt = _format(path)
    if fmt == "txtdir":
        return len(_txt_files(path))
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    n, wide = 0, file_bom_encoding(path) or (encoding if encoding and _is_wide(encoding) else None)
    with _open_text(Path(path), wide) if wide else _open_binary(Path(path)) as f:  # in UTF-16 other bytes hold 0x0a too
        for block in iter(lambda: f.read(1 << 20), "" if wide else b""):
            n += block.count("\n" if wide else b"\n")
    return n - 1 if fmt in ("csv", "tsv") else n  # CSV: minus the header (multi-line cells make it approximate)


def _is_wide(encoding: str) -> bool:
    """Whether this codec's newline is other than the one byte 0x0a (UTF-16, UTF-32, EBCDIC code
    pages), so that lines must be counted in decoded text, not in bytes."""
    return "\n".encode(encoding) != b"\n"
