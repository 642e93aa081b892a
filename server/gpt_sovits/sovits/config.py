"""Typed SoVITS hyper-parameters read from a checkpoint's own config, and version detection."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Rows of ``enc_p.text_embedding`` per symbol table: 322 means the v1 symbols, anything else v2.
V1_SYMBOL_COUNT = 322
V2_SYMBOL_COUNT = 732

# First two bytes that exports of later versions write over the zip magic "PK".
HEADER_VERSIONS: dict[bytes, str] = {
    b"00": "v1",
    b"01": "v2",
    b"02": "v3",
    b"03": "v3",
    b"04": "v4",
    b"05": "v2Pro",
    b"06": "v2ProPlus",
}
# md5 of the first 8192 bytes of the official pretrained SoVITS files → model version. (The v1
# base model is listed as v2 there too: the symbol table tells v1 from v2 later.)
PRETRAINED_MD5: dict[str, str] = {
    "dc3c97e17592963677a4a1681f30c653": "v2",
    "6642b37f3dbb1f76882b69937c95a5f3": "v2",
    "43797be674a37c1c83ee81081941ed0f": "v3",
    "4f26b9476d0c5033e04162c486074374": "v4",
    "c7e9fce2223f3db685cdfa1e6368728a": "v2Pro",
    "66b313e39455b57ab1b0bc0b239c9d0a": "v2ProPlus",
}
# Versions whose SoVITS adds the speaker-verification embedding to the reference conditioning.
PRO_VERSIONS = frozenset({"v2Pro", "v2ProPlus"})
# The header an export of each marked version carries (plain v1/v2 files keep "PK").
VERSION_HEADERS: dict[str, bytes] = {"v2Pro": b"05", "v2ProPlus": b"06"}
# Width of the speaker-verification embedding the released ERes2NetV2 produces.
SV_EMBEDDING_DIM = 20480
# Files at least this large are v3 base models (the size rule of the official tools).
_V3_MIN_BYTES = 700 * 1024 * 1024
SUPPORTED_VERSIONS = frozenset({"v1", "v2", *PRO_VERSIONS})


def version_from_file_head(head: bytes, size: int) -> str:
    """The file-level version as the official tools guess it: md5 table, header bytes, then size.

    ``head`` is the file's first 8192 bytes. v1 and v2 cannot be told apart at this level (the
    symbol table decides later), so both come back as ``"v2"`` unless the md5 table knows the file.
    """
    known = PRETRAINED_MD5.get(hashlib.md5(head[:8192]).hexdigest())
    if known is not None:
        return known
    marker = head[:2]
    if marker in HEADER_VERSIONS:
        return HEADER_VERSIONS[marker]
    if size >= _V3_MIN_BYTES:
        return "v3"
    return "v2"


def symbols_version(text_embedding_rows: int | None) -> str:
    """Symbol-table version from the text embedding's row count (absent → v2 symbols)."""
    if text_embedding_rows == V1_SYMBOL_COUNT:
        return "v1"
    return "v2"


def _tuple_of_ints(value: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in value)


