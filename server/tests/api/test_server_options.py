"""Each API's request becomes the same synthesis options; bad requests name their field."""

from __future__ import annotations

from pathlib import Path

import pytest

from voice_server.api.schemas import CompatTtsRequest, OpenAISpeechRequest, TtsRequest
from voice_server.api.speaker_lookup import compat_speaker, resolve_speaker
from voice_server.errors import ApiError
from voice_server.options import Limits, SynthesisOptions
from voice_server.speakers import Speaker, SpeakerRegistry, parse_speakers

LIMITS = Limits(max_text_length=100)


def from_v1(request: TtsRequest, speakers: SpeakerRegistry) -> tuple[SynthesisOptions, Speaker]:
    speaker = resolve_speaker(speakers, request.speaker_id, request.speaker, "speaker_id")
    return request.to_options(speaker.id, LIMITS), speaker


def from_openai(request: OpenAISpeechRequest, speakers: SpeakerRegistry) -> tuple[SynthesisOptions, Speaker]:
    speaker = resolve_speaker(speakers, request.voice_id(), None, "voice")
    return request.to_options(speaker.id, LIMITS, stream=False), speaker


def from_compat(
    request: CompatTtsRequest, speakers: SpeakerRegistry, model_dir: Path | None
) -> tuple[SynthesisOptions, Speaker]:
    speaker = compat_speaker(
        speakers,
        request.ref_audio_path,
        request.prompt_text,
        request.prompt_lang or request.text_lang,
        model_dir,
    )
    return request.to_options(speaker.id, LIMITS), speaker


@pytest.fixture
def speakers() -> SpeakerRegistry:
    registry = SpeakerRegistry(None)
    text = "- {id: narrator, name: Narrator, refAudio: /m/narrator.wav, promptText: hi, promptLanguage: en}\n"
    for speaker in parse_speakers(text).values():
        registry.add(speaker)
    return registry


def _error(call) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value


def test_v1_request_by_id_or_name(speakers: SpeakerRegistry) -> None:
    by_id, _ = from_v1(TtsRequest(text=" Hello. ", speaker_id="narrator", seed=7), speakers)
    assert (by_id.text, by_id.speaker_id, by_id.seed, by_id.deterministic) == ("Hello.", "narrator", 7, True)
    by_name, _ = from_v1(TtsRequest(text="Hello.", speaker="Narrator"), speakers)
    assert by_name.speaker_id == "narrator"
    assert by_name.deterministic is False


@pytest.mark.parametrize(
    ("request_body", "status", "field"),
    [
        ({"text": "hi", "speaker_id": "nobody"}, 404, "speaker_id"),
        ({"text": "hi"}, 422, "speaker_id"),
        ({"text": "   ", "speaker_id": "narrator"}, 422, "text"),
        ({"text": "x" * 101, "speaker_id": "narrator"}, 413, "text"),
    ],
)
def test_v1_errors(speakers: SpeakerRegistry, request_body: dict, status: int, field: str) -> None:
    err = _error(lambda: from_v1(TtsRequest(**request_body), speakers))
    assert (int(err.status), err.field) == (status, field)


def test_openai_maps_voice_format_and_speed(speakers: SpeakerRegistry) -> None:
    request = OpenAISpeechRequest(
        model="tts-1", input="Hi.", voice="narrator", response_format="opus", speed=1.5
    )
    options, _ = from_openai(request, speakers)
    assert (options.speaker_id, options.format, options.speed, options.language) == (
        "narrator",
        "opus",
        1.5,
        "auto",
    )
    as_object = OpenAISpeechRequest(model="tts-1", input="Hi.", voice={"id": "narrator"})
    assert from_openai(as_object, speakers)[0].format == "mp3"


def test_openai_refuses_aac_and_unknown_voices(speakers: SpeakerRegistry) -> None:
    aac = OpenAISpeechRequest(model="tts-1", input="Hi.", voice="narrator", response_format="aac")
    assert _error(lambda: from_openai(aac, speakers)).field == "response_format"
    alloy = OpenAISpeechRequest(model="tts-1", input="Hi.", voice="alloy")
    err = _error(lambda: from_openai(alloy, speakers))
    assert (int(err.status), err.field) == (404, "voice")


