"""The SoVITS synthesizer: semantic codes + phones + reference spectrograms → waveform."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gpt_sovits.errors import CheckpointError
from gpt_sovits.sovits.checkpoint import SovitsCheckpoint, load_sovits_checkpoint
from gpt_sovits.sovits.config import SovitsConfig
from gpt_sovits.sovits.modules.flow import ResidualCouplingFlow
from gpt_sovits.sovits.modules.generator import Generator
from gpt_sovits.sovits.modules.mrte import MRTE_WIDTH
from gpt_sovits.sovits.modules.quantizer import ResidualVectorQuantizer
from gpt_sovits.sovits.modules.reference_encoder import ReferenceEncoder
from gpt_sovits.sovits.modules.text_encoder import TextEncoder
from gpt_sovits.sovits.modules.weight_norm import fold_state_dict, unfold_state_dict, weight_normed_prefixes

# Codes run at 25 Hz; the latent at 50 Hz.
_CODE_UPSAMPLE = 2
# Buffers every official file carries per codebook besides ``embed`` (unused at inference).
_CODEBOOK_EXTRAS = ("inited", "cluster_size", "embed_avg")

References = Sequence[torch.Tensor] | torch.Tensor | None


def _as_list(items: References) -> list[torch.Tensor]:
    if items is None:
        return []
    return [items] if isinstance(items, torch.Tensor) else list(items)


@dataclass(frozen=True)
class SpeakerTrace:
    """How the speaker vector of one decode was built, per reference and combined.

    v2: ``ge`` is the mean of the reference-encoder outputs. Pro: each reference's encoder output
    [B, gin, 1] plus its projected speaker-verification embedding goes through PReLU, then the
    mean is taken (PReLU before averaging, as the trained models do).
    """

    ref_enc: list[torch.Tensor]
    #: Pro only: ``sv_emb`` of each reference's speaker-verification embedding, [B, gin].
    sv_proj: list[torch.Tensor]
    #: Pro only: ``ref_enc + sv_proj`` of each reference, before PReLU.
    summed: list[torch.Tensor]
    #: Each reference's speaker vector (after PReLU for Pro; the encoder output for v2).
    per_reference: list[torch.Tensor]
    ge: torch.Tensor


@dataclass(frozen=True)
class DecodeTrace:
    """Every intermediate of one decode, for conformance checks and debugging.

    ``ge`` conditions the flow and the generator; ``ge_mrte`` is what MRTE adds (``ge`` for v1/v2,
    its 512-wide projection ``ge_to512`` for Pro models).
    """

    ge: torch.Tensor | None
    ge_mrte: torch.Tensor | None
    quantized: torch.Tensor
    enc_p_x: torch.Tensor
    m_p: torch.Tensor
    logs_p: torch.Tensor
    y_mask: torch.Tensor
    z: torch.Tensor
    wav: torch.Tensor


@dataclass(frozen=True)
class PriorSample:
    """A window of one sentence's prior sample, ready for the flow and the generator.

    ``z_p`` [1, inter, frames] is conditioned on ``ge`` [1, gin, 1] (None: reference-free); the
    first ``skip`` frames are flow context only, the generator decodes the rest. Samples of one
    :meth:`key` run through :meth:`SovitsSynthesizer.synthesize` as one batch without padding, so
    each row's wave is its lone decode's (up to the convolutions' summation order).
    """

    z_p: torch.Tensor
    ge: torch.Tensor | None
    skip: int = 0

    def key(self) -> tuple[int, int, bool]:
        """Samples with equal keys batch together: frames, skipped frames, conditioned or not."""
        return (self.z_p.shape[-1], self.skip, self.ge is None)


class SovitsSynthesizer(nn.Module):
    """SoVITS v1/v2/v2Pro/v2ProPlus inference network (``SynthesizerTrn`` minus its training-only parts)."""

    def __init__(self, config: SovitsConfig) -> None:
        super().__init__()
        self.config = config
        self.ssl_proj = nn.Conv1d(config.ssl_dim, config.ssl_dim, 2, stride=2)
        self.quantizer = ResidualVectorQuantizer(config.ssl_dim, config.n_quantizers, config.codebook_size)
        self.ref_enc = ReferenceEncoder(config.ref_enc_bins, config.gin_channels)
        self.enc_p = TextEncoder(
            config.inter_channels,
            config.hidden_channels,
            config.filter_channels,
            config.n_heads,
            config.n_layers,
            config.kernel_size,
            config.n_symbols,
            config.ssl_dim,
        )
        self.flow = ResidualCouplingFlow(config.inter_channels, config.hidden_channels, config.gin_channels)
        self.dec = Generator(
            config.inter_channels,
            config.resblock_kernel_sizes,
            config.resblock_dilation_sizes,
            config.upsample_rates,
            config.upsample_initial_channel,
            config.upsample_kernel_sizes,
            config.gin_channels,
        )
        # Pro models: speaker-verification conditioning (on-disk names sv_emb, prelu, ge_to512).
        self.sv_emb: nn.Linear | None = None
        self.prelu: nn.PReLU | None = None
        self.ge_to512: nn.Linear | None = None
        if config.is_pro:
            self.sv_emb = nn.Linear(config.sv_dim, config.gin_channels)
            self.prelu = nn.PReLU(num_parameters=config.gin_channels)
            self.ge_to512 = nn.Linear(config.gin_channels, MRTE_WIDTH)

    @property
    def version(self) -> str:
        """Model version: "v1", "v2", "v2Pro" or "v2ProPlus"."""
        return self.config.version

    @property
    def sampling_rate(self) -> int:
        """Output sample rate in Hz."""
        return self.config.sampling_rate

    @torch.inference_mode()
    def speaker_trace(self, refer: References, sv: References = None) -> SpeakerTrace | None:
        """The speaker vector and its parts (see :class:`SpeakerTrace`); None when no reference is given.

        ``sv`` holds one speaker-verification embedding [B, sv_dim] per spectrogram, in the same
        order; Pro models need it, v1/v2 models take none.
        """
        specs = _as_list(refer)
        if not specs:
            return None
        svs = _as_list(sv)
        ref_enc = [self.ref_enc(spec.to(self._dtype)) for spec in specs]
        sv_proj: list[torch.Tensor] = []
        summed: list[torch.Tensor] = []
        per_reference = ref_enc
        if self.sv_emb is not None and self.prelu is not None:
            if len(svs) != len(specs):
                raise ValueError(
                    f"a {self.version} model needs one speaker-verification embedding per reference "
                    f"({len(specs)} references, {len(svs)} embeddings)"
                )
            sv_proj = [self.sv_emb(v.to(self._dtype)) for v in svs]
            summed = [g + p.unsqueeze(-1) for g, p in zip(ref_enc, sv_proj, strict=True)]
            per_reference = [self.prelu(g) for g in summed]
        elif svs:
            raise ValueError(f"a {self.version} model takes no speaker-verification embeddings")
        ge = per_reference[0] if len(per_reference) == 1 else torch.stack(per_reference, 0).mean(0)
        return SpeakerTrace(ref_enc, sv_proj, summed, per_reference, ge)

    def speaker_embedding(self, refer: References, sv: References = None) -> torch.Tensor | None:
        """Speaker vector ``ge`` [B, gin, 1] from one or more spectrograms (averaged); None when none given.

        Pro models also take one speaker-verification embedding per spectrogram (``sv``). Compute
        it once per speaker and pass it to :meth:`decode` as ``ge`` to skip this step.
        """
        trace = self.speaker_trace(refer, sv)
        return None if trace is None else trace.ge

    def mrte_speaker(self, ge: torch.Tensor | None) -> torch.Tensor | None:
        """What MRTE adds for speaker vector ``ge``: ``ge`` itself, or ``ge_to512(ge)`` for Pro models."""
        if ge is None or self.ge_to512 is None:
            return ge
        projected: torch.Tensor = self.ge_to512(ge.transpose(1, 2)).transpose(1, 2)
        return projected

    @property
    def _dtype(self) -> torch.dtype:
        return self.ssl_proj.weight.dtype

    @torch.inference_mode()
    def prior(
        self, codes: torch.Tensor, text: torch.Tensor, ge_mrte: torch.Tensor | None, speed: float = 1.0
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The text encoder's prior for ``codes`` [n_q, B, Tc] and phones ``text`` [B, Tx].

        Returns ``(quantized, x, m_p, logs_p, y_mask)``: the codes' embeddings [B, 768, Tc] and the
        encoder's output, mean, log-scale and mask at 50 Hz (``2 · Tc`` frames at speed 1).
        ``ge_mrte`` is :meth:`mrte_speaker` of the speaker vector.
        """
        dtype = self._dtype
        quantized = self.quantizer.decode(codes).to(dtype)
        features = F.interpolate(quantized, size=quantized.shape[-1] * _CODE_UPSAMPLE, mode="nearest")
        batch = features.shape[0]
        y_mask = torch.ones(batch, 1, features.shape[-1], dtype=dtype, device=features.device)
        text_mask = torch.ones(batch, 1, text.shape[-1], dtype=dtype, device=features.device)
        x, m_p, logs_p, y_mask = self.enc_p(features, y_mask, text, text_mask, ge_mrte, speed)
        return quantized, x, m_p, logs_p, y_mask

    @torch.inference_mode()
    def decode_trace(
        self,
        codes: torch.Tensor,
        text: torch.Tensor,
        refer: References = None,
        noise_scale: float = 0.5,
        speed: float = 1.0,
        generator: torch.Generator | None = None,
        ge: torch.Tensor | None = None,
        sv: References = None,
    ) -> DecodeTrace:
        """Like :meth:`decode` but returns every intermediate."""
        if ge is None:
            ge = self.speaker_embedding(refer, sv)
        ge_mrte = self.mrte_speaker(ge)
        quantized, x, m_p, logs_p, y_mask = self.prior(codes, text, ge_mrte, speed)
        z_p = _sampled(m_p, logs_p, noise_scale, generator)
        z = self.flow.reverse(z_p, y_mask, ge)
        wav = self.dec(z * y_mask, ge)
        return DecodeTrace(ge, ge_mrte, quantized, x, m_p, logs_p, y_mask, z, wav)

    @torch.inference_mode()
    def prior_sample(
        self,
        codes: torch.Tensor,
        text: torch.Tensor,
        ge: torch.Tensor | None,
        noise_scale: float = 0.5,
        speed: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> PriorSample:
        """The first half of :meth:`decode` for one sentence (``codes`` [n_q, 1, Tc], ``text``
        [1, Tx], a cached speaker vector ``ge``); :meth:`synthesize` does the rest."""
        _, _, m_p, logs_p, _ = self.prior(codes, text, self.mrte_speaker(ge), speed)
        return PriorSample(_sampled(m_p, logs_p, noise_scale, generator), ge)

    @torch.inference_mode()
    def synthesize(self, samples: Sequence[PriorSample]) -> list[torch.Tensor]:
        """Flow and generator over samples of one :meth:`PriorSample.key`, in one batch: each
        sample's wave [samples] (the model's dtype), in order."""
        keys = {sample.key() for sample in samples}
        if len(keys) != 1:
            raise ValueError(f"one batch takes samples of one shape, got {sorted(keys)}")
        z_p = torch.cat([sample.z_p for sample in samples])
        conditioned = [sample.ge for sample in samples if sample.ge is not None]
        ge = torch.cat(conditioned) if conditioned else None
        # Every row is whole: the mask the flow multiplies by is all ones, as in a lone decode.
        mask = torch.ones_like(z_p[:, :1])
        z = self.flow.reverse(z_p, mask, ge)
        wav = self.dec(z[..., samples[0].skip :], ge)
        return list(wav[:, 0])

    def decode(
        self,
        codes: torch.Tensor,
        text: torch.Tensor,
        refer: References = None,
        noise_scale: float = 0.5,
        speed: float = 1.0,
        generator: torch.Generator | None = None,
        ge: torch.Tensor | None = None,
        sv: References = None,
    ) -> torch.Tensor:
        """Synthesize a wave [B, 1, samples] from ``codes`` [n_q, B, Tc] and phone ids ``text`` [B, Tx].

        ``refer`` holds linear spectrograms [B, bins, T] of the reference audio (several are
        averaged); Pro models also need ``sv``, one speaker-verification embedding [B, sv_dim] per
        spectrogram. Pass ``ge`` instead to reuse a cached speaker vector. With neither, the model
        runs reference-free (no speaker conditioning). ``noise_scale`` scales prior noise drawn from
        ``generator`` (torch's default CPU generator when None); ``speed`` > 1 speaks faster.
        """
        return self.decode_trace(codes, text, refer, noise_scale, speed, generator, ge, sv).wav

    @torch.inference_mode()
    def extract_latent(self, ssl_features: torch.Tensor) -> torch.Tensor:
        """HuBERT features [B, 768, T50] → prompt codes [B, n_q, T50 // 2] (odd lengths floor)."""
        projected = self.ssl_proj(ssl_features.to(self._dtype))
        return self.quantizer.encode(projected).transpose(0, 1)


def _sampled(
    m_p: torch.Tensor, logs_p: torch.Tensor, noise_scale: float, generator: torch.Generator | None
) -> torch.Tensor:
    """The prior sample ``m_p + ε · exp(logs_p) · noise_scale``."""
    if noise_scale == 0:
        return m_p
    # One draw shaped like m_p: the same stream the reference implementation consumes.
    noise = torch.randn(m_p.shape, generator=generator, dtype=m_p.dtype, device=m_p.device)
    return m_p + noise * torch.exp(logs_p) * noise_scale


def _check_weights(path: Path, model: nn.Module, weights: dict[str, torch.Tensor]) -> None:
    """Raise :class:`CheckpointError` for missing tensors or shapes that disagree with the config."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(weights))
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise CheckpointError(f"{path}: SoVITS checkpoint is missing {len(missing)} tensors: {shown}")
    for key, tensor in expected.items():
        if tuple(weights[key].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"{path}: tensor {key} has shape {tuple(weights[key].shape)}, but the file's config "
                f"implies {tuple(tensor.shape)}"
            )


def build_from_checkpoint(checkpoint: SovitsCheckpoint) -> SovitsSynthesizer:
    """Instantiate the network from a loaded checkpoint, folding weight norm once."""
    model = SovitsSynthesizer(checkpoint.config)
    weights = fold_state_dict(checkpoint.weights, weight_normed_prefixes(model))
    _check_weights(checkpoint.path, model, weights)
    expected = model.state_dict().keys()
    model.load_state_dict({k: weights[k] for k in expected}, strict=True)
    model.eval()
    model.requires_grad_(False)
    return model


def load_sovits(
    path: Path | str, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
) -> SovitsSynthesizer:
    """Load an official SoVITS v1/v2/v2Pro/v2ProPlus ``.pth`` into an inference-ready model on ``device``."""
    model = build_from_checkpoint(load_sovits_checkpoint(path))
    return model.to(device=device, dtype=dtype)


def export_state_dict(model: SovitsSynthesizer) -> dict[str, torch.Tensor]:
    """The model's tensors under the official on-disk names (weight norm split, codebook extras added)."""
    weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
    weights = unfold_state_dict(weights, weight_normed_prefixes(model))
    for i, book in enumerate(model.quantizer.codebooks()):
        prefix = f"quantizer.vq.layers.{i}._codebook."
        embed = book.embed
        weights[prefix + "inited"] = torch.ones(1)
        weights[prefix + "cluster_size"] = torch.ones(embed.shape[0])
        weights[prefix + "embed_avg"] = embed.detach().clone()
    return weights
