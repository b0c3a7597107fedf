"""Train / save / load / predict round trip on a tiny random BERT (offline, seconds)."""

import json
from pathlib import Path

import pytest

from model import load_model
from model.config import ModelConfig
from training.arguments import TrainingArguments
from training.trainer import train
from tests.conftest import DOVE, HAWK, NEUTRAL, TOY_TASK


def test_saved_directory_is_complete_and_loads(trained_toy_model):
    d = Path(trained_toy_model)
    for name in ("oped_config.json", "heads.safetensors", "config.json", "model.safetensors", "tokenizer.json"):
        assert (d / name).is_file(), name
    cfg = ModelConfig.load(d)
    assert cfg.schema.dimensions[0].classes == ("dovish", "neutral", "hawkish")
    assert cfg.training["best_epoch"] >= 1
    assert "dev" in cfg.training


def test_trained_model_separates_the_toy_classes(trained_toy_model):
    scorer = load_model(trained_toy_model, dtype="fp32")
    out = [r.values["stance"] for r in scorer.score([HAWK, DOVE, NEUTRAL])]
    assert out == ["hawkish", "dovish", "neutral"]


def test_lora_model_saves_adapter_and_codebook_columns(codebook_model):
    d = Path(codebook_model)
    assert (d / "adapter_model.safetensors").is_file() and (d / "adapter_config.json").is_file()
    assert not (d / "model.safetensors").exists()  # only the adapter is stored, not the base
    values = load_model(codebook_model, dtype="fp32").score([HAWK])[0].values
    expected = ["stance", "stance_score", "p_dovish", "p_neutral", "p_hawkish", "stance_intensity", "sovereignty",
                "p_sovereignty", "sovereignty_salience", "evidence_stance", "evidence_sovereignty", "n_words",
                "n_tokens", "n_chunks", "model", "evidence_method"]
    assert list(values) == expected
    assert -1 <= values["stance_score"] <= 1 and -2 <= values["stance_intensity"] <= 2
    assert values["p_dovish"] + values["p_neutral"] + values["p_hawkish"] == pytest.approx(1, abs=1e-5)


def test_training_is_deterministic_given_a_seed(tiny_encoder, toy_task_files, tmp_path):
    def run(out):
        args = TrainingArguments(data="jsonl", train_file=toy_task_files["train"], dev_file=toy_task_files["dev"],
                                 base_model=tiny_encoder, finetune="full", epochs=1, max_length=32, precision="fp32",
                                 output_dir=str(out), task=TOY_TASK, seed=7)
        train(args, log=lambda *_: None)
        return load_model(str(out), dtype="fp32").score([HAWK, DOVE])

    a, b = run(tmp_path / "a"), run(tmp_path / "b")
    for x, y in zip(a, b):
        assert x.values["p_hawkish"] == y.values["p_hawkish"]
    rec_a, rec_b = (ModelConfig.load(tmp_path / d).training for d in ("a", "b"))
    assert rec_a["data_sha256"] == rec_b["data_sha256"] and len(rec_a["data_sha256"]) == 64
    assert set(rec_a["code"]) == {"commit", "dirty"}


def test_data_fingerprint_changes_with_a_label_or_the_order():
    from training.provenance import data_fingerprint

    rows = [{"id": "a", "kind": "article", "weight": 1.0, "levels": {"stance": 2}, "text": "x"},
            {"id": "b", "kind": "article", "weight": 1.0, "levels": {"stance": 0}, "text": "y"}]
    base = data_fingerprint({"train": rows})
    assert data_fingerprint({"train": [dict(r) for r in rows]}) == base
    assert data_fingerprint({"train": rows[::-1]}) != base
    relabelled = [rows[0], {**rows[1], "levels": {"stance": -1}}]
    assert data_fingerprint({"train": relabelled}) != base


