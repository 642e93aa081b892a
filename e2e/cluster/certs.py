"""Throw-away PKI for the local control plane, made with the ``openssl`` command line tool.

One CA signs the serving certificates (apiserver, kwok, metrics-server) and the admin client
certificate; a second CA signs only the front-proxy client the aggregation layer presents to
metrics-server, so no ordinary client certificate can impersonate it. The service-account key
pair signs and verifies tokens.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# Names the in-cluster clients use for the apiserver, plus loopback for everything on the host.
APISERVER_SANS = (
    "IP:127.0.0.1",
    "IP:10.0.0.1",
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
)
LOOPBACK_SANS = ("IP:127.0.0.1", "DNS:localhost")
FRONT_PROXY_CLIENT = "front-proxy-client"
_DAYS = "3650"


class CertificateError(RuntimeError):
    """openssl is missing or one of its commands failed."""


@dataclass(frozen=True)
class Pki:
    """Paths of every key and certificate under one folder."""

    root: Path

    def crt(self, name: str) -> Path:
        """Certificate ``<name>.crt``."""
        return self.root / f"{name}.crt"

    def key(self, name: str) -> Path:
        """Private key ``<name>.key``."""
        return self.root / f"{name}.key"

    @property
    def sa_key(self) -> Path:
        """Service-account signing key."""
        return self.root / "sa.key"

    @property
    def sa_pub(self) -> Path:
        """Service-account verification key."""
        return self.root / "sa.pub"


def _openssl(*args: str) -> None:
    exe = shutil.which("openssl")
    if exe is None:
        raise CertificateError("the `openssl` command is not on PATH; install the openssl package")
    result = subprocess.run([exe, *args], capture_output=True, text=True, check=False, timeout=60)
    if result.returncode != 0:
        raise CertificateError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def _new_ca(pki: Pki, name: str, common_name: str) -> None:
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", _DAYS,
        "-keyout", str(pki.key(name)), "-out", str(pki.crt(name)), "-subj", f"/CN={common_name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    )  # fmt: skip


def _new_leaf(pki: Pki, name: str, ca: str, subject: str, usage: str, sans: tuple[str, ...] = ()) -> None:
    """Key + certificate ``name`` signed by ``ca``; ``usage`` is serverAuth or clientAuth."""
    csr = pki.root / f"{name}.csr"
    ext = pki.root / f"{name}.ext"
    lines = [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        f"extendedKeyUsage={usage}",
    ]
    if sans:
        lines.append("subjectAltName=" + ",".join(sans))
    ext.write_text("\n".join(lines) + "\n")
    _openssl(
        "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(pki.key(name)),
        "-out", str(csr), "-subj", subject,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(pki.crt(ca)), "-CAkey", str(pki.key(ca)),
        "-CAcreateserial", "-sha256", "-days", _DAYS, "-extfile", str(ext), "-out", str(pki.crt(name)),
    )  # fmt: skip
    csr.unlink()
    ext.unlink()


def ensure_client_cert(pki: Pki, name: str, subject: str) -> None:
    """A client certificate ``name`` signed by the cluster CA, made once (e.g. a node's identity)."""
    if not (pki.crt(name).is_file() and pki.key(name).is_file()):
        _new_leaf(pki, name, "ca", subject, "clientAuth")


def ensure_serving_cert(pki: Pki, name: str, subject: str, sans: tuple[str, ...]) -> None:
    """A serving certificate ``name`` signed by the cluster CA, made once (an add-on's listener)."""
    if not (pki.crt(name).is_file() and pki.key(name).is_file()):
        _new_leaf(pki, name, "ca", subject, "serverAuth", sans)


def ensure_pki(root: Path) -> Pki:
    """Create the PKI under ``root`` unless it is already complete; returns its paths."""
    pki = Pki(root)
    done = root / ".complete"
    if done.is_file():
        return pki
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)
    _new_ca(pki, "ca", "gsv-e2e-ca")
    _new_ca(pki, "front-proxy-ca", "gsv-e2e-front-proxy-ca")
    _new_leaf(pki, "apiserver", "ca", "/CN=kube-apiserver", "serverAuth", APISERVER_SANS)
    # system:masters is the group RBAC lets do anything: the admin identity of tests and components.
    _new_leaf(pki, "admin", "ca", "/O=system:masters/CN=admin", "clientAuth")
    _new_leaf(pki, "kwok", "ca", "/CN=kwok", "serverAuth", LOOPBACK_SANS)
    _new_leaf(
        pki,
        "metrics-server",
        "ca",
        "/CN=metrics-server",
        "serverAuth",
        (*LOOPBACK_SANS, "DNS:metrics-server.kube-system.svc"),
    )
    _new_leaf(pki, FRONT_PROXY_CLIENT, "front-proxy-ca", f"/CN={FRONT_PROXY_CLIENT}", "clientAuth")
    _openssl("genrsa", "-out", str(pki.sa_key), "2048")
    _openssl("rsa", "-in", str(pki.sa_key), "-pubout", "-out", str(pki.sa_pub))
    done.write_text("ok\n")
    return pki
