"""Sampling-round bookkeeping: split assignment and the active-learning ranking."""

from training.annotation.active_round import rank_directional
from training.annotation.build_labels import assign_splits


def _labels(n, pool, stance=0):
    return {f"{pool}:{i}": {"stance": stance, "sovereignty": 0, "pool": pool} for i in range(n)}


def test_model_picked_rounds_go_to_train_and_published_splits_never_move():
    published = _labels(40, "stratified")
    first = assign_splits(published)
    both = {**published, **_labels(30, "active_directional", stance=1), **_labels(40, "model_screen")}
    second = assign_splits(both, fixed=first)
    assert all(second[i] == first[i] for i in first)
    assert all(second[i] == "train" for i in both if i.startswith("active_directional"))
    assert {second[i] for i in both if i.startswith("model_screen")} == {"train", "dev", "test"}


def test_active_round_ranks_uncoded_ok_rows_by_directional_probability():
    scores = [{"id": "a", "status": "ok", "p_neutral": 0.9}, {"id": "b", "status": "ok", "p_neutral": 0.2},
              {"id": "c", "status": "error", "p_neutral": None}, {"id": "d", "status": "ok", "p_neutral": 0.1},
              {"id": "e", "status": "ok", "p_neutral": 0.5}]
    assert rank_directional(scores, exclude={"d"}, n=2) == ["b", "e"]


def test_baselines_fit_on_the_articles_the_model_trained_on():
    from types import SimpleNamespace

    from eval.model_card import articles_model_trained_on

    data = SimpleNamespace(articles={"train": [{"id": 1, "pool": "stratified"}, {"id": 2, "pool": "active_directional"}]})
    assert [r["id"] for r in articles_model_trained_on(data, None)] == [1]  # a record older than train-only rounds
    assert [r["id"] for r in articles_model_trained_on(data, {"arguments": {"exclude_pools": ""}})] == [1, 2]
    assert [r["id"] for r in articles_model_trained_on(data, {"arguments": {"exclude_pools": "stratified"}})] == [2]


def test_paragraph_round_takes_directional_training_articles_without_paragraph_codes():
    from training.annotation.paragraph_round import select_articles

    articles = [{"id": "a", "split": "train", "stance": 2}, {"id": "b", "split": "train", "stance": 0},
                {"id": "c", "split": "dev", "stance": -1}, {"id": "d", "split": "train", "stance": -1},
                {"id": "e", "split": "train", "stance": 1}]
    frame = {"a": {"paragraphs_coded": ""}, "b": {"paragraphs_coded": ""}, "c": {"paragraphs_coded": ""},
             "d": {"paragraphs_coded": "0 3 5"}, "e": {"paragraphs_coded": " "}}
    assert [a["id"] for a in select_articles(articles, frame)] == ["a", "e"]


def _write(path, rows):
    import json

    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _code(i, k, **kw):
    row = {"id": i, "paragraph": k, "fp_relevant": True, "stance": 0, "sovereignty": 0, "sovereignty_salience": 0,
           "sovereignty_whose": None, "confidence": "high", "rationale": "reports only", "coder": "c1"}
    return {**row, **kw}


def test_paragraph_output_check_names_every_missing_extra_repeated_or_invalid_code(tmp_path):
    from training.annotation.paragraph_round import check_batch_output

    batch = _write(tmp_path / "q00.jsonl", [{"id": "a", "code_paragraphs": [0, 2]}, {"id": "b", "code_paragraphs": [1]}])
    good = _write(tmp_path / "good.jsonl", [_code("a", 0), _code("a", 2, stance=-1), _code("b", 1)])
    assert check_batch_output(batch, good) == []
    bad = _write(tmp_path / "bad.jsonl", [_code("a", 0), _code("a", 0), _code("a", 1), _code("a", 2, stance=3),
                                          _code("a", 2, rationale="")])
    problems = check_batch_output(batch, bad)
    assert any("coded twice" in p for p in problems)
    assert any("('a', 1) is not a paragraph" in p for p in problems)
    assert any("stance 3" in p for p in problems)
    assert any("rationale" in p for p in problems)
    assert problems[-1] == "missing: ('b', 1)"


def test_paragraph_output_check_wants_every_field_typed_and_consistent(tmp_path):
    from training.annotation.paragraph_round import check_batch_output

    batch = _write(tmp_path / "q00.jsonl", [{"id": "a", "code_paragraphs": [0, 1, 2, 3, 4]}])
    incomplete = _code("a", 1)
    del incomplete["confidence"]
    rows = [_code("a", 0, stance="2"),  # a string, not the number
            incomplete,
            _code("a", 2, sovereignty=1, sovereignty_salience=2),  # present but whose is null
            _code("a", 3, fp_relevant="maybe"),
            _code("a", True)]  # a boolean is not paragraph 1
    problems = check_batch_output(batch, _write(tmp_path / "out.jsonl", rows))
    assert any(p.startswith("line 1: stance '2'") for p in problems)
    assert "line 2: confidence is missing" in problems
    assert any(p.startswith("line 3: sovereignty_salience and sovereignty_whose") for p in problems)
    assert any(p.startswith("line 4: fp_relevant 'maybe'") for p in problems)
    assert any(p.startswith("line 5:") and "not a paragraph" in p for p in problems)
    assert "missing: ('a', 4)" in problems


def test_paragraph_reliability_pairs_the_two_coders_paragraph_by_paragraph(tmp_path):
    from training.annotation.reliability import paragraph_reliability

    first = tmp_path / "raw" / "paragraphs"
    (first / "double").mkdir(parents=True)
    _write(first / "q00.jsonl", [_code("a", 0, stance=2), _code("a", 1), _code("b", 0, stance=-1), _code("c", 0)])
    _write(first / "double" / "e00.jsonl", [_code("b", 0, stance=-1), _code("a", 1), _code("a", 0, stance=1)])
    rel = paragraph_reliability(tmp_path)
    assert rel["double_coded_paragraphs"] == 3 and rel["articles"] == 2
    assert rel["stance_class"]["agreement"] == 1.0  # +2 and +1 are both hawkish
    assert rel["stance_intensity"]["agreement"] == 2 / 3
