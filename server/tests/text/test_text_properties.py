"""Property tests: any Unicode text yields valid v2 symbol ids or a clear gpt_sovits error."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpt_sovits.errors import GptSovitsError
from gpt_sovits.text.frontend import text_to_phones
from gpt_sovits.text.langseg import segment
from gpt_sovits.text.normalize_en import normalize_en
from gpt_sovits.text.normalize_zh import normalize_zh
from gpt_sovits.text.request import target_phones
from gpt_sovits.text.split import CUT_METHODS, cut
from gpt_sovits.text.symbols import PUNCTUATION, symbols

# Characters that exercise the normalisers' rules, mixed into arbitrary Unicode.
_TRICKY = "0123456789.,:;/-+~%$£°℃年月日号个元点￥^—…！？。，、：；“”《》()abcXYZ一不儿的了长行 \n\t"
_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from(_TRICKY), max_size=40),
    st.lists(
        st.one_of(st.text(max_size=6), st.text(alphabet=st.sampled_from(_TRICKY), max_size=8)), max_size=6
    ).map("".join),
)
_LANGUAGES = st.sampled_from(["zh", "en", "auto", "all_zh"])
_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(text=_TEXT, language=_LANGUAGES)
def test_any_text_gives_valid_ids_or_a_clear_error(text: str, language: str) -> None:
    try:
        result = text_to_phones(text, language)
    except GptSovitsError as error:
        message = str(error)
        result = None
    if result is None:
        assert message  # a clear error says what is wrong
        return
    table_size = len(symbols())
    assert result.phone_ids
    assert all(0 <= i < table_size for i in result.phone_ids)
    for part in result.parts:
        if part.word2ph is not None:
            assert len(part.word2ph) == len(part.norm_text)
            assert sum(part.word2ph) == len(part.phones)


@_SETTINGS
@given(text=_TEXT)
def test_zh_normalisation_output_alphabet(text: str) -> None:
    norm = normalize_zh(text)
    assert all("\u4e00" <= ch <= "\u9fa5" or ch in PUNCTUATION for ch in norm)


@_SETTINGS
@given(text=_TEXT)
def test_en_normalisation_output_alphabet(text: str) -> None:
    norm = normalize_en(text)
    assert all(ch.isascii() and (ch.isalpha() or ch in " '.,?!-") for ch in norm)


@_SETTINGS
@given(text=_TEXT, method=st.sampled_from(sorted(CUT_METHODS)))
def test_cuts_never_crash(text: str, method: str) -> None:
    assert isinstance(cut(text, method), str)


@_SETTINGS
@given(text=_TEXT)
def test_language_runs_only_hold_characters_of_the_text(text: str) -> None:
    runs = segment(text)
    # Not always all of it, nor only once: like the official segmenter, a piece the detector
    # cannot label keeps only its CJK characters, digits and marks, and a mixed unknown piece
    # is appended whole after its hangul part ("ㅔK" → "ㅔㅔK").
    assert set("".join(run.text for run in runs)) <= set(text)
    # zh/en/ja/ko, or a detector label without a reader (marks, newlines) that reads as nothing.
    assert all(run.lang and run.text for run in runs)
    assert all(a.lang != b.lang for a, b in itertools.pairwise(runs))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_TEXT, method=st.sampled_from(sorted(CUT_METHODS)))
def test_request_pieces_are_valid_or_a_clear_error(text: str, method: str) -> None:
    try:
        results = target_phones(text, "zh", method)
    except GptSovitsError as error:
        message = str(error)
        results = []
    if not results:
        assert message
        return
    assert all(result.phone_ids for result in results)
