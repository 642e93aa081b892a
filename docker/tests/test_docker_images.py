"""The Dockerfiles: lint clean, non-root, health-checked, and the operator image without torch."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest


@pytest.mark.parametrize("name", ["Dockerfile.server", "Dockerfile.operator"])
def test_hadolint_finds_nothing(hadolint: str, docker_dir: Path, name: str) -> None:
    result = subprocess.run(
        [hadolint, "--no-color", str(docker_dir / name)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_bad_dockerfile(hadolint: str, tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:latest\nRUN cd /tmp && apt-get install curl\n")
    result = subprocess.run([hadolint, "--no-color", str(bad)], capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # the `latest` tag


def _instructions(path: Path) -> list[tuple[str, str]]:
    lines = path.read_text().replace("\\\n", " ").splitlines()
    pairs = []
    for line in lines:
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


@pytest.mark.parametrize("name", ["Dockerfile.server", "Dockerfile.operator"])
def test_runtime_stage_is_non_root_and_distroless(docker_dir: Path, name: str) -> None:
    instructions = _instructions(docker_dir / name)
    last_from = max(i for i, (k, _) in enumerate(instructions) if k == "FROM")
    runtime = instructions[last_from:]
    assert ("USER", "65532:65532") in runtime
    assert not any(k == "RUN" for k, _ in runtime), "the runtime stage must not need a shell"
    assert any(k == "ARG" and "distroless" in v for k, v in instructions)


def test_server_image_has_healthcheck_on_liveness_and_model_volume(docker_dir: Path) -> None:
    instructions = dict(_instructions(docker_dir / "Dockerfile.server"))
    assert "/health" in instructions["HEALTHCHECK"]
    assert "/models" in instructions["VOLUME"]


def test_operator_image_installs_only_the_operator_extra(docker_dir: Path) -> None:
    commands = " ".join(v for k, v in _instructions(docker_dir / "Dockerfile.operator") if k == "RUN")
    assert '".[operator]"' in commands
    assert "server]" not in commands
    assert "torch" not in commands.lower()
    assert "torch" not in (docker_dir / "requirements-operator.txt").read_text()


@pytest.mark.parametrize("extra", ["server", "operator"])
def test_dependency_lists_match_pyproject(docker_dir: Path, extra: str) -> None:
    # The images' dependency layers install these files; a stale one would ship other versions.
    from docker.requirements import requirements

    listed = (docker_dir / f"requirements-{extra}.txt").read_text()
    assert listed == requirements(extra), f"regenerate: python docker/requirements.py {extra}"
    copied = [v for k, v in _instructions(docker_dir / f"Dockerfile.{extra}") if k == "COPY"]
    assert f"docker/requirements-{extra}.txt /requirements.txt" in copied
