"""The optional Prometheus Operator ServiceMonitor scraping the server's /metrics."""

from __future__ import annotations

from typing import Any

from voice_operator import constants as c
from voice_operator.manifests.common import Owner, labels, object_meta, selector_labels
from voice_operator.spec import VoiceServiceSpec


def build_servicemonitor(spec: VoiceServiceSpec, owner: Owner) -> dict[str, Any] | None:
    """ServiceMonitor selecting the Service, or None when monitoring is off."""
    monitoring = spec.monitoring
    if not monitoring.enabled:
        return None
    meta = object_meta(owner)
    # Extra labels let a Prometheus' serviceMonitorSelector pick this one up.
    meta["labels"] = {**monitoring.labels, **labels(owner)}
    return {
        "apiVersion": c.SERVICEMONITOR_API_VERSION,
        "kind": "ServiceMonitor",
        "metadata": meta,
        "spec": {
            "selector": {"matchLabels": selector_labels(owner)},
            "namespaceSelector": {"matchNames": [owner.namespace]},
            "endpoints": [
                {"port": c.SERVER_PORT_NAME, "path": c.METRICS_PATH, "interval": monitoring.interval}
            ],
        },
    }
