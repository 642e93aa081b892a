"""The synthesis pipeline: text + speaker reference → float32 waveform at the model's rate.

Per sentence: the text frontend gives phone ids and BERT features; the reference gives prompt
phones/features (its transcript), prompt semantic ids (HuBERT → ``ssl_proj`` → quantizer) and a
speaker vector (from its 32 kHz linear spectrogram). The GPT continues ``prompt ++ target`` phones
from the prompt ids; SoVITS turns the new ids and the target phones (only) into audio.

Several sentences, of one request or of many, go through ONE batched GPT decode; each keeps its
own sampling settings and seed, so its result never depends on its batch mates. Reference
features are computed once per (file, modification time, transcript, language) and cached.
The loaded models are never modified after load: one ``Synthesizer`` may be called from several
threads, and several (one per voice model) can live side by side.

Streaming: a job may carry a :class:`~gpt_sovits.t2s.decode.TokenSink` that hears its ids while it
decodes; :meth:`Synthesizer.chunker` cuts them into chunks and :meth:`Synthesizer.vocode_chunk`
turns each chunk into the sentence's next audio (:mod:`gpt_sovits.sovits.chunked`).

Token budget: a trained GPT stops on its own EOS; random demo weights rarely emit it, so every
sentence also has a cap on generated ids: ``SynthesisParams.max_tokens_per_sentence`` when set,
else ``50 + 8 × target phones`` (about 0.3 s of audio per phone, far above natural speech) and
never more than the decoder's 1500-step limit.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from gpt_sovits import defaults
from gpt_sovits.audio import linear_spectrogram, load_audio, peak_guard, reference_peak_guard
from gpt_sovits.bert import BertFeatureExtractor, text_features
from gpt_sovits.device import Placement, resolve
from gpt_sovits.errors import AudioError, CheckpointError, GptSovitsError, TextError
from gpt_sovits.sovits import SovitsSynthesizer, load_sovits
from gpt_sovits.sovits.chunked import ChunkedDecoder
from gpt_sovits.sovits.model import PriorSample
from gpt_sovits.ssl import SSL_SAMPLE_RATE, SslFeatureExtractor, prompt_wave
from gpt_sovits.sv import SpeakerVerifier
from gpt_sovits.t2s import DecodeRequest, SamplingParams, Text2SemanticDecoder, decode_batch, load_t2s
from gpt_sovits.t2s.chunking import ChunkRule, TokenChunker, silence_like
from gpt_sovits.t2s.decode import MAX_DECODE_STEPS, TokenSink
from gpt_sovits.text.frontend import TextFrontend, default_frontend
from gpt_sovits.text.settings import TextSettings
from gpt_sovits.text.split import SPLIT_MARKS, prepare_text

# Default token budget per sentence: a floor plus a generous allowance per target phone.
_TOKEN_BUDGET_BASE = 50
_TOKENS_PER_PHONE = 8
# Reference features kept per synthesizer (one entry per speaker/transcript pair), and apart
# from them a few of one-off references (uploads), so those never push the speakers out.
_REFERENCE_CACHE_SIZE = 64
_ONE_OFF_CACHE_SIZE = 4
# Seeds are drawn from the int64 range; derived per-sentence seeds wrap inside it.
_SEED_MODULUS = 2**63


@dataclass(frozen=True)
class VoiceReference:
    """A speaker: a 3–10 s reference clip and its transcript (empty transcript: reference-free)."""

    ref_audio: Path
    prompt_text: str = ""
    prompt_language: str = "zh"
    #: A reference used for one request only (an upload): cached apart, in a small LRU.
    one_off: bool = False

    @property
    def reference_free(self) -> bool:
        """True when no transcript is given: the GPT then starts without prompt ids."""
        return not self.prompt_text.strip()


@dataclass(frozen=True)
class SynthesisParams:
    """Per-request synthesis settings (the official API defaults).

    ``seed`` None draws from torch's global generator (not reproducible); a fixed seed makes the
    sentence's audio reproducible and independent of its batch mates. ``max_tokens_per_sentence``
    caps generated semantic ids (see the module docstring for the default).
    """

    language: str = defaults.LANGUAGE
    top_k: int = defaults.TOP_K
    top_p: float = defaults.TOP_P
    temperature: float = defaults.TEMPERATURE
    repetition_penalty: float = defaults.REPETITION_PENALTY
    seed: int | None = None
    speed: float = defaults.SPEED
    text_split_method: str = defaults.TEXT_SPLIT_METHOD
    fragment_interval_s: float = defaults.FRAGMENT_INTERVAL_S
    noise_scale: float = defaults.NOISE_SCALE
    max_tokens_per_sentence: int | None = None

    def __post_init__(self) -> None:
        """Reject values no component can use, naming the field."""
        if self.seed is not None and not 0 <= self.seed < _SEED_MODULUS:
            raise ValueError(f"seed must be in [0, 2**63) or None for a random one, got {self.seed}")
        if self.speed <= 0:
            raise ValueError(f"speed must be positive, got {self.speed}")
        if self.fragment_interval_s < 0:
            raise ValueError(f"fragment_interval_s must be >= 0, got {self.fragment_interval_s}")
        if self.max_tokens_per_sentence is not None and self.max_tokens_per_sentence < 1:
            raise ValueError(f"max_tokens_per_sentence must be >= 1, got {self.max_tokens_per_sentence}")

    @property
    def sampling(self) -> SamplingParams:
        """The sampler's share of the settings."""
        return SamplingParams(
            top_k=self.top_k,
            top_p=self.top_p,
            temperature=self.temperature,
            repetition_penalty=self.repetition_penalty,
        )

    def token_budget(self, n_phones: int) -> int:
        """Most semantic ids one sentence of ``n_phones`` target phones may produce."""
        budget = self.max_tokens_per_sentence
        if budget is None:
            budget = _TOKEN_BUDGET_BASE + _TOKENS_PER_PHONE * n_phones
        return max(1, min(budget, MAX_DECODE_STEPS))


