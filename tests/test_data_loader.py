"""The label loader's failure modes, on a corpus and labels written here."""

import json

import pytest

from model.text import split_paragraphs, text_sha256
from training.data import CorpusNotFound, LabelFormatError, LabelJoinError, load_labelled
from tests.conftest import write_jsonl

TEXT_A = "We should open talks now.\n\nA ceasefire would save lives."
TEXT_B = "The border belongs to us, the columnist writes.\n\nNo one else should decide it."


def article(id_, text, split="train", stance=0, sov=0, sal=0):
    return {"id": id_, "sha256": text_sha256(text), "stance": stance, "sovereignty": sov,
            "sovereignty_salience": sal, "split": split}


@pytest.fixture
def setup(tmp_path):
    corpus = write_jsonl(tmp_path / "corpus.jsonl", [{"id": "a", "text": TEXT_A}, {"id": "b", "text": TEXT_B}])
    ann = tmp_path / "ann"
    ann.mkdir()
    write_jsonl(ann / "articles.jsonl", [article("a", TEXT_A, "train", -1), article("b", TEXT_B, "dev", 0, 1, 2)])
    para = split_paragraphs(TEXT_A)[1]
    write_jsonl(ann / "paragraphs.jsonl", [{"id": "a", "paragraph": 1, "sha256": text_sha256(para), "stance": -1,
                                            "sovereignty": 0, "sovereignty_salience": 0}])
    return corpus, ann


def test_labels_join_their_text(setup):
    corpus, ann = setup
    data = load_labelled(corpus, ann, synthetic=None)
    assert data.articles["train"][0]["text"] == TEXT_A
    assert data.articles["dev"][0]["sovereignty_salience"] == 2
    assert data.paragraphs["train"][0]["text"] == "A ceasefire would save lives."
    assert data.report.unmatched == 0


def test_missing_corpus_says_where_to_get_one(setup, tmp_path):
    _, ann = setup
    with pytest.raises(CorpusNotFound, match="corpus not found.*--corpus.*oped data fetch"):
        load_labelled(tmp_path / "nope.jsonl", ann, synthetic=None)


def test_changed_text_is_named(setup, tmp_path):
    _, ann = setup
    corpus = write_jsonl(tmp_path / "c2.jsonl", [{"id": "a", "text": TEXT_A + " Edited."}, {"id": "b", "text": TEXT_B}])
    with pytest.raises(LabelJoinError, match=r"changed since coding \(e.g. \['a'"):
        load_labelled(corpus, ann, synthetic=None)


def test_unknown_id_is_named(setup, tmp_path):
    _, ann = setup
    corpus = write_jsonl(tmp_path / "c3.jsonl", [{"id": "a", "text": TEXT_A}])
    with pytest.raises(LabelJoinError, match=r"not in the corpus \(e.g. \['b'\]"):
        load_labelled(corpus, ann, synthetic=None)


def test_non_strict_counts_unmatched(setup, tmp_path):
    _, ann = setup
    corpus = write_jsonl(tmp_path / "c4.jsonl", [{"id": "a", "text": TEXT_A}])
    assert load_labelled(corpus, ann, synthetic=None, strict=False).report.unmatched == 1


@pytest.mark.parametrize("row,message", [
    ({"id": "a", "sha256": "xyz", "stance": 0, "sovereignty": 0, "sovereignty_salience": 0, "split": "train"},
     "sha256 must be 64"),
    ({**article("a", TEXT_A), "stance": 3}, "stance must be -2..2"),
    ({**article("a", TEXT_A), "sovereignty": 1, "sovereignty_salience": 0}, "does not fit sovereignty 1"),
    ({**article("a", TEXT_A), "split": "holdout"}, "split must be one of"),
])
def test_malformed_label_rows_name_file_and_line(setup, row, message):
    corpus, ann = setup
    write_jsonl(ann / "articles.jsonl", [article("b", TEXT_B), row])
    with pytest.raises(LabelFormatError, match=rf"articles.jsonl:2: malformed label: .*{message}"):
        load_labelled(corpus, ann, synthetic=None)


