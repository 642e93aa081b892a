"""Cluster: a handle on a running Kubernetes API (local or given), as tests and tools use it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

# Pods are refused in a namespace until the controller manager has created its default account.
_DEFAULT_ACCOUNT_WAIT_S = 60.0
# How long a kubectl call may run when it sets no --timeout of its own.
KUBECTL_TIMEOUT_S = 60.0
# Beyond a kubectl call's own --timeout: time for it to give up and say so itself.
_KUBECTL_TIMEOUT_MARGIN_S = 30.0
_GO_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")
_GO_DURATION_UNITS_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def duration_s(value: str) -> float:
    """Seconds of a duration as kubectl's flags and Prometheus's rules write it (``90s``, ``2m``,
    ``1m30s``, ``0``)."""
    if value == "0":
        return 0.0
    parts = _GO_DURATION_PART.findall(value)
    if not parts or "".join(number + unit for number, unit in parts) != value:
        raise ValueError(f"{value!r} is not a duration such as 90s, 2m or 1m30s")
    return sum(float(number) * _GO_DURATION_UNITS_S[unit] for number, unit in parts)


def kubectl_timeout_s(args: Sequence[str]) -> float:
    """How long to let kubectl run with ``args``: its own ``--timeout=`` plus a margin, so that a
    wait it bounds itself is not killed first, else :data:`KUBECTL_TIMEOUT_S` (also the least it
    gets: kubectl reads 0 as "no limit" or "once", depending on the command)."""
    for arg in args:
        if not arg.startswith("--timeout="):
            continue
        value = arg.removeprefix("--timeout=")
        try:
            own = duration_s(value)
        except ValueError as error:
            raise ValueError(f"kubectl --timeout={value}: {error}") from error
        return max(own, KUBECTL_TIMEOUT_S) + _KUBECTL_TIMEOUT_MARGIN_S
    return KUBECTL_TIMEOUT_S


class KubectlError(subprocess.CalledProcessError):
    """kubectl failed; unlike its base class, the message includes what kubectl printed."""

    def __str__(self) -> str:
        detail = (self.stderr or self.stdout or "").strip()
        return f"{super().__str__()}\n{detail}"


@dataclass
class Cluster:
    """A reachable cluster: its kubeconfig, the folder with kubectl/helm, and its component logs.

    ``log_files`` is empty for a cluster this project did not start.
    """

    kubeconfig: Path
    bin_dir: Path
    log_files: dict[str, Path] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        """``os.environ`` plus KUBECONFIG and PATH with ``bin_dir`` first, for subprocesses."""
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig)
        env["PATH"] = os.pathsep.join([str(self.bin_dir), env.get("PATH", "")])
        return env

    def kubectl_path(self) -> str:
        """kubectl from ``bin_dir``, else from PATH."""
        local = self.bin_dir / "kubectl"
        if local.is_file():
            return str(local)
        found = shutil.which("kubectl")
        if found is None:
            raise FileNotFoundError(f"kubectl is neither in {self.bin_dir} nor on PATH")
        return found

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this cluster; raise :class:`KubectlError` on failure when ``check``.

        ``timeout`` (seconds) defaults to :func:`kubectl_timeout_s` of ``args``.
        """
        cmd = [self.kubectl_path(), "--kubeconfig", str(self.kubeconfig), *args]
        limit = kubectl_timeout_s(args) if timeout is None else timeout
        result = subprocess.run(
            cmd, input=input, capture_output=True, text=True, env=self.env(), timeout=limit, check=False
        )
        if check and result.returncode != 0:
            raise KubectlError(result.returncode, cmd, result.stdout, result.stderr)
        return result

    def create_namespace(self, name: str) -> None:
        """Create ``name`` and wait until pods may be created there (its default ServiceAccount)."""
        self.kubectl("create", "namespace", name)
        deadline = time.monotonic() + _DEFAULT_ACCOUNT_WAIT_S
        while self.kubectl("get", "serviceaccount", "default", "-n", name, check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"namespace {name}: no default ServiceAccount after {_DEFAULT_ACCOUNT_WAIT_S:.0f}s"
                )
            time.sleep(0.2)
