"""The Ray engine on a local 2-CPU cluster started here: same rows as the local engine."""

import json

import pytest

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'oped-stance[ray]'")

from model import load_model  # noqa: E402
from model.pipeline import score_corpus  # noqa: E402
from model.ray_engine import plan_shards, score_with_ray  # noqa: E402
from tests.conftest import DOVE, HAWK, NEUTRAL  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _input(tmp_path):
    src = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": f"d{i}", "text": [HAWK, DOVE, NEUTRAL][i % 3], "outlet": f"o{i % 2}"}) for i in range(40)]
    lines[7] = "{broken json"
    lines[12] = json.dumps({"id": "empty", "text": ""})
    src.write_text("\n".join(lines[:20]) + "\n\n" + "\n".join(lines[20:]) + "\n")
    return src


def test_shards_cover_every_line(tmp_path):
    src = _input(tmp_path)
    shards = plan_shards(str(src), shard_bytes=700)
    assert len(shards) > 3
    assert shards[0]["start"] == 0 and shards[-1]["end"] == src.stat().st_size
    assert all(a["end"] == b["start"] for a, b in zip(shards, shards[1:]))


def test_ray_engine_equals_local_engine(cluster, codebook_model, tmp_path):
    src = _input(tmp_path)
    local = tmp_path / "local.jsonl"
    score_corpus(str(src), str(local), load_model(codebook_model, dtype="fp32"), progress=False)
    out = tmp_path / "shards"
    r = score_with_ray(str(src), str(out), num_workers=2, shard_bytes=700, model=codebook_model, dtype="fp32",
                       threads=1)
    parts = sorted(out.glob("part-*.jsonl"))
    assert r["shards"] == len(parts) > 3 and r["rows"] == 40 and r["errors"] == 2
    got = [json.loads(line) for p in parts for line in open(p)]
    want = [json.loads(line) for line in open(local)]
    assert [g["id"] for g in got] == [w["id"] for w in want]
    for g, w in zip(got, want):
        assert (g["status"], g["error"], g.get("outlet")) == (w["status"], w["error"], w.get("outlet"))
        if w["status"] == "ok":
            assert g["p_hawkish"] == pytest.approx(w["p_hawkish"], abs=1e-4)
            assert g["p_sovereignty"] == pytest.approx(w["p_sovereignty"], abs=1e-4)
    again = score_with_ray(str(src), str(out), num_workers=2, shard_bytes=700, model=codebook_model, dtype="fp32",
                           threads=1)
    assert again["skipped_shards"] == again["shards"] and again["rows"] == 0


def test_unsupported_files_and_a_changed_plan_are_refused(tmp_path):
    from model.ray_engine import _check_plan, input_files

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl").write_text(json.dumps({"id": "a", "text": HAWK}) + "\n")
    (folder / "b.jsonl.gz").write_bytes(b"")
    with pytest.raises(ValueError, match="b.jsonl.gz"):
        input_files(str(folder))
    (folder / "b.jsonl.gz").unlink()
    out = tmp_path / "out"
    out.mkdir()
    _check_plan(out, str(folder), plan_shards(str(folder)))
    (folder / "a.jsonl").write_text(json.dumps({"id": "a", "text": HAWK + " more"}) + "\n")
    with pytest.raises(ValueError, match="different input or shard plan"):
        _check_plan(out, str(folder), plan_shards(str(folder)))


