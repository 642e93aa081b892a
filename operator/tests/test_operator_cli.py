"""The `gpt-sovits-operator` console script: help, settings validation, no torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gsv_common.settings_cli import SettingsError, load_settings
from voice_operator.handlers import _bounded_backoff
from voice_operator.settings import OperatorSettings


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def test_help_documents_every_option(console_script) -> None:
    result = _run([console_script("gpt-sovits-operator"), "--help"])
    assert result.returncode == 0, result.stderr
    for name in OperatorSettings.model_fields:
        assert "--" + name.replace("_", "-") in result.stdout, name
        assert "VOICE_OPERATOR_" + name.upper() in result.stdout, name


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--liveness-port", "0"], "--liveness-port (VOICE_OPERATOR_LIVENESS_PORT)"),
        (["--peering-name", "Not_A_Label"], "--peering-name (VOICE_OPERATOR_PEERING_NAME)"),
        (
            ["--watch-server-timeout-s", "600", "--watch-client-timeout-s", "300"],
            "watch_client_timeout_s must exceed watch_server_timeout_s",
        ),
    ],
)
def test_bad_value_exits_2_with_clear_message(console_script, args, expected) -> None:
    result = _run([console_script("gpt-sovits-operator"), *args])
    assert result.returncode == 2
    assert "gpt-sovits-operator: invalid settings" in result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_namespaces_accept_a_comma_list() -> None:
    settings = load_settings(OperatorSettings, ["--namespaces", "voice,staging"])
    assert settings.namespaces == ["voice", "staging"]


def test_empty_namespace_name_is_refused() -> None:
    with pytest.raises(SettingsError, match="invalid namespace name"):
        load_settings(OperatorSettings, ["--namespaces", '["voice", ""]'])


def test_operator_never_imports_torch() -> None:
    code = (
        "import sys, voice_operator.cli, voice_operator.runner, voice_operator.handlers\n"
        "assert 'torch' not in sys.modules, 'operator imported torch'"
    )
    result = _run([sys.executable, "-c", code])
    assert result.returncode == 0, result.stderr


def test_backoff_doubles_and_is_capped() -> None:
    assert _bounded_backoff(10) == [1.0, 2.0, 4.0, 8.0, 10]
    assert _bounded_backoff(1) == [1]


def test_peering_priority_is_random_unless_given() -> None:
    from voice_operator.runner import peering_priority

    assert peering_priority(load_settings(OperatorSettings, ["--peering-priority", "7"])) == 7
    unset = load_settings(OperatorSettings, [])
    drawn = {peering_priority(unset) for _ in range(20)}
    assert len(drawn) > 1
    assert all(0 <= p < 2**31 for p in drawn)


def test_peering_identity_needs_no_login_name() -> None:
    from voice_operator.runner import peering_identity

    named = load_settings(OperatorSettings, ["--pod-name", "gsv-operator-5f5c-d7vh4"])
    assert peering_identity(named) == "gsv-operator-5f5c-d7vh4"
    unset = load_settings(OperatorSettings, [])
    assert peering_identity(unset) != peering_identity(unset)


def test_the_operator_gives_kopf_its_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    # The image runs as uid 65532, which need not be in /etc/passwd: kopf's default identity
    # (getpass.getuser()) raised there and the operator pod crash-looped.
    import kopf

    from voice_operator import runner

    seen: dict[str, object] = {}

    async def fake_operator(**kwargs: object) -> None:
        seen.update(kwargs)

    monkeypatch.setattr(kopf, "operator", fake_operator)
    runner.run(load_settings(OperatorSettings, ["--pod-name", "op-0", "--namespaces", "voices"]))
    assert seen["identity"] == "op-0"


def test_in_cluster_login_uses_the_injected_service_address(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A cluster without DNS (the local one) cannot resolve kopf's kubernetes.default.svc.
    import kopf
    from kubernetes.config import incluster_config

    from voice_operator.handlers import login

    (tmp_path / "token").write_text("t0ken")
    (tmp_path / "ca.crt").write_text("not read here")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(tmp_path / "token"))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(tmp_path / "ca.crt"))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    account = kopf.ConnectionInfo(server="https://kubernetes.default.svc", token="t0ken")
    monkeypatch.setattr(kopf, "login_with_service_account", lambda **_: account)

    info = login()
    assert info is not None
    assert info.server == "https://10.0.0.1:443"
    assert info.token == "t0ken"
