"""A complete demo bundle: random weights, a synthetic reference clip and a speakers file.

EVERYTHING HERE PRODUCES NON-SPEECH AUDIO. The weights are small and randomly initialised (in
the official on-disk formats, so they load through the same code as real ones) and the
reference clip is a few seconds of harmonic tones. The bundle lets the server and the tests run
the whole pipeline without downloading a trained model. It is deterministic for a seed and
cached: a folder that already holds a complete bundle of the same seed is reused as is.

A bundle has a model version: v2 (the default) lives in the folder itself, v2Pro and v2ProPlus
(which add a small speaker-verification model) in a subfolder named after the version, so
bundles of several versions share one demo folder without rebuilding each other.

And a size: ``small`` (the default: a 128-wide GPT and a narrow SoVITS, fast enough for tests)
or ``release``: the GPT and SoVITS at the official released sizes (GPT 24 layers x 512, 16
heads; SoVITS as released for the version), so that benchmarks see the real compute profile.
Release bundles live in a ``release`` subfolder (hundreds of MB, written once and reused). The
HuBERT stand-in and the speaker-verification model stay small in both: they run once per
reference and are cached, so their size does not change what a request costs.
"""

from __future__ import annotations

import fcntl
import json
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile
import yaml

from gpt_sovits.sovits.config import PRO_VERSIONS, SovitsConfig
from gpt_sovits.sovits.demo import demo_config, write_random_sovits
from gpt_sovits.ssl import write_random_hubert
from gpt_sovits.sv.demo import demo_sv_config, write_random_sv
from gpt_sovits.t2s.config import T2SConfig
from gpt_sovits.t2s.demo import DEMO_CONFIG, write_demo_t2s

DEMO_NOTICE = "DEMO bundle: random weights and a synthetic tone clip; the audio it produces is NOT speech"
# Bump when the bundle's layout or contents change, so stale caches are rebuilt.
_FORMAT = 3  # 3: a Japanese speaker
#: Versions a demo bundle can be written for.
DEMO_VERSIONS = ("v2", *sorted(PRO_VERSIONS))
DemoSize = Literal["small", "release"]
#: Sizes a demo bundle can be written at.
DEMO_SIZES: tuple[DemoSize, ...] = ("small", "release")
_MANIFEST = "demo.json"
_REFERENCE_RATE = 32000
_REFERENCE_SECONDS = 4.0
DEMO_PROMPT_TEXT = "这是一段演示用的参考音频。"
DEMO_PROMPT_LANGUAGE = "zh"
#: The Japanese demo speaker's transcript (same clip: the demo audio is not speech anyway).
DEMO_PROMPT_TEXT_JA = "これはデモ用の参考音声です。"
#: Suggested ``SynthesisParams.max_tokens_per_sentence`` with demo weights: the random GPT seldom
#: emits EOS, so without a cap every sentence would run to its phone-based budget (3 s here).
DEMO_MAX_TOKENS_PER_SENTENCE = 75


@dataclass(frozen=True)
class DemoBundle:
    """Paths of a demo bundle's files (``bert_dir`` is None: Chinese gets zero BERT features).

    ``sv_weights`` is the speaker-verification model of a Pro bundle (None for v2).
    """

    folder: Path
    gpt_weights: Path
    sovits_weights: Path
    hubert_dir: Path
    reference_audio: Path
    speakers_file: Path
    bert_dir: Path | None = None
    version: str = "v2"
    sv_weights: Path | None = None
    size: DemoSize = "small"

    @classmethod
    def at(cls, folder: Path, version: str = "v2", size: DemoSize = "small") -> DemoBundle:
        """The layout of a ``version`` bundle of ``size`` inside ``folder``.

        Small v2 bundles are ``folder`` itself, release ones ``folder/release``; Pro versions add
        a ``<version>`` subfolder to either.
        """
        if version not in DEMO_VERSIONS:
            raise ValueError(
                f"no demo bundle for version {version!r}; choose one of {', '.join(DEMO_VERSIONS)}"
            )
        if size not in DEMO_SIZES:
            raise ValueError(f"no demo bundle of size {size!r}; choose one of {', '.join(DEMO_SIZES)}")
        if size != "small":
            folder = folder / size
        if version != "v2":
            folder = folder / version
        return cls(
            folder=folder,
            gpt_weights=folder / "demo-gpt.ckpt",
            sovits_weights=folder / "demo-sovits.pth",
            hubert_dir=folder / "demo-hubert",
            reference_audio=folder / "demo-reference.wav",
            speakers_file=folder / "speakers.yaml",
            version=version,
            sv_weights=folder / "demo-sv.ckpt" if version in PRO_VERSIONS else None,
            size=size,
        )

    def gpt_config(self) -> T2SConfig:
        """The GPT sizes this bundle's checkpoint is written at (release: the s1 v2 defaults)."""
        return T2SConfig() if self.size == "release" else DEMO_CONFIG

    def sovits_config(self) -> SovitsConfig:
        """The SoVITS sizes this bundle's checkpoint is written at.

        Release Pro models take the demo SV model's embedding width, not the released 20480:
        the SV stand-in stays small (it runs once per reference).
        """
        sv_dim = demo_sv_config().embedding_dim
        if self.size == "small":
            return demo_config(self.version, sv_dim=sv_dim)
        released = SovitsConfig.released(self.version)
        return replace(released, sv_dim=sv_dim) if released.is_pro else released

    def files(self) -> list[Path]:
        """Every file the bundle needs."""
        files = [
            self.gpt_weights,
            self.sovits_weights,
            self.hubert_dir / "config.json",
            self.reference_audio,
            self.speakers_file,
        ]
        return files if self.sv_weights is None else [*files, self.sv_weights]