def _one_row_plan(tmp_path):
    """An input folder of one row, an empty output folder and the input's shard plan."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl").write_text(json.dumps({"id": "a", "text": HAWK}) + "\n")
    out = tmp_path / "out"
    out.mkdir()
    return folder, out, plan_shards(str(folder))


def test_a_rerun_with_other_row_options_is_refused(tmp_path):
    from model.ray_engine import ShardOptions, _check_plan

    folder, out, shards = _one_row_plan(tmp_path)
    _check_plan(out, str(folder), shards, ShardOptions(model="defualt").__dict__)  # a typo; nothing scored
    _check_plan(out, str(folder), shards, ShardOptions().__dict__)  # so the corrected re-run is accepted
    (out / "part-00000.jsonl").write_text("")  # from now on a shard is done
    _check_plan(out, str(folder), shards, ShardOptions(batch_size=8).__dict__)  # speed only: allowed
    with pytest.raises(ValueError, match="other options \\(evidence\\)"):
        _check_plan(out, str(folder), shards, ShardOptions(evidence=False).__dict__)
    with pytest.raises(ValueError, match="dtype, model"):
        _check_plan(out, str(folder), shards, ShardOptions(model="fast", dtype="fp32").__dict__)
    with pytest.raises(ValueError, match="other options \\(evidence_method\\)"):
        _check_plan(out, str(folder), shards, ShardOptions(evidence_method="standalone").__dict__)


def test_a_plan_from_before_the_evidence_method_counts_as_standalone(tmp_path):
    from model.ray_engine import ShardOptions, _check_plan

    folder, out, shards = _one_row_plan(tmp_path)
    _check_plan(out, str(folder), shards, ShardOptions().__dict__)
    plan = json.loads((out / "_plan.json").read_text())
    del plan["options"]["evidence_method"]  # as older code wrote it, scoring with standalone evidence
    (out / "_plan.json").write_text(json.dumps(plan))
    (out / "part-00000.jsonl").write_text("")
    _check_plan(out, str(folder), shards, ShardOptions(evidence_method="standalone").__dict__)
    with pytest.raises(ValueError, match="evidence_method"):
        _check_plan(out, str(folder), shards, ShardOptions().__dict__)


def test_without_evidence_the_method_is_not_compared(tmp_path):
    from model.ray_engine import ShardOptions, _check_plan

    folder, out, shards = _one_row_plan(tmp_path)
    _check_plan(out, str(folder), shards, ShardOptions(evidence=False).__dict__)
    plan = json.loads((out / "_plan.json").read_text())
    del plan["options"]["evidence_method"]  # an older --no-evidence plan: its method counts as standalone
    (out / "_plan.json").write_text(json.dumps(plan))
    (out / "part-00000.jsonl").write_text("")
    _check_plan(out, str(folder), shards, ShardOptions(evidence=False).__dict__)  # the same rows: accepted
    with pytest.raises(ValueError, match="other options \\(evidence, evidence_method\\)"):
        _check_plan(out, str(folder), shards, ShardOptions().__dict__)


def test_an_unknown_evidence_method_is_refused_before_the_plan_is_written(tmp_path):
    folder, out, _ = _one_row_plan(tmp_path)
    with pytest.raises(ValueError, match="evidence_method must be one of"):
        score_with_ray(str(folder), str(out), evidence_method="psychic")
    assert not (out / "_plan.json").exists()


def test_a_shard_scored_without_evidence_has_empty_evidence_columns(codebook_model, tmp_path):
    from model.ray_engine import ShardScorer

    src = _input(tmp_path)
    shard = {"shard": 0, **plan_shards(str(src), shard_bytes=10**6)[0]}
    outs = {}
    for evidence in (True, False):
        folder = tmp_path / f"evidence_{evidence}"
        folder.mkdir()
        actor = ShardScorer({"model": codebook_model, "dtype": "fp32", "out_dir": str(folder), "evidence": evidence})
        assert actor.score_shard(shard).rows == 40
        outs[evidence] = [json.loads(line) for line in open(folder / "part-00000.jsonl")]
    assert any(r["evidence_stance"] for r in outs[True])
    assert all(not r["evidence_stance"] and not r["evidence_sovereignty"] for r in outs[False])
    assert [r["p_hawkish"] for r in outs[False]] == [r["p_hawkish"] for r in outs[True]]


def test_an_actor_refuses_shards_that_another_model_finished(codebook_model, tmp_path):
    from model.ray_engine import ShardScorer

    out = tmp_path / "shards"
    out.mkdir()
    (out / "part-00000.jsonl").write_text(json.dumps({"id": "a", "model": "another@0000000000-bfloat16"}) + "\n")
    with pytest.raises(ValueError, match="scored by another@"):
        ShardScorer({"model": codebook_model, "dtype": "fp32", "out_dir": str(out)})
    same = ShardScorer({"model": codebook_model, "dtype": "fp32", "out_dir": str(tmp_path)})  # no shards yet
    (out / "part-00000.jsonl").write_text(json.dumps({"id": "a", "model": same.scorer.model_id}) + "\n")
    ShardScorer({"model": codebook_model, "dtype": "fp32", "out_dir": str(out)})  # the same model continues


def test_the_driver_refuses_shards_of_other_weights_before_any_actor_starts(codebook_model, tmp_path):
    from model.ray_engine import ShardOptions, _check_finished_weights

    out = tmp_path / "shards"
    out.mkdir()
    (out / "part-00000.jsonl").write_text(json.dumps({"id": "a", "model": "another@0000000000-bfloat16"}) + "\n")
    with pytest.raises(ValueError, match="scored by another@"):
        _check_finished_weights(out, ShardOptions(model=codebook_model))
    mine = load_model(codebook_model, dtype="fp32").model_id
    (out / "part-00000.jsonl").write_text(json.dumps({"id": "a", "model": mine.replace("float32", "bfloat16")}) + "\n")
    _check_finished_weights(out, ShardOptions(model=codebook_model))  # same weights: the actors check precision


def test_shards_finished_before_the_method_column_are_warned_about(tmp_path):
    import pandas as pd

    from model.ray_engine import warn_on_shards_without_the_method as warn

    said = []
    out = tmp_path / "shards"
    out.mkdir()
    old, new = {"id": "a", "model": "m@0-float32"}, {"id": "b", "evidence_method": "standalone"}
    assert not warn(out, "jsonl", 3, said.append)  # nothing finished yet
    (out / "part-00000.jsonl").write_text(json.dumps(old) + "\n")
    assert warn(out, "jsonl", 3, said.append)  # old shards, and new ones to come
    assert not warn(out, "jsonl", 1, said.append)  # all finished by the old code: nothing is added
    (out / "part-00000.jsonl").write_text(json.dumps(new) + "\n")
    (out / "part-00001.jsonl").write_text(json.dumps(old) + "\n")  # an old shard after a new one
    (out / "part-00002.jsonl").write_text("")  # a shard without rows says nothing
    assert warn(out, "jsonl", 3, said.append) and said[-1].startswith("warning: 1 shard(s)")
    (out / "part-00001.jsonl").write_text(json.dumps(new) + "\n")
    assert not warn(out, "jsonl", 3, said.append)
    pd.DataFrame({"id": ["a"], "model": ["m"]}).to_parquet(out / "part-00000.parquet")
    pd.DataFrame().to_parquet(out / "part-00001.parquet")  # no rows, no columns: not counted
    assert warn(out, "parquet", 3, said.append)
    pd.DataFrame({"id": ["a"], "evidence_method": ["in-context"]}).to_parquet(out / "part-00000.parquet")
    assert not warn(out, "parquet", 3, said.append)
    assert len(said) == 3 and "evidence_method" in said[0]
