"""Small helpers shared by the HTTP tests (a module with a unique name, not a conftest import)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def metric_value(exposition: str, sample: str) -> float:
    """The value of one sample, e.g. ``gsv_cache_hits_total`` or ``gsv_batch_size_count{stage="gpt"}``.

    Missing samples read as 0 (a labelled counter appears only once it is used).
    """
    name, _, labels = sample.partition("{")
    wanted = dict(part.split("=", 1) for part in labels.rstrip("}").split(",") if part)
    wanted = {key: value.strip('"') for key, value in wanted.items()}
    for family in text_string_to_metric_families(exposition):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in wanted.items()):
                return float(s.value)
    return 0.0