@dataclass(frozen=True)
class SentenceJob:
    """One sentence to synthesise with its speaker and settings (``params.seed`` is its own seed).

    ``sink``, when set, hears the sentence's semantic ids while they decode (a stream).
    """

    text: str
    reference: VoiceReference
    params: SynthesisParams = field(default_factory=SynthesisParams)
    sink: TokenSink | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ReferenceFeatures:
    """Everything a speaker reference contributes, computed once.

    ``prompt_semantic`` [Tp] int64 (empty when reference-free), ``prompt_phones`` [Pp] int64,
    ``prompt_bert`` [1024, Pp] float32, ``spectrogram`` [1, 1025, Ts], ``speaker`` (SoVITS ``ge``;
    for Pro models it already includes ``speaker_verification``, the clip's SV embedding [1, D]).
    """

    prompt_semantic: torch.Tensor
    prompt_phones: torch.Tensor
    prompt_bert: torch.Tensor
    spectrogram: torch.Tensor
    speaker: torch.Tensor | None
    speaker_verification: torch.Tensor | None = None

    @property
    def reference_free(self) -> bool:
        """True when the GPT starts without prompt ids."""
        return self.prompt_semantic.numel() == 0


@dataclass(frozen=True)
class PreparedSentence:
    """A job after the frontend: what the GPT decode and SoVITS need."""

    job: SentenceJob
    reference: ReferenceFeatures
    target_phones: torch.Tensor
    request: DecodeRequest


@dataclass(frozen=True)
class SemanticSentence:
    """A sentence after the GPT: its semantic ids, ready for SoVITS (:meth:`Synthesizer.vocode`)."""

    prepared: PreparedSentence
    tokens: torch.Tensor


@dataclass(frozen=True)
class ChunkVocode:
    """A streamed sentence's SoVITS work: its ids so far; decode what is new (the rest when
    ``final``), through its :class:`~gpt_sovits.sovits.chunked.ChunkedDecoder`."""

    decoder: ChunkedDecoder
    tokens: torch.Tensor
    final: bool


# Turns the wave of an item's window into the item's audio.
_Finish = Callable[[torch.Tensor], np.ndarray]


def _to_numpy(wave: torch.Tensor) -> np.ndarray:
    out: np.ndarray = wave.float().cpu().numpy().astype(np.float32, copy=False)
    return out


