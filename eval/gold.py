"""Reading hand-coded (gold) files and prediction files, and matching them by id."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

STANCE_CLASSES = ["dovish", "neutral", "hawkish"]


class EvalInputError(ValueError):
    """A gold or prediction file that cannot be evaluated as asked."""


def read_table(path: str | Path) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise EvalInputError(f"{path}: no such file")
    name = p.name.lower().removesuffix(".gz")
    try:
        if name.endswith((".jsonl", ".json", ".ndjson")):
            frame = pd.read_json(p, lines=True, dtype=False)
        elif name.endswith(".csv"):
            frame = pd.read_csv(p, dtype={"id": str})  # ids like "007" stay strings
        elif name.endswith(".tsv"):
            frame = pd.read_csv(p, sep="\t", dtype={"id": str})
        elif name.endswith(".parquet"):
            frame = pd.read_parquet(p)
        else:
            raise EvalInputError(f"{path}: use .jsonl, .csv, .tsv or .parquet")
    except ValueError as e:
        if isinstance(e, EvalInputError):
            raise
        raise EvalInputError(f"{path}: cannot be read ({e})") from None
    if "id" not in frame.columns:
        raise EvalInputError(f"{path}: needs an 'id' column (columns: {', '.join(map(str, frame.columns))})")
    frame["id"] = frame["id"].astype(str)
    return frame


def _missing(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or (not isinstance(v, str) and pd.isna(v))


def _stance_class(v):
    if _missing(v):
        return None  # not coded: left out of the stance figures, never counted as neutral
    if isinstance(v, str) and v.strip().lower() in STANCE_CLASSES:
        return v.strip().lower()
    try:
        n = float(v)
    except (TypeError, ValueError):
        raise EvalInputError(f"stance value {v!r} is neither a class name nor a number in -2..2") from None
    return "hawkish" if n > 0 else "dovish" if n < 0 else "neutral"


# words coders write for a binary sovereignty code
_PRESENCE = {"present": 1, "absent": 0, "yes": 1, "no": 0, "true": 1, "false": 0}


def _numbers(values: pd.Series, col: str, path: str) -> pd.Series:
    """A gold column as numbers: blanks stay uncoded (NaN); anything else that is no number
    (and, for sovereignty, not present/absent, yes/no, true/false) is an error, never a silent blank."""
    out, bad = [], []
    for v in values:
        if _missing(v):
            out.append(float("nan"))
            continue
        if col == "sovereignty" and isinstance(v, str) and v.strip().lower() in _PRESENCE:
            out.append(float(_PRESENCE[v.strip().lower()]))
            continue
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            out.append(float("nan"))
            bad.append(v)
    if bad:
        words = " (or present/absent, yes/no, true/false)" if col == "sovereignty" else ""
        raise EvalInputError(f"{path}: {col} must be a number{words}; {len(bad)} values are not, e.g. "
                             f"{sorted(map(repr, set(bad)))[:5]}")
    return pd.Series(out, index=values.index, dtype=float)


def normalise_gold(frame: pd.DataFrame, path: str = "GOLD") -> pd.DataFrame:
    """Gold codes in the codebook's values: stance (class name, or -2..2), stance_intensity
    (-2..2), sovereignty (0/1), sovereignty_salience (0/1/2). At least one is needed."""
    have = [c for c in ("stance", "stance_intensity", "sovereignty", "sovereignty_salience") if c in frame.columns]
    if not have:
        raise EvalInputError(f"{path}: no gold column; give any of stance, stance_intensity, sovereignty, "
                             "sovereignty_salience")
    out = pd.DataFrame({"id": frame["id"]})
    number = lambda col: _numbers(frame[col], col, path)  # noqa: E731  (blank -> NaN: not coded)
    if "stance" in frame.columns:
        out["stance"] = [_stance_class(v) for v in frame["stance"]]
        if "stance_intensity" not in frame.columns and pd.api.types.is_numeric_dtype(frame["stance"]):
            out["stance_intensity"] = number("stance")
    if "stance_intensity" in frame.columns:
        out["stance_intensity"] = number("stance_intensity")
        if "stance" not in out:
            out["stance"] = [_stance_class(v) for v in frame["stance_intensity"]]
    if "sovereignty_salience" in frame.columns:
        out["sovereignty_salience"] = number("sovereignty_salience")
        if "sovereignty" not in frame.columns:
            out["sovereignty"] = (out["sovereignty_salience"] > 0).astype(float).where(out["sovereignty_salience"].notna())
    if "sovereignty" in frame.columns:
        out["sovereignty"] = number("sovereignty")
    for col, allowed in (("sovereignty", {0, 1}), ("sovereignty_salience", {0, 1, 2}), ("stance_intensity", {-2, -1, 0, 1, 2})):
        if col in out:
            bad = sorted({v for v in out[col].dropna() if v not in allowed})
            if bad:
                raise EvalInputError(f"{path}: {col} must be one of {sorted(allowed)}, found {bad[:5]}")
    if "text" in frame.columns:
        out["text"] = frame["text"]
    if out["id"].duplicated().any():
        raise EvalInputError(f"{path}: duplicate ids, e.g. {out['id'][out['id'].duplicated()].iloc[0]!r}")
    return out


def match(gold: pd.DataFrame, pred: pd.DataFrame) -> pd.DataFrame:
    """Gold rows joined to predictions by id; every gold id must have an ok prediction."""
    pred = pred.drop_duplicates("id", keep="first")
    missing = sorted(set(gold["id"]) - set(pred["id"]))
    if missing:
        raise EvalInputError(f"{len(missing)} gold ids have no prediction (e.g. {missing[:5]}); "
                             "were they scored from the same file?")
    joined = gold.merge(pred, on="id", how="left", suffixes=("", "_pred"))
    if "status" in joined.columns:
        failed = joined[joined["status"] != "ok"]
        if len(failed):
            raise EvalInputError(f"{len(failed)} gold ids were not scored ok (e.g. {failed['id'].iloc[0]!r}: "
                                 f"{failed['error'].iloc[0]})")
    return joined
