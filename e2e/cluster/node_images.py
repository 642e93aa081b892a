"""Images built with buildah (``make images``), loaded into the real node's containerd.

There is no registry: an image is streamed from buildah's storage as a docker-archive straight
into ``ctr images import``. The buildah image id is kept as a label on the containerd image, so
an unchanged image is never imported twice (containerd's store outlives clusters).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from e2e.cluster.node_config import NodeLayout

ID_LABEL = "gsv-e2e/buildah-id"
# The images `make node-images` builds (the Makefile's IMAGE_TAG).
SERVER_IMAGE = "gpt-sovits-k8s/server:0.1.0"
OPERATOR_IMAGE = "gpt-sovits-k8s/operator:0.1.0"
# Where `make images` keeps buildah's storage (its BUILDAH variable): inside the cache folder.
BUILDAH_RUNROOT = "/run/gsv-buildah"
Progress = Callable[[str], None]


class ImageError(RuntimeError):
    """An image is not built, or could not be loaded."""


def containerd_name(ref: str) -> str:
    """The name the CRI looks up for ``ref`` (``a/b:t`` -> ``docker.io/a/b:t``), as kubelets do."""
    first = ref.split("/", 1)[0]
    if "/" in ref and ("." in first or ":" in first or first == "localhost"):
        return ref
    return f"docker.io/{ref}" if "/" in ref else f"docker.io/library/{ref}"


def _ctr(socket: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    ctr = shutil.which("ctr") or "ctr"
    cmd = [ctr, "--address", str(socket), "--namespace", "k8s.io", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def buildah(cache_dir: Path) -> list[str]:
    """The buildah command on the project's image storage."""
    binary = shutil.which("buildah") or "buildah"
    return [binary, "--root", str(cache_dir / "buildah" / "storage"), "--runroot", BUILDAH_RUNROOT]


def buildah_id(cache_dir: Path, ref: str) -> str | None:
    """Image id of ``ref`` in buildah's storage, or ``None`` when it was never built."""
    if shutil.which("buildah") is None:
        return None
    result = subprocess.run(
        [*buildah(cache_dir), "images", "--noheading", "--no-trunc", "--format", "{{.ID}}", ref],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    ids = result.stdout.split()
    return ids[0] if result.returncode == 0 and ids else None


def loaded_id(socket: Path, ref: str) -> str | None:
    """The buildah id recorded on the containerd image ``ref``, if that image is loaded."""
    result = _ctr(socket, "images", "ls", f"name=={containerd_name(ref)}")
    for line in result.stdout.splitlines()[1:]:
        for label in line.split()[-1].split(","):
            key, _, value = label.partition("=")
            if key == ID_LABEL:
                return value
    return None


def load(layout: NodeLayout, cache_dir: Path, ref: str, say: Progress) -> bool:
    """Make ``ref`` (as built by buildah) present in the node's containerd; True if it imported."""
    wanted = buildah_id(cache_dir, ref)
    if wanted is None:
        raise ImageError(f'image {ref} is not built: `make images IMAGES="operator server"`')
    socket = layout.containerd_socket
    if loaded_id(socket, ref) == wanted:
        return False
    name = containerd_name(ref)
    say(f"loading {ref} into the node's containerd")
    started = time.monotonic()
    ctr = shutil.which("ctr") or "ctr"
    # One stream, no archive on disk: the server image is several GB.
    push = subprocess.Popen(
        [*buildah(cache_dir), "push", "--quiet", ref, f"docker-archive:/dev/stdout:{name}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    imported = subprocess.run(
        [ctr, "--address", str(socket), "--namespace", "k8s.io", "images", "import", "-"],
        stdin=push.stdout, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    assert push.stdout is not None
    push.stdout.close()
    push_err = push.stderr.read().decode(errors="replace") if push.stderr else ""
    if push.wait(timeout=60) != 0 or imported.returncode != 0:
        raise ImageError(f"loading {ref} failed: {push_err.strip()} {imported.stderr.strip()}")
    labelled = _ctr(socket, "images", "label", name, f"{ID_LABEL}={wanted}")
    if labelled.returncode != 0:
        raise ImageError(f"labelling {name} failed: {labelled.stderr.strip()}")
    say(f"loaded {ref} in {time.monotonic() - started:.0f}s")
    return True
