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
