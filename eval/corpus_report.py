"""`oped report`: corpus aggregates with uncertainty, plots, CSVs and one HTML file.

Groups are fields of the scores (or of the input joined by id with --meta);
`date:month` (or `date:year`, `date:week`) groups a date field by period. Per
group: n, mean stance_score with a 95% bootstrap CI, shares hawkish and dovish,
share with the sovereignty frame and its CI, and the strongest evidence passages.
"""

from __future__ import annotations

import base64
import json
import html
import io
from pathlib import Path

import numpy as np
import pandas as pd

from eval.gold import EvalInputError, read_table

N_BOOT = 1000
SEED = 2026
MAX_SERIES = 8  # lines per time plot, the largest groups; more would be unreadable


def load_scores(scores: str, meta: str | None = None) -> pd.DataFrame:
    frame = read_table(scores)
    need = {"status", "stance", "stance_score", "sovereignty", "p_sovereignty"}
    missing = need - set(frame.columns)
    if missing:
        raise EvalInputError(f"{scores}: not an `oped score` output (missing {sorted(missing)})")
    if meta:
        extra = read_table(meta).drop_duplicates("id")
        extra = extra[[c for c in extra.columns if c == "id" or c not in frame.columns and c != "text"]]
        frame = frame.merge(extra, on="id", how="left")
    ok = frame[frame["status"] == "ok"].copy()
    ok.attrs["left_out"] = int(len(frame) - len(ok))  # error rows: no scores to aggregate
    return ok


def group_key(frame: pd.DataFrame, spec: str) -> pd.Series:
    field, _, period = spec.partition(":")
    if field not in frame.columns:
        raise EvalInputError(f"--by {spec}: no field {field!r} (fields: {', '.join(map(str, frame.columns))}); "
                             "scores carry the input's fields unless --drop-fields, or join them with --meta")
    if not period:
        # nested values (a dict or list field) group by their JSON text
        values = frame[field].map(lambda v: json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v)
        return values.fillna("(missing)").astype(str)
    codes = {"month": "M", "year": "Y", "week": "W", "day": "D"}
    if period not in codes:
        raise EvalInputError(f"--by {spec}: period must be one of {', '.join(codes)}")
    dates = pd.to_datetime(frame[field], errors="coerce", utc=True).dt.tz_localize(None)
    periods = dates.dt.to_period(codes[period])
    return pd.Series([str(p) if not pd.isna(p) else "(no date)" for p in periods], index=frame.index)


def mean_ci(values: np.ndarray, rng: np.random.Generator) -> tuple[float, float, float]:
    """Mean and percentile-bootstrap 95% CI (NaN CI for a single value)."""
    values = np.asarray(values, float)
    if len(values) == 0:
        return (np.nan, np.nan, np.nan)
    if len(values) == 1:
        return (float(values[0]), np.nan, np.nan)
    means = values[rng.integers(0, len(values), (N_BOOT, len(values)))].mean(1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return (float(values.mean()), float(lo), float(hi))


def aggregate(frame: pd.DataFrame, specs: list[str]) -> pd.DataFrame:
    keys = pd.DataFrame({f"_k{i}": group_key(frame, spec) for i, spec in enumerate(specs)}, index=frame.index)
    rng = np.random.default_rng(SEED)
    rows = []
    for key, sub in keys.groupby(list(keys.columns), sort=True):
        g = frame.loc[sub.index]
        m, lo, hi = mean_ci(g["stance_score"].to_numpy(float), rng)
        s, slo, shi = mean_ci(g["sovereignty"].to_numpy(float), rng)
        rows.append({**dict(zip(specs, key)), "n": len(g), "mean_stance_score": m, "stance_ci_low": lo,
                     "stance_ci_high": hi, "share_hawkish": float((g["stance"] == "hawkish").mean()),
                     "share_dovish": float((g["stance"] == "dovish").mean()), "share_sovereignty": s,
                     "sovereignty_ci_low": slo, "sovereignty_ci_high": shi})
    return pd.DataFrame(rows)


def top_evidence(frame: pd.DataFrame, key: pd.Series, k: int = 3) -> dict:
    """The k passages behind the strongest stance scores of each group."""
    out = {}
    col = "evidence_stance" if "evidence_stance" in frame.columns else None
    for g, sub in frame.groupby(key, sort=True):
        if col:
            sub = sub[sub[col].fillna("").astype(str).str.len() > 0]
        sub = sub.reindex(sub["stance_score"].abs().sort_values(ascending=False).index).head(k)
        out[g] = [(r["id"], r["stance"], float(r["stance_score"]), str(r.get(col) or "")) for _, r in sub.iterrows()]
    return out


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def plots(frame: pd.DataFrame, specs: list[str]) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figs = {}
    time_spec = next((s for s in specs if ":" in s), None)
    group_spec = next((s for s in specs if ":" not in s), None)
    if time_spec:
        series = group_key(frame, group_spec) if group_spec else pd.Series("all", index=frame.index)
        top = series.value_counts().index[:MAX_SERIES]
        for metric, col, label in (("stance", "stance_score", "mean stance_score (hawkish +, dovish -)"),
                                   ("sovereignty", "sovereignty", "share with the sovereignty frame")):
            fig, ax = plt.subplots(figsize=(9, 4.5))
            for name in top:
                sub = frame[series == name]
                agg = aggregate(sub, [time_spec])
                agg = agg[~agg[time_spec].str.startswith("(")]
                x = pd.to_datetime(agg[time_spec].str.split("/").str[0]) if len(agg) else []
                y = agg["mean_stance_score" if metric == "stance" else "share_sovereignty"]
                lo = agg["stance_ci_low" if metric == "stance" else "sovereignty_ci_low"]
                hi = agg["stance_ci_high" if metric == "stance" else "sovereignty_ci_high"]
                line, = ax.plot(x, y, marker=".", label=f"{name} (n={len(sub)})")
                ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.15)
            ax.set_ylabel(label)
            ax.set_xlabel(time_spec.replace(":", " by "))
            ax.set_title(f"{'Stance' if metric == 'stance' else 'Sovereignty frame'} over time, 95% CI bands")
            ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
            figs[f"{metric}_over_time.png"] = fig
    if group_spec:
        agg = aggregate(frame, [group_spec]).sort_values("mean_stance_score")
        agg = agg[agg["n"] >= 5] if (agg["n"] >= 5).sum() >= 2 else agg
        fig, ax = plt.subplots(figsize=(7, max(2.5, 0.28 * len(agg) + 1)))
        y = np.arange(len(agg))
        err = np.vstack([agg["mean_stance_score"] - agg["stance_ci_low"], agg["stance_ci_high"] - agg["mean_stance_score"]])
        ax.errorbar(agg["mean_stance_score"], y, xerr=np.nan_to_num(err), fmt="o", capsize=2)
        ax.set_yticks(y, [f"{g} (n={n})" for g, n in zip(agg[group_spec], agg["n"])], fontsize=8)
        ax.axvline(0, color="grey", linewidth=0.8)
        ax.set_xlabel("mean stance_score with 95% CI (dovish - / hawkish +)")
        ax.set_title(f"Stance by {group_spec}" + (" (groups with n >= 5)" if len(agg) < frame[group_spec].nunique() else ""))
        figs[f"stance_by_{group_spec}.png"] = fig
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    axes[0].hist(frame["stance_score"].astype(float), bins=40, range=(-1, 1), color="#4477aa")
    axes[0].set_xlabel("stance_score")
    axes[0].set_ylabel("articles")
    axes[0].set_title("Distribution of stance scores")
    axes[1].hist(frame["p_sovereignty"].astype(float), bins=40, range=(0, 1), color="#cc6677")
    axes[1].set_xlabel("P(sovereignty frame)")
    axes[1].set_title("Distribution of sovereignty probabilities")
    figs["score_distributions.png"] = fig
    out = {}
    for name, fig in figs.items():
        out[name] = _png(fig)
        plt.close(fig)
    return out


