"""The `gpt-sovits-server` console script: help, settings validation, and serving over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from voice_server.settings import ServerSettings


def _run(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, check=False)


def test_help_documents_every_option(console_script) -> None:
    result = _run([console_script("gpt-sovits-server"), "--help"])
    assert result.returncode == 0, result.stderr
    for name in ServerSettings.model_fields:
        assert "--" + name.replace("_", "-") in result.stdout, name
        assert "VOICE_SERVER_" + name.upper() in result.stdout, name


def test_help_does_not_import_torch_or_fastapi() -> None:
    code = (
        "import sys; from voice_server.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules and 'fastapi' not in sys.modules, 'heavy import'"
    )
    result = _run([sys.executable, "-c", code])
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--port", "70000"], "--port (VOICE_SERVER_PORT): Input should be less than or equal to 65535"),
        (["--precision", "fp8"], "--precision (VOICE_SERVER_PRECISION): Input should be"),
        (["--device", "tpu"], "--device (VOICE_SERVER_DEVICE): String should match pattern"),
        (["--max-batch-size", "0"], "--max-batch-size (VOICE_SERVER_MAX_BATCH_SIZE)"),
        (["--demo-size", "huge"], "--demo-size (VOICE_SERVER_DEMO_SIZE): Input should be"),
    ],
)
def test_bad_flag_value_exits_2_naming_the_option(console_script, args, expected) -> None:
    result = _run([console_script("gpt-sovits-server"), *args])
    assert result.returncode == 2
    assert "gpt-sovits-server: invalid settings" in result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_environment_value_is_reported_like_a_flag(console_script) -> None:
    env = {**os.environ, "VOICE_SERVER_MAX_QUEUE": "lots"}
    result = _run([console_script("gpt-sovits-server")], env=env)
    assert result.returncode == 2
    assert "--max-queue (VOICE_SERVER_MAX_QUEUE): Input should be a valid integer" in result.stderr


def test_inconsistent_options_are_refused(console_script) -> None:
    result = _run([console_script("gpt-sovits-server"), "--api-key", "a", "--api-key-file", "/k"])
    assert result.returncode == 2
    assert "set api_key or api_key_file, not both" in result.stderr


def test_server_answers_health_and_ready_over_http(console_script, free_port) -> None:
    proc = subprocess.Popen(
        [
            console_script("gpt-sovits-server"),
            *("--port", str(free_port), "--host", "127.0.0.1", "--drain-delay-s", "0"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{free_port}/health", timeout=2)
                break
            except httpx.TransportError as err:
                if proc.poll() is not None or time.monotonic() > deadline:
                    output = proc.stdout.read() if proc.stdout else ""
                    raise AssertionError(f"server did not start: {output}") from err
                time.sleep(0.2)
        assert health.status_code == 200
        assert health.json() == {"status": "ok"}
        ready = httpx.get(f"http://127.0.0.1:{free_port}/ready", timeout=2)
        assert (ready.status_code, ready.json()) == (503, {"status": "no model", "models": {}})
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    # SIGTERM drains (nothing in flight here) and exits cleanly.
    assert proc.returncode == 0
    assert "drained" in output
    assert "server stopped" in output
    # Logs are JSON lines from our formatter.
    assert '"program": "gpt-sovits-server"' in output


def test_text_frontend_files_are_checked_at_start(console_script, tmp_path) -> None:
    # An incomplete G2PW folder stops the server at once, naming the option, instead of failing
    # the first Chinese request hours later.
    (tmp_path / "G2PWModel").mkdir()
    result = _run(
        [console_script("gpt-sovits-server"), "--model-dir", str(tmp_path), "--g2pw-model-dir", "G2PWModel"]
    )
    assert result.returncode == 2
    assert "g2pW.onnx" in result.stderr
    assert "g2pw_model_dir" in result.stderr or "g2pw-model-dir" in result.stderr


def test_text_frontend_paths_start_in_the_model_folder(tmp_path) -> None:
    settings = ServerSettings(model_dir=tmp_path, g2pw_model_dir="G2PW", ja_user_dict="/abs/userdict.csv")
    text = settings.text_settings()
    assert text.g2pw_model_dir == tmp_path / "G2PW"
    assert str(text.ja_user_dict) == "/abs/userdict.csv"
