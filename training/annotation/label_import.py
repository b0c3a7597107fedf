"""`oped import-labels`: hand codes from a CSV or a Label Studio export, validated
against the codebook, into the project's label format (JSON lines) for
`oped train` and `oped eval`. Each bad row is reported with its row number and
reason; good rows are kept."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from eval.gold import EvalInputError

VALID = {"stance": {-2, -1, 0, 1, 2}, "sovereignty_salience": {0, 1, 2}, "sovereignty": {0, 1}}
WHOSE = {"own", "other", "supranational"}


def _int(v):
    if v is None or (isinstance(v, float) and pd.isna(v)) or (isinstance(v, str) and not v.strip()):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{v!r} is not a number") from None
    if not f.is_integer():
        raise ValueError(f"{v!r} is not a whole number")
    return int(f)


def validate(raw: dict) -> dict:
    """One row in the codebook's values, or ValueError naming the field."""
    out = {"id": str(raw.get("id") or "").strip()}
    if not out["id"]:
        raise ValueError("id is empty")
    for field in ("stance", "sovereignty_salience", "sovereignty"):
        try:
            v = _int(raw.get(field))
        except ValueError as e:
            raise ValueError(f"{field}: {e}") from None
        if v is not None and v not in VALID[field]:
            raise ValueError(f"{field} {v} is not one of {sorted(VALID[field])}")
        out[field] = v
    if out["stance"] is None:
        raise ValueError("stance is empty")
    sal, sov = out["sovereignty_salience"], out["sovereignty"]
    if sal is None and sov is None:
        raise ValueError("give sovereignty_salience (0/1/2) or sovereignty (0/1)")
    if sal is None:
        raise ValueError("sovereignty_salience is empty (0 when absent, 1 or 2 when present)")
    if sov is not None and sov != int(sal > 0):
        raise ValueError(f"sovereignty {sov} contradicts sovereignty_salience {sal}")
    out["sovereignty"] = int(sal > 0)
    whose = str(raw.get("sovereignty_whose") or "").strip().lower() or None
    if whose is not None and whose not in WHOSE:
        raise ValueError(f"sovereignty_whose {whose!r} is not one of own, other, supranational")
    if out["sovereignty"] == 0 and whose:
        raise ValueError("sovereignty_whose given but the frame is absent")
    out["sovereignty_whose"] = whose
    fp = str(raw.get("fp_relevant") if raw.get("fp_relevant") is not None else "").strip().lower()
    out["fp_relevant"] = {"true": True, "1": True, "false": False, "0": False}.get(fp)
    for k in ("rationale", "coder"):
        v = raw.get(k)
        out[k] = "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)
    return out


def _label_studio_rows(tasks: list) -> list[dict]:
    rows = []
    for t in tasks:
        row = {"id": (t.get("data") or {}).get("id", t.get("id"))}
        anns = [a for a in t.get("annotations") or [] if not a.get("was_cancelled")]
        for r in (anns[-1]["result"] if anns else []):
            value = r.get("value", {})
            row[r.get("from_name")] = (value.get("choices") or value.get("text") or [None])[0]
        rows.append(row)
    return rows


def read_rows(path: str) -> list[dict]:
    p = Path(path)
    if not p.is_file():
        raise EvalInputError(f"{path}: no such file")
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise EvalInputError(f"{path}: not valid JSON ({e.msg})") from None
        if not isinstance(data, list):
            raise EvalInputError(f"{path}: a Label Studio export is a JSON list of tasks")
        return _label_studio_rows(data)
    sep = "\t" if p.suffix.lower() == ".tsv" else ","
    return pd.read_csv(p, sep=sep, dtype=str, keep_default_na=False).to_dict("records")


def import_labels(path: str, out: str) -> tuple[int, list[str]]:
    good, errors = [], []
    for n, raw in enumerate(read_rows(path), 1):
        try:
            good.append(validate(raw))
        except ValueError as e:
            errors.append(f"row {n} (id {raw.get('id')!r}): {e}")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        for row in good:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(good), errors
