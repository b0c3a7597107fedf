"""Evaluation harness: metrics against hand-computed cases, CIs, file errors, outputs."""

import json

import numpy as np
import pandas as pd
import pytest

from eval.coder_agreement import coder_agreement
from eval.evaluate import evaluate
from eval.gold import EvalInputError, normalise_gold
from eval.metrics import bootstrap_ci, expected_calibration_error, macro_f1, weighted_f1


def test_f1_by_hand():
    y = ["h", "h", "n", "n", "d", "d"]
    p = ["h", "n", "n", "n", "d", "h"]
    # h: P 1/2 R 1/2 F .5; n: P 2/3 R 1 F .8; d: P 1 R 1/2 F 2/3
    assert macro_f1(y, p, ["d", "n", "h"]) == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert weighted_f1(y, p, ["d", "n", "h"]) == pytest.approx((0.5 * 2 + 0.8 * 2 + 2 / 3 * 2) / 6)


def test_ece_by_hand():
    # two bins: p=0.2 (outcome share 0.5) and p=0.8 (outcome share 1.0), equal size
    assert expected_calibration_error([0, 1, 1, 1], [0.2, 0.2, 0.8, 0.8]) == pytest.approx(0.5 * 0.3 + 0.5 * 0.2)


def test_bootstrap_ci_brackets_the_estimate_and_is_reproducible():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    lo, hi = bootstrap_ci(np.mean, x, n=500)
    assert lo < x.mean() < hi
    assert (lo, hi) == bootstrap_ci(np.mean, x, n=500)
    assert hi - lo == pytest.approx(2 * 1.96 / np.sqrt(200), rel=0.25)


def test_gold_values_are_normalised_and_checked():
    g = normalise_gold(pd.DataFrame({"id": [1, 2, 3], "stance": [-2, 0, 1], "sovereignty_salience": [0, 2, 1]}))
    assert list(g["stance"]) == ["dovish", "neutral", "hawkish"]
    assert list(g["stance_intensity"]) == [-2, 0, 1]
    assert list(g["sovereignty"]) == [0, 1, 1]
    with pytest.raises(EvalInputError, match="no gold column"):
        normalise_gold(pd.DataFrame({"id": [1], "text": ["x"]}))
    with pytest.raises(EvalInputError, match="neither a class name"):
        normalise_gold(pd.DataFrame({"id": [1], "stance": ["hawk"]}))


def _files(tmp_path, n=60, missing=0):
    rng = np.random.default_rng(1)
    gold, pred = [], []
    for i in range(n):
        s = int(rng.integers(-2, 3))
        sov = int(rng.integers(0, 2))
        gold.append({"id": f"a{i}", "stance": s, "sovereignty": sov})
        ph = 0.8 if s > 0 else 0.1
        pdv = 0.8 if s < 0 else 0.1
        pn = 1 - ph - pdv
        cls = ["dovish", "neutral", "hawkish"][int(np.argmax([pdv, pn, ph]))]
        if i % 7 == 0:  # some errors so metrics are not trivially perfect
            cls = "neutral"
        pred.append({"id": f"a{i}", "status": "ok", "error": "", "stance": cls, "stance_score": ph - pdv,
                     "p_dovish": pdv, "p_neutral": pn, "p_hawkish": ph, "stance_intensity": 2 * (ph - pdv),
                     "sovereignty": sov if i % 5 else 1 - sov, "p_sovereignty": 0.7 if sov else 0.2,
                     "sovereignty_salience": sov})
    pd.DataFrame(gold).to_csv(tmp_path / "gold.csv", index=False)
    (tmp_path / "pred.jsonl").write_text("".join(json.dumps(r) + "\n" for r in pred[missing:]))
    return tmp_path / "gold.csv", tmp_path / "pred.jsonl", gold, pred


def test_evaluate_writes_report_metrics_and_plots(tmp_path):
    gold, pred, g, p = _files(tmp_path)
    m = evaluate(str(gold), str(pred), out_dir=str(tmp_path / "out"))
    acc = np.mean([["dovish", "neutral", "hawkish"][(x["stance"] > 0) - (x["stance"] < 0) + 1] == y["stance"]
                   for x, y in zip(g, p)])
    assert m["stance"]["accuracy"]["value"] == pytest.approx(acc)
    lo, hi = m["stance"]["macro_f1"]["ci95"]
    assert lo <= m["stance"]["macro_f1"]["value"] <= hi
    assert m["sovereignty"]["roc_auc"]["value"] == pytest.approx(1.0)
    assert sum(map(sum, m["sovereignty"]["confusion"]["rows_gold_cols_pred"])) == 60
    for f in ("report.md", "metrics.json", "confusion.png", "reliability.png", "score_distributions.png"):
        assert (tmp_path / "out" / f).stat().st_size > 0
    assert "| macro-F1 |" in (tmp_path / "out" / "report.md").read_text()


