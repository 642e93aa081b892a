"""docker/docker-compose.yml run for real with nerdctl on the real node's containerd.

nerdctl talks to the node's containerd socket, in the CRI's namespace (where the images are
loaded), with its own state and CNI network files in a temporary folder; only the plugins come
from the host. What nerdctl compose does not do, and how this runs around it:

- ``healthcheck`` and ``depends_on: condition: service_healthy`` are ignored (warnings), so nginx
  starts at once: :meth:`ComposeStack.wait_healthy` runs each replica's healthcheck command itself.
- ``restart:`` is off here (an override file, :data:`RESTART_OVERRIDE`). nerdctl hands a
  restart policy to containerd's restart monitor, which checks every 10 s and kills any task of a
  restarting container that is not running, including one nerdctl has just created and is about
  to start: ``up -d`` then fails now and then with "cannot start a container that has stopped"
  (containerd/containerd#7951). No check here depends on restarts. (containerd 1.6 knows
  ``always`` only, not the file's ``unless-stopped``; README's nerdctl section says so.)
- Removing a container leaves its bridge plugin's masquerade chain (nerdctl's postStop hook
  runs once the network namespace is gone), and the portmap and firewall plugins leave their
  shared chains: :meth:`ComposeStack.restore_host` removes every CNI chain added since start.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from e2e.cluster import node_host

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "docker" / "docker-compose.yml"
PROJECT = "gpt-sovits"
NETWORK = f"{PROJECT}_default"
# The image docker/Dockerfile.nginx builds (`make nginx-image`): the registry's nginx cannot be pulled.
NGINX_IMAGE = "gpt-sovits-k8s/nginx:0.1.0"
RESTART_OVERRIDE = {"services": {"server": {"restart": "no"}, "nginx": {"restart": "no"}}}
# The network's folder in host-local's default one: nerdctl's network files name no dataDir.
IPAM_DIR = Path("/var/lib/cni/networks") / NETWORK
# nerdctl's network id is the SHA-256 of its name, and its bridge is "br-" and 12 hex digits of
# it: the same name in every run, whatever nerdctl's state folder.
BRIDGE = "br-" + hashlib.sha256(NETWORK.encode()).hexdigest()[:12]


class ComposeError(RuntimeError):
    """A nerdctl command failed; the message has its output."""


@dataclass
class ComposeStack:
    """One project of the compose file on the node's containerd, and the host state before it."""

    nerdctl: Path
    socket: Path
    work: Path
    env: dict[str, str]
    namespace: str = "k8s.io"
    _chains_before: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    _links_before: set[str] = field(default_factory=set)

    @property
    def override(self) -> Path:
        return self.work / "compose.override.yml"

    def base(self) -> list[str]:
        """nerdctl with the node's containerd and this stack's own state folders."""
        cni = node_host.cni_bin_dir()
        assert cni is not None  # the real node runs, so its plugins are there
        return [
            str(self.nerdctl), "--address", str(self.socket), "--namespace", self.namespace,
            "--data-root", str(self.work / "nerdctl"), "--cni-path", str(cni),
            "--cni-netconfpath", str(self.work / "cni"),
        ]  # fmt: skip

    def run(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*self.base(), *args], capture_output=True, text=True, timeout=timeout, check=False,
            env={**os.environ, **self.env},
        )  # fmt: skip
        if check and result.returncode != 0:
            raise ComposeError(f"nerdctl {' '.join(args)}: {result.stdout}{result.stderr}")
        return result

    def compose(
        self, *args: str, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        files = ["-f", str(COMPOSE_FILE), "-f", str(self.override)]
        return self.run("compose", *files, *args, check=check, timeout=timeout)

    def up(self) -> None:
        """Clear an earlier run's leftovers, note the host's chains and links, ``compose up -d``.

        Both are noted before anything of this stack's exists, and together: :meth:`restore_host`
        after an ``up`` that failed at any point then neither takes the node's own chains for this
        stack's nor reports every host link as left.
        """
        for leftover in clear_leftovers():
            print(f"compose: removed {leftover}, left by an earlier run that did not finish")
        self._chains_before = node_host.chain_snapshot()
        self._links_before = _links()
        for folder in ("nerdctl", "cni"):
            (self.work / folder).mkdir(parents=True, exist_ok=True)
        self.override.write_text(yaml.safe_dump(RESTART_OVERRIDE))
        self.compose("up", "-d")

    def containers(self) -> list[dict[str, Any]]:
        """The project's containers (``compose ps --format json``), running or not."""
        out = self.compose("ps", "--all", "--format", "json").stdout.strip()
        return list(json.loads(out)) if out else []

    def replicas(self) -> list[str]:
        """Names of the server service's containers."""
        return sorted(c["Name"] for c in self.containers() if c.get("Service") == "server")

    def wait_healthy(self, timeout_s: float) -> float:
        """Run the server's healthcheck command in every replica until all pass; seconds taken."""
        spec = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["server"]["healthcheck"]["test"]
        assert spec[0] == "CMD", spec
        started = time.monotonic()
        pending = self.replicas()
        assert pending, "no server containers"
        while pending:
            pending = [
                name for name in pending if self.run("exec", name, *spec[1:], check=False).returncode != 0
            ]
            if pending and time.monotonic() - started > timeout_s:
                raise AssertionError(f"{pending} not healthy after {timeout_s:.0f}s:\n{self.logs()[-3000:]}")
            if pending:
                time.sleep(2)
        return time.monotonic() - started

    def logs(self, service: str = "") -> str:
        """``compose logs``; the containers' stderr (the servers' log lines) comes on nerdctl's stderr."""
        result = self.compose("logs", "--no-color", *([service] if service else []))
        return result.stdout + result.stderr

    def down(self) -> None:
        self.compose("down", timeout=120)

    def restore_host(self) -> list[str]:
        """Remove what nerdctl and its plugins left after ``down``; returns what could not be."""
        errors: list[str] = []
        if not self._chains_before:
            return errors  # up() never started: nothing of this stack's is on the host
        node_host.remove_chains_added_since(self._chains_before, errors)
        # host-local keeps the network's folder (its lock, the last address given) once every
        # address is released; with no address left in it, it is only litter.
        if IPAM_DIR.is_dir() and all(
            p.name == "lock" or p.name.startswith("last_reserved_ip") for p in IPAM_DIR.iterdir()
        ):
            shutil.rmtree(IPAM_DIR)
        elif IPAM_DIR.exists():
            held = sorted(p.name for p in IPAM_DIR.iterdir())
            errors.append(f"{IPAM_DIR} still holds addresses: {held}")
        for link in sorted(_links() - self._links_before):
            errors.append(f"network interface {link} is left")
        return errors

    def added_chains(self) -> list[str]:
        """Chains that exist now and did not before :meth:`up`."""
        now = node_host.chain_snapshot()
        return sorted(
            f"{binary} {table} {chain}"
            for binary, tables in now.items()
            for table, names in tables.items()
            for chain in set(names) - set(self._chains_before.get(binary, {}).get(table, []))
        )


def clear_leftovers() -> list[str]:
    """Remove the project network's bridge and addresses where a run that died left them.

    Each run has its own nerdctl state folder, so no container of this run can hold them yet.
    A bridge left with another subnet fails every later ``up`` ("already has an IP address
    different from ..."): nerdctl picks a subnet no host interface has, but the same bridge name.
    """
    removed: list[str] = []
    if node_host.link_exists(BRIDGE):
        node_host.run("ip", "link", "delete", BRIDGE)
        removed.append(f"bridge {BRIDGE}")
    if IPAM_DIR.exists():
        shutil.rmtree(IPAM_DIR)
        removed.append(str(IPAM_DIR))
    return removed


def _links() -> set[str]:
    out = node_host.run("ip", "-o", "link", "show").stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line}


def replica_lines(logs: str) -> Mapping[str, Sequence[dict[str, Any]]]:
    """The JSON lines of ``compose logs`` output per container (its ``server-1 |`` prefix)."""
    by_replica: dict[str, list[dict[str, Any]]] = {}
    for line in logs.splitlines():
        prefix, bar, rest = line.partition("|")
        if not bar:
            continue
        try:
            value = json.loads(rest)
        except ValueError:
            continue
        if isinstance(value, dict):
            by_replica.setdefault(prefix.strip(), []).append(value)
    return by_replica
