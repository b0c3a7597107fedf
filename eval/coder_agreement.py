"""`oped agreement A B`: reliability between two coders' files of the same articles."""

from __future__ import annotations

from eval.agreement import pairwise
from eval.gold import STANCE_CLASSES, EvalInputError, normalise_gold, read_table


def coder_agreement(path_a: str, path_b: str) -> dict:
    a = normalise_gold(read_table(path_a), path_a).set_index("id")
    b = normalise_gold(read_table(path_b), path_b).set_index("id")
    ids = sorted(set(a.index) & set(b.index))
    if not ids:
        raise EvalInputError(f"{path_a} and {path_b} share no ids")
    out = {"n_common": len(ids), "only_in_a": len(set(a.index) - set(b.index)),
           "only_in_b": len(set(b.index) - set(a.index))}
    dims = [("stance_class", "stance", "nominal", STANCE_CLASSES),
            ("stance_intensity", "stance_intensity", "ordinal", [-2, -1, 0, 1, 2]),
            ("sovereignty", "sovereignty", "nominal", [0, 1]),
            ("sovereignty_salience", "sovereignty_salience", "ordinal", [0, 1, 2])]
    for name, col, level, labels in dims:
        if col in a.columns and col in b.columns:
            x = [_plain(v) for v in a.loc[ids, col]]
            y = [_plain(v) for v in b.loc[ids, col]]
            out[name] = pairwise(x, y, level, labels=labels)
    if len(out) == 3:
        raise EvalInputError("the two files share no coded dimension")
    return out


def _plain(v):
    """Numbers as ints, blanks (not coded) as None, which pairwise() leaves out."""
    if v is None or (isinstance(v, float) and v != v):
        return None
    v = v.item() if hasattr(v, "item") else v
    return int(v) if isinstance(v, float) and v.is_integer() else v


def format_agreement(r: dict) -> str:
    lines = [f"{r['n_common']} articles coded in both files ({r['only_in_a']} only in A, {r['only_in_b']} only in B)", "",
             "| dimension | n | agreement | Krippendorff's alpha | Cohen's kappa |", "|---|---|---|---|---|"]
    for k, v in r.items():
        if isinstance(v, dict):
            lines.append(f"| {k} ({v['alpha_level']}) | {v['n']} | {v['agreement']:.3f} | {v['alpha']:.3f} | "
                         f"{v['cohen_kappa']:.3f} |")
    for k, v in r.items():
        if isinstance(v, dict):
            lines += ["", f"{k}: confusion (rows A, columns B), labels {v['labels']}"] + [
                "  " + " ".join(f"{n:5d}" for n in row) for row in v["confusion"]]
    return "\n".join(lines)