def write_report(scores: str, specs: list[str], out_dir: str, meta: str | None = None) -> Path:
    frame = load_scores(scores, meta)
    if frame.empty:
        raise EvalInputError(f"{scores}: no rows with status ok")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables = {}
    for spec in specs:
        tables[spec] = aggregate(frame, [spec])
        tables[spec].to_csv(out / f"by_{spec.replace(':', '_')}.csv", index=False)
    if len(specs) > 1:
        both = aggregate(frame, specs)
        both.to_csv(out / ("by_" + "_x_".join(s.replace(":", "_") for s in specs) + ".csv"), index=False)
    images = plots(frame, specs)
    for name, data in images.items():
        (out / name).write_bytes(base64.b64decode(data))
    group_spec = next((s for s in specs if ":" not in s), specs[0] if specs else None)
    evidence = top_evidence(frame, group_key(frame, group_spec)) if group_spec else {}
    path = out / "report.html"
    path.write_text(_html(frame, specs, tables, images, evidence, group_spec, scores), encoding="utf-8")
    return path


def _table(df: pd.DataFrame) -> str:
    return df.to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep="", classes="agg", border=0)


def _html(frame, specs, tables, images, evidence, group_spec, scores) -> str:
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>oped-stance corpus report</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
        "table.agg{border-collapse:collapse;font-size:13px;margin:1em 0}table.agg td,table.agg th{padding:3px 8px;"
        "border-bottom:1px solid #ddd;text-align:right}img{max-width:100%}.ev{font-size:13px;margin:0.3em 0}"
        "code{background:#f4f4f4}</style></head><body>",
        "<h1>oped-stance corpus report</h1>",
        f"<p>{len(frame):,} articles scored ok from <code>{e(str(scores))}</code>"
        + (f" ({frame.attrs['left_out']:,} error row{'s' if frame.attrs['left_out'] > 1 else ''} left out: "
           "their <code>error</code> column says why)"
           if frame.attrs.get("left_out") else "") + ". stance_score = P(hawkish) - "
        "P(dovish); shares count the predicted classes. Brackets are 95% bootstrap confidence intervals "
        f"({N_BOOT:,} resamples of articles). Definitions: docs/codebook.md.</p>",
    ]
    for name, data in images.items():
        parts.append(f"<figure><img alt='{e(name)}' src='data:image/png;base64,{data}'><figcaption>{e(name)}"
                     "</figcaption></figure>")
    for spec, df in tables.items():
        parts.append(f"<h2>By {e(spec)}</h2>" + _table(df))
    if evidence:
        parts.append(f"<h2>Evidence: strongest stance passages by {e(group_spec)}</h2>")
        for g, items in evidence.items():
            parts.append(f"<h3>{e(str(g))}</h3>")
            for id_, cls, score, text in items:
                parts.append(f"<p class='ev'><a href='#{e(str(id_))}' title='article id'>{e(str(id_))}</a> "
                             f"({e(cls)}, {score:+.2f}): {e(text)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
