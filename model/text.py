"""Text units shared by labels, training and scoring: paragraphs and hashes.

A paragraph is a block of the text separated by blank lines (the codebook's unit
below the article). Indices count non-empty blocks only, so labels keyed by
(article id, paragraph index) stay valid whatever the whitespace between blocks.
"""

from __future__ import annotations

import hashlib
import re

# A line ends at \n, \r\n or a lone \r (old Mac files, some CMS exports); with \n alone this is
# the rule labels were made under, and no labelled text holds a lone \r.
_LINE_END = r"(?:\r\n|\r(?!\n)|\n)"
_BLANK_LINE = re.compile(_LINE_END + r"[ \t\f\v]*" + _LINE_END)


def split_paragraphs(text: str) -> list[str]:
    """Split on blank lines, strip each block, drop empty blocks."""
    return [p.strip() for p in _BLANK_LINE.split(text) if p.strip()]


def text_sha256(text: str) -> str:
    """Hash stored with every label so a label can be checked against its text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")


def sentence_starts(text: str) -> list[int]:
    """Character offsets at which split_sentences starts a new sentence (the first excluded)."""
    return [m.end() for m in _SENTENCE_END.finditer(text)]


def split_sentences(text: str) -> list[str]:
    """A light sentence splitter for evidence: good enough to show a reader the
    passage behind a score, with no model download. A sentence keeps its closing
    quote or bracket."""
    out = []
    for block in split_paragraphs(text) or [text]:
        cuts = [0, *sentence_starts(block), len(block)]
        out.extend(s for a, b in zip(cuts, cuts[1:]) if (s := block[a:b].strip()))
    return out
