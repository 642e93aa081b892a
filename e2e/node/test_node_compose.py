"""The single-host path for real: docker/docker-compose.yml under nerdctl on the node's containerd.

nginx terminates TLS (a self-signed certificate from docker/nginx/gen-self-signed.sh, which the
client verifies) in front of two replicas of the server image in demo mode. What nerdctl leaves
out of the file, and how the stack makes up for it, is in ``compose_stack``.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from e2e.cluster import ClusterSettings, node_host
from e2e.cluster.build import ensure_nerdctl_built
from e2e.cluster.controlplane import LocalControlPlane
from e2e.cluster.node_images import buildah_id
from e2e.node.compose_stack import (
    BRIDGE,
    COMPOSE_FILE,
    IPAM_DIR,
    NETWORK,
    NGINX_IMAGE,
    ComposeStack,
    clear_leftovers,
    replica_lines,
)
from e2e.node.node_support import SERVER_IMAGE, decode_wav

pytestmark = pytest.mark.cluster

# Two replicas importing torch and warming up side by side on a shared 2-core machine.
HEALTHY_TIMEOUT_S = 300
REPLICAS = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def stack(real_node: LocalControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeStack]:
    """``compose up -d`` with both replicas healthy; ``compose down`` and the host restored after."""
    settings = ClusterSettings()
    if buildah_id(settings.cache_dir, NGINX_IMAGE) is None:
        pytest.fail(f"{NGINX_IMAGE} is not built: `make nginx-image`")
    started = time.monotonic()
    nerdctl = ensure_nerdctl_built(settings, print)
    real_node.load_images([SERVER_IMAGE, NGINX_IMAGE])
    work = tmp_path_factory.mktemp("compose")
    certs, models = work / "certs", work / "models"
    subprocess.run(
        [str(COMPOSE_FILE.parent / "nginx" / "gen-self-signed.sh"), str(certs), "localhost"], check=True
    )
    models.mkdir()  # the demo server reads no model, but the bind mount needs its source
    env = {
        "GSV_NGINX_IMAGE": NGINX_IMAGE,
        "GSV_SERVER_IMAGE": SERVER_IMAGE,
        "GSV_CERTS_DIR": str(certs),
        "GSV_MODELS_DIR": str(models),
        "GSV_REPLICAS": str(REPLICAS),
        "GSV_HTTPS_PORT": str(_free_port()),
        "GSV_HTTP_PORT": str(_free_port()),
    }
    compose = ComposeStack(nerdctl, real_node.node_containerd_socket(), work, env)
    try:
        compose.up()  # inside: an `up` that fails half-way has created things to remove
        took = compose.wait_healthy(HEALTHY_TIMEOUT_S)
        total = time.monotonic() - started
        print(
            f"compose up: {REPLICAS} replicas healthy {took:.0f}s after `up -d` ({total:.0f}s with the setup)"
        )
        yield compose
    finally:
        compose.compose("down", check=False, timeout=120)
        errors = compose.restore_host()
        assert not errors, errors


def test_a_run_that_died_leaves_nothing_that_stops_the_next() -> None:
    """Before the stack: the bridge and addresses a killed run leaves are what ``up`` clears."""
    clear_leftovers()  # what a real earlier run may have left: this test makes its own
    node_host.run("ip", "link", "add", BRIDGE, "type", "bridge")
    node_host.run("ip", "addr", "add", "10.4.1.1/24", "dev", BRIDGE)
    IPAM_DIR.mkdir(parents=True, exist_ok=True)
    (IPAM_DIR / "10.4.1.2").write_text("a container of the run that died\n")
    assert clear_leftovers() == [f"bridge {BRIDGE}", str(IPAM_DIR)]
    assert not node_host.link_exists(BRIDGE)
    assert not IPAM_DIR.exists()
    assert clear_leftovers() == []  # a clean host: nothing to do


def _client(stack: ComposeStack) -> httpx.Client:
    # The self-signed certificate is the trust anchor: TLS is verified, not switched off.
    context = ssl.create_default_context(cafile=str(stack.work / "certs" / "tls.crt"))
    return httpx.Client(
        base_url=f"https://localhost:{stack.env['GSV_HTTPS_PORT']}", verify=context, timeout=120
    )


def _speak(client: httpx.Client, text: str, seed: int) -> httpx.Response:
    return client.post(
        "/api/v1/tts", json={"text": text, "speaker_id": "demo", "language": "en", "seed": seed}
    )


def _wait_through_nginx(client: httpx.Client, timeout_s: float = 60) -> None:
    """nginx started before the replicas were up (nerdctl ignores service_healthy): wait for it."""
    deadline = time.monotonic() + timeout_s
    while client.get("/ready").status_code != 200:
        assert time.monotonic() < deadline, "nginx does not reach a ready replica"
        time.sleep(1)


def test_health_and_audio_over_https_through_nginx(stack: ComposeStack) -> None:
    with _client(stack) as client:
        _wait_through_nginx(client)
        health = client.get("/health")
        assert health.status_code == 200
        assert health.json() == {"status": "ok"}

        started = time.monotonic()
        reply = _speak(client, "Hello through nginx.", seed=1)
        assert reply.status_code == 200, reply.text[:500]
        assert reply.headers["content-type"].startswith("audio/wav")
        rate, frames = decode_wav(reply.content)
        assert rate > 0
        assert frames > 0
        took = time.monotonic() - started
        print(f"POST /api/v1/tts over HTTPS through nginx: {len(reply.content)} bytes of WAV in {took:.1f}s")

    # Plain HTTP only redirects to the published HTTPS port.
    http = f"http://127.0.0.1:{stack.env['GSV_HTTP_PORT']}"
    redirect = httpx.get(f"{http}/api/v1/speakers", timeout=10)
    assert redirect.status_code == 308
    assert redirect.headers["location"] == f"https://127.0.0.1:{stack.env['GSV_HTTPS_PORT']}/api/v1/speakers"


def test_requests_spread_over_the_replicas(stack: ComposeStack) -> None:
    requests = 2 * REPLICAS
    with _client(stack) as client:
        _wait_through_nginx(client)
        for seed in range(100, 100 + requests):  # distinct seeds: no answer comes from a cache
            reply = _speak(client, "Spread.", seed=seed)
            assert reply.status_code == 200, reply.text[:500]
    served = {
        replica: sum(1 for line in lines if line.get("route") == "/api/v1/tts" and line.get("status") == 200)
        for replica, lines in replica_lines(stack.logs("server")).items()
    }
    print(f"TTS answers per replica (compose logs): {served}")
    assert len(served) == REPLICAS, served
    assert all(count >= 1 for count in served.values()), served


def test_per_client_rate_limit_answers_429_and_spares_the_probes(stack: ComposeStack) -> None:
    with _client(stack) as client:
        _wait_through_nginx(client)
        time.sleep(2.5)  # earlier requests' share of the bucket drains at 10 r/s
        # 10 r/s with a burst of 20: a quick run of 60 on one connection overflows it.
        codes = [client.get("/api/v1/speakers").status_code for _ in range(60)]
        assert codes[0] == 200, codes
        assert 429 in codes, codes
        # Probes are not rate limited, even right after the bucket ran over.
        assert all(client.get("/health").status_code == 200 for _ in range(10))
    print(f"rate limit: {codes.count(200)} answered, {codes.count(429)} got 429")


def test_down_removes_the_stack_and_what_it_added_to_the_host(stack: ComposeStack) -> None:
    started = time.monotonic()
    stack.down()
    assert stack.containers() == []
    networks = stack.run("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert NETWORK not in networks, networks
    errors = stack.restore_host()
    assert not errors, errors
    assert stack.added_chains() == []
    assert not IPAM_DIR.exists()
    print(f"compose down and host restored in {time.monotonic() - started:.1f}s")
