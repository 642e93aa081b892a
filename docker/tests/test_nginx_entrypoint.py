"""docker/nginx/docker-entrypoint.sh renders the template as the official nginx image does."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml
from test_docker_nginx import render_template


def test_entrypoint_substitutes_only_the_filtered_variables(docker_dir: Path, tmp_path: Path) -> None:
    compose = yaml.safe_load((docker_dir / "docker-compose.yml").read_text())
    environment = {k: str(v) for k, v in compose["services"]["nginx"]["environment"].items()}
    environment["GSV_HTTPS_PUBLIC_PORT"] = "8443"  # the file's default, before interpolation
    output = tmp_path / "conf.d"
    result = subprocess.run(
        [str(docker_dir / "nginx" / "docker-entrypoint.sh"), "nginx", "-v"],
        env={
            "PATH": os.environ["PATH"],
            **environment,
            "NGINX_ENVSUBST_TEMPLATE_DIR": str(docker_dir / "nginx" / "templates"),
            "NGINX_ENVSUBST_OUTPUT_DIR": str(output),
            # Not a GSV_ name: stays out of the substitution even though it is set.
            "host": "not-substituted",
        },
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rendered = (output / "default.conf").read_text()
    template = (docker_dir / "nginx" / "templates" / "default.conf.template").read_text()
    gsv = {k: v for k, v in environment.items() if k.startswith("GSV_")}
    assert rendered == render_template(template, gsv)
    assert "$host" in rendered
    assert "$binary_remote_addr" in rendered
