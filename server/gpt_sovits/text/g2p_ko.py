"""Korean grapheme-to-phoneme: g2pk2 pronunciation rules on mecab-ko morphology, as jamo phones.

Latin letters are spelt in Hangul first (a → 에이 ...), so g2pk2's English dictionary is never
consulted; g2pk2 applies the pronunciation rules (and spells out numbers); the result is decomposed
into compatibility jamo with diphthongs split (ㅘ → ㅗㅏ), and a final jamo gets a ".". One phone is
one character: a space becomes ``空`` and anything outside the v2 table ``停``.

g2pk2 would download NLTK's CMU dictionary when its module is imported and construct a MeCab of its
own choosing; here the import runs with NLTK's downloader switched off, and the G2p object is built
with the bundled mecab-ko dictionary (python-mecab-ko-dic) and an empty English dictionary.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from gpt_sovits.text.symbols import symbol_to_id

_LETTER_NAMES = [
    "에이",
    "비",
    "시",
    "디",
    "이",
    "에프",
    "지",
    "에이치",
    "아이",
    "제이",
    "케이",
    "엘",
    "엠",
    "엔",
    "오",
    "피",
    "큐",
    "아르",
    "에스",
    "티",
    "유",
    "브이",
    "더블유",
    "엑스",
    "와이",
    "제트",
]
_LATIN_TO_HANGUL = {
    **{chr(ord("a") + i): name for i, name in enumerate(_LETTER_NAMES)},
    **{chr(ord("A") + i): name for i, name in enumerate(_LETTER_NAMES)},
}
_DIPHTHONGS = {
    "ㅘ": "ㅗㅏ",
    "ㅙ": "ㅗㅐ",
    "ㅚ": "ㅗㅣ",
    "ㅝ": "ㅜㅓ",
    "ㅞ": "ㅜㅔ",
    "ㅟ": "ㅜㅣ",
    "ㅢ": "ㅡㅣ",
    "ㅑ": "ㅣㅏ",
    "ㅒ": "ㅣㅐ",
    "ㅕ": "ㅣㅓ",
    "ㅖ": "ㅣㅔ",
    "ㅛ": "ㅣㅗ",
    "ㅠ": "ㅣㅜ",
}
_MARKS = {
    "：": ",",
    "；": ",",
    "，": ",",
    "。": ".",
    "！": "!",
    "？": "?",
    "\n": ".",
    "·": ",",
    "、": ",",
    " ": "空",
}
_FINAL_JAMO = re.compile(r"([\u3131-\u3163])$")
_OTHER = "停"

_lock = threading.Lock()
_g2p: list[Any] = []  # the one g2pk2 converter, built on first use


def _refuse_download(*_args: object, **_kwargs: object) -> bool:
    return False


def _build() -> Any:
    import nltk

    download = nltk.download
    nltk.download = _refuse_download  # g2pk2 calls it at import when cmudict is not installed
    try:
        import g2pk2.g2pk2 as g2pk2_module
    finally:
        nltk.download = download
    import mecab
    from g2pk2.utils import get_rule_id2text, parse_table

    class _OfflineG2p(g2pk2_module.G2p):
        """g2pk2's converter without its installer checks and English dictionary."""

        def __init__(self) -> None:
            self.use_konlpy = False
            self.mecab_path = None
            self.mecab = mecab.MeCab()  # the bundled python-mecab-ko-dic dictionary
            self.table = parse_table()
            self.cmu: dict[str, list[list[str]]] = {}  # Latin is spelt in Hangul before g2pk2 runs
            self.rule2text = get_rule_id2text()
            self.idioms_path = str(Path(g2pk2_module.__file__).with_name("idioms.txt"))

    return _OfflineG2p()


def _pronounce(text: str) -> str:
    with _lock:
        if not _g2p:
            _g2p.append(_build())
        return str(_g2p[0](text))


def _fix_rieul_nieun(text: str) -> str:
    """The official fix for g2pk2 after 을/를 before a ㄹ word: the ㄹ reads ㄴ."""
    out: list[str] = []
    i = 0
    while i < len(text) - 4:
        if text[i : i + 3] in ("ㅇㅡㄹ", "ㄹㅡㄹ") and text[i + 3] == " " and text[i + 4] == "ㄹ":
            out.append(text[i : i + 3] + " ㄴ")
            i += 5
        else:
            out.append(text[i])
            i += 1
    out.append(text[i:])
    return "".join(out)


def g2p_ko(text: str) -> list[str]:
    """Korean text → jamo phones (``空`` for spaces, ``停`` for symbols outside the v2 table)."""
    from jamo import h2j, j2hcj

    text = "".join(_LATIN_TO_HANGUL.get(char, char) for char in text)
    jamo = j2hcj(h2j(_pronounce(text)))
    jamo = "".join(_DIPHTHONGS.get(char, char) for char in jamo)
    jamo = _FINAL_JAMO.sub(r"\1.", _fix_rieul_nieun(jamo))
    table = symbol_to_id()
    phones: list[str] = []
    for char in jamo:
        phone = _MARKS.get(char, char)
        phones.append(phone if phone in table else _OTHER)
    return phones


def warm_up() -> None:
    """Load mecab-ko's dictionary now rather than on the first request."""
    _pronounce("가")
