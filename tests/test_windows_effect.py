"""eval.windows_effect loads another commit's window cutting from git, beside today's."""

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OLD = "48d26ea"  # the default's training commit, before paragraphs were cut between sentences
FAST = "c47f768"  # the fast model's training commit


def _have(commit: str) -> bool:
    try:
        return subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{commit}^{{commit}}"],
                              capture_output=True).returncode == 0
    except OSError:
        return False


@pytest.mark.skipif(not _have(OLD), reason=f"commit {OLD} is not in this checkout's git history (shallow clone?)")
def test_old_windows_cut_a_long_paragraph_inside_sentences_and_todays_between_them(tiny_encoder):
    from eval.windows_effect import chunk_text_at
    from model.chunking import chunk_text
    from model.loading import load_tokenizer

    tok = load_tokenizer(tiny_encoder)
    text = " ".join(f"We must strike{' and bomb' * (k % 4)} them." for k in range(40))  # one long paragraph
    old, new = chunk_text_at(OLD)(text, tok, 32), chunk_text(text, tok, 32)
    ids = lambda chunks: [t for c in chunks for t in c.input_ids]  # noqa: E731
    assert old[0].__class__.__module__ != new[0].__class__.__module__  # really the other commit's code
    assert len(old) > 1 and len(new) > 1
    # both read every token once; only where the cuts fall differs
    assert [t for t in ids(old) if t not in (tok.cls_token_id, tok.sep_token_id)] == \
        [t for t in ids(new) if t not in (tok.cls_token_id, tok.sep_token_id)]
    assert all(c.text.endswith("them.") for c in new)
    assert not all(c.text.endswith("them.") for c in old)


@pytest.mark.skipif(not _have(OLD), reason=f"commit {OLD} is not in this checkout's git history (shallow clone?)")
def test_the_windowing_fingerprint_tells_the_default_s_training_windows_from_today_s():
    from eval.windows_effect import chunk_text_at
    from model.chunking import windowing_fingerprint
    from model.loading import load_tokenizer, resolve_model_dir

    tok = load_tokenizer(str(resolve_model_dir("default")))
    old = windowing_fingerprint(tok, 256, chunk_text_at(OLD))
    assert old != windowing_fingerprint(tok, 256)
    if _have(FAST):  # the fast model's training code cuts the probe as the default's did (README)
        assert windowing_fingerprint(tok, 256, chunk_text_at(FAST)) == old


@pytest.mark.skipif(not _have(OLD), reason=f"commit {OLD} is not in this checkout's git history (shallow clone?)")
def test_examples_whose_windows_differ_are_counted_per_split(tiny_encoder):
    from eval.windows_effect import chunk_text_at, examples_with_other_windows
    from model.chunking import chunk_text
    from model.loading import load_tokenizer

    tok = load_tokenizer(tiny_encoder)
    long = " ".join(f"We must strike{' and bomb' * (k % 4)} them." for k in range(40))  # cut differently (above)
    splits = {"dev": [{"text": long}, {"text": "A short one."}], "train": [{"text": "Talks resume."}]}
    counts = examples_with_other_windows(splits, tok, 32, chunk_text, chunk_text_at(OLD))
    assert counts == {"dev": {"differ": 1, "of": 2}, "train": {"differ": 0, "of": 1}}
    assert examples_with_other_windows(splits, tok, 32, chunk_text, chunk_text)["dev"]["differ"] == 0


def test_windows_effect_reads_set_values_as_their_types():
    from training.arguments import ConfigError, apply_overrides

    values = apply_overrides({"epochs": 4, "exclude_pools": "x"}, ["epochs=5", "exclude_pools=", "use_paragraphs=no"])
    assert values == {"epochs": 5, "exclude_pools": "", "use_paragraphs": False}
    with pytest.raises(ConfigError, match="expected an integer"):
        apply_overrides({"epochs": 4}, ["epochs=four"])
    with pytest.raises(ConfigError, match="unknown key"):
        apply_overrides({}, ["epoch=4"])