def test_evaluate_names_missing_predictions(tmp_path):
    gold, pred, _, _ = _files(tmp_path, missing=3)
    with pytest.raises(EvalInputError, match="3 gold ids have no prediction"):
        evaluate(str(gold), str(pred), out_dir=str(tmp_path / "out"))


def test_evaluate_needs_an_id_column(tmp_path):
    pd.DataFrame({"stance": [1]}).to_csv(tmp_path / "g.csv", index=False)
    with pytest.raises(EvalInputError, match="needs an 'id' column"):
        evaluate(str(tmp_path / "g.csv"), str(tmp_path / "g.csv"), out_dir=str(tmp_path / "o"))


def test_coder_agreement_files(tmp_path):
    pd.DataFrame({"id": ["a", "b", "c", "d"], "stance": [1, 0, -1, 0], "sovereignty": [1, 0, 0, 1]}).to_csv(
        tmp_path / "a.csv", index=False)
    pd.DataFrame({"id": ["a", "b", "c", "e"], "stance": [2, 0, -1, 0], "sovereignty": [1, 0, 1, 0]}).to_csv(
        tmp_path / "b.csv", index=False)
    r = coder_agreement(str(tmp_path / "a.csv"), str(tmp_path / "b.csv"))
    assert (r["n_common"], r["only_in_a"], r["only_in_b"]) == (3, 1, 1)
    assert r["stance_class"]["agreement"] == 1.0
    assert r["stance_intensity"]["agreement"] == pytest.approx(2 / 3)
    assert r["sovereignty"]["confusion"] == [[1, 1], [0, 1]]


def test_lexicon_skips_quotes_and_attribution_and_flips_negated_cues():
    from eval.baselines.lexicon import cue_counts

    hawk, dove, sov, _ = cue_counts("We must strike now. We should not negotiate.")
    assert (hawk, dove) == (2, 0)  # "not negotiate" counts as hawkish
    hawk, dove, _, _ = cue_counts('The senator said we must strike. "Bomb them," a caller shouted.')
    assert (hawk, dove) == (0, 0)  # attributed speech and quotations are not the author's voice
    _, _, sov, _ = cue_counts("Sovereign debt markets rallied. The annexation violated Ukraine's territorial integrity.")
    assert sov == 2  # "sovereign debt" is not a sovereignty cue


def test_blank_gold_cells_are_not_coded_not_neutral(tmp_path):
    pd.DataFrame({"id": ["a", "b"], "stance": [1, None], "sovereignty": [None, 1]}).to_csv(tmp_path / "g.csv", index=False)
    from eval.gold import read_table

    g = normalise_gold(read_table(tmp_path / "g.csv"))
    assert g["stance"][0] == "hawkish" and g["stance"].isna().tolist() == [False, True]
    assert g["sovereignty"].isna().tolist() == [True, False]


def test_paired_difference_is_zero_for_equal_predictions_and_signed_otherwise():
    from eval.codebook_metrics import paired_difference

    gold = [{"stance": s, "sovereignty": v} for s, v in [(2, 1), (-1, 0), (0, 0), (0, 1), (1, 0), (-2, 1)] * 5]
    right = [{"stance": {2: "hawkish", 1: "hawkish", -1: "dovish", -2: "dovish"}.get(g["stance"], "neutral"),
              "sovereignty": g["sovereignty"]} for g in gold]
    wrong = [{"stance": "neutral", "sovereignty": 1 - g["sovereignty"]} for g in gold]
    same = paired_difference(gold, right, right, n_boot=50)
    assert same["stance_macro_f1"] == {"value": 0.0, "ci95": [0.0, 0.0]}
    gap = paired_difference(gold, right, wrong, n_boot=50)
    assert gap["stance_macro_f1"]["value"] == pytest.approx(1 - 1 / 3 * (0 + 0 + 2 * 10 / 40))
    assert gap["sovereignty_f1"]["value"] == 1.0
    assert gap["stance_macro_f1"]["ci95"][0] > 0
    assert paired_difference(gold, wrong, right, n_boot=50)["sovereignty_f1"]["value"] == -1.0


