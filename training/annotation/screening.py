"""Cheap screening for rare codes before coding (docs/data.md, "Sampling").

Dovish articles are a few percent of news, so a uniform sample would hold too
few of them to learn or to evaluate. Articles are ranked by cue rates (per 1,000
words) and an opinion signal; the top of each ranking is oversampled and the
rest of the sample is stratified at random. Cues only choose what gets coded:
every label comes from a coder reading the text against the codebook.
"""

from __future__ import annotations

import re

OPINION_OUTLETS = {
    "National Review", "Townhall", "Guest Writer - Right", "Guest Writer - Left",
    "Guest Writer", "Victor Hanson", "American Spectator", "Reason", "Salon",
    "The Flip Side", "Vox", "The Daily Wire", "Daily Kos", "HotAir", "Slate",
    "The Atlantic", "The Intercept", "Rich Lowry", "Mother Jones", "The Nation",
    "Jacobin", "Charles Krauthammer", "Pat Buchanan", "Ben Stein", "George Will",
    "Newt Gingrich", "Rand Paul", "Damon Linker", "Nicholas Kristof", "Ann Coulter",
    "Jonah Goldberg", "Michelle Malkin", "Bret Stephens", "Commentary Magazine",
    "Cato Institute", "The Heritage Foundation", "Current Affairs", "ThinkProgress",
    "Ted Rall (cartoonist)", "Foreign Affairs", "Foreign Policy", "Democracy Now",
    "The New Yorker", "New York Magazine", "Daily Beast", "TheBlaze.com",
}
OPINION_URL = re.compile(r"opinion|commentary|op-ed|editorial|column|blog|analysis|perspective")

DOVISH_CUES = [
    r"diplomac\w*", r"diplomatic (?:solution|path|route|track)", r"negotiat\w*",
    r"de-?escalat\w*", r"restraint", r"cease-?fire", r"peace (?:talks|process|deal|agreement)",
    r"withdraw\w*", r"drawdown", r"bring (?:the |our )?troops home", r"end (?:the|this) war",
    r"endless wars?", r"forever wars?", r"anti-?war", r"arms control", r"disarm\w*",
    r"(?:lift|ease|easing|lifting) (?:the )?sanctions", r"nuclear deal", r"engagement",
    r"counterproductive", r"quagmire", r"war powers", r"no military solution",
    r"dialogue", r"interventionis\w*", r"non-?intervention", r"peaceful\w*",
]
HAWKISH_CUES = [
    r"air ?strikes?", r"strike\w*", r"retaliat\w*", r"military (?:action|force|option)",
    r"deter\w*", r"maximum pressure", r"(?:tough|tougher|crippling) sanctions",
    r"appeas\w*", r"weakness", r"regime change", r"arm (?:the|ukraine|rebels)",
    r"escalat\w*", r"blockade", r"punish\w*", r"must respond", r"show of (?:force|strength)",
    r"troops", r"bomb\w*", r"hit (?:back|hard)", r"peace through strength",
]
SOVEREIGNTY_CUES = [
    r"sovereign(?!\s+(?:debt|wealth|bond|immunity|credit|default))\w*", r"territorial integrity",
    r"annex\w*", r"occup(?:ation|ied|y)", r"self-?determination", r"independence",
    r"non-?interference", r"interfer\w*", r"meddl\w*", r"brexit", r"take back control",
    r"brussels", r"european union", r"supranational", r"incursion\w*", r"invasion",
    r"violat\w* (?:of )?\w* ?(?:airspace|territory|border)", r"borders?",
]


def _compile(cues: list[str]) -> re.Pattern:
    return re.compile(r"\b(?:" + "|".join(cues) + r")\b", re.IGNORECASE)


PATTERNS = {
    "dovish": _compile(DOVISH_CUES),
    "hawkish": _compile(HAWKISH_CUES),
    "sovereignty": _compile(SOVEREIGNTY_CUES),
}


def cue_rates(text: str) -> dict[str, float]:
    """Cue hits per 1,000 words for each screened code."""
    words = max(len(text.split()), 1)
    return {name: 1000 * len(p.findall(text)) / words for name, p in PATTERNS.items()}


def is_opinion(outlet: str | None, url: str | None) -> bool:
    return (outlet or "") in OPINION_OUTLETS or bool(OPINION_URL.search((url or "").lower()))
