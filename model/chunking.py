"""Long documents become token windows; no text is ever dropped.

Paragraphs are packed greedily into windows of at most `max_length` tokens
(special tokens included), so a window is a run of whole paragraphs whenever one
fits. A paragraph longer than a window is cut into consecutive windows of whole
sentences, so that windows (and the evidence sentences taken from them) start and
end at sentence boundaries; only a sentence longer than a window is cut at token
boundaries (and the window after it then starts mid-sentence). Every token of the
text lands in exactly one window. Each window also records where its sentences lie
among its tokens, so evidence can be read from the window's own encoding.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate

import torch

from model.text import sentence_starts, split_paragraphs


@dataclass
class Chunk:
    input_ids: list[int]  # with the tokenizer's special tokens
    text: str  # the text this window covers, for evidence
    # (first token, end token, sentence): each sentence's token positions in input_ids, and
    # its text as split_sentences cuts it; of a sentence the window holds only part of, that part
    sentences: list[tuple[int, int, str]] = field(default_factory=list)


def special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """The special tokens a tokenizer puts before and after a text (e.g. CLS, SEP)."""
    probe = "hello"
    full = tokenizer(probe)["input_ids"]
    bare = tokenizer(probe, add_special_tokens=False)["input_ids"]
    for i in range(len(full) - len(bare) + 1):
        if full[i: i + len(bare)] == bare:
            return full[:i], full[i + len(bare):]
    raise ValueError("cannot locate the special tokens of this tokenizer")


def chunk_text(text: str, tokenizer, max_length: int = 256) -> list[Chunk]:
    """Split one document into windows; an empty text gives no chunks."""
    paragraphs = split_paragraphs(text)
    if not paragraphs:
        return []
    head, tail = special_tokens(tokenizer)
    room = max_length - len(head) - len(tail)
    if room < 8:
        raise ValueError(f"max_length {max_length} leaves no room for text")
    enc = tokenizer(paragraphs, add_special_tokens=False, return_offsets_mapping=True)
    chunks: list[Chunk] = []
    ids: list[int] = []
    texts: list[str] = []

    sentences: list[tuple[int, int, str]] = []

    def flush():
        if ids:
            chunks.append(Chunk(head + ids + tail, "\n\n".join(texts), list(sentences)))
        ids.clear()
        texts.clear()
        sentences.clear()

    for para, p_ids, offsets in zip(paragraphs, enc["input_ids"], enc["offset_mapping"]):
        spans = sentence_spans(para, offsets)
        if len(p_ids) > room:  # a paragraph too long for one window: cut it
            flush()
            # a window's text runs from the end of the previous window's last token to the end of
            # its own: the windows' texts partition the paragraph
            ends = token_ends(offsets)
            for start, end in sentence_windows(para, offsets, room):
                text = _text_of(para, ends, start, end)
                inside = [(max(a, start) - start + len(head), min(b, end) - start + len(head),
                           s if start <= a and b <= end else _text_of(para, ends, max(a, start), min(b, end)))
                          for a, b, s in spans if a < end and b > start]
                chunks.append(Chunk(head + p_ids[start:end] + tail, text, inside))
            continue
        if len(ids) + len(p_ids) > room:
            flush()
        at = len(head) + len(ids)
        sentences.extend((a + at, b + at, s) for a, b, s in spans)
        ids.extend(p_ids)
        texts.append(para)
    flush()
    return chunks


def _text_of(para: str, ends: list[int], first: int, end: int) -> str:
    """The text of tokens [first, end) of a paragraph, as a window's text is cut: a sentence
    longer than its window is evidence only as far as the window reads it."""
    return para[ends[first - 1] if first else 0: ends[end - 1]].strip()


def sentence_spans(para: str, offsets: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """The paragraph's sentences (as split_sentences cuts them) with their token spans
    [start, end); a sentence that got no token of its own is left out."""
    starts = [0, *sentence_starts(para), len(para)]
    cuts = _token_starts(para, offsets)
    return [(a, b, text) for a, b, (c0, c1) in zip(cuts, cuts[1:], zip(starts, starts[1:]))
            if b > a and (text := para[c0:c1].strip())]


def _token_starts(para: str, offsets: list[tuple[int, int]]) -> list[int]:
    """The token at which each sentence begins, then the number of tokens: a sentence starting
    at character c begins with the first token that ends past c (right for tokenizers whose
    tokens carry the space before them, as SentencePiece's do, as for WordPiece)."""
    ends = token_ends(offsets)
    return [0, *(min(bisect_right(ends, c), len(offsets)) for c in sentence_starts(para)), len(offsets)]


def token_ends(offsets: list[tuple[int, int]]) -> list[int]:
    """Each token's end character, as a running maximum: sorted, and never back at 0 where
    a tokenizer gives a token (0, 0) offsets."""
    return list(accumulate((o[1] for o in offsets), max))


def sentence_windows(para: str, offsets: list[tuple[int, int]], room: int) -> list[tuple[int, int]]:
    """Token spans [start, end) covering a paragraph in windows of at most `room` tokens:
    whole sentences packed greedily; a sentence longer than `room` cut at token boundaries."""
    n = len(offsets)
    cuts = sorted(set(_token_starts(para, offsets)) - {0, n})
    spans, start, end = [], 0, 0
    for s_end in cuts + [n]:  # each sentence ends where the next begins
        if s_end - start > room and end > start:  # this sentence does not fit: close the window before it
            spans.append((start, end))
            start = end
        while s_end - start > room:  # a sentence longer than a window
            spans.append((start, start + room))
            start += room
        end = s_end
    if end > start:
        spans.append((start, end))
    return spans


def _probe_text() -> str:
    """A fixed text that walks every path of chunk_text: short paragraphs packed into one
    window, a paragraph of many sentences longer than a window, a sentence longer than a
    window, abbreviations, quotes, a line break inside a paragraph, non-ASCII letters."""
    short = ["A short opening paragraph.", "Mr. Hale and Dr. Ruiz met at 9 a.m. in the U.S. capital, then left.",
             '"Talk first," one of them said.\nThe other nodded.', "Zürich, São Paulo and Kraków sent notes."]
    long_paragraph = " ".join(f"Sentence {i} of the long paragraph weighs ports, patrols, tariffs and borders."
                              for i in range(40))
    long_sentence = ", ".join(f"clause {i} without a stop" for i in range(120)) + "."
    return "\n\n".join([*short, long_paragraph, long_sentence, "A closing line."])


def windowing_fingerprint(tokenizer, max_length: int, chunker=None) -> str:
    """sha256 of the token windows this code (or `chunker`, a chunk_text of other code) cuts a fixed
    probe text into. Recorded when a model is trained, it tells whether the code that reads a model
    cuts texts as the code that trained it did; the data fingerprint covers the labelled texts,
    not their windows. Token ids only: the sentence spans steer evidence, not scores. A change
    the probe does not reach goes unseen."""
    h = hashlib.sha256()
    for c in (chunker or chunk_text)(_probe_text(), tokenizer, max_length):
        h.update(json.dumps(c.input_ids).encode("utf-8"))
    return h.hexdigest()


def n_text_tokens(chunks: list[Chunk], tokenizer) -> int:
    head, tail = special_tokens(tokenizer)
    return sum(len(c.input_ids) - len(head) - len(tail) for c in chunks)


# Batch widths are rounded up to a multiple of this. oneDNN (torch's CPU matmul and
# attention kernels) builds and caches a kernel per input shape; with exact widths every
# length-sorted batch is a new shape: on an AMX CPU a process scoring 300 articles peaked
# at 1,407 MB with exact widths against 824 MB rounded. Rounded widths keep the shapes few:
# less memory and fewer kernel builds, at a little padding (eval/results/perf.md).
PAD_MULTIPLE = 16


def pad_batch(sequences: list[list[int]], pad_id: int = 0, multiple: int = PAD_MULTIPLE,
              max_width: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded input ids and attention mask for token sequences of unequal length;
    the width is the longest sequence rounded up to `multiple` (padding is masked), but
    never past max_width (the model's window, when it is not itself a multiple)."""
    if multiple < 1:
        raise ValueError(f"multiple must be at least 1, not {multiple}")
    longest = max(len(s) for s in sequences)
    width = -(-longest // multiple) * multiple
    if max_width is not None:
        width = max(longest, min(width, max_width))
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
    return ids, mask
