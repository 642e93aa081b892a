"""A user-provided Japanese dictionary (official userdict.csv format) changes readings when set."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpt_sovits.errors import CheckpointError
from gpt_sovits.text.frontend import TextFrontend
from gpt_sovits.text.settings import TextSettings

# Surface (full-width, as OpenJTalk sees Latin text), ids left to the compiler, cost, part of
# speech, base form, reading, pronunciation, accent (nucleus on mora 4 of 6), chain rule.
_ENTRY = "ｇｓｖ,,,1,名詞,一般,*,*,*,*,ｇｓｖ,ジーエスブイ,ジーエスブイ,4/6,*\n"


def test_user_dictionary_entry_changes_the_reading(tmp_path: Path) -> None:
    csv = tmp_path / "userdict.csv"
    csv.write_text(_ENTRY, "utf-8")
    settings = TextSettings(cache_dir=tmp_path / "cache", ja_user_dict=csv)
    settings.check()
    plain = TextFrontend(TextSettings(cache_dir=tmp_path / "cache")).clean_text("gsvです。", "ja").phones
    custom = TextFrontend(settings).clean_text("gsvです。", "ja").phones
    assert plain != custom
    # The dictionary's accent: a fall after the fourth mora (ジーエス|ブイ).
    assert custom[:8] == ("j", "i", "[", "i", "e", "s", "u", "]")
    compiled = list((tmp_path / "cache").glob("ja_userdict-*.dic"))
    assert len(compiled) == 1
    # An unchanged file is not compiled again.
    stamp = compiled[0].stat().st_mtime_ns
    TextFrontend(settings).clean_text("gsvです。", "ja")
    assert compiled[0].stat().st_mtime_ns == stamp


def test_malformed_user_dictionary_fails_loudly(tmp_path: Path) -> None:
    csv = tmp_path / "userdict.csv"
    csv.write_text("not,a,dictionary\n", "utf-8")
    frontend = TextFrontend(TextSettings(cache_dir=tmp_path / "cache", ja_user_dict=csv))
    with pytest.raises(CheckpointError, match=r"ja_user_dict\) line 1 is not an OpenJTalk entry"):
        frontend.clean_text("こんにちは。", "ja")
    with pytest.raises(CheckpointError, match="line 1"):
        TextSettings(ja_user_dict=csv).check()
