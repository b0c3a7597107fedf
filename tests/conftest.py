"""Shared fixtures: a tiny randomly initialised BERT built here (no download), and
small labelled data written by the tests themselves (original text)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "corpora" / "allsides_foreign_policy.jsonl"
needs_shared = pytest.mark.skipif(not CORPUS.is_file(), reason=f"needs the shared corpus at {CORPUS} (absent)")

WORDS = ("the a of to and in on is we must should not talks peace diplomacy restraint ceasefire deal "
         "strike bomb force retaliate sanctions pressure troops deter war weather market report today "
         "sovereignty border territory annexation independence union control rain sport team game "
         "said minister official senator . , ! ?").split()

HAWK = "we must strike and bomb them . force and pressure will deter them ."
DOVE = "we should seek talks and peace . diplomacy and restraint and a ceasefire deal ."
NEUTRAL = "the weather report today said rain . the team won the game ."
SOVEREIGN = "our sovereignty and territory and border control ."


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> str:
    from transformers import BertConfig, BertModel, BertTokenizer

    d = tmp_path_factory.mktemp("tiny_bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(set(WORDS))
    tok = BertTokenizer(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    assert tok("we must strike")["input_ids"][1:-1] == [vocab.index(w) for w in ("we", "must", "strike")]
    import torch

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=128)
    BertModel(cfg).save_pretrained(d)
    tok.save_pretrained(d)
    return str(d)


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="session")
def toy_task_files(tmp_path_factory) -> dict:
    """A three-class task in generic JSONL form (like FOMC): train, dev, test."""
    import random

    d = tmp_path_factory.mktemp("toy_task")
    rng = random.Random(0)
    texts = {"hawkish": HAWK, "dovish": DOVE, "neutral": NEUTRAL}

    level = {"hawkish": 2, "dovish": -2, "neutral": 0}

    def rows(n, start):
        out = []
        for i in range(n):
            label = ("hawkish", "dovish", "neutral")[i % 3]
            sov = i % 2 == 0
            words = texts[label].split() + (SOVEREIGN.split() if sov else [])
            rng.shuffle(words)
            out.append({"id": f"t{start + i}", "text": " ".join(words), "label": label,
                        "stance": level[label] // (1 + (i % 4 == 1)), "sovereignty_salience": 2 if sov else 0})
        return out

    return {"train": str(write_jsonl(d / "train.jsonl", rows(48, 0))),
            "dev": str(write_jsonl(d / "dev.jsonl", rows(12, 100))),
            "test": str(write_jsonl(d / "test.jsonl", rows(12, 200)))}


TOY_TASK = {
    "name": "toy",
    "dimensions": [{"name": "stance", "label_field": "label", "levels": ["dovish", "neutral", "hawkish"],
                    "classes": ["dovish", "neutral", "hawkish"], "level_class": [0, 1, 2],
                    "score_classes": ["dovish", "hawkish"]}],
}


@pytest.fixture(scope="session")
def trained_toy_model(tiny_encoder, toy_task_files, tmp_path_factory) -> str:
    """A tiny model trained once per session on the toy task (full fine-tuning, fp32)."""
    from training.arguments import TrainingArguments
    from training.trainer import train

    out = tmp_path_factory.mktemp("toy_model")
    args = TrainingArguments(data="jsonl", train_file=toy_task_files["train"], dev_file=toy_task_files["dev"],
                             base_model=tiny_encoder, finetune="full", epochs=4, learning_rate=1e-3,
                             max_length=32, precision="fp32", output_dir=str(out), task=TOY_TASK, name="toy")
    train(args, log=lambda *_: None)
    return str(out)


@pytest.fixture(scope="session")
def codebook_model(tiny_encoder, toy_task_files, tmp_path_factory) -> str:
    """A tiny model with the codebook's two dimensions (stance -2..2, sovereignty salience), LoRA."""
    from training.arguments import TrainingArguments
    from training.trainer import train

    out = tmp_path_factory.mktemp("codebook_model")
    args = TrainingArguments(data="jsonl", train_file=toy_task_files["train"], dev_file=toy_task_files["dev"],
                             base_model=tiny_encoder, finetune="lora", epochs=3,
                             learning_rate=1e-2, max_length=32, precision="fp32", output_dir=str(out))
    train(args, log=lambda *_: None)
    return str(out)
