"""The frontend entry point: languages, errors, retries, pause marks, quiet jieba, no FastAPI."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gpt_sovits.errors import TextError, UnsupportedLanguageError
from gpt_sovits.text.frontend import (
    KNOWN_LANGUAGES,
    LANGUAGE_NAMES,
    SUPPORTED_LANGUAGES,
    clean_text,
    text_to_phones,
)
from gpt_sovits.text.symbols import phones_to_ids, symbols

_REPO_ROOT = Path(__file__).resolve().parents[3]


def test_symbol_table_is_the_v2_table() -> None:
    table = symbols()
    assert len(table) == 732
    assert table[0] == "!"
    assert phones_to_ids(["AA", "SP2"]) == [table.index("AA"), table.index("SP2")]
    with pytest.raises(TextError, match="not in the v2 symbol table"):
        phones_to_ids(["nope"])


def test_auto_language_reads_each_run_in_its_language() -> None:
    result = text_to_phones("你好hello", "auto")
    assert [p.language for p in result.parts] == ["zh", "en"]
    assert result.parts[0].word2ph == (2, 2)
    assert result.parts[1].word2ph is None


def test_all_zh_reads_numbers_as_chinese_and_keeps_english() -> None:
    result = text_to_phones("I have 3个苹果", "all_zh")
    assert [p.language for p in result.parts] == ["en", "zh"]
    assert result.parts[1].norm_text == "三个苹果"
    assert text_to_phones("I have 3个苹果", "zh").parts[0].norm_text == "I have three"


def test_english_request() -> None:
    result = text_to_phones("Hello  world, this is a test.", "en")
    assert result.norm_text == "Hello world, this is a test."


def test_unknown_language_is_a_clear_error_listing_the_codes() -> None:
    with pytest.raises(
        UnsupportedLanguageError, match="unknown; use one of all_ja, all_ko, all_yue, all_zh, auto"
    ):
        text_to_phones("hi", "klingon")
    assert "klingon" not in SUPPORTED_LANGUAGES
    assert SUPPORTED_LANGUAGES == KNOWN_LANGUAGES == set(LANGUAGE_NAMES)


def test_every_official_language_code_is_read() -> None:
    codes = {"auto", "auto_yue", "en", "zh", "ja", "yue", "ko", "all_zh", "all_ja", "all_yue", "all_ko"}
    assert codes == SUPPORTED_LANGUAGES
    for code in sorted(codes):
        assert text_to_phones("你好, hello. 今日は。안녕.", code).phone_ids


def test_auto_reads_each_run_in_its_language() -> None:
    result = text_to_phones("これはペンです。这是一支笔。", "auto")
    assert [part.language for part in result.parts] == ["ja", "zh"]


def test_a_detector_label_without_a_reader_reads_nothing() -> None:
    # As the official frontend: such a run is read as a single English space.
    assert clean_text("...!", "punctuation").phones == (",",)


def test_short_text_is_retried_with_a_leading_stop() -> None:
    result = text_to_phones("好", "zh")
    assert result.phones == [".", "h", "ao3"]


def test_short_english_run_gets_a_leading_pause() -> None:
    assert clean_text("hi", "en").phones == (",", "HH", "AY1")


def test_pause_marks_in_chinese() -> None:
    assert "SP2" in clean_text("你好￥世界", "zh").phones
    assert "SP3" in clean_text("你好^世界", "zh").phones


def test_nothing_to_say_is_a_text_error() -> None:
    with pytest.raises(TextError, match="nothing to pronounce"):
        text_to_phones("。。。", "zh")
    with pytest.raises(TextError):
        text_to_phones("", "en")


def test_package_import_is_quiet_and_never_imports_fastapi(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        f"from pathlib import Path\n"
        "from gpt_sovits.text.frontend import TextFrontend\n"
        "from gpt_sovits.text.settings import TextSettings\n"
        f"frontend = TextFrontend(TextSettings(cache_dir=Path({str(tmp_path / 'cache')!r})))\n"
        "frontend.text_to_phones('你好世界，今天天气不错。', 'zh')\n"
        "assert 'fastapi' not in sys.modules, 'fastapi imported'\n"
        "print('ok')\n"
    )
    env = {"PYTHONPATH": str(_REPO_ROOT / "server")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert done.stderr == ""  # jieba's banner is silenced
    assert (tmp_path / "cache" / "jieba.cache").is_file()  # cache in the configured folder
    assert not list((_REPO_ROOT / "server").rglob("jieba.cache"))


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("1" * 5000, "en"),  # beyond inflect's range and Python's int-from-string limit
        ("$" + "1" * 200, "en"),
        ("1" * 3000 + "元", "zh"),  # beyond any Chinese unit
        ("1/" * 500, "en"),  # fractions glue into one long non-word
    ],
)
def test_very_long_numbers_are_read_digit_by_digit(text: str, language: str) -> None:
    result = text_to_phones(text, language)
    assert len(result.phone_ids) > 100


def test_concurrent_calls_give_the_same_results() -> None:
    texts = [
        "我今天用ChatGPT写了一段Python代码。",
        "The price is $12.50, about 10% off.",
        "一个人要一心一意。",
    ] * 8
    expected = [text_to_phones(t, "zh").phone_ids for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda t: text_to_phones(t, "zh").phone_ids, texts))
    assert got == expected
