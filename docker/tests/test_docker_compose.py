"""docker-compose.yml loaded as `docker compose config` would, then checked for what it promises."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import yaml


def _load(
    composecheck: str, path: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [composecheck, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_compose_file_is_valid_and_resolves(composecheck: str, docker_dir: Path) -> None:
    result = _load(composecheck, docker_dir / "docker-compose.yml")
    assert result.returncode == 0, result.stderr
    project = yaml.safe_load(result.stdout)
    server, nginx = project["services"]["server"], project["services"]["nginx"]
    assert server["deploy"]["replicas"] == 2
    assert server["read_only"] is True
    assert any(v["target"] == "/models" and v["read_only"] for v in server["volumes"])
    assert "/ready" in " ".join(server["healthcheck"]["test"])
    assert nginx["depends_on"]["server"]["condition"] == "service_healthy"
    assert {p["target"] for p in nginx["ports"]} == {8080, 8443}


def test_replicas_and_ports_follow_the_environment(composecheck: str, docker_dir: Path) -> None:
    result = _load(
        composecheck, docker_dir / "docker-compose.yml", {"GSV_REPLICAS": "4", "GSV_HTTPS_PORT": "9443"}
    )
    assert result.returncode == 0, result.stderr
    project = yaml.safe_load(result.stdout)
    assert project["services"]["server"]["deploy"]["replicas"] == 4
    published = {p["published"] for p in project["services"]["nginx"]["ports"]}
    assert "9443" in published


def test_loader_rejects_an_invalid_file(composecheck: str, tmp_path: Path) -> None:
    bad = tmp_path / "compose.yml"
    bad.write_text("services:\n  a:\n    image: x\n    deploy: {replicas: lots}\n")
    result = _load(composecheck, bad)
    assert result.returncode == 1
    assert "replicas" in result.stderr


def test_server_settings_in_compose_and_image_are_known_to_the_server(docker_dir: Path) -> None:
    from voice_server.settings import ENV_PREFIX, ServerSettings

    compose = yaml.safe_load((docker_dir / "docker-compose.yml").read_text())
    names = set(compose["services"]["server"]["environment"])
    dockerfile = (docker_dir / "Dockerfile.server").read_text()
    names |= set(re.findall(rf"\b({ENV_PREFIX}[A-Z_]+)=", dockerfile))
    assert names
    unknown = {n for n in names if n.removeprefix(ENV_PREFIX).lower() not in ServerSettings.model_fields}
    assert not unknown


def test_nginx_image_and_certificates_can_be_swapped_without_editing_the_file(
    composecheck: str, docker_dir: Path, tmp_path: Path
) -> None:
    default = yaml.safe_load(_load(composecheck, docker_dir / "docker-compose.yml").stdout)
    assert default["services"]["nginx"]["image"] == "nginx:1.27-alpine"
    result = _load(
        composecheck,
        docker_dir / "docker-compose.yml",
        {"GSV_NGINX_IMAGE": "gpt-sovits-k8s/nginx:0.1.0", "GSV_CERTS_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    nginx = yaml.safe_load(result.stdout)["services"]["nginx"]
    assert nginx["image"] == "gpt-sovits-k8s/nginx:0.1.0"
    certs = [v for v in nginx["volumes"] if v["target"] == "/etc/nginx/certs"]
    assert certs[0]["source"] == str(tmp_path)
    assert certs[0]["read_only"] is True
