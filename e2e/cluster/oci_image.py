"""A minimal OCI image-layout tarball writer (one layer), for images that need no build tool.

The real node's pause image is one static binary; writing its image directly avoids needing a
registry or buildah for the node itself. Output is deterministic (fixed mtimes and owners), so the
same binary always yields the same image digest.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_PASSWD = "root:x:0:0:root:/:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n"
_GROUP = "root:x:0:\nnogroup:x:65534:\n"


@dataclass(frozen=True)
class ImageSpec:
    """What goes into the image: files (path in image -> host file) and its run configuration."""

    name: str  # repository without tag, e.g. localhost/gsv-e2e/pause
    tag: str
    files: dict[str, Path]
    entrypoint: list[str]
    user: str = "65535:65535"
    env: list[str] = field(default_factory=lambda: ["PATH=/"])

    @property
    def ref(self) -> str:
        """``name:tag``."""
        return f"{self.name}:{self.tag}"


def _add(tar: tarfile.TarFile, name: str, data: bytes | None = None, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name)
    info.mtime = 0
    info.uid = info.gid = 0
    info.mode = mode
    if data is None:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def _layer(spec: ImageSpec) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for folder in ("dev", "proc", "sys", "etc", "tmp"):
            _add(tar, folder, mode=0o1777 if folder == "tmp" else 0o755)
        _add(tar, "etc/passwd", _PASSWD.encode(), 0o644)
        _add(tar, "etc/group", _GROUP.encode(), 0o644)
        for target, source in sorted(spec.files.items()):
            _add(tar, target.lstrip("/"), source.read_bytes(), 0o755)
    return raw.getvalue()


def _blob(tar: tarfile.TarFile, data: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    _add(tar, f"blobs/sha256/{digest}", data, 0o644)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def write_image(spec: ImageSpec, out: Path) -> str:
    """Write ``spec`` as an OCI image-layout tar at ``out``; returns the manifest digest."""
    layer_tar = _layer(spec)
    layer_gz = gzip.compress(layer_tar, mtime=0)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": spec.entrypoint, "User": spec.user, "Env": spec.env},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(layer_tar).hexdigest()}"]},
    }
    tmp = out.with_suffix(".tmp")
    with tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, "blobs")
        _add(tar, "blobs/sha256")
        layer = _blob(tar, layer_gz)
        config_desc = _blob(tar, json.dumps(config, sort_keys=True).encode())
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config_desc},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}],
        }
        manifest_desc = _blob(tar, json.dumps(manifest, sort_keys=True).encode())
        index = {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    **manifest_desc,
                    # containerd names the imported image after this annotation.
                    "annotations": {
                        "io.containerd.image.name": spec.ref,
                        "org.opencontainers.image.ref.name": spec.tag,
                    },
                }
            ],
        }
        _add(tar, "oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode(), 0o644)
        _add(tar, "index.json", json.dumps(index, sort_keys=True).encode(), 0o644)
    tmp.replace(out)
    return str(manifest_desc["digest"])