def test_label_line_that_is_not_json(setup):
    corpus, ann = setup
    (ann / "articles.jsonl").write_text(json.dumps(article("a", TEXT_A)) + "\n{oops\n")
    with pytest.raises(LabelFormatError, match="articles.jsonl:2: not valid JSON"):
        load_labelled(corpus, ann, synthetic=None)


def test_exclude_pools_leaves_out_a_paragraph_only_rounds_labels(setup):
    from training.arguments import TrainingArguments
    from training.examples import codebook_examples

    corpus, ann = setup
    first, second = split_paragraphs(TEXT_A)
    rows = [{"id": "a", "paragraph": 0, "sha256": text_sha256(first), "stance": -1, "sovereignty": 0,
             "sovereignty_salience": 0},  # an older label, with no pool, comes first
            {"id": "a", "paragraph": 1, "sha256": text_sha256(second), "stance": -1, "sovereignty": 0,
             "sovereignty_salience": 0, "pool": "paragraph_round"}]
    write_jsonl(ann / "paragraphs.jsonl", rows)
    write_jsonl(ann / "articles.jsonl", [{**article("a", TEXT_A, "train", -1), "pool": "screen"},
                                         article("b", TEXT_B, "dev", 0, 1, 2)])

    def paragraph_texts(exclude):
        args = TrainingArguments(corpus=str(corpus), annotations=str(ann), use_synthetic=False, exclude_pools=exclude)
        return [e["text"] for e in codebook_examples(args, args.schema())["train"] if e["kind"] == "paragraph"]

    assert paragraph_texts("") == [first, second]
    assert paragraph_texts("paragraph_round") == [first]
    assert paragraph_texts("screen") == []  # an excluded article takes its paragraphs with it, of any round


def test_paragraph_labels_of_a_paragraph_only_round_carry_its_pool(tmp_path):
    import json

    from training.annotation.build_labels import PARAGRAPH_ROUND

    corpus = write_jsonl(tmp_path / "corpus.jsonl", [{"id": "a", "text": TEXT_A}])
    root = tmp_path / "ann"
    (root / "raw" / "paragraphs").mkdir(parents=True)
    (root / "sample_frame.csv").write_text(f"id,sha256,pool,batch,opinion_signal,paragraphs_coded,double_batch\n"
                                           f"a,{text_sha256(TEXT_A)},screen,b00,0,0,\n")
    code = {"fp_relevant": True, "stance": -1, "sovereignty": 0, "sovereignty_salience": 0,
            "sovereignty_whose": None, "confidence": "high", "rationale": "r", "coder": "c"}
    write_jsonl(root / "raw" / "b00.jsonl", [{"id": "a", "paragraph": None, **code}, {"id": "a", "paragraph": 0, **code}])
    write_jsonl(root / "raw" / "paragraphs" / "q00.jsonl", [{"id": "a", "paragraph": 1, **code}])
    _build_labels(corpus, root)
    rows = [json.loads(line) for line in (root / "paragraphs.jsonl").read_text().splitlines()]
    assert [(r["paragraph"], r.get("pool")) for r in rows] == [(0, None), (1, PARAGRAPH_ROUND)]
    write_jsonl(root / "raw" / "paragraphs" / "q01.jsonl", [{"id": "a", "paragraph": 0, **code}])
    with pytest.raises(SystemExit, match="two first codes"):  # a paragraph coded in round 1 and again
        _build_labels(corpus, root)


def _build_labels(corpus, root):
    import sys

    from training.annotation import build_labels

    argv, sys.argv = sys.argv, ["build_labels", "--corpus", str(corpus), "--root", str(root)]
    try:
        build_labels.main()
    finally:
        sys.argv = argv
