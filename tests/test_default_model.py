"""The shipped default model: loads offline, scores the bundled examples, and reads
the seed op-ed the way the codebook's worked example does."""

import json
from pathlib import Path

import pytest

from model.loading import BUNDLED
from tests.conftest import SHARED

ROOT = Path(__file__).resolve().parents[1]
SEED = next(iter(sorted((SHARED / "seeds").glob("*.txt"))), None) if (SHARED / "seeds").is_dir() else None
pytestmark = pytest.mark.skipif(not (BUNDLED["default"] / "oped_config.json").is_file(),
                                reason="model/default is not in this checkout")


@pytest.fixture(scope="module")
def scorer():
    from model import load_model

    return load_model("default")


def test_default_model_is_small_and_offline(scorer):
    d = BUNDLED["default"]
    assert sum(f.stat().st_size for f in d.iterdir()) < 15_000_000  # adapter + heads, not a whole encoder
    cfg = json.loads((d / "oped_config.json").read_text())
    assert cfg["base_model"] == "packaged:all-MiniLM-L6-v2" and cfg["finetune"] == "lora"
    assert scorer.model_id.startswith("oped-default@")


def test_bundled_examples_score(scorer, tmp_path):
    from model.pipeline import score_corpus

    out = tmp_path / "scores.jsonl"
    summary = score_corpus(str(ROOT / "examples" / "articles.jsonl"), str(out), scorer, progress=False)
    rows = [json.loads(line) for line in open(out)]
    assert summary.ok == len(rows) == 12
    assert {r["stance"] for r in rows} <= {"dovish", "neutral", "hawkish"}


needs_seed = pytest.mark.skipif(SEED is None, reason=f"needs the seed op-ed in {SHARED / 'seeds'} (absent)")


@needs_seed
def test_seed_op_ed_has_a_sovereignty_frame(scorer):
    values = scorer.score([SEED.read_text(encoding="utf-8")])[0].values
    assert values["sovereignty"] == 1 and values["p_sovereignty"] > 0.5
    assert values["evidence_sovereignty"]


@needs_seed
@pytest.mark.xfail(strict=True, reason="known failure of the shipped model (model/default/README.md, known limits): "
                   "it reads this hawkish op-ed on Iran as dovish. strict: a model that fixes it makes this XPASS")
def test_seed_op_ed_is_hawkish(scorer):
    values = scorer.score([SEED.read_text(encoding="utf-8")])[0].values
    assert values["stance"] == "hawkish"


@pytest.mark.skipif(not (BUNDLED["fast"] / "oped_config.json").is_file(), reason="model/fast is not in this checkout")
def test_fast_model_is_a_smaller_student_with_the_same_columns(scorer):
    from model import load_model

    fast = load_model("fast")
    assert fast.net.encoder.config.num_hidden_layers < scorer.net.encoder.config.num_hidden_layers
    assert sum(f.stat().st_size for f in BUNDLED["fast"].iterdir()) < 15_000_000
    text = (ROOT / "examples" / "articles.jsonl").read_text().splitlines()[0]
    a, b = scorer.score([json.loads(text)["text"]])[0].values, fast.score([json.loads(text)["text"]])[0].values
    assert list(a) == list(b) and a["n_tokens"] == b["n_tokens"]