def test_scores_do_not_depend_on_batch_size_or_order(trained_toy_model):
    texts = [HAWK, DOVE + "\n\n" + NEUTRAL, NEUTRAL * 20, DOVE]
    a = load_model(trained_toy_model, dtype="fp32", batch_size=1).score(texts)
    b = load_model(trained_toy_model, dtype="fp32", batch_size=64).score(texts[::-1])[::-1]
    for x, y in zip(a, b):
        assert x.values["p_hawkish"] == pytest.approx(y.values["p_hawkish"], abs=1e-4)


def test_long_document_is_read_whole(trained_toy_model):
    words = (HAWK + " " + DOVE + " ").split() * 700
    text = "\n\n".join(" ".join(words[i: i + 200]) for i in range(0, len(words), 200))
    scorer = load_model(trained_toy_model, dtype="fp32")
    result = scorer.score([text])[0]
    n_words = len(text.split())
    assert n_words >= 20_000
    assert result.values["n_words"] == n_words
    assert result.values["n_tokens"] == len(scorer.tokenizer(text, add_special_tokens=False)["input_ids"])
    assert result.values["n_chunks"] == len(result.chunks) > 100


def test_missing_training_file_is_a_clear_error(tiny_encoder, tmp_path):
    from training.data import DataError

    args = TrainingArguments(data="jsonl", train_file=str(tmp_path / "nope.jsonl"), base_model=tiny_encoder,
                             task=TOY_TASK, output_dir=str(tmp_path / "o"))
    with pytest.raises(DataError, match="not found"):
        train(args, log=lambda *_: None)


def test_unknown_label_value_names_the_row(tiny_encoder, tmp_path):
    from training.data import DataError

    p = tmp_path / "t.jsonl"
    p.write_text(json.dumps({"text": "a", "label": "hawkish"}) + "\n" + json.dumps({"text": "b", "label": "hawk"}) + "\n")
    args = TrainingArguments(data="jsonl", train_file=str(p), dev_file=str(p), base_model=tiny_encoder, task=TOY_TASK,
                             output_dir=str(tmp_path / "o"))
    with pytest.raises(DataError, match="row 1.*'hawk'"):
        train(args, log=lambda *_: None)


def test_distilled_student_has_fewer_layers_and_loads(codebook_model, tiny_encoder, toy_task_files, tmp_path):
    args = TrainingArguments(data="jsonl", train_file=toy_task_files["train"], dev_file=toy_task_files["dev"],
                             base_model=tiny_encoder, finetune="lora", encoder_layers=1, teacher=codebook_model,
                             distill_corpus=toy_task_files["test"], distill_articles=6, epochs=1, max_length=32,
                             precision="fp32", output_dir=str(tmp_path / "student"))
    logs = []
    train(args, log=logs.append)
    assert any("6 unlabelled" in line for line in logs)
    scorer = load_model(str(tmp_path / "student"), dtype="fp32")
    assert scorer.net.encoder.config.num_hidden_layers == 1 and len(scorer.net.encoder.encoder.layer) == 1
    assert ModelConfig.load(tmp_path / "student").encoder_layers == 1
    assert scorer.score([HAWK])[0].values["stance"] in ("dovish", "neutral", "hawkish")


def test_student_starts_from_the_teachers_heads_and_kept_adapter_layers(codebook_model):
    import torch

    from model.loading import build_model, load_network
    from training.trainer import init_from_teacher

    teacher, _, config = load_network(codebook_model, merge=False)
    student, _ = build_model(ModelConfig(schema=config.schema, base_model=config.base_model, finetune="lora",
                                         lora_r=config.lora_r, lora_alpha=config.lora_alpha, encoder_layers=1), seed=0)
    copied = init_from_teacher(student, codebook_model, log=lambda *_: None)
    theirs, ours = teacher.state_dict(), student.state_dict()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours if k.startswith("heads."))
    lora_kept = [k for k in ours if "lora_" in k]
    assert lora_kept and all(torch.equal(ours[k], theirs[k]) for k in lora_kept)
    assert not any(".layer.1." in k for k in ours)  # the dropped layer is not there to copy into
    trainable = [n for n, p in student.named_parameters() if p.requires_grad]
    assert copied == len(trainable)  # same rank: every adapter tensor and head is the teacher's


