"""Mandarin tone sandhi on pypinyin finals: 不, 一, neutral tones and third-tone sequences.

Finals are pypinyin ``FINALS_TONE3`` strings ending in a tone digit 1–5 (5 = neutral). The rules and
word lists follow the official v2 frontend so the tones match its training data.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from pypinyin import Style, lazy_pinyin

from gpt_sovits.text.segmenter import cut_for_search

Segment = list[str]  # [word, pos]; mutable so merges can extend the previous word in place

_PARTICLES = "吧呢哈啊呐噻嘛吖嗨呐哦哒额滴哩哟喽啰耶喔诶"
_SANDHI_PUNCT = "：，；。？！“”‘’':,;.?!"


@dataclass(frozen=True)
class ToneWords:
    """Word lists the rules consult."""

    neutral: frozenset[str]
    not_neutral: frozenset[str]
    must_erhua: frozenset[str]
    not_erhua: frozenset[str]


@lru_cache(maxsize=1)
def tone_words() -> ToneWords:
    """The word lists shipped in ``data/zh_tone_words.json``."""
    raw = json.loads(
        resources.files("gpt_sovits.text").joinpath("data/zh_tone_words.json").read_text("utf-8")
    )
    return ToneWords(
        neutral=frozenset(raw["neutral_tone_words"]),
        not_neutral=frozenset(raw["not_neutral_tone_words"]),
        must_erhua=frozenset(raw["must_erhua"]),
        not_erhua=frozenset(raw["not_erhua"]),
    )


def _retone(final: str, tone: str) -> str:
    return final[:-1] + tone


def _all_third(finals: list[str]) -> bool:
    return all(f[-1] == "3" for f in finals)


@lru_cache(maxsize=65536)
def _word_finals(word: str) -> tuple[str, ...]:
    return tuple(lazy_pinyin(word, neutral_tone_with_five=True, style=Style.FINALS_TONE3))


def split_word(word: str) -> list[str]:
    """Split a word in two around its shortest search-mode sub-word (used by the 3-char rules)."""
    shortest = sorted(cut_for_search(word), key=len)[0]
    if word.find(shortest) == 0:
        return [shortest, word[len(shortest) :]]
    return [word[: -len(shortest)], shortest]


# --- merges before the tone rules ------------------------------------------------------------
def _merge_bu(segments: list[Segment]) -> list[Segment]:
    """Glue 不 to the following word so its sandhi sees the next syllable."""
    merged: list[Segment] = []
    previous = ""
    for word, pos in segments:
        if previous == "不":
            word = previous + word
        if word != "不":
            merged.append([word, pos])
        previous = word
    if previous == "不":
        merged.append([previous, "d"])
    return merged


def _merge_yi(segments: list[Segment]) -> list[Segment]:
    """Glue 一 into reduplicated verbs (听一听) and to the word after it."""
    merged: list[Segment] = []
    for i, (word, pos) in enumerate(segments):
        around_reduplication = (
            0 < i < len(segments) - 1
            and word == "一"
            and segments[i - 1][0] == segments[i + 1][0]
            and segments[i - 1][1] == "v"
        )
        if around_reduplication:
            # Indexed by the input position, as the official rule does (it may fail; see caller).
            merged[i - 1][0] = merged[i - 1][0] + "一" + merged[i - 1][0]
        elif i >= 2 and segments[i - 1][0] == "一" and segments[i - 2][0] == word and pos == "v":
            continue
        else:
            merged.append([word, pos])
    glued: list[Segment] = []
    for word, pos in merged:
        if glued and glued[-1][0] == "一":
            glued[-1][0] = glued[-1][0] + word
        else:
            glued.append([word, pos])
    return glued


def _merge_reduplication(segments: list[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for word, pos in segments:
        if merged and word == merged[-1][0]:
            merged[-1][0] = merged[-1][0] + word
        else:
            merged.append([word, pos])
    return merged


def _is_reduplication(word: str) -> bool:
    return len(word) == 2 and word[0] == word[1]


def _merge_third_tones(segments: list[Segment], whole_words: bool) -> list[Segment]:
    """Merge neighbours that meet in third tones (whole words, or just at the boundary)."""
    finals = [list(_word_finals(word)) for word, _ in segments]
    merged: list[Segment] = []
    merged_last = [False] * len(segments)
    for i, (word, pos) in enumerate(segments):
        if whole_words:
            meets = i > 0 and _all_third(finals[i - 1]) and _all_third(finals[i])
        else:
            meets = i > 0 and finals[i - 1][-1][-1] == "3" and finals[i][0][-1] == "3"
        if (
            meets
            and not merged_last[i - 1]
            and not _is_reduplication(segments[i - 1][0])
            and len(segments[i - 1][0]) + len(word) <= 3
        ):
            merged[-1][0] = merged[-1][0] + word
            merged_last[i] = True
        else:
            merged.append([word, pos])
    return merged


def _merge_er(segments: list[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for i, (word, pos) in enumerate(segments):
        if i > 0 and word == "儿" and segments[i - 1][0] != "#":
            merged[-1][0] = merged[-1][0] + word
        else:
            merged.append([word, pos])
    return merged


def pre_merge(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Merge jieba words the way the tone rules expect (不/一 glue, reduplication, 3rd tones, 儿)."""
    segments: list[Segment] = [[w, p] for w, p in pairs]
    segments = _merge_bu(segments)
    # The official merge indexes by input position and gives up on some inputs; the segmentation
    # is then kept unchanged, exactly as it does.
    with contextlib.suppress(IndexError):
        segments = _merge_yi(segments)
    segments = _merge_reduplication(segments)
    for whole in (True, False):
        # Empty finals (a word with no reading) skip this merge, like the official one.
        with contextlib.suppress(IndexError):
            segments = _merge_third_tones(segments, whole_words=whole)
    segments = _merge_er(segments)
    return [(w, p) for w, p in segments]


