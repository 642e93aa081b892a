"""SIGTERM with requests in flight: readiness off, new work refused with 503, none of the accepted lost."""

from __future__ import annotations

import concurrent.futures
import io
import signal
import subprocess
import time
from pathlib import Path

import httpx
import soundfile as sf
from server_api_helpers import ServerProcess, metric_value


def _wait(condition, timeout_s: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_sigterm_drains_in_flight_requests(console_script, free_port, demo_dir: Path, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port}"
    log = tmp_path / "server.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [
                console_script("gpt-sovits-server"),
                *("--demo", "--demo-dir", str(demo_dir), "--port", str(free_port), "--host", "127.0.0.1"),
                *("--max-tokens-per-sentence", "40", "--no-cache-enabled", "--drain-delay-s", "1"),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        ServerProcess(proc, url, log).wait_ready()
        text = " ".join(f"Draining sentence {i}." for i in range(4))
        with httpx.Client(timeout=120) as http, concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            in_flight = [
                pool.submit(
                    http.post, f"{url}/api/v1/tts", json={"text": text, "speaker_id": "demo", "seed": i}
                )
                for i in range(4)
            ]
            _wait(lambda: metric_value(http.get(f"{url}/metrics").text, "gsv_requests_in_flight") >= 4)
            proc.send_signal(signal.SIGTERM)
            _wait(lambda: http.get(f"{url}/ready").status_code == 503, timeout_s=10)
            assert http.get(f"{url}/ready").json()["status"] == "draining"
            late = http.post(f"{url}/api/v1/tts", json={"text": "Too late.", "speaker_id": "demo"})
            assert late.status_code == 503
            assert late.json()["error"]["code"] == "not_ready"
            assert int(late.headers["retry-after"]) >= 1
            answers = [future.result() for future in in_flight]
        assert [a.status_code for a in answers] == [200] * 4
        for answer in answers:
            audio, rate = sf.read(io.BytesIO(answer.content))
            assert rate == 32000
            assert audio.shape[0] > 0
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = log.read_text()
    assert proc.returncode == 0, output
    assert "drained" in output


def test_a_server_that_failed_exits_nonzero_with_the_reason_last(
    console_script, free_port, demo_dir: Path, tmp_path: Path
) -> None:
    # Kubernetes restarts it on /health; the exit code and the last log line (the pod's
    # termination message) then say why, so the VoiceService's status can name the cause.
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in demo_dir.iterdir():
        if path.is_file():
            (broken / path.name).write_bytes(path.read_bytes())
        else:
            (broken / path.name).symlink_to(path)
    gpt = next(broken.glob("*.ckpt"))
    gpt.write_bytes(gpt.read_bytes()[:4096])
    url = f"http://127.0.0.1:{free_port}"
    proc = subprocess.Popen(
        [
            console_script("gpt-sovits-server"),
            *("--demo", "--demo-dir", str(broken), "--port", str(free_port), "--host", "127.0.0.1"),
            *("--drain-delay-s", "0", "--log-format", "text"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with httpx.Client(timeout=5) as http:

            def unhealthy() -> bool:
                try:
                    return http.get(f"{url}/health").status_code == 503
                except httpx.TransportError:
                    return False

            _wait(unhealthy)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, output
    last = output.strip().splitlines()[-1]
    assert last.startswith("gpt-sovits-server: stopped after a failure: loading the model failed"), output
    assert gpt.name in last
