"""nginx in front of a real server: config test, TLS, redirect, rate limit and body-size limit."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def render_template(template: str, values: dict[str, str]) -> str:
    """Substitute ${GSV_*} as the nginx image's envsubst step does; nginx's own $vars stay."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"template needs {name}")
        return values[name]

    return re.sub(r"\$\{(GSV_[A-Z_]+)\}", value, template)


def _wait_http(url: str, deadline_s: float = 60, **kwargs: object) -> None:
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            httpx.get(url, timeout=2, **kwargs)  # type: ignore[arg-type]
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def stack(docker_dir: Path, nginx: str, console_script, tmp_path: Path) -> Iterator[dict[str, int]]:
    """A gpt-sovits-server and nginx with the project's template, both on loopback."""
    server_port, http_port, https_port = _free_port(), _free_port(), _free_port()
    certs = tmp_path / "certs"
    subprocess.run([str(docker_dir / "nginx" / "gen-self-signed.sh"), str(certs), "localhost"], check=True)
    site = render_template(
        (docker_dir / "nginx" / "templates" / "default.conf.template").read_text(),
        {
            "GSV_UPSTREAM": f"127.0.0.1:{server_port}",
            "GSV_RATE_LIMIT": "5r/s",
            "GSV_RATE_BURST": "5",
            "GSV_MAX_BODY": "1m",
            "GSV_CERT_DIR": str(certs),
            "GSV_HTTP_LISTEN": f"127.0.0.1:{http_port}",
            "GSV_HTTPS_LISTEN": f"127.0.0.1:{https_port}",
            "GSV_HTTPS_PUBLIC_PORT": str(https_port),
        },
    )
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    prefix.chmod(0o777)  # workers run as an unprivileged user and write temp files here
    (prefix / "site.conf").write_text(site)
    (prefix / "nginx.conf").write_text(
        f"worker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n"
        "events { worker_connections 256; }\n"
        f"http {{\n  access_log {prefix}/access.log;\n  client_body_temp_path {prefix};\n"
        f"  proxy_temp_path {prefix};\n  include {prefix}/site.conf;\n}}\n"
    )
    checked = subprocess.run(
        [nginx, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    server = subprocess.Popen(
        [console_script("gpt-sovits-server"), "--host", "127.0.0.1", "--port", str(server_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    proxy = subprocess.Popen(
        [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
        stderr=subprocess.PIPE,
    )
    try:
        _wait_http(f"http://127.0.0.1:{server_port}/health")
        _wait_http(f"https://127.0.0.1:{https_port}/health", verify=False)
        yield {"http": http_port, "https": https_port}
    finally:
        proxy.terminate()
        server.terminate()
        proxy.wait(timeout=30)
        server.wait(timeout=30)


@pytest.mark.slow
def test_tls_proxy_rate_limit_and_body_limit(stack: dict[str, int]) -> None:
    base = f"https://127.0.0.1:{stack['https']}"
    with httpx.Client(verify=False, timeout=10) as client:
        health = client.get(f"{base}/health")
        assert health.status_code == 200
        assert health.json() == {"status": "ok"}

        redirect = client.get(f"http://127.0.0.1:{stack['http']}/api/v1/speakers")
        assert redirect.status_code == 308
        assert redirect.headers["location"] == f"{base}/api/v1/speakers"

        too_big = client.post(f"{base}/api/v1/tts", content=b"x" * (2 * 1024 * 1024))
        assert too_big.status_code == 413

        codes = [client.get(f"{base}/openapi.json").status_code for _ in range(30)]
        assert 429 in codes, codes
        assert codes[0] == 200
        # Probes are never rate limited.
        assert all(client.get(f"{base}/health").status_code == 200 for _ in range(10))