def _prompt_sentence(text: str, language: str) -> str:
    """The transcript as the official path feeds it: trimmed, ending with a stop mark."""
    text = text.strip("\n")
    if text and text[-1] not in SPLIT_MARKS:
        text += "." if language == "en" else "。"
    return text


def _derive_seed(seed: int | None, index: int) -> int | None:
    """Sentence ``index``'s seed from the request seed (distinct streams per sentence)."""
    return None if seed is None else (seed + index) % _SEED_MODULUS


def _checked_speaker_verifier(
    sovits: SovitsSynthesizer, sv: SpeakerVerifier | None
) -> SpeakerVerifier | None:
    """The SV model a SoVITS model needs (Pro: one whose embedding width it takes; else none)."""
    if not sovits.config.is_pro:
        return None
    if sv is None:
        raise CheckpointError(f"a {sovits.version} SoVITS model needs the speaker-verification model")
    if sv.embedding_dim != sovits.config.sv_dim:
        raise CheckpointError(
            f"{sv.path}: this speaker-verification model gives {sv.embedding_dim}-wide embeddings, but "
            f"the {sovits.version} SoVITS model takes {sovits.config.sv_dim}: not the matching SV file"
        )
    return sv


class Synthesizer:
    """GPT + SoVITS (+ optional BERT and HuBERT) on one device, ready to synthesise."""

    def __init__(
        self,
        t2s: Text2SemanticDecoder,
        sovits: SovitsSynthesizer,
        bert: BertFeatureExtractor | None,
        ssl: SslFeatureExtractor | None,
        placement: Placement,
        sv: SpeakerVerifier | None = None,
        frontend: TextFrontend | None = None,
    ) -> None:
        if sovits.config.n_symbols != t2s.config.phoneme_vocab_size:
            raise CheckpointError(
                f"GPT and SoVITS disagree on the phone table ({t2s.config.phoneme_vocab_size} vs "
                f"{sovits.config.n_symbols} symbols): load weights of the same version"
            )
        self.t2s = t2s
        self.sovits = sovits
        self.bert = bert
        self.ssl = ssl
        self.placement = placement
        self.sv = _checked_speaker_verifier(sovits, sv)
        #: Text → phones for every request language (default settings unless load() was given some).
        self.frontend = frontend if frontend is not None else default_frontend()
        self._references: OrderedDict[tuple[object, ...], ReferenceFeatures] = OrderedDict()
        self._one_off: OrderedDict[tuple[object, ...], ReferenceFeatures] = OrderedDict()
        self._lock = threading.Lock()
        #: How many times reference features were computed (cache misses).
        self.reference_computations = 0
        #: How many reference lookups the caches answered (hits).
        self.reference_cache_hits = 0
        #: How many speaker-verification forward passes ran (one per computed Pro reference).
        self.sv_computations = 0
        #: Per semantic id: silence-like or not (where the "silence" chunk rule may cut).
        self.silence_like = silence_like(t2s)

    @classmethod
    def load(
        cls,
        gpt_weights: Path | str,
        sovits_weights: Path | str,
        bert_dir: Path | str | None = None,
        hubert_dir: Path | str | None = None,
        device: str = "auto",
        precision: str = "auto",
        *,
        sv_weights: Path | str | None = None,
        text_settings: TextSettings | None = None,
        cuda_graphs: bool = False,
    ) -> Synthesizer:
        """Load every model onto one device at one precision.

        Without ``bert_dir`` Chinese text gets zero BERT features (what the demo weights use);
        without ``hubert_dir`` only reference-free voices (no transcript) can be used.
        v2Pro/v2ProPlus SoVITS files (detected from the file) also need ``sv_weights``, the
        speaker-verification model; other versions do not use it and leave it unread.
        ``text_settings`` configures the text frontend (G2PW, caches, Japanese user dictionary);
        None: defaults. Its files are checked before any model loads. ``cuda_graphs`` makes the
        GPT's continuous decodes (``DecodeSlots``) replay CUDA graphs of their step (CUDA only).
        """
        if text_settings is not None:
            text_settings.check()
        placement = resolve(device, precision)
        dev, dtype = placement.device, placement.dtype
        t2s = load_t2s(gpt_weights, device=dev, dtype=dtype)
        t2s.cuda_graphs = cuda_graphs
        sovits = load_sovits(sovits_weights, device=dev, dtype=dtype)
        sv = None
        if sovits.config.is_pro:
            if sv_weights is None:
                raise CheckpointError(
                    f"{sovits_weights}: a {sovits.version} SoVITS checkpoint needs the "
                    "speaker-verification model (sv_weights), and none was given"
                )
            sv = SpeakerVerifier.load(sv_weights, device=dev, dtype=dtype)
        bert = None if bert_dir is None else BertFeatureExtractor.from_folder(bert_dir, dev, dtype)
        ssl = None if hubert_dir is None else SslFeatureExtractor.from_folder(hubert_dir, dev, dtype)
        frontend = None if text_settings is None else TextFrontend(text_settings)
        return cls(t2s, sovits, bert, ssl, placement, sv, frontend)

    @property
    def version(self) -> str:
        """The voice model's version: "v1", "v2", "v2Pro" or "v2ProPlus" (from the SoVITS file)."""
        return self.sovits.version

    @property
    def sample_rate(self) -> int:
        """Output sample rate in Hz (32000 for v2)."""
        return self.sovits.sampling_rate

    @property
    def device(self) -> torch.device:
        """Where the models run."""
        return self.placement.device

    # --- text ---------------------------------------------------------------------------------

    def split(self, text: str, language: str, method: str = "cut5") -> list[str]:
        """Request text → sentences synthesised one by one; :class:`TextError` when nothing is left."""
        pieces = prepare_text(text, language, method)
        if not pieces:
            raise TextError("text is empty")
        return pieces

    def jobs(self, text: str, reference: VoiceReference, params: SynthesisParams) -> list[SentenceJob]:
        """Split a request into sentence jobs; sentence i gets seed ``params.seed + i``."""
        return [
            SentenceJob(piece, reference, replace(params, seed=_derive_seed(params.seed, i)))
            for i, piece in enumerate(self.split(text, params.language, params.text_split_method))
        ]

    # --- references ---------------------------------------------------------------------------

    def reference(self, ref: VoiceReference) -> ReferenceFeatures:
        """Features of a speaker reference, from the cache when the file and transcript are unchanged."""
        path = Path(ref.ref_audio)
        try:
            stat = path.stat()
        except OSError:
            raise AudioError(f"{path}: reference audio file not found") from None
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, ref.prompt_text, ref.prompt_language)
        cache, size = (
            (self._one_off, _ONE_OFF_CACHE_SIZE) if ref.one_off else (self._references, _REFERENCE_CACHE_SIZE)
        )
        with self._lock:
            cached = cache.get(key)
            if cached is not None:
                self.reference_cache_hits += 1
                cache.move_to_end(key)
                return cached
        features = self._compute_reference(path, ref)
        with self._lock:
            self.reference_computations += 1
            if features.speaker_verification is not None:
                self.sv_computations += 1
            cache[key] = features
            while len(cache) > size:
                cache.popitem(last=False)
        return features

    @torch.inference_mode()
    def _compute_reference(self, path: Path, ref: VoiceReference) -> ReferenceFeatures:
        dev = self.device
        # The 3–10 s rule holds for every reference, transcript or not.
        wave16k = prompt_wave(load_audio(path, SSL_SAMPLE_RATE))
        if ref.reference_free:
            semantic = torch.zeros(0, dtype=torch.long)
            phones = torch.zeros(0, dtype=torch.long)
            bert = torch.zeros(1024, 0)
        else:
            if self.ssl is None:
                raise CheckpointError(
                    f"{path}: a reference with a transcript needs the HuBERT model, and none is loaded"
                )
            latent = self.sovits.extract_latent(self.ssl(wave16k))
            semantic = latent[0, 0].to("cpu", torch.long)
            prompt = self.frontend.text_to_phones(
                _prompt_sentence(ref.prompt_text, ref.prompt_language), ref.prompt_language
            )
            phones = torch.tensor(prompt.phone_ids, dtype=torch.long)
            bert = text_features(prompt, self.bert)
        wave32k = reference_peak_guard(load_audio(path, self.sample_rate))
        spec = linear_spectrogram(torch.from_numpy(wave32k).to(dev).unsqueeze(0))
        sv_embedding = None
        if self.sv is not None:
            # Pro models: the SV network sees the same 32 kHz wave as the spectrogram.
            sv_embedding = self.sv.embed(torch.from_numpy(wave32k).unsqueeze(0), self.sample_rate)
        speaker = self.sovits.speaker_embedding(spec, None if sv_embedding is None else [sv_embedding])
        return ReferenceFeatures(semantic, phones, bert, spec, speaker, sv_embedding)

    # --- synthesis ----------------------------------------------------------------------------

    def prepare(self, job: SentenceJob) -> PreparedSentence:
        """Frontend and reference features of one sentence; raises :class:`GptSovitsError`."""
        reference = self.reference(job.reference)
        target = self.frontend.text_to_phones(job.text, job.params.language)
        target_phones = torch.tensor(target.phone_ids, dtype=torch.long)
        target_bert = text_features(target, self.bert)
        request = DecodeRequest(
            phones=torch.cat([reference.prompt_phones, target_phones]),
            bert=torch.cat([reference.prompt_bert, target_bert], dim=1),
            prompt=reference.prompt_semantic,
            sampling=job.params.sampling,
            max_new_tokens=job.params.token_budget(target_phones.numel()),
            seed=job.params.seed,
            sink=job.sink,
        )
        return PreparedSentence(job, reference, target_phones, request)

    def vocode(self, sentence: SemanticSentence) -> np.ndarray:
        """Semantic ids + target phones → peak-guarded float32 wave (SoVITS, one sentence)."""
        return self._vocode_one(sentence)

    def _vocode_one(self, item: SemanticSentence | ChunkVocode) -> np.ndarray:
        """:meth:`vocode_batch` of one item, its failure raised."""
        (wave,) = self.vocode_batch([item])
        if isinstance(wave, GptSovitsError):
            raise wave
        return wave

    @torch.inference_mode()
    def vocode_batch(
        self, items: Sequence[SemanticSentence | ChunkVocode]
    ) -> list[np.ndarray | GptSovitsError]:
        """SoVITS for several sentences or streamed chunks (of different sentences) at once.

        Each item's prior is sampled alone (text encoder and noise are per item); the flow and the
        generator then run once per group of items whose windows have one shape (the first
        item's group first), so nothing is padded and each wave is the one its lone decode gives,
        up to the summation order of batched convolutions (measured in tests: within 1e-5).
        Results in item order: the float32 wave, or the item's :class:`GptSovitsError`.
        """
        results: list[np.ndarray | GptSovitsError | None] = [None] * len(items)
        groups: dict[tuple[int, int, bool], list[tuple[int, PriorSample, _Finish]]] = {}
        for index, item in enumerate(items):
            try:
                begun = self._begin_vocode(item)
            except GptSovitsError as err:
                results[index] = err
                continue
            if isinstance(begun, np.ndarray):
                results[index] = begun
                continue
            sample, finish = begun
            groups.setdefault(sample.key(), []).append((index, sample, finish))
        for group in groups.values():
            waves = self.sovits.synthesize([sample for _, sample, _ in group])
            for (index, _, finish), wave in zip(group, waves, strict=True):
                results[index] = finish(wave)
        assert all(result is not None for result in results)
        return [result for result in results if result is not None]

    def _begin_vocode(self, item: SemanticSentence | ChunkVocode) -> np.ndarray | tuple[PriorSample, _Finish]:
        """One item up to the flow: its audio when it needs no decode, else its window and what
        turns that window's wave into the item's audio."""
        dev = self.device
        if isinstance(item, ChunkVocode):
            decoder = item.decoder
            step = decoder.begin(item.tokens, item.final)
            if isinstance(step, torch.Tensor):
                return _to_numpy(step)
            return step, lambda wave: _to_numpy(decoder.finish(wave))
        prepared, tokens = item.prepared, item.tokens
        if tokens.numel() == 0:
            return np.zeros(0, dtype=np.float32)
        params = prepared.job.params
        generator = None
        if params.seed is not None:
            generator = torch.Generator(device=dev).manual_seed(params.seed)
        sample = self.sovits.prior_sample(
            tokens.to(dev).view(1, 1, -1),
            prepared.target_phones.to(dev).unsqueeze(0),
            prepared.reference.speaker,
            noise_scale=params.noise_scale,
            speed=params.speed,
            generator=generator,
        )
        return sample, lambda wave: _to_numpy(peak_guard(wave.float()))

    def chunker(self, rule: ChunkRule) -> TokenChunker:
        """A cutter of one streamed sentence's ids into chunks by ``rule``."""
        return TokenChunker(rule, self.silence_like)

    def chunked_decoder(self, prepared: PreparedSentence, overlap_tokens: int) -> ChunkedDecoder:
        """The SoVITS state of one streamed sentence (``overlap_tokens`` ids cross-faded per seam)."""
        params = prepared.job.params
        generator = None
        if params.seed is not None:
            generator = torch.Generator(device=self.device).manual_seed(params.seed)
        with torch.inference_mode():
            return ChunkedDecoder(
                self.sovits,
                prepared.target_phones.to(self.device).unsqueeze(0),
                prepared.reference.speaker,
                overlap=overlap_tokens,
                noise_scale=params.noise_scale,
                speed=params.speed,
                generator=generator,
            )

    def vocode_chunk(self, decoder: ChunkedDecoder, tokens: torch.Tensor, final: bool) -> np.ndarray:
        """A streamed sentence's new audio (float32) now that its ids so far are ``tokens``.

        ``final``: the sentence's decode is over, so the rest of its audio comes out.
        """
        return self._vocode_one(ChunkVocode(decoder, tokens, final))

    @torch.inference_mode()
    def semantic_batch(
        self, jobs: Sequence[SentenceJob | PreparedSentence]
    ) -> list[SemanticSentence | GptSovitsError]:
        """The GPT stage for several sentences at once: one batched decode.

        Jobs not yet :meth:`prepare`-d are prepared first. Results come in job order: the
        sentence's semantic ids, or the :class:`GptSovitsError` its frontend or reference hit
        (other jobs are unaffected).
        """
        results: list[SemanticSentence | GptSovitsError | None] = [None] * len(jobs)
        prepared: list[tuple[int, PreparedSentence]] = []
        for index, job in enumerate(jobs):
            try:
                prepared.append((index, job if isinstance(job, PreparedSentence) else self.prepare(job)))
            except GptSovitsError as exc:
                results[index] = exc
        if prepared:
            decoded = decode_batch(self.t2s, [p.request for _, p in prepared])
            for (index, item), result in zip(prepared, decoded, strict=True):
                results[index] = SemanticSentence(item, result.tokens)
        return [r for r in results if r is not None]

    def synthesize_batch(self, jobs: list[SentenceJob]) -> list[np.ndarray | GptSovitsError]:
        """Synthesise sentences together: one batched GPT decode, then SoVITS per sentence.

        Results come in job order: a float32 mono wave at :attr:`sample_rate`, or the
        :class:`GptSovitsError` that job hit (other jobs are unaffected).
        """
        results: list[np.ndarray | GptSovitsError] = []
        for semantic in self.semantic_batch(jobs):
            if isinstance(semantic, GptSovitsError):
                results.append(semantic)
                continue
            try:
                results.append(self.vocode(semantic))
            except GptSovitsError as exc:
                results.append(exc)
        return results

    def synthesize(self, text: str, ref: VoiceReference, params: SynthesisParams | None = None) -> np.ndarray:
        """A whole request: split, decode all sentences together, join with fragment silences.

        Each sentence is followed by ``fragment_interval_s`` of silence (the official layout);
        speed is applied inside SoVITS. Raises the first sentence's error, if any.
        """
        params = params or SynthesisParams()
        jobs = self.jobs(text, ref, params)
        gap = np.zeros(round(self.sample_rate * params.fragment_interval_s), dtype=np.float32)
        pieces: list[np.ndarray] = []
        for result in self.synthesize_batch(jobs):
            if isinstance(result, GptSovitsError):
                raise result
            pieces.extend((result, gap))
        return np.concatenate(pieces).astype(np.float32, copy=False)
