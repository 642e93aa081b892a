"""Chinese verbalisation of digit strings (cardinals, digit-by-digit readings, decimals)."""

from __future__ import annotations

DIGIT_CHARS = "零一二三四五六七八九"
# Powers of ten that have their own character; 万 and 亿 restart the grouping below them.
_MAX_CARDINAL_DIGITS = 64
_UNIT_POWERS: tuple[tuple[int, str], ...] = ((8, "亿"), (4, "万"), (3, "千"), (2, "百"), (1, "十"))


def read_digits(digits: str, yao: bool = False) -> str:
    """Read a digit string one digit at a time ("110" → 一一零); ``yao`` reads 1 as 幺 (phone style)."""
    text = "".join(DIGIT_CHARS[int(d)] for d in digits)
    return text.replace("一", "幺") if yao else text


def _cardinal_parts(digits: str) -> list[str]:
    """Characters of a cardinal reading; a gap of zeros before a lone last digit reads 零."""
    significant = digits.lstrip("0")
    if not significant:
        return []
    if len(significant) == 1:
        # "05" inside a larger number is read 零五; a bare "5" is just 五.
        prefix = [DIGIT_CHARS[0]] if len(significant) < len(digits) else []
        return [*prefix, DIGIT_CHARS[int(significant)]]
    power, unit = next((p, u) for p, u in _UNIT_POWERS if p < len(significant))
    return [*_cardinal_parts(digits[:-power]), unit, *_cardinal_parts(digits[-power:])]


def read_cardinal(digits: str) -> str:
    """Read an unsigned integer string as a Chinese cardinal (1234 → 一千二百三十四)."""
    if not digits:
        return ""
    digits = digits.lstrip("0")
    if not digits:
        return DIGIT_CHARS[0]
    if len(digits) > _MAX_CARDINAL_DIGITS:
        return read_digits(digits)  # no spoken form that long; also bounds the recursion
    parts = _cardinal_parts(digits)
    # 一十X is said 十X at the start of a number.
    if len(parts) >= 2 and parts[0] == "一" and parts[1] == "十":
        parts = parts[1:]
    return "".join(parts)


def read_number(value: str) -> str:
    """Read an unsigned decimal string ("23.5" → 二十三点五, ".5" → 零点五)."""
    integer, _, decimal = value.partition(".")
    if "." in decimal:
        raise ValueError(f"more than one decimal point in {value!r}")
    text = read_cardinal(integer)
    # Trailing zeros collapse to one zero ("3.200" → 三点二零), as the official normaliser reads them.
    decimal = decimal.rstrip("0") + "0" if decimal.endswith("0") else decimal
    if decimal:
        text = (text or DIGIT_CHARS[0]) + "点" + read_digits(decimal)
    return text
