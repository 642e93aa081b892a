"""Offline resolution of English homographs (words whose pronunciation depends on their use).

The reference frontend picks between two pronunciations with a part-of-speech tagger that needs a
downloaded model. Here the choice is made by documented rules on the previous word:

* after "to", a modal, an auxiliary "do", a subject pronoun or "please"/"not"/"never" the word is
  a verb (``verb`` reading);
* after "have/has/had/was/were/been/be/is/are" the past/participle reading applies where the word
  has one ("read" → R EH1 D), else the verb reading;
* otherwise (sentence start, after a determiner, adjective, preposition, ...) the noun/adjective
  reading is used.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Homograph:
    """Two readings of one spelling; ``past`` is used after perfect/passive auxiliaries."""

    verb: tuple[str, ...]
    other: tuple[str, ...]
    past: tuple[str, ...] | None = None


def _p(phones: str) -> tuple[str, ...]:
    return tuple(phones.split())


HOMOGRAPHS: dict[str, Homograph] = {
    "read": Homograph(verb=_p("R IY1 D"), other=_p("R IY1 D"), past=_p("R EH1 D")),
    "live": Homograph(verb=_p("L IH1 V"), other=_p("L AY1 V")),
    "lead": Homograph(verb=_p("L IY1 D"), other=_p("L IY1 D")),
    "record": Homograph(verb=_p("R IH0 K AO1 R D"), other=_p("R EH1 K ER0 D")),
    "present": Homograph(verb=_p("P R IY0 Z EH1 N T"), other=_p("P R EH1 Z AH0 N T")),
    "object": Homograph(verb=_p("AH0 B JH EH1 K T"), other=_p("AA1 B JH EH0 K T")),
    "project": Homograph(verb=_p("P R AH0 JH EH1 K T"), other=_p("P R AA1 JH EH0 K T")),
    "permit": Homograph(verb=_p("P ER0 M IH1 T"), other=_p("P ER1 M IH2 T")),
    "produce": Homograph(verb=_p("P R AH0 D UW1 S"), other=_p("P R OW1 D UW0 S")),
    "refuse": Homograph(verb=_p("R IH0 F Y UW1 Z"), other=_p("R EH1 F Y UW2 Z")),
    "subject": Homograph(verb=_p("S AH0 B JH EH1 K T"), other=_p("S AH1 B JH IH0 K T")),
    "increase": Homograph(verb=_p("IH2 N K R IY1 S"), other=_p("IH1 N K R IY2 S")),
    "conduct": Homograph(verb=_p("K AA0 N D AH1 K T"), other=_p("K AA1 N D AH0 K T")),
    "contract": Homograph(verb=_p("K AH0 N T R AE1 K T"), other=_p("K AA1 N T R AE2 K T")),
    "desert": Homograph(verb=_p("D IH0 Z ER1 T"), other=_p("D EH1 Z ER0 T")),
    "close": Homograph(verb=_p("K L OW1 Z"), other=_p("K L OW1 S")),
    "use": Homograph(verb=_p("Y UW1 Z"), other=_p("Y UW1 S")),
    "excuse": Homograph(verb=_p("IH0 K S K Y UW1 Z"), other=_p("IH0 K S K Y UW1 S")),
    "complex": Homograph(verb=_p("K AH0 M P L EH1 K S"), other=_p("K AA1 M P L EH0 K S")),
    "tear": Homograph(verb=_p("T EH1 R"), other=_p("T IH1 R")),
    "wind": Homograph(verb=_p("W AY1 N D"), other=_p("W IH1 N D")),
}

_VERB_CUES = frozenset(
    (
        "to",
        "will",
        "would",
        "shall",
        "should",
        "can",
        "could",
        "may",
        "might",
        "must",
        "do",
        "does",
        "did",
        "don't",
        "doesn't",
        "didn't",
        "i",
        "we",
        "you",
        "they",
        "he",
        "she",
        "please",
        "not",
        "never",
    )
)
_PAST_CUES = frozenset(["have", "has", "had", "having", "was", "were", "been", "be", "is", "are"])


def resolve(word: str, previous: str | None) -> list[str] | None:
    """The reading of ``word`` (lower case) after ``previous`` (lower case), or None if not a homograph."""
    entry = HOMOGRAPHS.get(word)
    if entry is None:
        return None
    if previous in _PAST_CUES:
        return list(entry.past or entry.verb)
    if previous in _VERB_CUES:
        return list(entry.verb)
    return list(entry.other)
