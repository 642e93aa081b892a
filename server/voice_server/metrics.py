"""Every Prometheus metric of the server, defined once, in a registry owned by one app."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from voice_server.errors import refusal_codes

# Latency buckets from 25 ms to 2 min, dense where P50/P90/P99 of TTS requests fall.
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 60, 120)
BATCH_BUCKETS = (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 128)
QUEUE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
RTF_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10)


@dataclass
class ServerMetrics:
    """The server's metrics; a fresh registry per instance keeps tests and apps apart."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter(
            "gsv_requests", "HTTP requests by route and status.", ["route", "status"], registry=r
        )
        # Synthesis only, never probes or scrapes: with the refusals below, the autoscaling signal.
        self.synthesis_requests = Counter(
            "gsv_synthesis_requests",
            "Synthesis requests taken on (answered with anything but a 429 or 503 refusal).",
            registry=r,
        )
        self.synthesis_rejected = Counter(
            "gsv_synthesis_rejected",
            "Synthesis requests refused with 429 or 503, by reason (the error code).",
            ["reason"],
            registry=r,
        )
        for reason in refusal_codes():
            # Every series from the first scrape, so a rule may add them up per pod.
            self.synthesis_rejected.labels(reason=reason)
        self.request_latency = Histogram(
            "gsv_request_latency_seconds",
            "Time from request arrival to the last byte of the response.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.first_audio_latency = Histogram(
            "gsv_time_to_first_audio_seconds",
            "Time from request arrival to the first audio byte.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.audio_seconds = Counter("gsv_audio_seconds", "Seconds of audio produced.", registry=r)
        self.batch_size = Histogram(
            "gsv_batch_size", "Requests decoded together.", ["stage"], buckets=BATCH_BUCKETS, registry=r
        )
        self.queue_wait = Histogram(
            "gsv_queue_wait_seconds",
            "Time a sentence waited in a stage's queue before its batch started.",
            ["stage"],
            buckets=QUEUE_BUCKETS,
            registry=r,
        )
        self.real_time_factor = Histogram(
            "gsv_real_time_factor",
            "Synthesis time divided by the duration of the audio produced, per request.",
            buckets=RTF_BUCKETS,
            registry=r,
        )
        self.models_loaded = Gauge("gsv_models_loaded", "Voice models loaded.", registry=r)
        self.queue_depth = Gauge("gsv_queue_depth", "Sentences waiting for a batch, all stages.", registry=r)
        self.in_flight = Gauge("gsv_requests_in_flight", "Requests being served.", registry=r)
        self.cache_hits = Counter("gsv_cache_hits", "Audio cache hits.", registry=r)
        self.cache_misses = Counter("gsv_cache_misses", "Audio cache misses.", registry=r)
        self.cache_bytes = Gauge("gsv_cache_bytes", "Bytes held by the audio cache.", registry=r)
        self.reference_cache_hits = Counter(
            "gsv_reference_cache_hits", "Reference features (incl. speaker embeddings) reused.", registry=r
        )
        self.reference_cache_misses = Counter(
            "gsv_reference_cache_misses",
            "Reference features computed (clip, transcript or model new).",
            registry=r,
        )
        self.speaker_verification_runs = Counter(
            "gsv_speaker_verification_runs", "Speaker-verification forward passes (v2Pro models).", registry=r
        )
        self.gpu_memory_bytes = Gauge("gsv_gpu_memory_bytes", "GPU memory allocated by torch.", registry=r)
        self.generation_retries = Counter(
            "gsv_generation_retries",
            "Sentences decoded again with a higher repetition penalty after a collapse, by rule.",
            ["reason"],
            registry=r,
        )
        self.generation_failures = Counter(
            "gsv_generation_failures",
            "Sentences that collapsed again on retry and ended with an error, by rule.",
            ["reason"],
            registry=r,
        )
        self.ready = Gauge("gsv_ready", "1 when the server accepts synthesis requests.", registry=r)
        self.speakers_misconfigured = Gauge(
            "gsv_speakers_misconfigured", "Speakers whose files cannot work (see /ready).", registry=r
        )
