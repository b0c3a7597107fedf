"""Labels joined to text: the project's training and evaluation data.

Labels are stored without text (data/annotations/*.jsonl): corpus id, paragraph
index, sha256 of the labelled text, and the codes. `load_labelled` reads a corpus
file given by path, joins every label to its text and checks the hash, so a label
can never silently attach to a different text. Synthetic paragraphs (written for
the project) carry their own text and are for training only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from datasets import Dataset, DatasetDict

from model.text import split_paragraphs, text_sha256

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ANNOTATIONS = PROJECT_ROOT / "data" / "annotations"
SYNTHETIC = PROJECT_ROOT / "data" / "synthetic"
DEFAULT_CORPUS = PROJECT_ROOT.parent / "shared" / "corpora" / "allsides_foreign_policy.jsonl"
SPLITS = ("train", "dev", "test")
_SHA = re.compile(r"^[0-9a-f]{64}$")


class DataError(Exception):
    """Data that cannot be used as asked; the message says what and where."""


class CorpusNotFound(DataError):
    pass


class LabelFormatError(DataError):
    pass


class LabelJoinError(DataError):
    pass


def _check_label(row: dict, where: str, unit: str) -> None:
    problems = []
    if not isinstance(row.get("id"), str) or not row["id"]:
        problems.append("id must be a non-empty string")
    if not isinstance(row.get("sha256"), str) or not _SHA.match(row["sha256"]):
        problems.append("sha256 must be 64 lowercase hex digits")
    if row.get("stance") not in (-2, -1, 0, 1, 2):
        problems.append(f"stance must be -2..2, got {row.get('stance')!r}")
    sov, sal = row.get("sovereignty"), row.get("sovereignty_salience")
    if sov not in (0, 1):
        problems.append(f"sovereignty must be 0 or 1, got {sov!r}")
    elif sal not in ((0,) if sov == 0 else (1, 2)):
        problems.append(f"sovereignty_salience {sal!r} does not fit sovereignty {sov}")
    if unit == "paragraph" and not isinstance(row.get("paragraph"), int):
        problems.append("paragraph must be an integer index")
    if unit == "article" and row.get("split") not in SPLITS:
        problems.append(f"split must be one of {SPLITS}, got {row.get('split')!r}")
    if problems:
        raise LabelFormatError(f"{where}: malformed label: " + "; ".join(problems))


def iter_jsonl(path: str | Path, error=DataError, what: str = "data file"):
    """(line number, object) for each non-blank line; a line that is not a JSON object
    raises `error` naming file:line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{what} not found: {path}")
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise error(f"{path}:{n}: not valid JSON ({e.msg})") from None
            if not isinstance(row, dict):
                raise error(f"{path}:{n}: a line must be a JSON object")
            yield n, row


def read_labels(path: str | Path, unit: str) -> list[dict]:
    """Label rows of one file, each validated; a bad row stops with file:line."""
    rows = []
    for n, row in iter_jsonl(path, LabelFormatError, "label file"):
        _check_label(row, f"{path}:{n}", unit)
        rows.append(row)
    return rows


def read_corpus(path: str | Path | None, ids: set[str] | None = None) -> dict[str, dict]:
    """Corpus rows by id (only `ids` when given). Missing file: a message saying where to get one."""
    path = Path(path) if path else DEFAULT_CORPUS
    if not path.is_file():
        raise CorpusNotFound(
            f"corpus not found: {path}. Give --corpus PATH to the AllSides foreign-policy JSONL "
            "(e.g. ../shared/corpora/allsides_foreign_policy.jsonl), or download it with `oped data fetch`."
        )
    out = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise DataError(f"{path}:{n}: corpus line is not valid JSON") from None
            if ids is None or row.get("id") in ids:
                out[row["id"]] = row
    return out


@dataclass
class JoinReport:
    matched: int = 0
    missing_ids: list = field(default_factory=list)  # id not in the corpus
    changed: list = field(default_factory=list)  # id found, hash differs

    @property
    def unmatched(self) -> int:
        return len(self.missing_ids) + len(self.changed)

    def message(self) -> str:
        parts = []
        if self.missing_ids:
            parts.append(f"{len(self.missing_ids)} labelled ids are not in the corpus (e.g. {self.missing_ids[:5]})")
        if self.changed:
            parts.append(f"{len(self.changed)} labelled texts changed since coding (e.g. {self.changed[:5]})")
        return "; ".join(parts)


def join(labels: list[dict], corpus: dict[str, dict], unit: str, report: JoinReport) -> list[dict]:
    """Attach text to labels whose id and hash match; record the rest in `report`."""
    out = []
    for row in labels:
        doc = corpus.get(row["id"])
        key = row["id"] if unit == "article" else f"{row['id']}#{row['paragraph']}"
        if doc is None:
            report.missing_ids.append(key)
            continue
        text = doc.get("text") or ""
        if unit == "paragraph":
            paras = split_paragraphs(text)
            text = paras[row["paragraph"]] if 0 <= row["paragraph"] < len(paras) else None
        if text is None or text_sha256(text) != row["sha256"]:
            report.changed.append(key)
            continue
        out.append({**row, "text": text})
        report.matched += 1
    return out


def read_synthetic(directory: str | Path = SYNTHETIC) -> list[dict]:
    rows = []
    for path in sorted(Path(directory).glob("*.jsonl")):
        for n, row in iter_jsonl(path, LabelFormatError, "synthetic file"):
            _check_label({**row, "sha256": text_sha256(row.get("text", ""))}, f"{path}:{n}", "synthetic")
            rows.append({**row, "synthetic": True, "source_file": path.name})
    return rows


@dataclass
class LabelledData:
    articles: DatasetDict  # train / dev / test, real articles with text
    paragraphs: DatasetDict  # follow their article's split
    synthetic: Dataset  # training only
    report: JoinReport


def load_labelled(corpus: str | Path | None = None, annotations: str | Path = ANNOTATIONS,
                  synthetic: str | Path | None = SYNTHETIC, strict: bool = True) -> LabelledData:
    """Join the project's labels to a corpus file. strict: any label whose id is
    missing or whose text changed stops the load with a message naming them."""
    annotations = Path(annotations)
    arts = read_labels(annotations / "articles.jsonl", "article")
    paras = read_labels(annotations / "paragraphs.jsonl", "paragraph") if (annotations / "paragraphs.jsonl").exists() else []
    corpus = read_corpus(corpus, {r["id"] for r in arts} | {r["id"] for r in paras})
    report = JoinReport()
    arts = join(arts, corpus, "article", report)
    paras = join(paras, corpus, "paragraph", report)
    if strict and report.unmatched:
        raise LabelJoinError(report.message() + ". Is --corpus the AllSides foreign-policy file the labels were made on?")
    split_of = {r["id"]: r["split"] for r in arts}
    articles = DatasetDict({s: Dataset.from_list([r for r in arts if r["split"] == s]) for s in SPLITS})
    # every row gets a pool (None unless a paragraph-only round set one): from_list takes its
    # columns from the first row, and exclude_pools filters on this one
    paragraphs = DatasetDict({s: Dataset.from_list([{**r, "pool": r.get("pool"), "split": split_of[r["id"]]}
                                                     for r in paras if split_of.get(r["id"]) == s]) for s in SPLITS})
    syn = Dataset.from_list(read_synthetic(synthetic)) if synthetic and Path(synthetic).is_dir() else Dataset.from_list([])
    return LabelledData(articles, paragraphs, syn, report)
