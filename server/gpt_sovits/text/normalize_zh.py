"""Chinese text normalisation: numbers, dates, times, units, phone numbers and punctuation.

The rules reproduce the official v2 frontend (a PaddleSpeech-derived normaliser) so that the text
the models see is the text they were trained on. Output contains only CJK U+4E00–U+9FA5 and the
punctuation phones ``! ? … , . -``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

from gpt_sovits.text.symbols import PUNCTUATION
from gpt_sovits.text.zh_numbers import read_cardinal, read_digits, read_number

_SENTENCE_END = re.compile(r"([：、，；。？！,;?!][”’]?)")
# Dropped before splitting (the class holds "—" once; "——" is just the same char twice) and after
# verbalising. "…" and "~" survive both (the reference revision's normaliser; its Cantonese golden
# shows "……" kept and "～" read as a mark), so the punctuation map decides what they become.
_SPLIT_DROP = re.compile(r"[—《》【】<>{}()（）#&@“”^_|\\]")
_POST_DROP = re.compile(r"[-—《》【】<=>{}()（）#&@“”^_|\\]")

# Full-width ASCII letters and digits, and the ideographic space, become half-width.
_FULL_TO_HALF = {
    **{code: code - 0xFEE0 for code in range(ord("Ａ"), ord("Ｚ") + 1)},
    **{code: code - 0xFEE0 for code in range(ord("ａ"), ord("ｚ") + 1)},
    **{code: code - 0xFEE0 for code in range(ord("０"), ord("９") + 1)},
    0x3000: 0x20,
}

# --- dates and times ------------------------------------------------------------------------
_DATE = re.compile(r"(\d{4}|\d{2})年((0?[1-9]|1[0-2])月)?(((0?[1-9])|((1|2)[0-9])|30|31)([日号]))?")
_DATE_NUMERIC = re.compile(r"(\d{4})([- /.])(0[1-9]|1[012])\2(0[1-9]|[12][0-9]|3[01])")
_CLOCK = r"([0-1]?[0-9]|2[0-3]):([0-5][0-9])(:([0-5][0-9]))?"
_TIME = re.compile(_CLOCK)
_TIME_RANGE = re.compile(_CLOCK + r"(~|-)" + _CLOCK)


def _date(m: re.Match[str]) -> str:
    text = f"{read_digits(m.group(1))}年"
    if m.group(3):
        text += f"{read_cardinal(m.group(3))}月"
    if m.group(5):
        text += f"{read_cardinal(m.group(5))}{m.group(9)}"
    return text


def _date_numeric(m: re.Match[str]) -> str:
    return f"{read_digits(m.group(1))}年{read_cardinal(m.group(3))}月{read_cardinal(m.group(4))}日"


def _clock_part(num: str) -> str:
    """Minutes/seconds: a leading zero is read (08 → 零八)."""
    text = read_number(num.lstrip("0"))
    return "零" + text if num.startswith("0") else text


def _clock(hour: str, minute: str, second: str | None, half_rule_minute: str) -> str:
    text = f"{read_number(hour)}点"
    if minute.lstrip("0"):
        # The official rule tests the FIRST clock's minute for 半 even for the end of a range.
        text += "半" if int(half_rule_minute) == 30 else f"{_clock_part(minute)}分"
    if second and second.lstrip("0"):
        text += f"{_clock_part(second)}秒"
    return text


def _time(m: re.Match[str]) -> str:
    text = _clock(m.group(1), m.group(2), m.group(4), m.group(2))
    if m.re is _TIME_RANGE:
        text += "至" + _clock(m.group(6), m.group(7), m.group(9), m.group(2))
    return text


# --- quantities -----------------------------------------------------------------------------
# "(?<!\d)" before a digit run changes no match (a match inside a run implies one at its start,
# which is further left) but keeps long digit strings from costing quadratic time.
_TEMPERATURE = re.compile(r"(-?)(?<!\d)(\d+(\.\d+)?)(°C|℃|度|摄氏度)")
_MEASURES: tuple[tuple[str, str], ...] = (
    ("cm2", "平方厘米"),
    ("cm²", "平方厘米"),
    ("cm3", "立方厘米"),
    ("cm³", "立方厘米"),
    ("cm", "厘米"),
    ("db", "分贝"),
    ("ds", "毫秒"),
    ("kg", "千克"),
    ("km", "千米"),
    ("m2", "平方米"),
    ("m²", "平方米"),
    ("m³", "立方米"),
    ("m3", "立方米"),
    ("ml", "毫升"),
    ("m", "米"),
    ("mm", "毫米"),
    ("s", "秒"),
)
_FRACTION = re.compile(r"(-?)(?<!\d)(\d+)/(\d+)")
_PERCENT = re.compile(r"(-?)(?<!\d)(\d+(\.\d+)?)%")
_MOBILE = re.compile(r"(?<!\d)((\+?86 ?)?1([38]\d|5[0-35-9]|7[678]|9[89])\d{8})(?!\d)")
_TELEPHONE = re.compile(r"(?<!\d)((0(10|2[1-3]|[3-9]\d{2})-?)?[1-9]\d{6,7})(?!\d)")
_SERVICE_NUMBER = re.compile(r"(400)(-)?\d{3}(-)?\d{4}")
_RANGE = re.compile(r"(?<![\d+\-×÷=])((-?)((\d+)(\.\d+)?))[-~]((-?)((\d+)(\.\d+)?))(?![\d+\-×÷=])")
_NEGATIVE = re.compile(r"(-)(\d+)")
_DECIMAL = re.compile(r"(-?)(?<!\d)((\d+)(\.\d+))|(\.(\d+))")
_NUMBER = re.compile(r"(-?)(?<!\d)((\d+)(\.\d+)?)|(\.(\d+))")
_LONG_DIGITS = re.compile(r"\d{3}\d*")
# Measure words after which an integer is a count (so 2 reads 两). "克" only counts with a prefix.
_SINGLE_MEASURE_WORDS = (
    "处台架枚趟幅平方堵间床株批项例列篇栋注亩封艘把目套段人所朵匹张座回场尾条个首阙阵网炮顶丘棵只支袭辆"
    "挑担颗壳窠曲墙群腔砣客贯扎捆刀令打手罗坡山岭江溪钟队单双对出口头脚板跳枝件贴针线管名位身堂课本页家户"
    "层丝毫厘分钱两斤铢石钧锱忽寸尺丈里寻常铺程米撮勺合升斗盘碗碟叠桶笼盆盒杯斛锅簋篮罐瓶壶卮盏箩箱煲啖袋"
    "钵年月日季刻时周天秒旬纪岁世更夜春夏秋冬代伏辈丸泡粒幢堆根道面片块元亿万千百吨角毛"
)
_MULTI_MEASURE_WORDS = ("千克", "毫克", "微克", "公分", "微米", "小时", "美元", "十吨")
_COUNT = re.compile(
    r"(?<!\d)(\d+)([多余几+])?(" + "|".join(_MULTI_MEASURE_WORDS) + "|[" + _SINGLE_MEASURE_WORDS + "])"
)


def _temperature(m: re.Match[str]) -> str:
    # The reference output reads every unit (°C, ℃, 度, 摄氏度) as 度; see the package README.
    return ("零下" if m.group(1) else "") + read_number(m.group(2)) + "度"


def _measures(sentence: str) -> str:
    for notation, reading in _MEASURES:
        sentence = sentence.replace(notation, reading)
    return sentence


def _fraction(m: re.Match[str]) -> str:
    sign = "负" if m.group(1) else ""
    return f"{sign}{read_number(m.group(3))}分之{read_number(m.group(2))}"


def _percent(m: re.Match[str]) -> str:
    return ("负" if m.group(1) else "") + "百分之" + read_number(m.group(2))


def _mobile(m: re.Match[str]) -> str:
    return "，".join(read_digits(part, yao=True) for part in m.group(0).strip("+").split())


def _telephone(m: re.Match[str]) -> str:
    return "，".join(read_digits(part, yao=True) for part in m.group(0).split("-"))


def _signed_number(m: re.Match[str]) -> str:
    if m.group(5):
        return read_number(m.group(5))
    return ("负" if m.group(1) else "") + read_number(m.group(2))


def _range(m: re.Match[str]) -> str:
    return f"{_NUMBER.sub(_signed_number, m.group(1))}到{_NUMBER.sub(_signed_number, m.group(6))}"


def _negative(m: re.Match[str]) -> str:
    return "负" + read_number(m.group(2))


def _count(m: re.Match[str]) -> str:
    number = read_number(m.group(1))
    number = "两" if number == "二" else number
    approx = "多" if m.group(2) == "+" else (m.group(2) or "")
    return f"{number}{approx}{m.group(3)}"


def _long_digits(m: re.Match[str]) -> str:
    return read_digits(m.group(0), yao=True)


_GREEK: dict[str, str] = {
    "α": "阿尔法",
    "β": "贝塔",
    "γ": "伽玛",
    "Γ": "伽玛",
    "δ": "德尔塔",
    "Δ": "德尔塔",
    "ε": "艾普西龙",
    "ζ": "捷塔",
    "η": "依塔",
    "θ": "西塔",
    "Θ": "西塔",
    "ι": "艾欧塔",
    "κ": "喀帕",
    "λ": "拉姆达",
    "Λ": "拉姆达",
    "μ": "缪",
    "ν": "拗",
    "ξ": "克西",
    "Ξ": "克西",
    "ο": "欧米克伦",
    "π": "派",
    "Π": "派",
    "ρ": "肉",
    "ς": "西格玛",
    "Σ": "西格玛",
    "σ": "西格玛",
    "τ": "套",
    "υ": "宇普西龙",
    "φ": "服艾",
    "Φ": "服艾",
    "χ": "器",
    "ψ": "普赛",
    "Ψ": "普赛",
    "ω": "欧米伽",
    "Ω": "欧米伽",
}
_SYMBOL_WORDS: dict[str, str] = {
    "/": "每",
    **{chr(0x2460 + i): "一二三四五六七八九十"[i] for i in range(10)},
    **_GREEK,
}
_SYMBOL_WORDS_RE = re.compile("|".join(re.escape(k) for k in _SYMBOL_WORDS))

_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (_DATE, _date),
    (_DATE_NUMERIC, _date_numeric),
    (_TIME_RANGE, _time),
    (_TIME, _time),
    (_TEMPERATURE, _temperature),
)
_NUMBER_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (_FRACTION, _fraction),
    (_PERCENT, _percent),
    (_MOBILE, _mobile),
    (_TELEPHONE, _telephone),
    (_SERVICE_NUMBER, _telephone),
    (_RANGE, _range),
    (_NEGATIVE, _negative),
    (_DECIMAL, _signed_number),
    (_COUNT, _count),
    (_LONG_DIGITS, _long_digits),
    (_NUMBER, _signed_number),
)


def split_sentences(text: str) -> list[str]:
    """Split at sentence punctuation (kept on the left piece), after dropping spaces and brackets."""
    text = _SPLIT_DROP.sub("", text.replace(" ", ""))
    text = _SENTENCE_END.sub(r"\1\n", text).strip()
    return [piece.strip() for piece in re.split(r"\n+", text)]


def verbalize(sentence: str) -> str:
    """Simplify, then spell out the numbers, dates, times, units and symbols of one sentence."""
    from gpt_sovits.text.simplify_zh import to_simplified

    sentence = to_simplified(sentence).translate(_FULL_TO_HALF)
    for pattern, reading in _RULES:
        sentence = pattern.sub(reading, sentence)
    sentence = _measures(sentence)
    for pattern, reading in _NUMBER_RULES:
        sentence = pattern.sub(reading, sentence)
    sentence = _SYMBOL_WORDS_RE.sub(lambda m: _SYMBOL_WORDS[m.group(0)], sentence)
    return _POST_DROP.sub("", sentence)


# --- punctuation --------------------------------------------------------------------------
_PUNCT_MAP: dict[str, str] = {
    "：": ",",
    "；": ",",
    "，": ",",
    "。": ".",
    "！": "!",
    "？": "?",
    "\n": ".",
    "·": ",",
    "、": ",",
    "...": "…",
    "$": ".",
    "/": ",",
    "—": "-",
    "~": "…",
    "～": "…",
}
_PUNCT_MAP_RE = re.compile("|".join(re.escape(k) for k in _PUNCT_MAP))
_PUNCT_CLASS = "".join(re.escape(p) for p in PUNCTUATION)
_NOT_KEPT = re.compile(r"[^\u4e00-\u9fa5" + _PUNCT_CLASS + r"]+")
_REPEATED_PUNCT = re.compile(f"([{_PUNCT_CLASS}])([{_PUNCT_CLASS}])+")


@lru_cache(maxsize=8192)
def has_reading(char: str) -> bool:
    """Whether pypinyin knows a syllable for this ideograph (a few rare ones have none)."""
    return bool(lazy_pinyin(char, style=Style.FINALS_TONE3, neutral_tone_with_five=True)[0].strip(char))


def map_punctuation(text: str, keep_latin: bool = False) -> str:
    """Map punctuation to the phone set and drop every other non-CJK character."""
    text = text.replace("嗯", "恩").replace("呣", "母")
    text = _PUNCT_MAP_RE.sub(lambda m: _PUNCT_MAP[m.group(0)], text)
    if keep_latin:
        return re.sub(r"[^\u4e00-\u9fa5A-Za-z" + _PUNCT_CLASS + r"]+", "", text)
    text = _NOT_KEPT.sub("", text)
    # An ideograph without any reading could not be turned into phones: drop it like a symbol.
    return "".join(ch for ch in text if ch in PUNCTUATION or has_reading(ch))


def collapse_punctuation(text: str) -> str:
    """Keep only the first of a run of punctuation marks ("?!" → "?")."""
    return _REPEATED_PUNCT.sub(r"\1", text)


def normalize_zh(text: str) -> str:
    """Normalise Chinese text to the characters and punctuation the zh g2p accepts."""
    sentences = [verbalize(s) for s in split_sentences(text)]
    return collapse_punctuation("".join(map_punctuation(s) for s in sentences))