def test_between_models_counts_same_labels_and_kappa():
    from eval.reproduction import between_models

    a = [{"stance": s, "sovereignty": v} for s, v in [("hawkish", 1), ("neutral", 0), ("dovish", 0), ("neutral", 1)]]
    assert between_models(a, a) == {"stance_same": 1.0, "stance_kappa": 1.0, "sovereignty_same": 1.0,
                                    "sovereignty_kappa": 1.0}
    b = [dict(r) for r in a]
    b[0]["stance"], b[3]["sovereignty"] = "dovish", 0
    out = between_models(a, b)
    assert out["stance_same"] == 0.75 and out["sovereignty_same"] == 0.75
    assert out["stance_kappa"] < 1.0 and out["sovereignty_kappa"] == pytest.approx(0.5)
    with pytest.raises(ValueError):
        between_models(a, b[:2])


def test_evidence_check_locates_sentences_and_computes_chance():
    from eval.evidence import chance, locate, matches

    paragraphs = ["We must strike first. Force deters.", "Talks failed again.", "Our border is ours."]
    article = {"paragraphs": paragraphs,
               "codes": {0: {"stance": 2, "sovereignty": 0}, 2: {"stance": 0, "sovereignty": 1}}}
    assert locate("Force  deters.", paragraphs) == 0
    assert locate("Not in the text.", paragraphs) is None
    assert locate("Talks failed again.", paragraphs + ["Talks failed again."]) is None  # two places: not judged
    assert matches("stance", "hawkish", article["codes"][0]) and not matches("stance", "dovish", article["codes"][0])
    assert matches("sovereignty", 1, article["codes"][2])
    # coded paragraphs hold 2 + 1 sentences; the hawkish paragraph holds 2 of them
    assert chance("stance", "hawkish", article) == 2 / 3
    assert chance("sovereignty", 1, article) == 1 / 3


def test_evidence_p_value_is_the_binomial_tail_above_chance():
    from eval.evidence import above_chance

    assert above_chance(4, 4, 0.5) == 0.5 ** 4  # all four hit: probability 1/16 by chance
    assert above_chance(0, 4, 0.5) == 1.0
    assert above_chance(0, 0, None) is None


def test_evidence_judging_and_the_method_comparison_report():
    from eval.evidence import compare_markdown, judge, markdown

    article = {"paragraphs": ["We must strike first. Force deters.", "Talks failed again."],
               "codes": {0: {"stance": 2, "sovereignty": 0}, 1: {"stance": -1, "sovereignty": 0}}}
    rows = [{"stance": "hawkish", "evidence_stance": "Force deters.", "sovereignty": 0, "evidence_sovereignty": ""},
            {"stance": "hawkish", "evidence_stance": "Talks failed again.", "sovereignty": 0, "evidence_sovereignty": ""}]
    judged = judge([article, article], rows)
    assert (judged["stance"]["judged"], judged["stance"]["hits"]) == (2, 1)
    assert judged["stance"]["chance"] == 2 / 3 and judged["sovereignty"]["with_evidence"] == 0
    report = {"command": "c", "model": "m", "split": "dev", "articles_with_paragraph_codes": 2,
              "methods": {"in-context": judged, "standalone": judge([article], rows[:1])},
              "same_sentence": {"stance": {"articles_with_evidence": 2, "same_sentence": 1},
                                "sovereignty": {"articles_with_evidence": 0, "same_sentence": 0}}}
    text = compare_markdown(report)
    assert "| in-context | stance | 2 | 2 | 1 | 0.50 | 0.67 |" in text
    assert "| standalone | stance | 1 | 1 | 1 | 1.00 | 0.67 |" in text and "| stance | 2 | 1 |" in text
    single = markdown({**report, "evidence_method": "in-context", "dimensions": judged})
    assert "Evidence method: in-context" in single and "| stance | 2 | 2 | 1 | 0.50 | 0.67 |" in single


def test_side_errors_count_each_direction_and_ignore_neutral_gold():
    from eval.codebook_metrics import codebook_metrics, side_errors

    rows = [{"stance": s, "sovereignty": 0} for s in (2, 1, -1, -2, 0)]
    preds = [{"stance": s, "sovereignty": 0, "p_sovereignty": 0.1}
             for s in ("hawkish", "dovish", "hawkish", "neutral", "hawkish")]
    confusion = codebook_metrics(rows, preds, n_boot=10)["stance"]["confusion"]
    assert side_errors(confusion) == {"with_a_side": 4, "dovish_read_as_hawkish": 1, "hawkish_read_as_dovish": 1}


