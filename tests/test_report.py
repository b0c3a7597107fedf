"""Corpus report, active-learning sampler and label import."""

import json
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from eval.corpus_report import aggregate, group_key, mean_ci, write_report
from eval.gold import EvalInputError
from training.annotation.active import entropy, export, pick
from training.annotation.label_import import import_labels


def scores_frame(n=120, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        ph, pdv = rng.dirichlet([1, 1, 1])[[2, 0]]
        pn = 1 - ph - pdv
        cls = ["dovish", "neutral", "hawkish"][int(np.argmax([pdv, pn, ph]))]
        ps = float(rng.random())
        rows.append({"id": f"a{i}", "status": "ok", "error": "", "stance": cls, "stance_score": ph - pdv,
                     "p_dovish": pdv, "p_neutral": pn, "p_hawkish": ph, "sovereignty": int(ps > 0.5),
                     "p_sovereignty": ps, "evidence_stance": f"sentence {i}" if cls != "neutral" else "",
                     "outlet": ["Ledger", "Courier", "Review"][i % 3], "date": f"2019-{1 + i % 6:02d}-15"})
    rows.append({"id": "bad", "status": "error", "error": "no text"})
    return pd.DataFrame(rows)


def test_mean_ci_on_known_data():
    rng = np.random.default_rng(0)
    m, lo, hi = mean_ci(np.array([0.0, 1.0] * 50), rng)
    assert m == 0.5
    assert lo < 0.5 < hi and hi - lo == pytest.approx(2 * 1.96 * 0.05, rel=0.2)  # SE of a mean of 100 coin flips
    assert np.isnan(mean_ci(np.array([0.3]), rng)[1])


def test_aggregate_shares_and_groups():
    f = pd.DataFrame({"stance": ["hawkish", "dovish", "neutral", "hawkish"], "stance_score": [0.8, -0.6, 0.0, 0.4],
                      "sovereignty": [1, 0, 0, 1], "outlet": ["A", "A", "B", "B"]})
    agg = aggregate(f, ["outlet"]).set_index("outlet")
    assert agg.loc["A", "n"] == 2 and agg.loc["A", "mean_stance_score"] == pytest.approx(0.1)
    assert agg.loc["A", "share_hawkish"] == 0.5 and agg.loc["B", "share_sovereignty"] == 0.5


def test_month_grouping_and_unknown_field():
    f = pd.DataFrame({"date": ["2019-01-31", "2019-02-01", None]})
    assert list(group_key(f, "date:month")) == ["2019-01", "2019-02", "(no date)"]
    with pytest.raises(EvalInputError, match="no field 'outlet'"):
        group_key(f, "outlet")


@pytest.fixture
def report_dir(tmp_path):
    scores_frame().to_csv(tmp_path / "scores.csv", index=False)
    write_report(str(tmp_path / "scores.csv"), ["outlet", "date:month"], str(tmp_path / "rep"))
    return tmp_path / "rep"


def test_report_files(report_dir):
    html = (report_dir / "report.html").read_text()
    assert html.count("<img") == 4 and "data:image/png;base64," in html
    assert html.count("<table") == 2 and "sentence" in html
    for name in ("by_outlet.csv", "by_date_month.csv", "by_outlet_x_date_month.csv", "stance_over_time.png",
                 "sovereignty_over_time.png", "stance_by_outlet.png", "score_distributions.png"):
        assert (report_dir / name).stat().st_size > 0, name
    assert pd.read_csv(report_dir / "by_outlet.csv")["n"].sum() == 120  # the error row is excluded
    assert "120 articles scored ok" in html and "(1 error row left out" in html  # and the report says so


def test_a_nested_field_groups_by_its_json_text():
    f = pd.DataFrame({"meta": [{"desk": "A"}, {"desk": "A"}, None, ["x"]]})
    assert list(group_key(f, "meta")) == ['{"desk": "A"}', '{"desk": "A"}', "(missing)", '["x"]']


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(not CHROMIUM, reason="no Chromium installed (apt-get install chromium); .ci/run installs it")
def test_report_renders_in_a_real_browser(report_dir, tmp_path):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}"]
    url = (report_dir / "report.html").as_uri()
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    assert dom.count("<img") == 4 and dom.count("<table") == 2
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1200,2400", url], capture_output=True,
                   timeout=120)
    from PIL import Image

    img = np.asarray(Image.open(shot).convert("L"))
    assert img.std() > 10  # plots and tables drew something, not a blank page


def test_sample_strategies():
    f = scores_frame()
    top = pick(f, 10, "uncertainty")
    ok = f[f["status"] == "ok"]
    assert set(top["id"]) == set(ok.assign(u=entropy(ok)).nlargest(10, "u")["id"])
    div = pick(f, 9, "diverse")
    assert div["outlet"].value_counts().to_dict() == {"Ledger": 3, "Courier": 3, "Review": 3}
    strat = pick(f, 12, "stratified")
    assert len(strat) == 12 and strat["stance"].nunique() == 3
    with pytest.raises(EvalInputError, match="--strategy"):
        pick(f, 5, "random")


def test_sample_export_has_codebook_columns(tmp_path):
    files = export(pick(scores_frame(), 5, "uncertainty"), str(tmp_path / "batch.csv"))
    table = pd.read_csv(files[0])
    assert {"stance", "sovereignty_salience", "sovereignty_whose", "rationale"} <= set(table.columns)
    assert table["stance"].isna().all()
    assert len(json.loads(files[1].read_text())) == 5 and "<Choices name=\"stance\"" in files[2].read_text()


def test_import_labels_reports_each_bad_row(tmp_path):
    pd.DataFrame({"id": ["a", "b", "c", "d", "e"], "stance": ["1", "3", "-2", "", "0"],
                  "sovereignty_salience": ["2", "0", "0", "1", "x"], "sovereignty_whose": ["other", "", "", "", ""]}
                 ).to_csv(tmp_path / "coded.csv", index=False)
    n, errors = import_labels(str(tmp_path / "coded.csv"), str(tmp_path / "labels.jsonl"))
    assert n == 2
    assert errors == ["row 2 (id 'b'): stance 3 is not one of [-2, -1, 0, 1, 2]", "row 4 (id 'd'): stance is empty",
                      "row 5 (id 'e'): sovereignty_salience: 'x' is not a number"]
    rows = [json.loads(line) for line in open(tmp_path / "labels.jsonl")]
    assert rows[0] == {"id": "a", "stance": 1, "sovereignty_salience": 2, "sovereignty": 1, "sovereignty_whose": "other",
                       "fp_relevant": None, "rationale": "", "coder": ""}


def test_import_label_studio_export(tmp_path):
    export_json = [{"id": 7, "data": {"id": "x1", "text": "..."}, "annotations": [{"result": [
        {"from_name": "stance", "type": "choices", "value": {"choices": ["-1"]}},
        {"from_name": "sovereignty_salience", "type": "choices", "value": {"choices": ["0"]}},
        {"from_name": "rationale", "type": "textarea", "value": {"text": ["asks for talks"]}}]}]}]
    (tmp_path / "ls.json").write_text(json.dumps(export_json))
    n, errors = import_labels(str(tmp_path / "ls.json"), str(tmp_path / "out.jsonl"))
    assert (n, errors) == (1, [])
    assert json.loads(open(tmp_path / "out.jsonl").readline())["rationale"] == "asks for talks"
