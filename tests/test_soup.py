"""training.soup: a weight average of LoRA runs is one adapter whose merged weights are the
mean of the members' merged weights, with the mean of their heads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.conftest import DOVE, HAWK, NEUTRAL


def _train(tiny_encoder, files, out, seed, finetune="lora", train_file=None, epochs=3):
    # the recipe of the codebook_model fixture (3 epochs, lr 1e-2), at another seed
    from training.arguments import TrainingArguments
    from training.trainer import train

    args = TrainingArguments(data="jsonl", train_file=train_file or files["train"], dev_file=files["dev"],
                             base_model=tiny_encoder, finetune=finetune, epochs=epochs, learning_rate=1e-2,
                             max_length=32, precision="fp32", output_dir=str(out), seed=seed)
    train(args, log=lambda *_: None)
    return str(out)


@pytest.fixture(scope="module")
def second_seed(tiny_encoder, toy_task_files, tmp_path_factory) -> str:
    return _train(tiny_encoder, toy_task_files, tmp_path_factory.mktemp("seed2"), seed=2)


@pytest.fixture(scope="module")
def soup_of_two(codebook_model, second_seed, tmp_path_factory) -> str:
    from training.soup import make_soup

    out = tmp_path_factory.mktemp("soup")
    make_soup([codebook_model, second_seed], out, log=lambda *_: None)
    return str(out)


def _merged(path):
    from model.loading import load_network

    net, _, _ = load_network(path)
    return net


def test_soup_weights_are_the_mean_of_the_members(codebook_model, second_seed, soup_of_two):
    a, b, soup = _merged(codebook_model), _merged(second_seed), _merged(soup_of_two)
    sa, sb, ss = a.state_dict(), b.state_dict(), soup.state_dict()
    assert set(ss) == set(sa)
    moved = 0
    for key in ss:
        torch.testing.assert_close(ss[key], (sa[key] + sb[key]) / 2, atol=1e-6, rtol=1e-5, msg=key)
        moved += not torch.equal(sa[key], sb[key])
    assert moved > 10  # the two seeds really differ, in the adapted layers and the heads
    member = json.loads((Path(codebook_model) / "adapter_config.json").read_text())
    config = json.loads((Path(soup_of_two) / "adapter_config.json").read_text())
    assert (config["r"], config["lora_alpha"]) == (2 * member["r"], 2 * member["lora_alpha"])


def test_soup_record_names_its_members_and_its_dev_selection(codebook_model, second_seed, soup_of_two):
    from model.config import ModelConfig

    t = ModelConfig.load(soup_of_two).training
    assert [m["path"] for m in t["soup"]["members"]] == [codebook_model, second_seed]
    assert [m["seed"] for m in t["soup"]["members"]] == [13, 2]
    assert t["arguments"]["seed"] is None and t["arguments"]["output_dir"] == soup_of_two
    assert 0.0 <= t["dev"]["selection"] <= 1.0
    # each member's recomputed selection is the one its own training recorded for its best epoch
    for member in t["soup"]["members"]:
        assert member["dev_recomputed"]["selection"] == pytest.approx(member["dev"]["selection"], abs=1e-9)
        assert member["dev_recomputed_matches_record"]
    assert t["data_sha256"] == ModelConfig.load(codebook_model).training["data_sha256"]


def test_a_soup_of_one_model_with_itself_scores_as_that_model(codebook_model, tmp_path):
    from model import load_model
    from training.soup import make_soup

    said = []
    make_soup([codebook_model, codebook_model], tmp_path / "twice", log=said.append)
    assert any("the same weights" in line for line in said)
    texts = [HAWK, DOVE, NEUTRAL + " " + HAWK]
    plain = load_model(codebook_model, dtype="fp32").score(texts, evidence=False)
    twice = load_model(str(tmp_path / "twice"), dtype="fp32").score(texts, evidence=False)
    for p, t in zip(plain, twice):
        for key in ("p_dovish", "p_neutral", "p_hawkish", "p_sovereignty"):
            assert t.values[key] == pytest.approx(p.values[key], abs=1e-5)


def test_soup_refuses_runs_that_cannot_be_averaged(codebook_model, trained_toy_model, tiny_encoder,
                                                   toy_task_files, tmp_path):
    from training.soup import SoupError, make_soup

    with pytest.raises(SoupError, match="at least two"):
        make_soup([codebook_model], tmp_path / "one", log=lambda *_: None)
    with pytest.raises(SoupError, match="only LoRA"):
        make_soup([codebook_model, trained_toy_model], tmp_path / "full", log=lambda *_: None)
    rows = Path(toy_task_files["train"]).read_text().splitlines()
    other = tmp_path / "fewer.jsonl"
    other.write_text("\n".join(rows[:-3]) + "\n")
    other_data = _train(tiny_encoder, toy_task_files, tmp_path / "other", seed=13, train_file=str(other))
    with pytest.raises(SoupError, match="different or unrecorded data"):
        make_soup([codebook_model, other_data], tmp_path / "mixed", log=lambda *_: None)
    assert not (tmp_path / "mixed").exists()  # refused before anything was written


def test_model_card_describes_a_soup_by_its_members():
    from eval.model_card import _soup_line

    members = [{"path": "model/default", "model": "oped-default@abc", "seed": 13, "best_epoch": 4,
                "dev": {"selection": 0.7229}},
               {"path": "runs/all_s14", "model": "oped-default@def", "seed": 14, "best_epoch": 3,
                "dev": {"selection": 0.7031}}]
    recipe = {"learning_rate": 5e-4, "head_learning_rate": 2e-3, "batch_size": 16, "lora_r": 16}
    line = _soup_line(members, recipe)
    assert "weight average of 2 runs" in line and "seed 14" in line and "0.723" in line and "rank 2 x 16" in line
    assert "code unrecorded" in line and "different code" not in line
    members[0]["code"] = {"commit": "48d26ea" + "0" * 33, "dirty": False}
    members[1]["code"] = {"commit": "e0d0c5d" + "0" * 33, "dirty": True}
    line = _soup_line(members, recipe)
    assert "code 48d26ea," in line and "code e0d0c5d+dirty," in line and "trained by different code" in line


def test_soup_warns_of_members_from_other_code_or_with_another_dev_record(codebook_model, second_seed, tmp_path):
    import shutil

    from model.config import ModelConfig
    from training.soup import make_soup

    edited = tmp_path / "edited"
    shutil.copytree(second_seed, edited)
    config = json.loads((edited / "oped_config.json").read_text())
    config["training"]["code"] = {"commit": "0123456" + "0" * 33, "dirty": False}
    config["training"]["dev"]["selection"] += 0.01  # as if selected by other code or on another CPU
    config["training"]["windowing"] = "f" * 64  # as if its code cut texts into other windows
    (edited / "oped_config.json").write_text(json.dumps(config))
    said = []
    make_soup([codebook_model, str(edited)], tmp_path / "soup", log=said.append)
    assert any("trained by different code" in line and "0123456" in line for line in said)
    assert any("different token windows" in line and "ffffffffffffffff" in line for line in said)
    mismatch = [line for line in said if "gives another dev selection here" in line]
    assert len(mismatch) == 1 and str(edited) in mismatch[0]  # the unedited member matches its record
    t = ModelConfig.load(tmp_path / "soup").training
    assert [m["dev_recomputed_matches_record"] for m in t["soup"]["members"]] == [True, False]
    assert ModelConfig.load(tmp_path / "soup").name.endswith("-average2")
    assert t["windowing"] is None  # its members read different windows: none is the soup's


def test_soup_of_members_with_one_windowing_records_it(codebook_model, soup_of_two):
    from model.config import ModelConfig

    recorded = ModelConfig.load(codebook_model).training["windowing"]
    t = ModelConfig.load(soup_of_two).training
    assert t["windowing"] == recorded and [m["windowing"] for m in t["soup"]["members"]] == [recorded] * 2


def test_oped_average_makes_a_model_or_says_why_not(codebook_model, second_seed, tmp_path):
    from typer.testing import CliRunner

    from cli import app

    result = CliRunner().invoke(app, ["average", codebook_model, "--out", str(tmp_path / "one")])
    assert result.exit_code == 2 and "at least two" in result.output
    result = CliRunner().invoke(app, ["average", codebook_model, second_seed, "--out", str(tmp_path / "two"), "--no-card"])
    assert result.exit_code == 0, result.output
    assert "dev selection" in result.output and (tmp_path / "two" / "adapter_model.safetensors").is_file()


def test_oped_average_names_an_unreadable_member_and_keeps_a_failed_evaluation_apart(codebook_model, second_seed,
                                                                                     tmp_path, monkeypatch):
    import shutil

    from typer.testing import CliRunner

    import eval.model_card
    import training.soup
    from cli import app

    bare = tmp_path / "bare"  # a model folder whose config holds no training record
    shutil.copytree(codebook_model, bare)
    config = json.loads((bare / "oped_config.json").read_text())
    config.pop("training")
    (bare / "oped_config.json").write_text(json.dumps(config))
    result = CliRunner().invoke(app, ["average", codebook_model, str(bare), "--out", str(tmp_path / "a")])
    assert result.exit_code == 2 and "no training record" in result.output and str(bare) in result.output
    assert not (tmp_path / "a").exists()

    broken = tmp_path / "broken"  # a member whose heads file is gone
    shutil.copytree(second_seed, broken)
    (broken / "heads.safetensors").unlink()
    result = CliRunner().invoke(app, ["average", codebook_model, str(broken), "--out", str(tmp_path / "b"), "--no-card"])
    assert result.exit_code == 2 and "not a readable oped model" in result.output and str(broken) in result.output
    assert not (tmp_path / "b").exists()  # nothing written before every member was read

    # an error in the evaluation after the save is reported as such, not as a bad member
    real = training.soup.make_soup

    def as_codebook(members, out, log=print):
        record = real(members, out, log=log)
        return {**record, "arguments": {**record["arguments"], "data": "codebook"}}

    def fails(*_):
        raise KeyError("stance")

    monkeypatch.setattr(training.soup, "make_soup", as_codebook)
    monkeypatch.setattr(eval.model_card, "evaluate_codebook_model", fails)
    result = CliRunner().invoke(app, ["average", codebook_model, second_seed, "--out", str(tmp_path / "c")])
    assert result.exit_code == 2 and "is saved in" in result.output and "evaluation" in result.output
    assert "training record" not in result.output and (tmp_path / "c" / "adapter_model.safetensors").is_file()


def test_soup_refuses_other_recipes_shapes_precisions_and_adapters(codebook_model, second_seed):
    import copy

    from model.config import ModelConfig
    from training.soup import SoupError, average_adapters, check_adapter_configs, check_members

    a, b = ModelConfig.load(codebook_model), ModelConfig.load(second_seed)
    assert check_members([a, b]) == "fp32"

    def changed(edit):
        c = copy.deepcopy(b)
        edit(c)
        return c

    cases = [(lambda c: c.training["arguments"].update(learning_rate=0.5), "different recipes \\(learning_rate\\)"),
             (lambda c: c.training["arguments"].update(epochs=9), "different recipes \\(epochs\\)"),
             (lambda c: c.training.update(precision="bf16"), "different or unrecorded precisions"),
             (lambda c: setattr(c, "lora_r", 4), "differ in lora_r"),
             (lambda c: setattr(c, "schema", c.schema.__class__.from_dict({**c.schema.to_dict(), "name": "other"})),
              "different task schemas")]
    for edit, message in cases:
        with pytest.raises(SoupError, match=message):
            check_members([a, changed(edit)])
    student = changed(lambda c: None)
    for c in (a, student):
        c.training["arguments"]["teacher"] = "default"
    with pytest.raises(SoupError, match="distilled"):
        check_members([copy.deepcopy(a), student])
    plain = json.loads((Path(codebook_model) / "adapter_config.json").read_text())
    with pytest.raises(SoupError, match="configured differently"):
        check_adapter_configs([plain, {**plain, "lora_dropout": 0.3}])
    reordered = {**plain, "target_modules": list(reversed(plain["target_modules"]))}
    assert check_adapter_configs([plain, reordered]) == plain  # peft writes them from a set, in any order
    for extra in ({"use_rslora": True}, {"rank_pattern": {"query": 4}}, {"use_dora": True}):
        with pytest.raises(SoupError, match="per-module ranks"):
            check_adapter_configs([{**plain, **extra}, {**plain, **extra}])
    with pytest.raises(SoupError, match="not a LoRA A or B"):
        average_adapters([{"x.lora_magnitude_vector": torch.ones(2)}, {"x.lora_magnitude_vector": torch.ones(2)}])


def test_soup_never_writes_over_a_member_or_another_model(codebook_model, second_seed, soup_of_two, tmp_path):
    from training.soup import SoupError, make_soup

    before = (Path(second_seed) / "adapter_model.safetensors").read_bytes()
    with pytest.raises(SoupError, match="one of the models being averaged"):
        make_soup([codebook_model, second_seed], second_seed, log=lambda *_: None)
    with pytest.raises(SoupError, match="already holds a model"):
        make_soup([codebook_model, second_seed], soup_of_two, log=lambda *_: None)
    assert (Path(second_seed) / "adapter_model.safetensors").read_bytes() == before
