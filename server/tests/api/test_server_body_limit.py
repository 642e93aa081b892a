"""BodyLimitMiddleware over real HTTP, in front of an app that reads the whole body."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from voice_server.api.body_limit import BodyLimitMiddleware


async def _echo_size(request: Request) -> JSONResponse:
    return JSONResponse({"size": len(await request.body())})


@pytest.fixture
def url(free_port: int):
    app = BodyLimitMiddleware(Starlette(routes=[Route("/", _echo_size, methods=["POST"])]), max_bytes=2048)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{free_port}/"
    server.should_exit = True
    thread.join(timeout=10)


def _chunks(count: int, size: int = 512):
    for _ in range(count):
        yield b"z" * size


def test_body_within_limit_passes(url: str) -> None:
    assert httpx.post(url, content=b"a" * 2048).json() == {"size": 2048}
    assert httpx.post(url, content=_chunks(3)).json() == {"size": 1536}


def test_declared_length_over_limit_is_refused_before_reading(url: str) -> None:
    response = httpx.post(url, content=b"a" * 4096)
    assert response.status_code == 413
    assert response.json()["error"]["message"] == "request body exceeds 2048 bytes"


def test_chunked_body_over_limit_is_refused_while_streaming(url: str) -> None:
    response = httpx.post(url, content=_chunks(8))
    assert response.status_code == 413
    assert "exceeds 2048 bytes" in response.text