def test_direction_loss_charges_only_the_wrong_side_of_sided_items():
    import torch

    from model.schema import CODEBOOK_TASK
    from training.trainer import multitask_loss

    cw = {d.name: torch.ones(len(d.classes)) for d in CODEBOOK_TASK.dimensions}
    # stance levels -2..2; one item coded +2 but scored dovish, one neutral item
    stance = torch.tensor([[3.0, 0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 2.0, 0.0, 0.0]])
    logits = {"stance": stance, "sovereignty": torch.zeros(2, 3)}
    weights = torch.ones(2)
    ignore = torch.full((2,), -100)

    def loss(targets, direction):
        return float(multitask_loss(CODEBOOK_TASK, logits, {"sovereignty": ignore, **targets}, weights, cw, 0.5,
                                    direction_weight=direction))

    sided = {"stance": torch.tensor([4, -100])}
    p = stance[0].softmax(-1)
    side_nll = -torch.log(p[3:].sum() / (p[:2].sum() + p[3:].sum()))
    assert abs(loss(sided, 1.0) - loss(sided, 0.0) - float(side_nll)) < 1e-5
    neutral_only = {"stance": torch.tensor([-100, 2])}
    assert loss(neutral_only, 1.0) == loss(neutral_only, 0.0)


def test_loss_weights_must_not_be_negative():
    from training.arguments import ConfigError

    with pytest.raises(ConfigError, match="direction_loss_weight"):
        TrainingArguments(direction_loss_weight=-1)


def test_distillation_needs_a_teacher():
    from training.arguments import ConfigError

    with pytest.raises(ConfigError, match="needs teacher"):
        TrainingArguments(distill_articles=5)


def test_code_version_is_unknown_outside_its_own_checkout(tmp_path):
    import subprocess

    from training.provenance import REPO, code_version

    assert code_version(tmp_path) == {"commit": None, "dirty": None}  # not a repository
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    inner = tmp_path / "site-packages"
    inner.mkdir()
    assert code_version(inner) == {"commit": None, "dirty": None}  # inside someone else's repository
    here = code_version(REPO)
    if (REPO / ".git").exists():
        assert len(here["commit"]) == 40 and isinstance(here["dirty"], bool)


def test_argument_defaults_read_from_source_are_those_of_the_dataclass():
    from dataclasses import fields

    from training.arguments import TrainingArguments
    from training.provenance import REPO, _argument_defaults

    read = _argument_defaults((REPO / "training" / "arguments.py").read_text())
    assert read == TrainingArguments().to_dict() and len(read) == len(fields(TrainingArguments))