def synthetic_reference(seed: int = 0, seconds: float = _REFERENCE_SECONDS) -> np.ndarray:
    """A voice-like but non-speech clip at 32 kHz: gliding harmonic tones with a syllabic envelope."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * _REFERENCE_RATE)) / _REFERENCE_RATE
    f0 = 140.0 + 40.0 * np.sin(2 * np.pi * 0.5 * t + rng.uniform(0, np.pi))
    phase = 2 * np.pi * np.cumsum(f0) / _REFERENCE_RATE
    wave = sum(np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 7))
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t) ** 2
    wave = wave * envelope + 0.01 * rng.standard_normal(t.shape)
    # Fade in/out so the clip starts and ends silent.
    ramp = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.05)
    wave = wave * ramp
    out: np.ndarray = (0.5 * wave / np.abs(wave).max()).astype(np.float32)
    return out


def _write_speakers(bundle: DemoBundle) -> None:
    speakers = [
        {
            "id": "demo",
            "name": "Demo voice (non-speech)",
            "refAudio": str(bundle.reference_audio),
            "promptText": DEMO_PROMPT_TEXT,
            "promptLanguage": DEMO_PROMPT_LANGUAGE,
        },
        {
            "id": "demo-free",
            "name": "Demo voice, reference-free (non-speech)",
            "refAudio": str(bundle.reference_audio),
            "promptText": "",
            "promptLanguage": DEMO_PROMPT_LANGUAGE,
        },
        {
            "id": "demo-ja",
            "name": "Demo voice, Japanese transcript (non-speech)",
            "refAudio": str(bundle.reference_audio),
            "promptText": DEMO_PROMPT_TEXT_JA,
            "promptLanguage": "ja",
        },
    ]
    text = f"# {DEMO_NOTICE}\n" + yaml.safe_dump(speakers, allow_unicode=True, sort_keys=False)
    bundle.speakers_file.write_text(text, encoding="utf-8")


def _manifest(bundle: DemoBundle, seed: int) -> dict[str, object]:
    manifest: dict[str, object] = {"format": _FORMAT, "seed": seed, "version": bundle.version}
    if bundle.size != "small":  # small bundles keep their manifest, so existing caches stay valid
        manifest["size"] = bundle.size
    return {**manifest, "notice": DEMO_NOTICE}


def _is_complete(bundle: DemoBundle, seed: int) -> bool:
    manifest = bundle.folder / _MANIFEST
    try:
        stored = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(stored == _manifest(bundle, seed) and all(p.is_file() for p in bundle.files()))


def _build(bundle: DemoBundle, seed: int) -> None:
    (bundle.folder / _MANIFEST).unlink(missing_ok=True)
    write_demo_t2s(bundle.gpt_weights, bundle.gpt_config(), seed=seed)
    write_random_sovits(bundle.sovits_weights, bundle.sovits_config(), seed=seed)
    if bundle.sv_weights is not None:
        write_random_sv(bundle.sv_weights, demo_sv_config(), seed=seed)
    if bundle.hubert_dir.exists():
        shutil.rmtree(bundle.hubert_dir)
    write_random_hubert(bundle.hubert_dir, seed=seed)
    soundfile.write(str(bundle.reference_audio), synthetic_reference(seed), _REFERENCE_RATE, subtype="PCM_16")
    _write_speakers(bundle)
    # Written last: its presence marks a complete bundle.
    (bundle.folder / _MANIFEST).write_text(json.dumps(_manifest(bundle, seed), indent=2), encoding="utf-8")


def ensure_demo_bundle(
    folder: Path, seed: int = 0, *, version: str = "v2", size: DemoSize = "small"
) -> DemoBundle:
    """Create the ``version`` demo bundle of ``size`` under ``folder`` unless a complete one of the
    same seed is there.

    Small v2 bundles live in ``folder``, the others in subfolders (see :meth:`DemoBundle.at`); pass
    ``bundle.sv_weights`` to :meth:`Synthesizer.load` for Pro ones. Safe to call from several
    processes at once: the build holds a file lock in the bundle folder.
    """
    bundle = DemoBundle.at(Path(folder).resolve(), version, size)
    bundle.folder.mkdir(parents=True, exist_ok=True)
    if _is_complete(bundle, seed):
        return bundle
    with (bundle.folder / ".demo.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _is_complete(bundle, seed):
            _build(bundle, seed)
    return bundle
