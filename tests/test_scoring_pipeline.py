"""`oped score` end to end on a tiny model: formats, bad rows, resume, stdin."""

import csv
import gzip
import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from model import load_model
from model.inference import EVIDENCE_METHODS
from model.pipeline import score_corpus
from model.readers import InputError
from tests.conftest import DOVE, HAWK, NEUTRAL

COLUMNS = ["id", "status", "error", "stance", "stance_score", "p_dovish", "p_neutral", "p_hawkish",
           "stance_intensity", "sovereignty", "p_sovereignty", "sovereignty_salience", "evidence_stance",
           "evidence_sovereignty", "n_words", "n_tokens", "n_chunks", "model", "evidence_method"]
ROWS = [{"id": f"r{i}", "text": t, "outlet": f"o{i % 2}"} for i, t in enumerate([HAWK, DOVE, NEUTRAL, HAWK + "\n\n" + DOVE])]


@pytest.fixture(scope="module")
def scorer(codebook_model):
    return load_model(codebook_model, dtype="fp32", batch_size=4)


def read_jsonl(path):
    return [json.loads(line) for line in open(path, encoding="utf-8")]


def test_jsonl_output_has_the_documented_columns_first(scorer, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    summary = score_corpus(str(src), str(tmp_path / "out.jsonl"), scorer, progress=False)
    out = read_jsonl(tmp_path / "out.jsonl")
    assert [r["id"] for r in out] == ["r0", "r1", "r2", "r3"]
    assert list(out[0])[: len(COLUMNS)] == COLUMNS
    assert out[0]["outlet"] == "o0" and out[0]["status"] == "ok"
    assert summary.ok == 4 and summary.errors == 0


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet", "jsonl.gz", "txtdir"])
def test_every_input_format(scorer, tmp_path, fmt):
    frame = pd.DataFrame(ROWS)
    if fmt == "csv":
        src = tmp_path / "in.csv"
        frame.to_csv(src, index=False)
    elif fmt == "tsv":
        src = tmp_path / "in.tsv"
        frame.to_csv(src, index=False, sep="\t")
    elif fmt == "parquet":
        src = tmp_path / "in.parquet"
        frame.to_parquet(src)
    elif fmt == "jsonl.gz":
        src = tmp_path / "in.jsonl.gz"
        with gzip.open(src, "wt") as f:
            f.write("".join(json.dumps(r) + "\n" for r in ROWS))
    else:
        src = tmp_path / "docs"
        src.mkdir()
        for r in ROWS:
            (src / f"{r['id']}.txt").write_text(r["text"])
    score_corpus(str(src), str(tmp_path / "out.jsonl"), scorer, progress=False)
    out = read_jsonl(tmp_path / "out.jsonl")
    assert [r["id"] for r in out] == ["r0", "r1", "r2", "r3"]
    assert all(r["status"] == "ok" for r in out)


@pytest.mark.parametrize("out_name", ["out.csv", "out.parquet"])
def test_output_formats(scorer, tmp_path, out_name):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    score_corpus(str(src), str(tmp_path / out_name), scorer, progress=False)
    frame = pd.read_csv(tmp_path / out_name) if out_name.endswith("csv") else pd.read_parquet(tmp_path / out_name)
    assert list(frame["id"]) == ["r0", "r1", "r2", "r3"]
    assert list(frame.columns)[: len(COLUMNS)] == COLUMNS


def test_every_bad_row_yields_exactly_one_row_saying_why(scorer, tmp_path):
    src = tmp_path / "bad.jsonl"
    big = ("we must strike . " * 4) + "\n\n"
    lines = [
        json.dumps({"id": "ok1", "text": HAWK}).encode(),
        b"{not json",
        json.dumps({"id": "notext"}).encode(),
        json.dumps({"id": "empty", "text": "   "}).encode(),
        json.dumps({"id": "number", "text": 42}).encode(),
        b'{"id": "latin1", "text": "caf\xe9 talks and peace ."}',
        b"\x00\x01\x02\xff\xfe binary junk",
        json.dumps({"id": "binary", "text": "\x00\x01\x02\x03" * 50}).encode(),
        json.dumps({"id": "huge", "text": big * (5_000_000 // len(big))}).encode(),
        json.dumps({"id": "ok1", "text": DOVE}).encode(),
        json.dumps({"id": "foreign", "text": "Die Regierung will mit dem Nachbarland verhandeln und den Streit "
                    "beilegen, sagte der Minister am Montag in der Hauptstadt vor Journalisten und Gästen."}).encode(),
        json.dumps(["a", "list"]).encode(),
    ]
    src.write_bytes(b"\n".join(lines) + b"\n")
    summary = score_corpus(str(src), str(tmp_path / "out.jsonl"), scorer, progress=False)
    out = read_jsonl(tmp_path / "out.jsonl")
    assert len(out) == len(lines) == summary.rows
    by = {r["id"]: r for r in out}
    assert by["notext"]["error"] == "no 'text' field"
    assert by["empty"]["error"] == "'text' is empty"
    assert "not a string" in by["number"]["error"]
    assert by["latin1"]["status"] == "ok" and "not UTF-8" in by["latin1"]["warning"]
    assert "not valid JSON" in out[1]["error"] and "not valid JSON" in out[6]["error"]
    assert "binary" in by["binary"]["error"]
    assert by["huge"]["status"] == "ok" and by["huge"]["n_words"] >= 1_000_000
    assert [r["status"] for r in out if r["id"] == "ok1"] == ["ok", "ok"]
    assert "duplicate id" in out[9]["warning"]
    assert by["foreign"]["status"] == "ok" and "not be English" in by["foreign"]["warning"]
    assert "not a JSON object" in out[11]["error"]
    assert all(r["status"] == "error" and r["error"] for r in out if r["status"] != "ok")


def test_wrong_text_field_and_unreadable_file_fail_before_work(scorer, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "body": "x"}) + "\n")
    with pytest.raises(InputError, match="no row has a 'text' field.*body"):
        score_corpus(str(src), str(tmp_path / "o.jsonl"), scorer, progress=False)
    assert not (tmp_path / "o.jsonl").exists()
    with pytest.raises(InputError, match="no such file"):
        score_corpus(str(tmp_path / "missing.jsonl"), None, scorer, progress=False)
    bad = tmp_path / "broken.jsonl.gz"
    bad.write_bytes(b"this is not gzip")
    with pytest.raises(InputError, match="cannot be read"):
        score_corpus(str(bad), None, scorer, progress=False)


def test_csv_resume_drops_a_row_torn_inside_a_multi_line_cell(scorer, tmp_path):
    src = tmp_path / "in.jsonl"
    rows = [{"id": f"d{i}", "text": [HAWK, DOVE][i % 2], "note": f"line one\nline two of {i}\r\nthree"}
            for i in range(6)]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    full = tmp_path / "full.csv"
    score_corpus(str(src), str(full), scorer, progress=False)
    data = full.read_bytes()
    # killed inside the last column's quoted cell of row d3, just after one of its newlines
    cut = data.index(b"line two of 3")
    part = tmp_path / "out.csv"
    part.write_bytes(data[:cut])
    summary = score_corpus(str(src), str(part), scorer, resume=True, progress=False)
    assert summary.skipped == 3 and summary.rows == 3
    assert list(csv.reader(open(part, newline=""))) == list(csv.reader(open(full, newline="")))


@pytest.mark.parametrize("out_name", ["out.jsonl", "out.csv"])
def test_resume_after_a_torn_write_gives_the_uninterrupted_output(scorer, tmp_path, out_name):
    src = tmp_path / "in.jsonl"
    rows = [{"id": f"d{i}", "text": [HAWK, DOVE, NEUTRAL][i % 3]} for i in range(30)]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    full = tmp_path / ("full_" + out_name)
    score_corpus(str(src), str(full), scorer, progress=False)
    # simulate kill -9 mid-write: a prefix of the output, cut inside a row
    part = tmp_path / out_name
    data = full.read_bytes()
    part.write_bytes(data[: int(len(data) * 0.55)])
    with pytest.raises(FileExistsError):
        score_corpus(str(src), str(part), scorer, progress=False)
    summary = score_corpus(str(src), str(part), scorer, resume=True, progress=False)
    assert summary.skipped > 0
    if out_name.endswith("csv"):
        got = list(csv.reader(open(part)))
        want = list(csv.reader(open(full)))
    else:
        got, want = read_jsonl(part), read_jsonl(full)
    assert got == want


@pytest.mark.parametrize("out_name", ["out.jsonl", "out.csv", "out.parquet"])
def test_resume_refuses_an_output_scored_by_another_model(scorer, tmp_path, monkeypatch, out_name):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    out = tmp_path / out_name
    score_corpus(str(src), str(out), scorer, limit=2, progress=False)
    if out_name.endswith(".parquet"):  # as a killed run leaves it: rows in the partial stream
        pd.read_parquet(out).to_json(tmp_path / "out.parquet.partial.jsonl", orient="records", lines=True)
        out.unlink()
    monkeypatch.setattr(scorer, "model_id", "another-model@0000000000-float32")
    with pytest.raises(ValueError, match="scored by .* not by this run"):
        score_corpus(str(src), str(out), scorer, resume=True, progress=False)
    monkeypatch.undo()
    score_corpus(str(src), str(out), scorer, resume=True, progress=False)  # the same model resumes
    rows = pd.read_parquet(out).to_dict("records") if out_name.endswith(".parquet") else (
        read_jsonl(out) if out_name.endswith(".jsonl") else list(csv.DictReader(open(out, encoding="utf-8"))))
    assert [str(r["id"]) for r in rows] == ["r0", "r1", "r2", "r3"]


@pytest.mark.parametrize("out_name", ["out.jsonl", "out.csv", "out.parquet"])
def test_resume_refuses_rows_of_another_evidence_method(scorer, tmp_path, monkeypatch, out_name):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    out = tmp_path / out_name
    score_corpus(str(src), str(out), scorer, limit=2, progress=False)  # in-context
    monkeypatch.setattr(scorer, "evidence_method", "standalone")
    with pytest.raises(ValueError, match="evidence method is in-context, not this run's standalone"):
        score_corpus(str(src), str(out), scorer, resume=True, progress=False)
    with pytest.raises(ValueError, match="resume with --evidence-method in-context and without --no-evidence"):
        score_corpus(str(src), str(out), scorer, resume=True, progress=False, evidence=False)
    monkeypatch.undo()
    assert not (tmp_path / "out.parquet.partial.jsonl").exists()  # a refused resume leaves a finished file as it was
    score_corpus(str(src), str(out), scorer, resume=True, progress=False)  # the same method resumes
    rows = pd.read_parquet(out).to_dict("records") if out_name.endswith(".parquet") else (
        read_jsonl(out) if out_name.endswith(".jsonl") else list(csv.DictReader(open(out, encoding="utf-8"))))
    assert [r["evidence_method"] for r in rows] == ["in-context"] * 4


def test_resume_warns_of_rows_that_do_not_record_their_evidence_method(scorer, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    out = tmp_path / "out.jsonl"
    score_corpus(str(src), str(out), scorer, limit=2, progress=False)
    older = [{k: v for k, v in r.items() if k != "evidence_method"} for r in read_jsonl(out)]  # as before the column
    out.write_text("".join(json.dumps(r) + "\n" for r in older))
    capsys.readouterr()
    score_corpus(str(src), str(out), scorer, resume=True, progress=False)
    assert "2 rows of" in capsys.readouterr().err
    assert [r["id"] for r in read_jsonl(out)] == ["r0", "r1", "r2", "r3"]


def test_resuming_a_csv_begun_before_the_evidence_method_column_keeps_its_cells_aligned(scorer, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    out = tmp_path / "out.csv"
    score_corpus(str(src), str(out), scorer, limit=2, progress=False)
    older = pd.read_csv(out, keep_default_na=False).drop(columns=["evidence_method"])  # as an earlier version wrote it
    older.to_csv(out, index=False)
    capsys.readouterr()
    score_corpus(str(src), str(out), scorer, resume=True, progress=False)
    err = capsys.readouterr().err
    assert "2 rows of" in err and "new rows lack the column too" in err
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    assert [r["id"] for r in rows] == ["r0", "r1", "r2", "r3"] and "evidence_method" not in rows[0]
    assert all(r["status"] == "ok" and r["stance"] in ("dovish", "neutral", "hawkish") and r["outlet"] in ("o0", "o1")
               for r in rows)


@pytest.mark.parametrize("content, reason", [
    # a stray quote in an unquoted cell (a file another tool wrote) makes every later newline look
    # quoted: a repair there would drop finished rows
    ('id,status,model\na,ok,5" screen\nb,ok,m\nc,ok,m\n', "do not end where oped score's rows end"),
    ("id,t\na,5\n", "not an oped score output"),  # another tool's file altogether
    ("id,status,model\nr0,ok,m\nr1,ok\nr2,ok,m\n", "1 rows have another number of cells"),  # not this writer's
])
def test_csv_resume_refuses_a_file_it_would_have_to_cut_finished_rows_from(scorer, tmp_path, content, reason):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    out = tmp_path / "out.csv"
    out.write_text(content)
    with pytest.raises(ValueError, match=reason):
        score_corpus(str(src), str(out), scorer, resume=True, progress=False)
    assert out.read_text() == content  # left as it was


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA device (none here)")
def test_scores_and_evidence_on_cuda_match_the_cpu(codebook_model):
    on_cpu = load_model(codebook_model, device="cpu", dtype="fp32").score([HAWK, DOVE, LONG])
    on_gpu = load_model(codebook_model, device="cuda", dtype="fp32").score([HAWK, DOVE, LONG])
    for a, b in zip(on_cpu, on_gpu):
        assert abs(a.values["stance_score"] - b.values["stance_score"]) < 1e-3
        assert a.values["evidence_stance"] == b.values["evidence_stance"]


def test_cuda_sentence_sums_equal_the_sums_of_their_spans():
    # the CUDA path of in-context evidence (a one-hot product instead of index_add_), checked on CPU
    import torch

    from model.inference import _sentence_sums_by_window

    torch.manual_seed(0)
    hidden = torch.randn(3, 12, 5)
    spans = [[(1, 4, "a"), (4, 9, "b")], [], [(1, 2, "c"), (2, 6, "d"), (6, 11, "e")]]
    expected = torch.stack([hidden[r, a:b].sum(0) for r, row in enumerate(spans) for a, b, _ in row])
    torch.testing.assert_close(_sentence_sums_by_window(hidden, spans), expected, atol=1e-5, rtol=1e-5)
    assert _sentence_sums_by_window(hidden, [[], [], []]).shape == (0, 5)


def test_a_finished_parquet_output_is_never_overwritten_and_resumes(scorer, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    out = tmp_path / "out.parquet"
    score_corpus(str(src), str(out), scorer, limit=2, progress=False)
    with pytest.raises(FileExistsError, match="exists"):
        score_corpus(str(src), str(out), scorer, progress=False)
    assert list(pd.read_parquet(out)["id"]) == ["r0", "r1"]
    summary = score_corpus(str(src), str(out), scorer, resume=True, progress=False)
    assert summary.skipped == 2 and summary.ok == 2
    assert list(pd.read_parquet(out)["id"]) == ["r0", "r1", "r2", "r3"]
    assert not (tmp_path / "out.parquet.partial.jsonl").exists()


def test_killed_process_then_resume(codebook_model, tmp_path):
    """A real kill -9 of `oped score`, then --resume: same rows as one clean run."""
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": f"k{i}", "text": (HAWK + "\n\n") * (1 + i % 5)}) + "\n"
                           for i in range(400)))
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "cli", "score", str(src), "-o", str(out), "--model", codebook_model,
           "--dtype", "fp32", "-q", "--batch-size", "2"]
    proc = subprocess.Popen(cmd, cwd=tmp_path.parent, env=_env())
    import time

    deadline = time.time() + 60
    while time.time() < deadline and (not out.exists() or out.stat().st_size < 2000):
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    subprocess.run(cmd + ["--resume"], check=True, env=_env())
    ids = [r["id"] for r in read_jsonl(out)]
    assert ids == [f"k{i}" for i in range(400)]


def _env():
    import os
    from pathlib import Path

    return {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


def test_stdin_to_stdout(codebook_model):
    cmd = [sys.executable, "-m", "cli", "score", "-", "--model", codebook_model, "--dtype", "fp32", "-q"]
    res = subprocess.run(cmd, input="".join(json.dumps(r) + "\n" for r in ROWS), capture_output=True, text=True,
                         check=True, env=_env())
    assert [json.loads(line)["id"] for line in res.stdout.splitlines()] == ["r0", "r1", "r2", "r3"]


def test_no_evidence_empties_only_the_evidence_columns(codebook_model, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    outs = {}
    for flag in ("--evidence", "--no-evidence", "--evidence-method=standalone"):
        out = tmp_path / f"out{flag}.jsonl"
        subprocess.run([sys.executable, "-m", "cli", "score", str(src), "-o", str(out), "--model", codebook_model,
                        "--dtype", "fp32", "-q", flag], check=True, env=_env())
        outs[flag] = read_jsonl(out)
    evidence = ("evidence_stance", "evidence_sovereignty")
    assert any(r[c] for r in outs["--evidence"] for c in evidence)  # the toy model finds some
    for full, bare, standalone in zip(outs["--evidence"], outs["--no-evidence"], outs["--evidence-method=standalone"]):
        assert list(bare) == list(full) == list(standalone)
        assert all(bare[c] == "" for c in evidence)
        assert all(bool(standalone[c]) == bool(full[c]) for c in evidence)
        assert [full["evidence_method"], bare["evidence_method"], standalone["evidence_method"]] == \
            ["in-context", "none", "standalone"]
        differ = (*evidence, "evidence_method")
        rest = {k: v for k, v in full.items() if k not in differ}
        assert {k: v for k, v in bare.items() if k not in differ} == rest
        assert {k: v for k, v in standalone.items() if k not in differ} == rest
    bad = subprocess.run([sys.executable, "-m", "cli", "score", str(src), "--model", codebook_model,
                          "--evidence-method", "psychic"], capture_output=True, text=True, env=_env())
    assert bad.returncode != 0 and "evidence method is one of in-context, standalone" in bad.stderr


def test_no_evidence_never_encodes_evidence_sentences(scorer, monkeypatch):
    from model.pipeline import Summary, write_scores
    from model.readers import Record

    class Rows(list):
        def write(self, rows):
            self.extend(rows)

    def refuse(wanted, flat, states):
        assert not wanted, "evidence sentences were asked for"
        return []

    def encode_without_sentences(sequences, sentences=None):
        assert sentences is None, "sentence states were gathered"
        return encode(sequences)

    encode = scorer.encode
    monkeypatch.setattr(scorer, "_evidence", refuse)
    monkeypatch.setattr(scorer, "encode", encode_without_sentences)
    for method in EVIDENCE_METHODS:
        monkeypatch.setattr(scorer, "evidence_method", method)
        rows = Rows()
        records = [Record(id=f"r{i}", text=t, fields={}, row=i) for i, t in enumerate([HAWK, DOVE, NEUTRAL])]
        write_scores(records, rows, scorer, Summary(), scorer.output_columns(), evidence=False)
        assert [r["status"] for r in rows] == ["ok"] * 3
        assert all(r["evidence_stance"] == r["evidence_sovereignty"] == "" for r in rows)


LONG = "\n\n".join([HAWK, NEUTRAL, DOVE, HAWK + " " + NEUTRAL])


def test_in_context_evidence_is_the_window_without_each_sentence(scorer):
    """The states it reads are exact: the window's mean is its vector, and taking a sentence out
    equals pooling the same encoding with that sentence's tokens masked out of the mean."""
    import torch

    from model.modeling import mean_pool

    chunk = scorer.prepare(LONG).chunks[0]
    assert len(chunk.sentences) >= 2
    vectors, states = scorer.encode([chunk.input_ids], [chunk.sentences])
    assert torch.allclose(states.window_sum[0] / states.window_tokens[0], vectors[0], atol=1e-5)
    ids, mask = scorer.pad([chunk.input_ids])
    with torch.inference_mode():
        tokens = scorer.net.encode_tokens(ids, mask)
        for k, (a, b, _) in enumerate(chunk.sentences):
            keep = mask.clone()
            keep[0, a:b] = 0
            rest = (states.window_sum[0] - states.sentence_sum[k]) / (states.window_tokens[0] - states.sentence_tokens[k])
            assert states.sentence_tokens[k] == b - a
            assert torch.allclose(rest, mean_pool(tokens, keep)[0].float(), atol=1e-5)


SENTENCES = ["We must strike and bomb them.", "Force and pressure will deter them.", "The team won the game.",
             "We should seek talks and peace.", "Diplomacy and restraint and a ceasefire deal.",
             "Our sovereignty and territory and border control.", "The weather report today said rain."]


def test_cuda_way_of_summing_sentences_gives_the_same_states_and_evidence(codebook_model, monkeypatch):
    """Padded, length-sorted batches of several windows: the one-hot product CUDA uses fills every
    sentence's row as index_add_ does on CPUs, so the evidence is the same."""
    import torch

    from model.inference import Scorer

    scorer = load_model(codebook_model, dtype="fp32", batch_size=2)
    texts = [" ".join(SENTENCES[k % 7] for k in range(start, start + n)) for start, n in ((0, 9), (3, 5), (5, 12))]
    flat = [c for t in texts for c in scorer.prepare(t).chunks]
    wanted = [(0, dim, k, w) for w in range(len(flat)) for dim in scorer.schema.dimensions
              for k, name in enumerate(dim.classes) if name in dim.signal_classes]
    runs = []
    for by_product in (False, True):
        monkeypatch.setattr(Scorer, "sentence_sums_by_product", by_product)
        _, states = scorer.encode([c.input_ids for c in flat], [c.sentences for c in flat])
        runs.append((states, scorer._evidence_in_context(wanted, flat, states)))
    (plain, plain_evidence), (product, product_evidence) = runs
    assert plain.sentence_sum.shape[0] >= 10
    torch.testing.assert_close(product.sentence_sum, plain.sentence_sum, atol=1e-5, rtol=1e-5)
    assert torch.equal(product.sentence_tokens, plain.sentence_tokens)
    assert product_evidence == plain_evidence


def test_in_context_evidence_is_the_sentence_whose_removal_lowers_the_class_most(codebook_model):
    """Windows of three articles, encoded in length-sorted, padded batches of two: for every
    window and class, the evidence is, by brute force (the window encoded alone, each sentence
    masked out of its mean in turn), the sentence whose removal leaves the lowest probability."""
    import torch

    from model.modeling import mean_pool
    from model.probabilities import class_probs

    scorer = load_model(codebook_model, dtype="fp32", batch_size=2)
    texts = [" ".join(SENTENCES[k % 7] for k in range(start, start + n)) for start, n in ((0, 9), (3, 5), (5, 12))]
    flat = [c for t in texts for c in scorer.prepare(t).chunks]
    assert len(flat) >= 5 and len({len(c.input_ids) for c in flat}) >= 3  # batches of several widths, padded
    _, states = scorer.encode([c.input_ids for c in flat], [c.sentences for c in flat])
    wanted = [(0, dim, k, w) for w in range(len(flat)) for dim in scorer.schema.dimensions
              for k, name in enumerate(dim.classes) if name in dim.signal_classes]
    got = scorer._evidence_in_context(wanted, flat, states)
    decided = 0
    with torch.inference_mode():
        for (_, dim, klass, w), sentence in zip(wanted, got):
            chunk = flat[w]
            ids, mask = scorer.pad([chunk.input_ids])
            tokens = scorer.net.encode_tokens(ids, mask)
            left = []
            for a, b, _ in chunk.sentences:
                keep = mask.clone()
                keep[0, a:b] = 0
                logits = scorer.net.heads[dim.name].chunk_logits(mean_pool(tokens, keep).float())
                left.append(float(class_probs(dim, logits.softmax(-1))[0, klass]))
            named = [k for k, (*_, text) in enumerate(chunk.sentences) if " ".join(text.split()) == sentence]
            assert named and min(left[k] for k in named) <= min(left) + 1e-6
            decided += len(left) > 1 and sorted(left)[1] - min(left) > 1e-4  # not a near tie
    assert decided >= 5


def test_in_context_evidence_encodes_once_and_names_a_sentence_of_the_text(scorer, monkeypatch):
    from model.text import split_sentences

    texts = [LONG, HAWK, DOVE + "\n\n" + NEUTRAL]
    calls = []
    encode_tokens = scorer._encode_tokens
    monkeypatch.setattr(scorer, "_encode_tokens", lambda ids, mask: calls.append(ids.shape) or encode_tokens(ids, mask))
    results = {}
    for method in EVIDENCE_METHODS:
        monkeypatch.setattr(scorer, "evidence_method", method)
        calls.clear()
        results[method] = [r.values for r in scorer.score(texts)]
        results[method + "_calls"] = len(calls)
    windows = sum(len(scorer.prepare(t).chunks) for t in texts)
    assert results["in-context_calls"] == -(-windows // scorer.batch_size)  # the window batches, nothing more
    assert results["standalone_calls"] > results["in-context_calls"]
    named = 0
    for text, a, b in zip(texts, results["in-context"], results["standalone"]):
        evidence = ("evidence_stance", "evidence_sovereignty")
        assert (a["evidence_method"], b["evidence_method"]) == ("in-context", "standalone")
        same = [k for k in a if k not in evidence and k != "evidence_method"]
        assert [a[k] for k in same] == [b[k] for k in same]
        for column in evidence:  # evidence where and only where the other method names one, from the text
            assert bool(a[column]) == bool(b[column])
            if a[column]:
                named += 1
                assert a[column] in [" ".join(s.split()) for s in split_sentences(text)]
    assert named  # the toy model names some evidence


def test_an_unknown_evidence_method_is_an_error(scorer, monkeypatch):
    monkeypatch.setattr(scorer, "evidence_method", "telepathy")
    with pytest.raises(ValueError, match="evidence_method must be one of"):
        scorer.score([HAWK])


def test_scores_identical_across_batch_sizes_in_the_pipeline(codebook_model, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in ROWS * 5))
    outs = []
    for bs in (1, 7, 64):
        out = tmp_path / f"o{bs}.jsonl"
        score_corpus(str(src), str(out), load_model(codebook_model, dtype="fp32", batch_size=bs), progress=False)
        outs.append(read_jsonl(out))
    for a, b in zip(outs[0], outs[2]):
        assert a["p_hawkish"] == pytest.approx(b["p_hawkish"], abs=1e-4)
        assert a["p_sovereignty"] == pytest.approx(b["p_sovereignty"], abs=1e-4)


def test_background_tokenization_on_or_off_writes_the_same_rows(scorer, monkeypatch):
    from model.pipeline import Summary, prefetch_helps, write_scores
    from model.readers import Record

    class Rows(list):
        def write(self, rows):
            self.extend(rows)

    texts = [HAWK, DOVE, NEUTRAL] * 200  # 600 one-window rows: three groups of GROUP_WINDOWS, so the thread runs ahead
    outputs = []
    for prefetch in (True, False):
        sink, summary = Rows(), Summary()
        records = (Record(i, f"r{i}", t) for i, t in enumerate(texts))
        write_scores(records, sink, scorer, summary, scorer.output_columns(), prefetch=prefetch)
        outputs.append(sink)
    assert [r["id"] for r in outputs[0]] == [f"r{i}" for i in range(len(texts))]
    assert outputs[0] == outputs[1]
    # the automatic choice: a background thread only where torch leaves a core free
    import torch

    monkeypatch.setattr("model.pipeline._usable_cores", lambda: torch.get_num_threads())
    assert prefetch_helps(scorer) is False
    monkeypatch.setattr("model.pipeline._usable_cores", lambda: torch.get_num_threads() + 2)
    assert prefetch_helps(scorer) is True


@pytest.mark.parametrize("dtype, tolerance", [("fp32", 1e-4), ("bf16", 1e-2)])
def test_rounded_batch_widths_do_not_change_scores(codebook_model, dtype, tolerance):
    texts = [r["text"] for r in ROWS if isinstance(r.get("text"), str) and r["text"].strip()]
    exact, rounded = (load_model(codebook_model, dtype=dtype, batch_size=3) for _ in range(2))
    exact.pad_multiple = 1
    for a, b in zip(exact.score(texts), rounded.score(texts)):
        assert a.values["p_hawkish"] == pytest.approx(b.values["p_hawkish"], abs=tolerance)
        assert a.values["p_sovereignty"] == pytest.approx(b.values["p_sovereignty"], abs=tolerance)


def test_awkward_bytes_never_cost_a_row(scorer, tmp_path):
    src = tmp_path / "odd.jsonl"
    lines = [
        b'\xef\xbb\xbf{"id": "bom", "text": "we must strike ."}',  # byte-order mark from Excel/PowerShell
        b'{"id": "cr", "text": "talks\rand peace ."}',  # a raw carriage return inside a line
        b'{"id": "bignum", "text": "peace", "n": ' + b"9" * 5000 + b"}",  # past Python's int digit limit
        b'{"id": "field", "text": "peace talks .", "author": "Jos\xe9", "title": "Caf\xe9 talks"}',
    ]
    src.write_bytes(b"\n".join(lines) + b"\n")
    score_corpus(str(src), str(tmp_path / "out.csv"), scorer, title_field="title", progress=False)
    rows = list(csv.DictReader(open(tmp_path / "out.csv", encoding="utf-8")))
    assert [r["id"] for r in rows] == ["bom", "cr", "row2", "field"]
    assert [r["status"] for r in rows] == ["ok", "ok", "error", "ok"]
    assert "not valid JSON" in rows[2]["error"]
    assert rows[3]["author"] == "Jos\ufffd" and "not UTF-8" in rows[3]["warning"]


def test_csv_input_keeps_string_ids_and_a_bom_header(scorer, tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes("\ufeffid,text\n007,we must strike .\n".encode("utf-8"))
    score_corpus(str(src), str(tmp_path / "out.jsonl"), scorer, progress=False)
    assert read_jsonl(tmp_path / "out.jsonl")[0]["id"] == "007"


def test_resume_with_paragraphs_output(scorer, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": f"p{i}", "text": (HAWK + "\n\n" + DOVE) * (1 + i % 3)}) + "\n"
                           for i in range(30)))
    score_corpus(str(src), str(tmp_path / "full.jsonl"), scorer, paragraphs_path=str(tmp_path / "full_p.jsonl"),
                 progress=False)
    main, para = tmp_path / "out.jsonl", tmp_path / "out_p.jsonl"
    main.write_bytes((tmp_path / "full.jsonl").read_bytes()[:2000])  # torn main output
    para.write_bytes((tmp_path / "full_p.jsonl").read_bytes()[:5000])  # window rows ahead of it, torn too
    with pytest.raises(FileExistsError):
        score_corpus(str(src), str(tmp_path / "new.jsonl"), scorer, paragraphs_path=str(para), progress=False)
    score_corpus(str(src), str(main), scorer, paragraphs_path=str(para), resume=True, progress=False)
    assert read_jsonl(main) == read_jsonl(tmp_path / "full.jsonl")
    assert read_jsonl(para) == read_jsonl(tmp_path / "full_p.jsonl")


def test_csv_resume_after_a_kill_inside_a_multibyte_character(scorer, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": f"u{i}", "text": HAWK, "note": "“quoted”"}) + "\n" for i in range(10)))
    score_corpus(str(src), str(tmp_path / "full.csv"), scorer, progress=False)
    data = (tmp_path / "full.csv").read_bytes()
    cut = data.index("”".encode()) + 1  # inside the 3-byte character
    (tmp_path / "out.csv").write_bytes(data[: data.index(b"\n", cut // 2) + 1] + data[data.index(b"\n", cut // 2) + 1: cut])
    score_corpus(str(src), str(tmp_path / "out.csv"), scorer, resume=True, progress=False)
    assert (tmp_path / "out.csv").read_bytes() == data


@pytest.mark.skipif(not (shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")),
                    reason="torch.compile on the CPU needs a C++ compiler (none on PATH)")
def test_compiled_encoder_gives_the_eager_scores(codebook_model):
    texts = [HAWK, DOVE, NEUTRAL, HAWK + " " + DOVE]
    eager = load_model(codebook_model, dtype="fp32")
    compiled = load_model(codebook_model, dtype="fp32", compile=True)
    for a, b in zip(eager.score(texts), compiled.score(texts)):
        assert a.values["p_hawkish"] == pytest.approx(b.values["p_hawkish"], abs=1e-4)
        assert a.values["p_sovereignty"] == pytest.approx(b.values["p_sovereignty"], abs=1e-4)
    assert compiled.compiled  # it really ran compiled, not through the fallback


def test_a_failing_compilation_falls_back_with_a_warning(codebook_model, monkeypatch, capsys):
    import torch

    def broken(fn, **kwargs):
        def run(*args):
            raise RuntimeError("no C++ compiler found")
        return run

    monkeypatch.setattr(torch, "compile", broken)
    scorer = load_model(codebook_model, dtype="fp32", compile=True)
    expected = load_model(codebook_model, dtype="fp32").score([HAWK])[0].values["p_hawkish"]
    assert scorer.score([HAWK])[0].values["p_hawkish"] == pytest.approx(expected, abs=1e-6)
    assert not scorer.compiled
    assert "torch.compile failed (RuntimeError: no C++ compiler found)" in capsys.readouterr().err


def test_a_model_error_after_compilation_is_raised_not_hidden(codebook_model, monkeypatch):
    import torch

    def flaky(fn, **kwargs):
        calls = []

        def run(*args):
            calls.append(1)
            if len(calls) > 1:
                raise ValueError("a bad batch")
            return fn(*args)
        return run

    monkeypatch.setattr(torch, "compile", flaky)
    scorer = load_model(codebook_model, dtype="fp32", compile=True)
    scorer.score([HAWK], evidence=False)  # the first (compiling) call succeeds
    with pytest.raises(ValueError, match="a bad batch"):
        scorer.score([DOVE], evidence=False)


def test_half_an_emoji_is_replaced_and_costs_no_row(scorer, tmp_path):
    # "\ud83d" alone is valid JSON (text cut mid-emoji) but no UTF-8 string: it once stopped the run
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a", "text": "we must strike ."}\n'
                   '{"id": "b", "text": "truncated post \\ud83d", "note": "\\udfff"}\n'
                   '{"id": "c", "text": "talks and peace ."}\n')
    score_corpus(str(src), str(tmp_path / "out.jsonl"), scorer, progress=False)
    out = read_jsonl(tmp_path / "out.jsonl")
    assert [r["id"] for r in out] == ["a", "b", "c"] and [r["status"] for r in out] == ["ok"] * 3
    assert "half of a character" in out[1]["warning"] and out[1]["note"] == "\ufffd"


def test_a_row_that_breaks_the_reader_becomes_an_error_row(scorer, tmp_path, monkeypatch):
    import model.readers as readers

    real = readers._make
    monkeypatch.setattr(readers, "_make", lambda row, *a: (_ for _ in ()).throw(KeyError("odd")) if row == 1
                        else real(row, *a))
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in ROWS[:3]))
    score_corpus(str(src), str(tmp_path / "out.jsonl"), scorer, progress=False)
    out = read_jsonl(tmp_path / "out.jsonl")
    assert [r["status"] for r in out] == ["ok", "error", "ok"]
    assert out[1]["error"].startswith("row could not be read (KeyError")


def test_folders_without_txt_files_and_upper_case_suffixes(scorer, tmp_path):
    empty, jsonl = tmp_path / "empty", tmp_path / "jsonl"
    empty.mkdir(), jsonl.mkdir()
    (jsonl / "a.jsonl").write_text(json.dumps(ROWS[0]) + "\n")
    with pytest.raises(InputError, match="has none \\(it is empty\\)"):
        score_corpus(str(empty), None, scorer, progress=False)
    with pytest.raises(InputError, match="has none \\(it holds: .jsonl\\)"):
        score_corpus(str(jsonl), None, scorer, progress=False)
    (jsonl / "B.TXT").write_text(HAWK)
    src = tmp_path / "in.JSONL.GZ"
    with gzip.open(src, "wt") as f:
        f.write(json.dumps(ROWS[1]) + "\n")
    for path, ids in ((jsonl, ["B"]), (src, ["r1"])):
        score_corpus(str(path), str(tmp_path / "o.jsonl"), scorer, progress=False)
        out = read_jsonl(tmp_path / "o.jsonl")
        assert [r["id"] for r in out] == ids and out[0]["status"] == "ok"
        (tmp_path / "o.jsonl").unlink()


def test_parquet_output_keeps_a_field_whose_type_varies_and_its_integer_columns(scorer, tmp_path):
    rows = [{"id": "a", "text": HAWK, "page": 3, "meta": {"k": 1}, "x": float("nan")},
            {"id": "b", "page": "4A", "meta": {"k": [2]}, "x": 1.5},  # no text: an error row
            {"id": "c", "text": DOVE, "page": None, "meta": None, "x": 2.0}]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    score_corpus(str(src), str(tmp_path / "out.parquet"), scorer, progress=False)
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "out.parquet")
    column = {name: table.column(name).to_pylist() for name in table.column_names}
    assert column["id"] == ["a", "b", "c"] and column["status"] == ["ok", "error", "ok"]
    assert column["page"] == ["3", "4A", None]  # one type for the column: text
    assert column["meta"] == ['{"k": 1}', '{"k": [2]}', None]
    assert str(table.schema.field("n_tokens").type) == "int64" and column["n_tokens"][1] is None
    assert str(table.schema.field("p_hawkish").type) == "double"
    assert not (tmp_path / "out.parquet.partial.jsonl").exists()
    # JSON lines: the NaN of the input is written as null, which strict JSON readers accept
    score_corpus(str(src), str(tmp_path / "out.jsonl"), scorer, progress=False)
    text = (tmp_path / "out.jsonl").read_text()
    assert "NaN" not in text and read_jsonl(tmp_path / "out.jsonl")[0]["x"] is None


def _read_rows(path):
    return pd.read_json(path, lines=True, dtype=False) if str(path).endswith(".jsonl") else pd.read_csv(path)


def _read_any(path):
    return pd.read_parquet(path) if str(path).endswith(".parquet") else pd.read_csv(path)


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_resume_keeps_every_window_row_of_csv_and_parquet_paragraphs(scorer, tmp_path, ext):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": f"p{i}", "text": (HAWK + "\n\n" + DOVE) * (1 + i % 3)}) + "\n"
                           for i in range(12)))
    score_corpus(str(src), str(tmp_path / "full.jsonl"), scorer, paragraphs_path=str(tmp_path / f"full_p.{ext}"),
                 progress=False)
    main, para = tmp_path / "out.jsonl", tmp_path / f"out_p.{ext}"
    score_corpus(str(src), str(main), scorer, paragraphs_path=str(para), limit=5, progress=False)
    with pytest.raises(FileExistsError):  # a finished per-window file is not overwritten
        score_corpus(str(src), str(tmp_path / "new.jsonl"), scorer, paragraphs_path=str(para), progress=False)
    if ext == "csv":  # a kill mid-write tears the last window row, which a resume cuts
        para.write_bytes(para.read_bytes() + b"p5,5,0.1")
    score_corpus(str(src), str(main), scorer, paragraphs_path=str(para), resume=True, progress=False)
    assert read_jsonl(main) == read_jsonl(tmp_path / "full.jsonl")
    pd.testing.assert_frame_equal(_read_any(para), _read_any(tmp_path / f"full_p.{ext}"))


def test_resume_refuses_paragraphs_whose_main_output_is_missing(scorer, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    score_corpus(str(src), str(tmp_path / "out.jsonl"), scorer, paragraphs_path=str(tmp_path / "p.jsonl"),
                 progress=False)
    before = (tmp_path / "p.jsonl").read_bytes()
    with pytest.raises(FileExistsError, match="does not exist"):  # a mistyped -o
        score_corpus(str(src), str(tmp_path / "ouy.jsonl"), scorer, paragraphs_path=str(tmp_path / "p.jsonl"),
                     resume=True, progress=False)
    assert (tmp_path / "p.jsonl").read_bytes() == before
    with pytest.raises(ValueError, match="give it with -o"):
        score_corpus(str(src), None, scorer, resume=True, progress=False)


def test_a_batch_size_below_one_is_refused(codebook_model):
    with pytest.raises(ValueError, match="at least 1"):
        load_model(codebook_model, dtype="fp32", batch_size=0)


def test_ray_engine_refuses_options_it_would_ignore(tmp_path):
    from typer.testing import CliRunner

    from cli import app

    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(ROWS[0]) + "\n")
    for extra in (["--limit", "5"], ["--paragraphs", str(tmp_path / "p.jsonl")], ["--delimiter", ";"],
                  ["--encoding", "cp1252"]):
        res = CliRunner().invoke(app, ["score", str(src), "-o", str(tmp_path / "shards"), "--engine", "ray", *extra])
        assert res.exit_code != 0 and "not supported by --engine ray" in res.output
    assert not (tmp_path / "shards").exists()


def test_whole_file_mistakes_fail_before_work(scorer, tmp_path):
    array = tmp_path / "array.json"
    array.write_text(json.dumps(ROWS, indent=2))
    with pytest.raises(InputError, match="one JSON document"):
        score_corpus(str(array), None, scorer, progress=False)
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    with pytest.raises(InputError, match="no row has a 'ID' field.*--id-field"):
        score_corpus(str(src), None, scorer, id_field="ID", progress=False)
    with pytest.raises(InputError, match="no row has a 'headline' field.*--title-field"):
        score_corpus(str(src), None, scorer, title_field="headline", progress=False)
    hidden = tmp_path / "packed.jsonl"  # gzip data saved without .gz
    hidden.write_bytes(gzip.compress(src.read_bytes()))
    score_corpus(str(hidden), str(tmp_path / "o.jsonl"), scorer, progress=False)
    assert [r["status"] for r in read_jsonl(tmp_path / "o.jsonl")] == ["ok"] * 4


def test_an_input_that_breaks_off_keeps_every_row_before_it_and_says_so(scorer, tmp_path):
    src = tmp_path / "in.jsonl.gz"
    whole = gzip.compress("".join(json.dumps({"id": f"t{i}", "text": "we must strike ."}) + "\n"
                                  for i in range(600)).encode())
    src.write_bytes(whole[: len(whole) * 3 // 4])  # a download cut short
    summary = score_corpus(str(src), str(tmp_path / "out.jsonl"), scorer, progress=False)
    out = read_jsonl(tmp_path / "out.jsonl")
    assert len(out) > 250 and all(r["status"] == "ok" for r in out[:-1])
    assert [r["id"] for r in out[:-1]] == [f"t{i}" for i in range(len(out) - 1)]
    assert out[-1]["status"] == "error" and "cannot be read past this point" in out[-1]["error"]
    assert summary.input_error == out[-1]["error"]


def test_odd_rows_of_folders_and_parquet_files(scorer, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "txt"
    folder.mkdir()
    (folder / "a.txt").write_text(HAWK)
    (folder / "b.txt").symlink_to(tmp_path / "gone.txt")  # a broken link
    (folder / "c.txt").mkdir()  # a folder named like a text: not an article
    score_corpus(str(folder), str(tmp_path / "o1.jsonl"), scorer, progress=False)
    out = read_jsonl(tmp_path / "o1.jsonl")
    assert [(r["id"], r["status"]) for r in out] == [("a", "ok"), ("b", "error")] and "cannot be read" in out[1]["error"]
    table = pa.table({"id": pa.array([b"x1", b"x2"], pa.binary()), "text": pa.array([HAWK.encode(), None], pa.binary())})
    pq.write_table(table, tmp_path / "bytes.parquet")
    score_corpus(str(tmp_path / "bytes.parquet"), str(tmp_path / "o2.jsonl"), scorer, progress=False)
    out = read_jsonl(tmp_path / "o2.jsonl")
    assert [r["id"] for r in out] == ["x1", "x2"] and out[0]["status"] == "ok" and out[1]["error"] == "'text' is null"


def test_text_in_a_script_without_spaces_is_flagged_as_maybe_not_english(scorer, tmp_path):
    from model.pipeline import english_warning

    assert "Latin script" in english_warning("政府表示将与邻国进行谈判以解决争端" * 5)
    assert english_warning(HAWK) == ""


def test_outputs_that_would_overwrite_the_input_or_another_file_are_refused(scorer, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    before = src.read_bytes()
    for kwargs in ({"output_path": str(src)}, {"output_path": str(tmp_path / "o.jsonl"), "paragraphs_path": str(src)},
                   {"output_path": str(tmp_path / "o.jsonl"), "paragraphs_path": str(tmp_path / "o.jsonl")}):
        with pytest.raises(ValueError, match="is the input file|same file"):
            score_corpus(str(src), scorer=scorer, resume=True, progress=False, **kwargs)
    assert src.read_bytes() == before and not (tmp_path / "o.jsonl").exists()
    with pytest.raises(ValueError, match="does not exist"):
        score_corpus(str(src), str(tmp_path / "no" / "o.jsonl"), scorer, progress=False)
    (tmp_path / "scores.jsonl").mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        score_corpus(str(src), str(tmp_path / "scores.jsonl"), scorer, progress=False)
    gold = tmp_path / "gold.jsonl"  # another tool's file, sharing an id with the input
    gold.write_text(json.dumps({"id": "r0", "stance": "hawkish"}) + "\n")
    with pytest.raises(ValueError, match="not from oped score"):
        score_corpus(str(src), str(gold), scorer, resume=True, progress=False)
    coded = tmp_path / "coded.csv"
    coded.write_text("id,stance\nr0,hawkish\n")
    with pytest.raises(ValueError, match="not an oped score output"):
        score_corpus(str(src), str(coded), scorer, resume=True, progress=False)
    assert gold.read_text().count("\n") == 1 and coded.read_text() == "id,stance\nr0,hawkish\n"


def test_overwrite_replaces_a_finished_output(scorer, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    for name in ("o.csv", "o.parquet"):
        out = tmp_path / name
        score_corpus(str(src), str(out), scorer, limit=2, progress=False)
        with pytest.raises(FileExistsError, match="--overwrite"):
            score_corpus(str(src), str(out), scorer, progress=False)
        score_corpus(str(src), str(out), scorer, overwrite=True, progress=False)
        assert len(_read_any(out)) == 4
    with pytest.raises(ValueError, match="give one of them"):
        score_corpus(str(src), str(tmp_path / "o.csv"), scorer, overwrite=True, resume=True, progress=False)


@pytest.mark.parametrize("with_ids", [True, False])
def test_resume_with_the_whole_input_after_a_break_off_equals_an_uninterrupted_run(scorer, tmp_path, with_ids):
    rows = [({"id": f"t{i}"} if with_ids else {}) | {"text": ["we must strike", "talks and peace"][i % 2] + f" {i} ."}
            for i in range(1000)]
    whole = gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode())
    (tmp_path / "in.jsonl.gz").write_bytes(whole[: len(whole) * 3 // 4])  # a download cut short
    for name in ("out.jsonl", "out.csv"):
        score_corpus(str(tmp_path / "in.jsonl.gz"), str(tmp_path / name), scorer, progress=False,
                     paragraphs_path=str(tmp_path / f"p_{name}"))
        (tmp_path / "in.jsonl.gz").write_bytes(whole)  # downloaded again, whole
        score_corpus(str(tmp_path / "in.jsonl.gz"), str(tmp_path / name), scorer, resume=True, progress=False,
                     paragraphs_path=str(tmp_path / f"p_{name}"))
        score_corpus(str(tmp_path / "in.jsonl.gz"), str(tmp_path / f"full_{name}"), scorer, progress=False,
                     paragraphs_path=str(tmp_path / f"p_full_{name}"))
        for resumed, whole_run in ((name, f"full_{name}"), (f"p_{name}", f"p_full_{name}")):
            a, b = (_read_rows(tmp_path / f) for f in (resumed, whole_run))
            assert list(a["id"]) == list(b["id"]) and len(a) == len(b)  # no row lost, none twice, same order
            # the same scores: groups of windows differ between the runs (fp32: within 1e-4)
            pd.testing.assert_frame_equal(a, b, check_exact=False, atol=1e-4)
        (tmp_path / "in.jsonl.gz").write_bytes(whole[: len(whole) * 3 // 4])


def test_a_named_pipe_is_read_from_its_first_row(scorer, tmp_path):
    import os
    import threading

    fifo = tmp_path / "in.jsonl"
    os.mkfifo(fifo)
    data = "".join(json.dumps(r) + "\n" for r in ROWS).encode()
    writer = threading.Thread(target=lambda: fifo.write_bytes(data))
    writer.start()
    score_corpus(str(fifo), str(tmp_path / "o.jsonl"), scorer, progress=False)
    writer.join()
    assert [r["id"] for r in read_jsonl(tmp_path / "o.jsonl")] == ["r0", "r1", "r2", "r3"]


def test_more_odd_inputs_and_outputs(scorer, tmp_path):
    import os

    folder = tmp_path / "txt"
    folder.mkdir()
    (folder / "a.txt").write_text(HAWK)
    os.symlink(tmp_path / "gone", os.path.join(os.fsencode(folder), b"caf\xe9.txt"))  # not UTF-8, and broken
    score_corpus(str(folder), str(tmp_path / "o.jsonl"), scorer, progress=False)
    out = read_jsonl(tmp_path / "o.jsonl")
    assert [r["status"] for r in out] == ["ok", "error"] and "\ufffd" in out[1]["id"]
    one_bad = tmp_path / "one_bad.jsonl"  # JSON lines whose only row is broken: an error row, not a refusal
    one_bad.write_text("{broken\n")
    score_corpus(str(one_bad), str(tmp_path / "o2.jsonl"), scorer, progress=False)
    assert "not valid JSON" in read_jsonl(tmp_path / "o2.jsonl")[0]["error"]
    array = tmp_path / "array.json"
    array.write_text(json.dumps(ROWS))  # an array of articles on one line
    with pytest.raises(InputError, match="one JSON document"):
        score_corpus(str(array), None, scorer, progress=False)
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    with pytest.raises(ValueError, match="needs a file name"):
        score_corpus(str(src), str(tmp_path / "o3.jsonl"), scorer, paragraphs_path="-", progress=False)
    other = tmp_path / "other.parquet"  # another tool's Parquet file
    pd.DataFrame({"id": ["r0"], "label": [1]}).to_parquet(other)
    with pytest.raises(ValueError, match="not written by oped score"):
        score_corpus(str(src), str(other), scorer, resume=True, progress=False)
    assert not (tmp_path / "other.parquet.partial.jsonl").exists()


def test_ray_refuses_gzip_data_named_as_plain_json_lines(tmp_path):
    from model.ray_engine import input_files

    packed = tmp_path / "packed.jsonl"
    packed.write_bytes(gzip.compress(json.dumps(ROWS[0]).encode() + b"\n"))
    with pytest.raises(ValueError, match="uncompressed"):
        input_files(str(packed))


def test_an_input_without_rows_gives_a_csv_with_a_header(scorer, tmp_path):
    src = tmp_path / "empty.csv"
    src.write_text("id,text\n")
    summary = score_corpus(str(src), str(tmp_path / "o.csv"), scorer, progress=False)
    assert summary.rows == 0 and pd.read_csv(tmp_path / "o.csv").columns[:3].tolist() == ["id", "status", "error"]


def test_a_semicolon_csv_is_scored_with_delimiter_and_a_hint_names_the_option(codebook_model, tmp_path):
    from typer.testing import CliRunner

    from cli import app

    src = tmp_path / "excel.csv"  # as a spreadsheet saved under a European locale writes it
    src.write_text("id;text;outlet\n" + "".join(f'{r["id"]};"{r["text"]}";x\n' for r in ROWS), encoding="utf-8")
    res = CliRunner().invoke(app, ["score", str(src), "-o", str(tmp_path / "o.jsonl"), "--model", codebook_model])
    assert res.exit_code != 0 and "give --delimiter ';'" in res.output
    res = CliRunner().invoke(app, ["score", str(src), "-o", str(tmp_path / "o.jsonl"), "--model", codebook_model,
                                   "--delimiter", ";", "-q"])
    assert res.exit_code == 0, res.output
    rows = read_jsonl(tmp_path / "o.jsonl")
    assert [(r["id"], r["status"], r["outlet"]) for r in rows] == [(str(r["id"]), "ok", "x") for r in ROWS]
