"""`oped sample`: pick the articles whose hand coding would most improve the model.

Strategies (on an `oped score` output):
  uncertainty: highest predictive entropy (stance classes plus the sovereignty
               frame), i.e. articles near a decision boundary;
  diverse:     the same ranking, taken round-robin across outlets (or another
               field), so one outlet cannot fill the batch;
  stratified:  equal numbers from each predicted stance class x frame cell,
               random within cells (a calibration sample, not an active one).
Exports a CSV with the codebook's fields as empty columns, and a Label Studio
import file with a labelling config.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from eval.gold import EvalInputError, read_table

CODE_FIELDS = ["stance", "sovereignty", "sovereignty_salience", "sovereignty_whose", "fp_relevant", "rationale", "coder"]
STRATEGIES = ("uncertainty", "diverse", "stratified")


def entropy(frame: pd.DataFrame) -> np.ndarray:
    p = frame[["p_dovish", "p_neutral", "p_hawkish"]].to_numpy(float).clip(1e-9, 1)
    q = frame["p_sovereignty"].to_numpy(float).clip(1e-9, 1 - 1e-9)
    return -(p * np.log(p)).sum(1) - (q * np.log(q) + (1 - q) * np.log(1 - q))


def pick(frame: pd.DataFrame, n: int, strategy: str, by: str = "outlet", seed: int = 0) -> pd.DataFrame:
    if strategy not in STRATEGIES:
        raise EvalInputError(f"--strategy must be one of {', '.join(STRATEGIES)}")
    frame = frame[frame["status"] == "ok"].copy()
    frame["uncertainty"] = entropy(frame)
    ranked = frame.sort_values(["uncertainty", "id"], ascending=[False, True])
    if strategy == "uncertainty":
        return ranked.head(n)
    if strategy == "diverse":
        key = ranked[by].fillna("(missing)").astype(str) if by in ranked.columns else pd.Series("all", index=ranked.index)
        order = ranked.assign(_rank=key.groupby(key).cumcount()).sort_values(["_rank", "uncertainty"],
                                                                             ascending=[True, False])
        return order.drop(columns="_rank").head(n)
    rng = np.random.default_rng(seed)
    cells = frame.groupby([frame["stance"], frame["sovereignty"]])
    per = max(1, n // max(cells.ngroups, 1))
    chosen = [g.iloc[rng.permutation(len(g))[:per]] for _, g in cells]
    out = pd.concat(chosen)
    if len(out) < n:  # fill from the rest at random
        rest = frame.drop(out.index)
        out = pd.concat([out, rest.iloc[rng.permutation(len(rest))[: n - len(out)]]])
    return out.head(n)


LABEL_STUDIO_CONFIG = """<View>
  <Header value="Code the author's own position (docs/codebook.md)"/>
  <Text name="text" value="$text"/>
  <Choices name="stance" toName="text" choice="single" required="true">
    <Choice value="-2"/><Choice value="-1"/><Choice value="0"/><Choice value="1"/><Choice value="2"/>
  </Choices>
  <Choices name="sovereignty_salience" toName="text" choice="single" required="true">
    <Choice value="0"/><Choice value="1"/><Choice value="2"/>
  </Choices>
  <Choices name="sovereignty_whose" toName="text" choice="single">
    <Choice value="own"/><Choice value="other"/><Choice value="supranational"/>
  </Choices>
  <Choices name="fp_relevant" toName="text" choice="single"><Choice value="true"/><Choice value="false"/></Choices>
  <TextArea name="rationale" toName="text" maxSubmissions="1"/>
</View>
"""


def export(sample: pd.DataFrame, out: str, meta: str | None = None) -> list[Path]:
    keep = [c for c in ("id", "outlet", "date", "title", "stance", "stance_score", "p_sovereignty", "uncertainty")
            if c in sample.columns]
    table = sample[keep].rename(columns={"stance": "model_stance", "stance_score": "model_stance_score",
                                         "p_sovereignty": "model_p_sovereignty"})
    if meta:
        extra = read_table(meta).drop_duplicates("id")
        cols = ["id"] + [c for c in ("text", "title", "outlet", "date") if c in extra.columns and c not in table.columns]
        table = table.merge(extra[cols], on="id", how="left")
    for c in CODE_FIELDS:
        table[c] = ""
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_path, index=False)
    tasks = [{"data": {k: (None if pd.isna(v) else v) for k, v in row.items() if k not in CODE_FIELDS}}
             for row in table.to_dict("records")]
    ls = out_path.with_suffix(".labelstudio.json")
    ls.write_text(json.dumps(tasks, ensure_ascii=False, indent=1, default=str))
    cfg = out_path.with_suffix(".labelstudio.xml")
    cfg.write_text(LABEL_STUDIO_CONFIG)
    return [out_path, ls, cfg]
