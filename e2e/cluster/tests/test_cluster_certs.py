"""The generated PKI: a chain openssl verifies, the right identities and names."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from e2e.cluster.certs import ensure_pki


def _openssl(*args: str) -> str:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pki")
    ensure_pki(root)
    return root


def test_every_leaf_verifies_against_its_ca(pki_dir: Path) -> None:
    for leaf in ("apiserver", "admin", "kwok", "metrics-server"):
        assert "OK" in _openssl("verify", "-CAfile", str(pki_dir / "ca.crt"), str(pki_dir / f"{leaf}.crt"))
    front = pki_dir / "front-proxy-client.crt"
    assert "OK" in _openssl("verify", "-CAfile", str(pki_dir / "front-proxy-ca.crt"), str(front))
    # The front-proxy client must not be accepted as an ordinary client of the main CA.
    result = subprocess.run(
        ["openssl", "verify", "-CAfile", str(pki_dir / "ca.crt"), str(front)],
        capture_output=True,
        check=False,
    )
    assert result.returncode != 0


def test_identities_and_names(pki_dir: Path) -> None:
    admin = _openssl(
        "x509", "-in", str(pki_dir / "admin.crt"), "-noout", "-subject", "-ext", "extendedKeyUsage"
    )
    assert "O = system:masters" in admin
    assert "CN = admin" in admin
    assert "Client Authentication" in admin
    sans = _openssl("x509", "-in", str(pki_dir / "apiserver.crt"), "-noout", "-ext", "subjectAltName")
    for name in ("IP Address:127.0.0.1", "DNS:kubernetes.default.svc", "IP Address:10.0.0.1"):
        assert name in sans


def test_service_account_keys_match(pki_dir: Path) -> None:
    derived = _openssl("rsa", "-in", str(pki_dir / "sa.key"), "-pubout")
    assert derived == (pki_dir / "sa.pub").read_text()


def test_an_existing_pki_is_reused(pki_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "pki"
    shutil.copytree(pki_dir, copy)
    before = (copy / "ca.crt").read_bytes()
    ensure_pki(copy)
    assert (copy / "ca.crt").read_bytes() == before
