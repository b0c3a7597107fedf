import pytest

from model.chunking import chunk_text, pad_batch, special_tokens
from model.text import split_paragraphs, split_sentences, text_sha256


def test_paragraphs_split_on_blank_lines_and_skip_empty_blocks():
    text = "First block.\nsame block.\n\n  \n\nSecond block.\n \nThird."
    assert split_paragraphs(text) == ["First block.\nsame block.", "Second block.", "Third."]
    assert split_paragraphs("   ") == []


def test_hash_is_sha256_of_utf8():
    assert text_sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_sentences_keep_their_closing_quotes():
    assert split_sentences('He said "No." Then he left. (It rained.) Done.') == ['He said "No."', "Then he left.",
                                                                                 "(It rained.)", "Done."]


def test_sentences():
    assert split_sentences("We must act. They said no! Why? Because.") == ["We must act.", "They said no!", "Why?",
                                                                          "Because."]


def test_windows_cover_every_token_of_a_long_document(tiny_encoder):
    from model.loading import load_tokenizer

    tok = load_tokenizer(tiny_encoder)
    words = ("we must strike . talks and peace . " * 2500).split()  # 20,000 words
    text = "\n\n".join(" ".join(words[i: i + 150]) for i in range(0, len(words), 150))
    chunks = chunk_text(text, tok, max_length=64)
    head, tail = special_tokens(tok)
    body = [t for c in chunks for t in c.input_ids[len(head): len(c.input_ids) - len(tail)]]
    assert len(words) == 20_000
    assert body == tok(" ".join(words), add_special_tokens=False)["input_ids"]
    assert all(len(c.input_ids) <= 64 for c in chunks)


def test_a_long_paragraph_is_cut_between_sentences(tiny_encoder):
    from model.loading import load_tokenizer

    tok = load_tokenizer(tiny_encoder)
    sentences = [f"We must strike{' and bomb' * (k % 4)} them." for k in range(40)]  # one paragraph, 5-11 tokens each
    text = " ".join(sentences)
    chunks = chunk_text(text, tok, max_length=32)
    head, tail = special_tokens(tok)
    assert len(chunks) > 1 and all(len(c.input_ids) <= 32 for c in chunks)
    body = [t for c in chunks for t in c.input_ids[len(head): len(c.input_ids) - len(tail)]]
    assert body == tok(text, add_special_tokens=False)["input_ids"]  # every token, once, in order
    for c in chunks:  # each window is a run of whole sentences
        assert c.text.startswith("We must strike") and c.text.endswith("them.")
        assert " ".join(split_sentences(c.text)) == c.text
    room = 32 - len(head) - len(tail)
    for c, after in zip(chunks, chunks[1:]):  # packed greedily: the next sentence would not have fitted
        first = split_sentences(after.text)[0]
        assert len(c.input_ids) - len(head) - len(tail) + len(tok(first, add_special_tokens=False)["input_ids"]) > room


def test_a_sentence_longer_than_a_window_is_cut_at_tokens(tiny_encoder):
    from model.loading import load_tokenizer

    tok = load_tokenizer(tiny_encoder)
    text = "We must act. " + "We must strike" + " and bomb" * 30 + " them. We must act."
    chunks = chunk_text(text, tok, max_length=32)
    head, tail = special_tokens(tok)
    body = [t for c in chunks for t in c.input_ids[len(head): len(c.input_ids) - len(tail)]]
    assert body == tok(text, add_special_tokens=False)["input_ids"]
    assert chunks[0].text == "We must act."  # closed before the long sentence, not cut inside it
    assert chunks[1].text.startswith("We must strike and bomb")
    assert chunks[-1].text.endswith("them. We must act.")  # the final sentence joins the long one's tail
    assert all(len(c.input_ids) <= 32 for c in chunks)