def test_reproduce_command_sets_what_the_config_at_the_training_commit_does_not_give(tmp_path):
    import subprocess

    from eval.model_card import reproduce_line
    from training.provenance import reproduce_command

    def git(*a):
        return subprocess.run(["git", "-C", str(tmp_path), *a], check=True, capture_output=True, text=True).stdout

    (tmp_path / "training" / "configs").mkdir(parents=True)
    (tmp_path / "training" / "arguments.py").write_text(
        "from dataclasses import dataclass, field\n\n@dataclass\nclass TrainingArguments:\n"
        "    epochs: int = 3\n    exclude_pools: str = 'x'\n    use_paragraphs: bool = False\n"
        "    output_dir: str = 'runs/a'\n    task: dict = field(default_factory=dict)\n")
    (tmp_path / "training" / "configs" / "c.toml").write_text('epochs = 4\nexclude_pools = "x"\n')
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    commit = git("rev-parse", "HEAD").strip()
    (tmp_path / "training" / "configs" / "c.toml").write_text('epochs = 9\n')  # edited after the run
    record = {"code": {"commit": commit, "dirty": False},
              "arguments": {"epochs": 4, "exclude_pools": "", "use_paragraphs": True, "output_dir": "runs/z", "task": {}}}
    command = reproduce_command(record, "training/configs/c.toml", "out/m", repo=tmp_path)
    assert command == (f"git checkout {commit[:7]} && oped train --config training/configs/c.toml "
                       "--set output_dir=out/m --set exclude_pools= --set use_paragraphs=true")
    assert reproduce_command({**record, "code": {"commit": "f" * 40}}, "training/configs/c.toml", "m", repo=tmp_path) is None
    assert reproduce_command({**record, "code": {}}, "training/configs/c.toml", "m", repo=tmp_path) is None
    # the card's line names the commit a plain command must run at, and whether it was clean
    assert f"`{command}`" in reproduce_line(record, command) and "later commit" in reproduce_line(record, command)
    assert f"at commit `{commit[:7]}`, the code that trained it" in reproduce_line(record, "oped train")
    assert "uncommitted" in reproduce_line({"code": {"commit": commit, "dirty": True}}, "oped train")
    assert "unrecorded" in reproduce_line({}, "oped train")


def test_model_card_prints_the_recorded_commit_or_says_it_is_missing():
    from eval.model_card import _provenance

    line = _provenance({"code": {"commit": "a" * 40, "dirty": True}, "data_sha256": "b" * 64})
    assert "`aaaaaaaaaaaa`" in line and "uncommitted" in line and "`bbbbbbbbbbbbbbbb`" in line
    assert "clean tree" in _provenance({"code": {"commit": "a" * 40, "dirty": False}, "data_sha256": "b" * 64})
    assert "not recorded" in _provenance({})
    assert "windowing not recorded" in line
    assert "windowing fingerprint `cccccccccccccccc`" in _provenance(
        {"code": {"commit": "a" * 40, "dirty": False}, "data_sha256": "b" * 64, "windowing": "c" * 64})


def test_model_card_names_what_made_its_figures_and_rewrites_from_metrics(tmp_path, monkeypatch):
    from eval.model_card import _figures_line, _made
    from training.provenance import REPO, code_version

    import subprocess

    shallow = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--is-shallow-repository"], capture_output=True,
                             text=True).stdout.strip()
    if code_version()["commit"] is None or shallow != "false":
        pytest.skip("the bundled card names the commit of its metrics.json: needs a full git checkout")
    monkeypatch.chdir(REPO)  # the card quotes its folder as the command was given: model/default

    made = _made("model/x")
    assert made["command"] == "python -m eval.model_card model/x" and set(made) == {"command", "code", "cpu", "torch"}
    line = _figures_line(tmp_path, {"model": "m@1-bfloat16", "made": {**made, "code": {"commit": "d" * 40,
                                                                                       "dirty": True}}})
    assert "at commit `dddddddddddd` with uncommitted changes" in line and "scored in bfloat16" in line
    assert "not recorded" in _figures_line(tmp_path, {"model": "m@1-float32"})
    from eval.model_card import card_command, model_card_text

    folder = Path("model/default")
    record = ModelConfig.load(folder).training
    metrics = json.loads((folder / "metrics.json").read_text())
    # the bundled card is what its metrics.json and record give, word for word (--from-metrics writes this text)
    assert model_card_text(folder, record, metrics, card_command(folder, record)) == (folder / "README.md").read_text()