@dataclass(frozen=True)
class SovitsConfig:
    """Architecture sizes and audio parameters of one SoVITS model (``config.model`` / ``.data``).

    ``version`` is the model version: ``v1``/``v2`` (from the symbol table) or ``v2Pro``/``v2ProPlus``.
    """

    version: str = "v2"
    n_symbols: int = V2_SYMBOL_COUNT
    sampling_rate: int = 32000
    filter_length: int = 2048
    hop_length: int = 640
    win_length: int = 2048
    inter_channels: int = 192
    hidden_channels: int = 192
    filter_channels: int = 768
    n_heads: int = 2
    n_layers: int = 6
    kernel_size: int = 3
    resblock: str = "1"
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))
    upsample_rates: tuple[int, ...] = (10, 8, 2, 2, 2)
    upsample_initial_channel: int = 512
    upsample_kernel_sizes: tuple[int, ...] = (16, 16, 8, 2, 2)
    gin_channels: int = 512
    # Not in the config file: fixed by the architecture.
    ssl_dim: int = 768
    codebook_size: int = 1024
    n_quantizers: int = 1
    # Pro models only: input width of ``sv_emb`` (read from the file's tensor, 20480 when released).
    sv_dim: int = SV_EMBEDDING_DIM
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def spec_channels(self) -> int:
        """Bins of the linear spectrogram (``filter_length // 2 + 1``)."""
        return self.filter_length // 2 + 1

    @property
    def is_pro(self) -> bool:
        """True for v2Pro/v2ProPlus: the speaker vector also takes a speaker-verification embedding."""
        return self.version in PRO_VERSIONS

    @property
    def ref_enc_bins(self) -> int:
        """Spectrogram bins the reference encoder reads: all for v1, the lowest 704 for v2."""
        return self.spec_channels if self.version == "v1" else 704

    @property
    def samples_per_frame(self) -> int:
        """Output samples per 50 Hz latent frame (the product of the upsample rates)."""
        out = 1
        for rate in self.upsample_rates:
            out *= rate
        return out

    @classmethod
    def released(cls, version: str = "v2") -> SovitsConfig:
        """The sizes of the officially released model of ``version`` (v2, v2Pro, v2ProPlus)."""
        if version == "v2":
            return cls()
        if version == "v2Pro":
            return cls(version=version, gin_channels=1024)
        if version == "v2ProPlus":
            return cls(
                version=version,
                gin_channels=1024,
                upsample_initial_channel=768,
                upsample_kernel_sizes=(20, 16, 8, 2, 2),
            )
        raise ValueError(f"no released SoVITS sizes known for version {version!r}")

    @classmethod
    def from_sections(
        cls,
        model: Mapping[str, Any],
        data: Mapping[str, Any],
        version: str,
        sv_dim: int = SV_EMBEDDING_DIM,
    ) -> SovitsConfig:
        """Build from a checkpoint's ``model`` and ``data`` sections; missing keys take v2 defaults."""
        defaults = cls()
        n_symbols = V1_SYMBOL_COUNT if version == "v1" else V2_SYMBOL_COUNT
        known = {
            "inter_channels",
            "hidden_channels",
            "filter_channels",
            "n_heads",
            "n_layers",
            "kernel_size",
            "resblock",
            "resblock_kernel_sizes",
            "resblock_dilation_sizes",
            "upsample_rates",
            "upsample_initial_channel",
            "upsample_kernel_sizes",
            "gin_channels",
        }
        return cls(
            version=version,
            n_symbols=n_symbols,
            sampling_rate=int(data.get("sampling_rate", defaults.sampling_rate)),
            filter_length=int(data.get("filter_length", defaults.filter_length)),
            hop_length=int(data.get("hop_length", defaults.hop_length)),
            win_length=int(data.get("win_length", defaults.win_length)),
            inter_channels=int(model.get("inter_channels", defaults.inter_channels)),
            hidden_channels=int(model.get("hidden_channels", defaults.hidden_channels)),
            filter_channels=int(model.get("filter_channels", defaults.filter_channels)),
            n_heads=int(model.get("n_heads", defaults.n_heads)),
            n_layers=int(model.get("n_layers", defaults.n_layers)),
            kernel_size=int(model.get("kernel_size", defaults.kernel_size)),
            resblock=str(model.get("resblock", defaults.resblock)),
            resblock_kernel_sizes=_tuple_of_ints(
                model.get("resblock_kernel_sizes", defaults.resblock_kernel_sizes)
            ),
            resblock_dilation_sizes=tuple(
                _tuple_of_ints(d)
                for d in model.get("resblock_dilation_sizes", defaults.resblock_dilation_sizes)
            ),
            upsample_rates=_tuple_of_ints(model.get("upsample_rates", defaults.upsample_rates)),
            upsample_initial_channel=int(
                model.get("upsample_initial_channel", defaults.upsample_initial_channel)
            ),
            upsample_kernel_sizes=_tuple_of_ints(
                model.get("upsample_kernel_sizes", defaults.upsample_kernel_sizes)
            ),
            gin_channels=int(model.get("gin_channels", defaults.gin_channels)),
            sv_dim=sv_dim,
            extra={k: v for k, v in model.items() if k not in known},
        )

    def to_sections(self) -> dict[str, dict[str, Any]]:
        """The ``data``/``model``/``train`` sections an official config holds for these sizes."""
        return {
            "train": {"segment_size": 20480, "fp16_run": True},
            "data": {
                "max_wav_value": 32768.0,
                "sampling_rate": self.sampling_rate,
                "filter_length": self.filter_length,
                "hop_length": self.hop_length,
                "win_length": self.win_length,
                "n_mel_channels": 128,
                "add_blank": True,
                "n_speakers": 300,
            },
            "model": {
                "inter_channels": self.inter_channels,
                "hidden_channels": self.hidden_channels,
                "filter_channels": self.filter_channels,
                "n_heads": self.n_heads,
                "n_layers": self.n_layers,
                "kernel_size": self.kernel_size,
                "p_dropout": 0.1,
                "resblock": self.resblock,
                "resblock_kernel_sizes": list(self.resblock_kernel_sizes),
                "resblock_dilation_sizes": [list(d) for d in self.resblock_dilation_sizes],
                "upsample_rates": list(self.upsample_rates),
                "upsample_initial_channel": self.upsample_initial_channel,
                "upsample_kernel_sizes": list(self.upsample_kernel_sizes),
                "n_layers_q": 3,
                "use_spectral_norm": False,
                "gin_channels": self.gin_channels,
                "semantic_frame_rate": "25hz",
                "freeze_quantizer": True,
                "version": self.version,
            },
        }
