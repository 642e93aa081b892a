"""The OCI image-layout writer: digests that check out, named for containerd, deterministic."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

from e2e.cluster.oci_image import ImageSpec, write_image


def _spec(tmp_path: Path) -> ImageSpec:
    binary = tmp_path / "pause"
    binary.write_bytes(b"\x7fELF pretend")
    return ImageSpec("localhost/gsv-e2e/pause", "v1", {"/pause": binary}, ["/pause"])


def _blob(tar: tarfile.TarFile, digest: str) -> bytes:
    member = tar.extractfile(f"blobs/sha256/{digest.removeprefix('sha256:')}")
    assert member is not None
    data = member.read()
    assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
    return data


def test_image_layout_is_complete_and_consistent(tmp_path: Path) -> None:
    out = tmp_path / "image.tar"
    digest = write_image(_spec(tmp_path), out)
    with tarfile.open(out) as tar:
        index = json.loads(tar.extractfile("index.json").read())  # type: ignore[union-attr]
        assert json.loads(tar.extractfile("oci-layout").read()) == {"imageLayoutVersion": "1.0.0"}  # type: ignore[union-attr]
        entry = index["manifests"][0]
        assert entry["digest"] == digest
        assert entry["annotations"]["io.containerd.image.name"] == "localhost/gsv-e2e/pause:v1"
        manifest = json.loads(_blob(tar, digest))
        config = json.loads(_blob(tar, manifest["config"]["digest"]))
        layer = gzip.decompress(_blob(tar, manifest["layers"][0]["digest"]))
    assert config["config"]["Entrypoint"] == ["/pause"]
    assert config["config"]["User"] == "65535:65535"
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(layer).hexdigest()]
    with tarfile.open(fileobj=io.BytesIO(layer)) as rootfs:
        pause = rootfs.getmember("pause")
        assert pause.mode == 0o755
        assert rootfs.extractfile(pause).read() == b"\x7fELF pretend"  # type: ignore[union-attr]
        assert "etc/passwd" in rootfs.getnames()


def test_same_input_same_digest(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    first = write_image(spec, tmp_path / "a.tar")
    assert write_image(spec, tmp_path / "b.tar") == first
    (tmp_path / "pause").write_bytes(b"other")
    assert write_image(spec, tmp_path / "c.tar") != first