def test_training_records_the_windowing_its_code_cut_and_scoring_warns_of_other(codebook_model, tmp_path, capsys):
    import json
    import shutil

    from model import load_model, score_corpus
    from model.chunking import windowing_fingerprint
    from model.config import ModelConfig
    from model.inference import windowing_warning
    from model.loading import load_tokenizer

    config = ModelConfig.load(codebook_model)
    assert config.training["windowing"] == windowing_fingerprint(load_tokenizer(codebook_model), config.max_length)
    scorer = load_model(codebook_model)
    assert windowing_warning(scorer.config, scorer.tokenizer) == ""
    other = tmp_path / "other_windows"
    shutil.copytree(codebook_model, other)
    raw = json.loads((other / "oped_config.json").read_text())
    raw["training"]["windowing"] = "f" * 64
    (other / "oped_config.json").write_text(json.dumps(raw))
    corpus = tmp_path / "in.jsonl"
    corpus.write_text(json.dumps({"id": "a", "text": "We must strike them."}) + "\n")
    capsys.readouterr()
    score_corpus(str(corpus), str(tmp_path / "out.jsonl"), load_model(str(other)), progress=False)
    err = capsys.readouterr().err
    assert "other code" in err and "ffffffffffffffff" in err
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 1  # warned, and still scored
    from model.ray_engine import ShardOptions, _warn_on_other_windowing  # the Ray driver warns the same

    said = []
    assert _warn_on_other_windowing(ShardOptions(model=str(other)), log=said.append) and "ffffffffffffffff" in said[0]
    assert not _warn_on_other_windowing(ShardOptions(model=codebook_model), log=said.append) and len(said) == 1


def test_an_adapter_records_its_base_weights_and_scoring_warns_on_other(codebook_model, tiny_encoder, tmp_path,
                                                                         capsys):
    import json
    import shutil

    from model import load_model
    from model.config import ModelConfig
    from model.loading import base_weights_sha256

    config = ModelConfig.load(codebook_model)
    assert config.training["base_weights"] == base_weights_sha256(tiny_encoder) and len(config.training["base_weights"]) == 64
    assert load_model(codebook_model).load_warnings() == []
    other_base = tmp_path / "base"
    shutil.copytree(tiny_encoder, other_base)
    from safetensors.torch import load_file, save_file

    weights = next(other_base.glob("*.safetensors"))
    tensors = load_file(str(weights))
    first = sorted(tensors)[0]
    tensors[first] = tensors[first] + 1e-3  # another version of the base: slightly other weights
    save_file(tensors, str(weights), metadata={"format": "pt"})
    other = tmp_path / "model"
    shutil.copytree(codebook_model, other)
    raw = json.loads((other / "oped_config.json").read_text())
    raw["base_model"] = str(other_base)
    (other / "oped_config.json").write_text(json.dumps(raw))
    warnings = load_model(str(other)).load_warnings()
    assert len(warnings) == 1 and "other weights of its base encoder" in warnings[0]


def test_balancing_paragraph_sides_scales_the_larger_side_only():
    from model.schema import CODEBOOK_TASK
    from training.examples import IGNORE, balance_sides

    def ex(stance_level, sov=0):
        return {"id": "x", "text": "t", "kind": "paragraph", "weight": 0.5,
                "levels": {"stance": stance_level, "sovereignty": sov}}

    # level indices: 0-1 dovish, 2 neutral, 3-4 hawkish; four hawkish, two dovish, one neutral, one unlabelled
    items = [ex(3), ex(4), ex(3), ex(4, 1), ex(0), ex(1), ex(2), ex(IGNORE)]
    out = balance_sides(items, CODEBOOK_TASK)
    hawkish = sum(e["weight"] for e in out[:4])
    dovish = sum(e["weight"] for e in out[4:6])
    assert abs(hawkish - dovish) < 1e-9 and abs(dovish - 1.0) < 1e-9
    assert [e["weight"] for e in out[6:]] == [0.5, 0.5]  # neutral and unlabelled keep their weight
    assert [e["weight"] for e in items] == [0.5] * 8  # the input is not changed
    one_sided = [ex(3), ex(2)]
    assert [e["weight"] for e in balance_sides(one_sided, CODEBOOK_TASK)] == [0.5, 0.5]
