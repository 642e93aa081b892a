"""SoVITS decoding of a sentence whose semantic ids arrive in chunks (token-chunk streaming).

Each chunk runs the text encoder over all ids so far (its attention needs them all, and it is the
cheap part), then the flow and the generator over a window only: the new frames, ``overlap`` ids'
worth of frames before them as the generator's left context, and the flow's receptive radius
before that. The audio of a chunk's last ``overlap`` ids is held back, since it lacks right
context: the next chunk decodes those frames again, and the two versions are cross-faded
(raised cosine, equal gain) before they are sent (when the sentence ends with no ids after the last
chunk, the held audio is sent as it is: it was decoded with the whole sentence). Every chunk's
frames lie on one grid, so a seam needs no alignment search.

Cost against a whole decode: the text encoder runs over every prefix (quadratic in the chunks, as
upstream's), the flow over ``receptive_radius`` extra frames per chunk, the generator over
``overlap`` ids of extra frames per chunk. Measured on CPU with the released v2 sizes (one
thread, 16-id chunks, overlap 2): 1.2× a whole decode's time for 75 ids (3 s of audio), 1.5× for
200 ids, growing with the sentence's length.

Prior noise is indexed by frame (:class:`FrameNoise`): a frame gets the same noise whichever chunk
decodes it, so where the chunks are cut changes only what the encoder saw, not the random draw. A
whole-sentence decode (:meth:`~gpt_sovits.sovits.model.SovitsSynthesizer.decode`) draws its noise
in the shape of the whole prior, as upstream does; a streamed sentence is therefore a different
sample for the same seed, reproducible on its own.

With speed ≠ 1 the prior is resampled by the fixed factor ``1 / speed`` (a whole decode resamples
to ``int(T / speed) + 1`` frames, a grid that depends on the sentence's length), so that the frames
of every chunk again share one grid. The generator ends in tanh, so chunks need no peak guard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from gpt_sovits.sovits.model import PriorSample, SovitsSynthesizer

# Frames of noise drawn at a time: every draw has the same shape, so frame j's values are the
# same however many frames were asked for.
_NOISE_BLOCK_FRAMES = 64
# Latent frames per semantic id (ids at 25 Hz, the latent at 50 Hz).
_FRAMES_PER_ID = 2


class FrameNoise:
    """Standard normal prior noise, ``[1, channels, frames]``, whose frame j never depends on how
    many frames were drawn before or are asked for now."""

    def __init__(
        self, channels: int, generator: torch.Generator | None, device: torch.device, dtype: torch.dtype
    ) -> None:
        self.channels = channels
        self._generator = generator
        self._device = device
        self._dtype = dtype
        self._blocks: list[Tensor] = []

    def frames(self, start: int, stop: int) -> Tensor:
        """Noise of frames ``[start, stop)``: ``[1, channels, stop - start]``."""
        while len(self._blocks) * _NOISE_BLOCK_FRAMES < stop:
            self._blocks.append(
                torch.randn(
                    _NOISE_BLOCK_FRAMES,
                    self.channels,
                    generator=self._generator,
                    device=self._device,
                    dtype=self._dtype,
                )
            )
        rows = torch.cat(self._blocks)[start:stop]
        return rows.transpose(0, 1).unsqueeze(0)


def _crossfade(held: Tensor, head: Tensor) -> Tensor:
    """``held`` fading out into ``head`` (same length), the gains summing to one."""
    n = held.shape[0]
    steps = (torch.arange(n, device=head.device, dtype=head.dtype) + 0.5) / n
    fade_in = 0.5 - 0.5 * torch.cos(math.pi * steps)
    return held + (head - held) * fade_in


class ChunkedDecoder:
    """One sentence's SoVITS decode, chunk by chunk as its ids arrive (see the module docstring).

        ``text`` holds the sentence's phone ids [1, Tx], ``ge`` its speaker vector [1, gin, 1] (None:
        reference-free). Not thread-safe: one thread calls :meth:`decode` (or :meth:`begin`, then
    :meth:`finish` with its window's wave, which lets windows of several sentences decode as one
    batch) at a time.
    """

    def __init__(
        self,
        model: SovitsSynthesizer,
        text: Tensor,
        ge: Tensor | None,
        *,
        overlap: int,
        noise_scale: float,
        speed: float,
        generator: torch.Generator | None,
    ) -> None:
        if overlap < 0:
            raise ValueError(f"overlap must be >= 0, got {overlap}")
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.model = model
        self.overlap = overlap
        self.noise_scale = noise_scale
        self.speed = speed
        self._text = text
        self._ge = ge
        self._ge_mrte = model.mrte_speaker(ge)
        self._hop = model.config.samples_per_frame
        dtype = model.ssl_proj.weight.dtype
        self._noise = FrameNoise(model.config.inter_channels, generator, text.device, dtype)
        self._sent = 0  # frames whose audio has been returned
        self._held: Tensor | None = None  # audio of the frames after them, not yet returned
        self._decoded_ids = 0  # ids the last decode saw
        self._pending: _Pending | None = None  # a chunk begun, its window not yet finished
        self.finished = False

    def frames(self, ids: int) -> int:
        """Latent frames of ``ids`` semantic ids at this decoder's speed."""
        if self.speed == 1:
            return _FRAMES_PER_ID * ids
        # The size torch's interpolation gives for this scale factor (same double arithmetic).
        return math.floor(_FRAMES_PER_ID * ids * (1 / self.speed))

    @torch.inference_mode()
    def decode(self, codes: Tensor, final: bool) -> Tensor:
        """The audio that is new since the last call, float32 [samples] on the model's device.

        ``codes`` [Tc] are all of the sentence's ids so far (each call extends the last one's);
        ``final``: they are all there will be, so nothing is held back and the decoder is done.
        """
        step = self.begin(codes, final)
        if isinstance(step, Tensor):
            return step
        (wave,) = self.model.synthesize([step])
        return self.finish(wave)

    @torch.inference_mode()
    def begin(self, codes: Tensor, final: bool) -> Tensor | PriorSample:
        """:meth:`decode` up to the flow and generator: the audio itself when the chunk needs no
        decode, else the window to :meth:`~SovitsSynthesizer.synthesize` (alone or batched with
        other sentences' windows), whose wave then goes to :meth:`finish`."""
        if self.finished:
            raise ValueError("this sentence's decode has finished already")
        if self._pending is not None:
            raise ValueError("the last chunk's window was never finished")
        self.finished = final
        total = self.frames(codes.numel())
        end = total if final else total - min(self.frames(self.overlap), total)
        if end <= self._sent:
            # Too few new ids to send anything yet (at the end: nothing was held back).
            return torch.zeros(0, device=self._text.device)
        held, self._held = self._held, None
        if final and held is not None and codes.numel() == self._decoded_ids:
            # The last chunk was the whole sentence: its held tail already had all the context.
            self._sent = end
            return held
        self._decoded_ids = codes.numel()
        sample, trim = self._window(codes, total)
        self._pending = _Pending(held, trim, end, final)
        return sample

    def finish(self, window: Tensor) -> Tensor:
        """The new audio, from the wave :meth:`begin`'s window decoded to."""
        pending, self._pending = self._pending, None
        if pending is None:
            raise ValueError("finish() without a begun chunk")
        wave = window.float()[pending.trim :]
        held = pending.held
        if held is not None:
            wave[: held.shape[0]] = _crossfade(held, wave[: held.shape[0]])
        split = (pending.end - self._sent) * self._hop
        if not pending.final:
            self._held = wave[split:]
        self._sent = pending.end
        return wave[:split]

    def _window(self, codes: Tensor, total: int) -> tuple[PriorSample, int]:
        """The prior of all ids, sampled over the window that frames ``[sent, total)`` need, and
        the samples to trim off the front of its wave (the generator's left context)."""
        model = self.model
        start = max(0, self._sent - self.frames(self.overlap))  # the generator's left context
        flow_start = max(0, start - model.flow.receptive_radius)
        ids = codes.to(self._text.device).view(1, 1, -1)
        _, _, m_p, logs_p, _ = model.prior(ids, self._text, self._ge_mrte)
        if self.speed != 1:
            stats = torch.cat([m_p, logs_p], dim=1)
            stats = F.interpolate(
                stats, scale_factor=1 / self.speed, mode="linear", recompute_scale_factor=False
            )
            m_p, logs_p = stats.chunk(2, dim=1)
        m_p, logs_p = m_p[..., flow_start:total], logs_p[..., flow_start:total]
        z_p = m_p
        if self.noise_scale != 0:
            z_p = m_p + self._noise.frames(flow_start, total) * torch.exp(logs_p) * self.noise_scale
        return PriorSample(z_p, self._ge, skip=start - flow_start), (self._sent - start) * self._hop


@dataclass(frozen=True)
class _Pending:
    """What :meth:`ChunkedDecoder.finish` needs of the chunk :meth:`~ChunkedDecoder.begin` started."""

    held: Tensor | None  # the last chunk's held-back tail, cross-faded into this one's head
    trim: int  # samples of generator context before the new audio
    end: int  # frames sent once this chunk is out
    final: bool