def test_sentence_cuts_follow_token_ends_when_tokens_carry_their_space():
    from model.chunking import sentence_windows

    para = "We act. We talk."
    # SentencePiece-style offsets: "▁We" of the second sentence starts at the space before it
    offsets = [(0, 2), (2, 6), (6, 7), (7, 10), (10, 15), (15, 16)]
    assert sentence_windows(para, offsets, room=4) == [(0, 3), (3, 6)]


def test_short_paragraphs_are_packed_whole(tiny_encoder):
    from model.loading import load_tokenizer

    tok = load_tokenizer(tiny_encoder)
    chunks = chunk_text("we must strike .\n\ntalks and peace .\n\nthe team won .", tok, max_length=64)
    assert len(chunks) == 1
    assert chunks[0].text == "we must strike .\n\ntalks and peace .\n\nthe team won ."


def test_batch_width_is_rounded_up_and_padding_is_masked():
    ids, mask = pad_batch([[5, 6, 7], [8] * 17], pad_id=0, multiple=16)
    assert ids.shape == mask.shape == (2, 32)
    assert mask.sum(1).tolist() == [3, 17]
    assert ids[0, :3].tolist() == [5, 6, 7] and ids[0, 3:].eq(0).all()
    exact, _ = pad_batch([[5, 6, 7], [8] * 17], multiple=1)
    assert exact.shape == (2, 17)
    capped, _ = pad_batch([[8] * 250], multiple=16, max_width=250)  # a window that is not a multiple of 16
    assert capped.shape == (1, 250)
    with pytest.raises(ValueError, match="multiple"):
        pad_batch([[1]], multiple=0)


class _OffsetTokenizer:
    """Whitespace tokens; a token '<z>' gets (0, 0) offsets, as some tokenizers give
    tokens that map to no characters."""

    def __call__(self, texts, add_special_tokens=True, return_offsets_mapping=False):
        single = isinstance(texts, str)
        out = {"input_ids": [], "offset_mapping": []}
        for text in [texts] if single else texts:
            ids, offsets, pos = [], [], 0
            for word in text.split():
                pos = text.index(word, pos)
                ids.append(5 + len(word))
                offsets.append((0, 0) if word == "<z>" else (pos, pos + len(word)))
                pos += len(word)
            if add_special_tokens:
                ids, offsets = [1] + ids + [2], [(0, 0)] + offsets + [(0, 0)]
            out["input_ids"].append(ids)
            out["offset_mapping"].append(offsets)
        return {k: v[0] for k, v in out.items()} if single else out


def test_window_texts_partition_a_paragraph_even_with_tokens_without_offsets():
    # an eleven-token sentence cut at eight tokens: the second window starts with a token
    # that has (0, 0) offsets, and its text must not reach back to the paragraph's start
    para = "Alpha beta gamma delta epsilon zeta eta theta <z> iota kappa. Lambda mu."
    chunks = chunk_text(para, _OffsetTokenizer(), max_length=2 + 8)
    assert [len(c.input_ids) - 2 for c in chunks] == [8, 5]
    assert [c.text for c in chunks] == ["Alpha beta gamma delta epsilon zeta eta theta", "<z> iota kappa. Lambda mu."]
    assert " ".join(c.text for c in chunks) == para


def test_windows_record_their_sentences_token_spans(tiny_encoder):
    from model.loading import load_tokenizer

    tok = load_tokenizer(tiny_encoder)
    head, tail = special_tokens(tok)
    packed = "We must strike. They refused talks!\n\nPeace is near. The team won."
    long_para = " ".join(f"We must strike{' and bomb' * (k % 4)} them." for k in range(40))
    for text, max_length in ((packed, 64), (long_para, 32)):
        chunks = chunk_text(text, tok, max_length=max_length)
        for c in chunks:
            # the spans tile the window's text tokens, in order, and each holds its sentence's tokens
            assert [(a, b) for a, b, _ in c.sentences][0][0] == len(head)
            assert all(b == a2 for (_, b, _), (a2, _, _) in zip(c.sentences, c.sentences[1:]))
            assert c.sentences[-1][1] == len(c.input_ids) - len(tail)
            assert [s for *_, s in c.sentences] == split_sentences(c.text)
            for a, b, sentence in c.sentences:
                assert c.input_ids[a:b] == tok(sentence, add_special_tokens=False)["input_ids"]