def test_compat_defaults_match_the_official_api(speakers: SpeakerRegistry) -> None:
    request = CompatTtsRequest(text="你好", text_lang="ZH", ref_audio_path="narrator")
    options, speaker = from_compat(request, speakers, None)
    assert speaker.id == "narrator"
    assert (options.top_k, options.top_p, options.temperature) == (15, 1.0, 1.0)
    assert (options.repetition_penalty, options.text_split_method, options.fragment_interval_s) == (
        1.35,
        "cut5",
        0.3,
    )
    assert (options.seed, options.format, options.stream, options.language) == (None, "wav", False, "zh")


def test_compat_raw_streaming_and_seed(speakers: SpeakerRegistry) -> None:
    request = CompatTtsRequest(
        text="hi",
        text_lang="en",
        ref_audio_path="/m/narrator.wav",
        media_type="raw",
        streaming_mode="true",
        seed=3,
    )
    options, _ = from_compat(request, speakers, None)
    assert (options.format, options.stream, options.seed) == ("pcm", True, 3)


def test_compat_streaming_modes_keep_their_upstream_meanings(speakers: SpeakerRegistry) -> None:
    def chunking(**fields: object) -> tuple[bool, str, int, int]:
        request = CompatTtsRequest(text="hi", text_lang="en", ref_audio_path="narrator", **fields)
        options, _ = from_compat(request, speakers, None)
        return (options.stream, options.stream_chunks, options.chunk_tokens, options.overlap_tokens)

    assert chunking()[0] is False
    assert chunking(streaming_mode=1) == (True, "sentence", 16, 2)
    assert chunking(streaming_mode="true") == (True, "sentence", 16, 2)
    assert chunking(streaming_mode=2) == (True, "silence", 16, 2)
    assert chunking(streaming_mode=3, min_chunk_length=24, overlap_length=4) == (True, "fixed", 24, 4)


def test_native_and_openai_streams_default_to_token_chunks(speakers: SpeakerRegistry) -> None:
    v1, _ = from_v1(TtsRequest(text="Hi.", speaker_id="narrator", stream=True), speakers)
    speech = OpenAISpeechRequest(model="m", input="Hi.", voice="narrator", response_format="pcm")
    openai = speech.to_options("narrator", LIMITS, stream=True)
    for options in (v1, openai):
        assert (options.token_chunks, options.stream_chunks, options.chunk_tokens) == (True, "fixed", 16)
    sentences, _ = from_v1(
        TtsRequest(text="Hi.", speaker_id="narrator", stream=True, stream_chunks="sentence"), speakers
    )
    assert sentences.stream
    assert not sentences.token_chunks


def test_compat_reference_inside_the_model_folder_only(speakers: SpeakerRegistry, tmp_path: Path) -> None:
    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "a.wav").write_bytes(b"RIFF")
    request = CompatTtsRequest(text="hi", text_lang="en", ref_audio_path="refs/a.wav", prompt_text="hello")
    _, speaker = from_compat(request, speakers, tmp_path)
    assert speaker.ref_audio == (tmp_path / "refs" / "a.wav").resolve()
    assert (speaker.prompt_text, speaker.prompt_language) == ("hello", "en")
    escape = CompatTtsRequest(text="hi", text_lang="en", ref_audio_path="../../etc/passwd")
    err = _error(lambda: from_compat(escape, speakers, tmp_path))
    assert (int(err.status), err.field) == (404, "ref_audio_path")


def test_compat_refuses_aac(speakers: SpeakerRegistry) -> None:
    request = CompatTtsRequest(text="hi", text_lang="en", ref_audio_path="narrator", media_type="aac")
    err = _error(lambda: from_compat(request, speakers, None))
    assert (int(err.status), err.field) == (422, "media_type")


def test_every_route_leaves_out_a_field_to_the_same_default(speakers: SpeakerRegistry) -> None:
    v1, _ = from_v1(TtsRequest(text="Hi.", speaker_id="narrator"), speakers)
    compat, _ = from_compat(
        CompatTtsRequest(text="Hi.", text_lang="auto", ref_audio_path="narrator"), speakers, None
    )
    openai, _ = from_openai(OpenAISpeechRequest(model="m", input="Hi.", voice="narrator"), speakers)
    bare = SynthesisOptions(text="Hi.", speaker_id="narrator")
    shared = ("language", "speed", "top_k", "top_p", "temperature", "repetition_penalty", "text_split_method")
    for name in shared:
        assert getattr(v1, name) == getattr(compat, name) == getattr(openai, name) == getattr(bare, name), (
            name
        )
