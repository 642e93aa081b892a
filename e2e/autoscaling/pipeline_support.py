"""What the metrics-pipeline tests talk to: Prometheus' HTTP API and a host-process demo server."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Prometheus:
    """The pipeline's Prometheus, queried over its HTTP API."""

    url: str

    def api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=10) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]


@dataclass
class DemoServer:
    """``python -m voice_server --demo`` on a loopback port, as a host process."""

    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tts(self, text: str) -> int:
        """One synthesis request; returns the HTTP status."""
        body = json.dumps({"text": text, "speaker_id": "demo", "language": "en", "seed": 1}).encode()
        request = urllib.request.Request(
            f"{self.url}/api/v1/tts", data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                response.read()
                return int(response.status)
        except urllib.error.HTTPError as err:
            return int(err.code)
