"""Speakers file parsing and reloading."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from voice_server.speakers import SpeakerRegistry, SpeakersFileError, parse_speakers

GOOD = """
- id: narrator
  name: Narrator
  refAudio: ref/narrator.wav
  promptText: 你好
  promptLanguage: zh
- id: guide
  refAudio: /abs/guide.wav
"""


def test_parse_list_with_camel_case_keys_and_defaults() -> None:
    speakers = parse_speakers(GOOD, base_dir=Path("/models"))
    assert list(speakers) == ["narrator", "guide"]
    assert speakers["narrator"].ref_audio == Path("/models/ref/narrator.wav")
    assert speakers["narrator"].prompt_text == "你好"
    assert speakers["guide"].ref_audio == Path("/abs/guide.wav")
    assert speakers["guide"].prompt_language == "zh"


def test_parse_accepts_a_speakers_mapping_and_empty_files() -> None:
    assert list(parse_speakers("speakers:\n- {id: a, refAudio: a.wav}\n")) == ["a"]
    assert parse_speakers("") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- id: a\n", "speaker #0: refAudio: Field required"),
        ("- {id: a, refAudio: a.wav}\n- {id: a, refAudio: b.wav}\n", "appears twice"),
        ("- {id: a, refAudio: a.wav, colour: red}\n", "colour: Extra inputs are not permitted"),
        ("just a string", "expected a list"),
        ("- [unclosed", "not valid YAML"),
    ],
)
def test_bad_files_give_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(SpeakersFileError, match=message):
        parse_speakers(text)


def test_registry_reloads_on_change_and_keeps_last_good(tmp_path: Path) -> None:
    path = tmp_path / "speakers.yaml"
    path.write_text(GOOD, encoding="utf-8")
    registry = SpeakerRegistry(path)
    assert [s.id for s in registry.all()] == ["guide", "narrator"]
    assert registry.reload_if_changed() is False

    path.write_text("- {id: solo, refAudio: s.wav}\n", encoding="utf-8")
    os.utime(path, (1, 1))  # a distinct mtime, whatever the clock's resolution
    assert registry.reload_if_changed() is True
    assert [s.id for s in registry.all()] == ["solo"]

    path.write_text("- id: broken\n", encoding="utf-8")
    os.utime(path, (2, 2))
    assert registry.reload_if_changed() is False
    assert registry.get("solo") is not None


def test_lookup_by_name_or_id() -> None:
    registry = SpeakerRegistry(None)
    for speaker in parse_speakers(GOOD).values():
        registry.add(speaker)
    assert registry.by_name("Narrator") is registry.get("narrator")
    assert registry.by_name("guide") is registry.get("guide")
    assert registry.by_name("nobody") is None
