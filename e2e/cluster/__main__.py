"""``python -m e2e.cluster up|down|status|build|env [--flags]``: manage the local cluster by hand.

build   build (or find cached) the pinned binaries
up      build if needed, start the cluster, print how to use it
down    stop every process of the cluster
status  JSON status; exit code 0 only when the API answers
env     shell lines to eval: KUBECONFIG and PATH for kubectl/helm
images  load buildah-built images (GSV_E2E_IMAGES) into the running real node's containerd
"""

from __future__ import annotations

import json
import logging
import shlex
import sys
from collections.abc import Sequence

from e2e.cluster.build import BuildError, ensure_built
from e2e.cluster.certs import CertificateError
from e2e.cluster.controlplane import LocalControlPlane
from e2e.cluster.metrics_pipeline import MetricsPipelineError
from e2e.cluster.node import NodeError
from e2e.cluster.node_images import ImageError
from e2e.cluster.processes import ComponentError
from e2e.cluster.settings import ENV_PREFIX, ClusterSettings
from gsv_common.logs import configure_logging
from gsv_common.settings_cli import load_settings_or_exit

PROG = "python -m e2e.cluster"
COMMANDS = ("build", "up", "down", "status", "env", "images")
log = logging.getLogger("e2e.cluster")


def _usage() -> str:
    return f"usage: {PROG} {{{'|'.join(COMMANDS)}}} [--help] [flags]\n" + (__doc__ or "").split("\n", 2)[2]


def run(command: str, settings: ClusterSettings) -> int:
    """Execute one command; returns the process exit code."""
    if command == "build":
        toolset = ensure_built(settings, log.info)
        print(toolset.bin_dir)
        return 0
    if command == "up":
        cluster = LocalControlPlane(settings, ensure_built(settings, log.info), log.info).up()
        print(f"export KUBECONFIG={shlex.quote(str(cluster.kubeconfig))}")
        print(f"export PATH={shlex.quote(str(cluster.bin_dir))}:$PATH")
        return 0
    plane = LocalControlPlane(settings, progress=log.info)
    if command == "down":
        plane.down()
        log.info("cluster %r stopped", settings.name)
        return 0
    if command == "images":
        if not plane.runs_real_node():
            log.info(
                "cluster %r runs no real node; the node tests load the images when they start", settings.name
            )
            return 0
        plane.load_images(settings.images)
        return 0
    if command == "status":
        status = plane.status()
        print(json.dumps(status, indent=2))
        return 0 if status["api_ready"] else 1
    cluster = plane.cluster()
    print(f"export KUBECONFIG={shlex.quote(str(cluster.kubeconfig))}")
    print(f"export PATH={shlex.quote(str(cluster.bin_dir))}:$PATH")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; failures print one clear message (component and log file) and exit 1."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in COMMANDS:
        sys.stderr.write(_usage())
        return 2
    settings = load_settings_or_exit(ClusterSettings, args[1:], prog=f"{PROG} {args[0]}")
    configure_logging(program="e2e-cluster", level=settings.log_level, fmt=settings.log_format)
    try:
        return run(args[0], settings)
    except (
        BuildError,
        ComponentError,
        CertificateError,
        NodeError,
        ImageError,
        MetricsPipelineError,
        TimeoutError,
    ) as err:
        log.error("%s", err)
        return 1
    except KeyboardInterrupt:
        log.error("interrupted; run `%s down` to stop anything left (settings from %s*)", PROG, ENV_PREFIX)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