def test_spans_tile_packed_paragraphs_then_one_longer_than_a_window(tiny_encoder):
    from model.loading import load_tokenizer

    tok = load_tokenizer(tiny_encoder)
    head, tail = special_tokens(tok)
    long_para = " ".join(f"Force{' and pressure' * (k % 3)} will deter them." for k in range(30))
    text = "We must strike. They refused talks!\n\nPeace is near. The team won.\n\n" + long_para
    chunks = chunk_text(text, tok, max_length=32)
    assert len(chunks) >= 3
    covered = []
    for c in chunks:
        spans = [(a, b) for a, b, _ in c.sentences]
        assert spans[0][0] == len(head) and spans[-1][1] == len(c.input_ids) - len(tail)
        assert all(b == a2 for (_, b), (a2, _) in zip(spans, spans[1:]))  # no gap, no overlap
        covered += [s for *_, s in c.sentences]
    assert covered[:4] == ["We must strike.", "They refused talks!", "Peace is near.", "The team won."]
    assert " ".join(covered[4:]) == long_para  # every sentence of the long paragraph, once, in order


def test_a_sentence_cut_across_windows_is_named_by_the_part_each_window_holds(tiny_encoder):
    from model.loading import load_tokenizer

    tok = load_tokenizer(tiny_encoder)
    long_sentence = "We must strike" + " and bomb" * 30 + " them."
    chunks = chunk_text("We must act. " + long_sentence + " We must act.", tok, max_length=32)
    head, tail = special_tokens(tok)
    assert len(chunks) >= 3
    assert [s for *_, s in chunks[0].sentences] == ["We must act."]
    for c in chunks[1:-1]:  # windows inside the long sentence: one span, all their tokens, their own text
        assert c.sentences == [(len(head), len(c.input_ids) - len(tail), c.text)]
        assert len(c.text) < len(long_sentence)
    last = [s for *_, s in chunks[-1].sentences]
    assert last[1:] == ["We must act."] and long_sentence.endswith(last[0]) and last[0] != long_sentence
    # the parts, window by window, give the sentence back: evidence never reaches past its window
    assert " ".join(c.sentences[-1][2] for c in chunks[:-1][1:]) + " " + last[0] == long_sentence


def test_windowing_probe_walks_every_path_and_its_fingerprint_sees_a_change_of_cuts(monkeypatch):
    import model.chunking as chunking
    from model.loading import load_tokenizer, resolve_model_dir

    tok = load_tokenizer(str(resolve_model_dir("default")))
    windows = chunking.chunk_text(chunking._probe_text(), tok, 256)
    assert any("\n\n" in w.text for w in windows)  # short paragraphs packed into one window
    cut_between_sentences = [w for w in windows if w.text.startswith("Sentence ")]
    assert len(cut_between_sentences) > 1 and all(w.text.endswith("borders.") for w in cut_between_sentences)
    assert any(len(w.input_ids) == 256 and not w.text.endswith(".") for w in windows)  # a sentence cut at tokens
    today = chunking.windowing_fingerprint(tok, 256)
    assert today == chunking.windowing_fingerprint(tok, 256)
    assert today != chunking.windowing_fingerprint(tok, 128)
    # long paragraphs cut at every `room` tokens, as before they were cut between sentences
    monkeypatch.setattr(chunking, "sentence_windows",
                        lambda para, offsets, room: [(i, min(i + room, len(offsets))) for i in range(0, len(offsets), room)])
    assert chunking.windowing_fingerprint(tok, 256) != today