def test_reproduction_report_shows_side_errors_or_says_they_are_missing():
    from eval.reproduction import markdown

    def model(side_errors):
        return {"path": "p", "model": "m", "best_epoch": 1, "code": None, "data_sha256": None,
                "metrics": {"stance": {"macro_f1": {"value": 0.5, "ci95": [0.4, 0.6]}},
                            "sovereignty": {"f1": {"value": 0.5, "ci95": [0.4, 0.6]}}},
                **({"side_errors": side_errors} if side_errors else {})}

    diff = {"value": 0.0, "ci95": [-0.1, 0.1]}
    report = {"split": "dev", "n": 3, "command": "c",
              "models": {"reference": model(None),
                         "candidate": model({"with_a_side": 2, "dovish_read_as_hawkish": 1, "hawkish_read_as_dovish": 0})},
              "candidate_minus_reference": {"stance_macro_f1": diff, "sovereignty_f1": diff},
              "between_models": {"stance_same": 1.0, "stance_kappa": 1.0, "sovereignty_same": 1.0, "sovereignty_kappa": 1.0}}
    text = markdown(report)
    assert "| not recorded |" in text and "| 1 / 0 of 2 |" in text


def test_bench_report_shows_the_no_evidence_run_and_never_a_negative_share():
    import copy
    from pathlib import Path

    from eval.bench_score import _markdown

    result = json.loads((Path(__file__).resolve().parents[1] / "eval/results/bench_score.json").read_text())
    text = _markdown(result)
    assert "`oped score --no-evidence`, whole process" in text and "finding the evidence sentences takes" in text
    noisy = copy.deepcopy(result)
    noisy["models"]["default"]["oped_score_no_evidence"]["evidence_share_of_score_seconds"] = -0.02
    assert "no measurable share" in _markdown(noisy) and "-2%" not in _markdown(noisy)


def test_the_batch_size_rule_needs_a_clear_and_consistent_gain():
    from eval.bench_batch_size import verdict

    # 16: 5% faster at the median and in every round; 8: faster at the median but slower in one round;
    # 24: faster in every round but by under 3%
    seconds = {32: [10.0, 10.0, 10.4], 16: [9.5, 9.4, 9.9], 8: [9.0, 10.5, 9.0], 24: [9.9, 9.8, 10.3]}
    chosen, passed = verdict(seconds)
    assert chosen == 16 and passed == {32: False, 16: True, 8: False, 24: False}
    assert verdict({32: [10.0, 10.0], 16: [10.1, 9.0]})[0] == 32  # nothing passes: 32 stays


def test_reproduction_report_reads_each_paired_interval_as_it_is():
    from eval.reproduction import _read_intervals

    def d(stance, sov):
        return {"stance_macro_f1": {"value": 0, "ci95": stance}, "sovereignty_f1": {"value": 0, "ci95": sov}}

    assert _read_intervals(d([-0.1, 0.1], [-0.2, 0.05]), "dev").startswith("Both intervals span 0")
    one = _read_intervals(d([-0.167, -0.003], [-0.135, 0.028]), "dev")
    assert "stance macro-F1 excludes 0" in one and "candidate is lower" in one and "sovereignty F1 spans 0" in one
    both = _read_intervals(d([0.01, 0.2], [-0.3, -0.1]), "test")
    assert both.startswith("Both intervals exclude 0") and "stance macro-F1 the candidate is higher" in both
    assert "sovereignty F1 the candidate is lower" in both


def test_gold_sovereignty_codes_in_words_are_read_and_others_refused():
    import pandas as pd

    from eval.gold import EvalInputError, normalise_gold

    frame = pd.DataFrame({"id": ["a", "b", "c", "d"], "sovereignty": ["present", "absent", 1, ""]})
    assert normalise_gold(frame)["sovereignty"].tolist()[:3] == [1.0, 0.0, 1.0]
    assert pd.isna(normalise_gold(frame)["sovereignty"].iloc[3])  # blank: not coded
    with pytest.raises(EvalInputError, match="sovereignty must be a number.*'maybe'"):
        normalise_gold(pd.DataFrame({"id": ["a", "b"], "sovereignty": ["maybe", 1]}))
    with pytest.raises(EvalInputError, match="sovereignty_salience must be a number"):
        normalise_gold(pd.DataFrame({"id": ["a"], "sovereignty_salience": ["high"]}))


def test_macro_f1_leaves_out_a_class_neither_gold_nor_predictions_have():
    from eval.metrics import macro_f1

    labels = ["dovish", "neutral", "hawkish"]
    assert macro_f1(["neutral", "hawkish"], ["neutral", "hawkish"], labels) == 1.0  # no dovish coded or predicted
    # a predicted class the gold never has still counts, as a wrong answer
    assert macro_f1(["neutral", "neutral"], ["dovish", "neutral"], labels) == pytest.approx((0 + 2 / 3) / 2)