# --- the tone rules --------------------------------------------------------------------------
def _bu_sandhi(word: str, finals: list[str]) -> list[str]:
    if len(word) == 3 and word[1] == "不":  # 看不懂: neutral 不
        finals[1] = _retone(finals[1], "5")
        return finals
    for i, char in enumerate(word):
        if char == "不" and i + 1 < len(word) and finals[i + 1][-1] == "4":  # 不怕 → bu2
            finals[i] = _retone(finals[i], "2")
    return finals


def _yi_sandhi(word: str, finals: list[str]) -> list[str]:
    if "一" in word and all(ch.isnumeric() for ch in word if ch != "一"):
        return finals  # inside a number (一零零): keep yi1
    if len(word) == 3 and word[1] == "一" and word[0] == word[-1]:
        finals[1] = _retone(finals[1], "5")  # 看一看
    elif word.startswith("第一"):
        finals[1] = _retone(finals[1], "1")  # ordinal
    else:
        for i, char in enumerate(word):
            if char != "一" or i + 1 >= len(word):
                continue
            if finals[i + 1][-1] == "4":
                finals[i] = _retone(finals[i], "2")  # 一段
            elif word[i + 1] not in _SANDHI_PUNCT:
                finals[i] = _retone(finals[i], "4")  # 一天
    return finals


def _neutral_sandhi(word: str, pos: str, finals: list[str]) -> list[str]:
    words = tone_words()
    for j in range(1, len(word)):
        if word[j] == word[j - 1] and pos[:1] in ("n", "v", "a") and word not in words.not_neutral:
            finals[j] = _retone(finals[j], "5")  # 奶奶, 试试
    ge = word.find("个")
    last = word[-1]
    particle = last in _PARTICLES or last in "的地得"
    aspect = len(word) == 1 and word in "了着过" and pos in {"ul", "uz", "ug"}  # 走了, 看着
    plural = len(word) > 1 and last in "们子" and pos in {"r", "n"} and word not in words.not_neutral
    if particle or aspect or plural:
        finals[-1] = _retone(finals[-1], "5")
    elif len(word) > 1 and last in "上下里" and pos in {"s", "l", "f"}:
        finals[-1] = _retone(finals[-1], "5")  # 桌上, 家里
    elif len(word) > 1 and last in "来去" and word[-2] in "上下进出回过起开":
        finals[-1] = _retone(finals[-1], "5")  # 上来, 下去
    elif (ge >= 1 and (word[ge - 1].isnumeric() or word[ge - 1] in "几有两半多各整每做是")) or word == "个":
        finals[ge] = _retone(finals[ge], "5")  # 个 as a measure word
    elif word in words.neutral or word[-2:] in words.neutral:
        finals[-1] = _retone(finals[-1], "5")

    parts = split_word(word)
    head = len(parts[0])
    groups = [finals[:head], finals[head:]]
    for part, group in zip(parts, groups, strict=True):
        if part in words.neutral or part[-2:] in words.neutral:
            group[-1] = _retone(group[-1], "5")
    return groups[0] + groups[1]


def _three_sandhi(word: str, finals: list[str]) -> list[str]:
    if len(word) == 2 and _all_third(finals):
        finals[0] = _retone(finals[0], "2")
    elif len(word) == 3:
        parts = split_word(word)
        if _all_third(finals):
            if len(parts[0]) == 2:  # 蒙古/包
                finals[0] = _retone(finals[0], "2")
                finals[1] = _retone(finals[1], "2")
            elif len(parts[0]) == 1:  # 纸/老虎
                finals[1] = _retone(finals[1], "2")
        else:
            groups = [finals[: len(parts[0])], finals[len(parts[0]) :]]
            for i, group in enumerate(groups):
                if _all_third(group) and len(group) == 2:  # 所有/人
                    group[0] = _retone(group[0], "2")
                elif i == 1 and not _all_third(group) and group[0][-1] == "3" and groups[0][-1][-1] == "3":
                    groups[0][-1] = _retone(groups[0][-1], "2")  # 好/喜欢
            finals = groups[0] + groups[1]
    elif len(word) == 4:  # idioms: two 2-char halves
        halves = [finals[:2], finals[2:]]
        for half in halves:
            if _all_third(half):
                half[0] = _retone(half[0], "2")
        finals = halves[0] + halves[1]
    return finals


def apply_sandhi(word: str, pos: str, finals: list[str]) -> list[str]:
    """Apply 不, 一, neutral-tone and third-tone sandhi to one (merged) word's finals."""
    finals = _bu_sandhi(word, list(finals))
    finals = _yi_sandhi(word, finals)
    finals = _neutral_sandhi(word, pos, finals)
    return _three_sandhi(word, finals)


def merge_erhua(initials: list[str], finals: list[str], word: str, pos: str) -> tuple[list[str], list[str]]:
    """Give a word-final 儿 the tone of the syllable before it, except in the listed words."""
    words = tone_words()
    finals = list(finals)
    if word and word[-1] == "儿" and len(finals) == len(word) and finals[-1] == "er1":
        finals[-1] = "er2"
    if word not in words.must_erhua and (word in words.not_erhua or pos in {"a", "j", "nr"}):
        return initials, finals
    if len(finals) != len(word) or len(word) < 2:
        return initials, finals
    if word[-1] == "儿" and finals[-1] in {"er2", "er5"} and word[-2:] not in words.not_erhua:
        finals[-1] = "er" + finals[-2][-1]
    return initials, finals
