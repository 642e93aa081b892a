"""The host state a real node changes, recorded before it starts and restored after it stops.

A kubelet, kube-proxy, containerd and the CNI bridge plugin change things outside their folders:
kernel sysctls, iptables chains (the kubelet's KUBE-FIREWALL filters loopback traffic host-wide),
a bridge and a route, mounts (the kubelet root, pod volumes, network namespaces, container
root filesystems) and cgroup folders. :class:`HostRecord` notes what was there before; :func:`restore`
removes only what appeared since, so a node that crashed midway still leaves the host as it was.
The record lives in /run (host state does not survive a reboot either), so the next start finds
and restores what a killed run left behind.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

HOST_RECORD = Path("/run/gsv-e2e-node/host.json")
# Sysctls the kubelet (protectKernelDefaults off) or the bridge plugin (isGateway) may set.
SYSCTLS = (
    "vm/overcommit_memory",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
    "net/ipv4/ip_forward",
)
IPTABLES = ("iptables", "ip6tables")
TABLES = ("filter", "nat", "mangle")
# Chains created by the node's programs (kubelet, kube-proxy, CNI) or by this module.
_OWNED_CHAIN_PREFIXES = ("KUBE-", "CNI-", "GSV-")
FORWARD_CHAIN = "GSV-NODE-FORWARD"
CGROUP_ROOT = Path("/sys/fs/cgroup")
# runc (cgroupfs driver) puts the pods' containers under this parent in every hierarchy.
CGROUP_PARENT = "k8s.io"
NODE_TOOLS = ("containerd", "ctr", "runc", "iptables", "ip6tables", "iptables-save", "ip", "mount", "umount")
# Debian packages that provide them (`make node-deps`).
NODE_PACKAGES = ("containerd", "runc", "containernetworking-plugins", "iptables", "iproute2", "conntrack")
CNI_BIN_DIRS = (Path("/usr/lib/cni"), Path("/opt/cni/bin"))

Run = Callable[..., subprocess.CompletedProcess[str]]


def _which(tool: str) -> str | None:
    return shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin:/usr/local/sbin")


def cni_bin_dir() -> Path | None:
    """The folder holding the bridge and host-local CNI plugins."""
    for folder in CNI_BIN_DIRS:
        if all((folder / plugin).is_file() for plugin in ("bridge", "host-local", "loopback")):
            return folder
    return None


def unsupported_reason() -> str | None:
    """Why this host cannot run a real node, or ``None`` when it can."""
    if not sys.platform.startswith("linux"):
        return f"a real node needs Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return "a real node needs root (it creates a bridge, iptables rules and mounts)"
    missing = [tool for tool in NODE_TOOLS if _which(tool) is None]
    if cni_bin_dir() is None:
        missing.append("CNI plugins (bridge, host-local, loopback)")
    if missing:
        packages = " ".join(NODE_PACKAGES)
        return f"missing {', '.join(missing)}: `make node-deps` (apt-get install {packages})"
    return None


def tool(name: str) -> str:
    """Absolute path of a host tool (``unsupported_reason`` has checked it exists)."""
    found = _which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed")
    return found


def run(*argv: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a host tool; failures raise with its stderr."""
    cmd = [tool(argv[0]), *argv[1:]]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"`{shlex.join(argv)}` failed ({result.returncode}): {result.stderr.strip()}")
    return result


def read_sysctl(name: str) -> str | None:
    """Value of ``/proc/sys/<name>``; ``None`` when the kernel has no such setting."""
    try:
        return Path("/proc/sys", name).read_text().strip()
    except OSError:
        return None


def chains(binary: str, table: str) -> list[str]:
    """Chain names of one table (empty when the table or tool is unavailable)."""
    result = run(f"{binary}-save", "-t", table, check=False)
    if result.returncode != 0:
        return []
    return [line[1:].split()[0] for line in result.stdout.splitlines() if line.startswith(":")]


@dataclass
class HostRecord:
    """What the host looked like before the node started, and what the node is made of."""

    cluster: str
    node_root: str
    store: str
    bridge: str
    sysctls: dict[str, str | None] = field(default_factory=dict)
    chains: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    cgroups_before: list[str] = field(default_factory=list)
    # name -> [pid, executable] of the node's processes, so a later run can tell whether they live.
    processes: dict[str, list[int | str]] = field(default_factory=dict)

    def save(self, path: Path = HOST_RECORD) -> None:
        """Write atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path = HOST_RECORD) -> HostRecord | None:
        """The record of the node this host runs (or ran and did not restore)."""
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None


def _cgroup_parents() -> list[Path]:
    if not CGROUP_ROOT.is_dir():
        return []
    return [entry / CGROUP_PARENT for entry in sorted(CGROUP_ROOT.iterdir()) if entry.is_dir()]


def snapshot(cluster: str, node_root: Path, store: Path, bridge: str) -> HostRecord:
    """Note the host's state before the node changes it."""
    return HostRecord(
        cluster=cluster,
        node_root=str(node_root),
        store=str(store),
        bridge=bridge,
        sysctls={name: read_sysctl(name) for name in SYSCTLS},
        chains=chain_snapshot(),
        cgroups_before=[str(path) for path in _cgroup_parents() if path.exists()],
    )


def link_exists(name: str) -> bool:
    """True when a network interface of that name exists."""
    return Path("/sys/class/net", name).exists()


def route_owner(cidr: str) -> str | None:
    """The interface an existing route for exactly ``cidr`` uses, if any."""
    out = run("ip", "-4", "route", "show", "exact", cidr, check=False).stdout.split()
    return out[out.index("dev") + 1] if "dev" in out else None


def setup_network(bridge: str, node_ip: str, prefix: int, service_cidr: str) -> None:
    """Bridge with the node's address, Service range routed to it, and no forwarding off it.

    The bridge exists before the first pod so the kubelet has a non-loopback node address.
    The FORWARD drops keep pods off every network but their own, even though the bridge plugin
    turns on ip_forward.
    """
    run("ip", "link", "add", bridge, "type", "bridge")
    run("ip", "addr", "add", f"{node_ip}/{prefix}", "dev", bridge)
    run("ip", "link", "set", bridge, "up")
    # Unmatched Service addresses must die on the bridge, never leave through the default route.
    run("ip", "route", "add", service_cidr, "dev", bridge)
    run("iptables", "-N", FORWARD_CHAIN)
    run("iptables", "-A", FORWARD_CHAIN, "-i", bridge, "!", "-o", bridge, "-j", "DROP")
    run("iptables", "-A", FORWARD_CHAIN, "-o", bridge, "!", "-i", bridge, "-j", "DROP")
    run("iptables", "-I", "FORWARD", "1", "-j", FORWARD_CHAIN)


def _mounts_below(roots: list[Path]) -> list[str]:
    """Mount points at or below any of ``roots``, deepest first."""
    prefixes = [str(root.resolve()) for root in roots]
    points: list[str] = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mounts").read_text().splitlines():
            point = line.split()[1].encode().decode("unicode_escape")
            if any(point == p or point.startswith(p + "/") for p in prefixes):
                points.append(point)
    return sorted(set(points), key=lambda p: (-p.count("/"), p))


def unmount_below(roots: list[Path], errors: list[str]) -> None:
    """Unmount everything the node mounted below its folders (lazily when still busy)."""
    for point in _mounts_below(roots):
        if run("umount", point, check=False).returncode != 0:
            lazy = run("umount", "-l", point, check=False)
            if lazy.returncode != 0:
                errors.append(f"umount {point}: {lazy.stderr.strip()}")


def chain_snapshot() -> dict[str, dict[str, list[str]]]:
    """Chain names of every table the node touches, per iptables binary."""
    return {binary: {table: chains(binary, table) for table in TABLES} for binary in IPTABLES}


def remove_chains_added_since(snapshot: dict[str, dict[str, list[str]]], errors: list[str]) -> None:
    """Delete the KUBE-/CNI-/GSV- chains not in ``snapshot`` and every rule that jumps to them."""
    for binary in IPTABLES:
        for table in TABLES:
            before = set(snapshot.get(binary, {}).get(table, []))
            result = run(f"{binary}-save", "-t", table, check=False)
            if result.returncode != 0:
                continue
            lines = result.stdout.splitlines()
            new = {
                line[1:].split()[0]
                for line in lines
                if line.startswith(":")
                and line[1:].split()[0] not in before
                and line[1:].startswith(_OWNED_CHAIN_PREFIXES)
            }
            if not new:
                continue
            # First the rules that jump to a new chain from a chain that stays (INPUT, FORWARD, ...).
            for line in lines:
                if not line.startswith("-A "):
                    continue
                words = shlex.split(line)
                target = words[words.index("-j") + 1] if "-j" in words else None
                if words[1] not in new and target in new:
                    deleted = run(binary, "-t", table, "-D", *words[1:], check=False)
                    if deleted.returncode != 0:
                        errors.append(f"{binary} -t {table} -D {line[3:]}: {deleted.stderr.strip()}")
            for chain in sorted(new):
                run(binary, "-t", table, "-F", chain, check=False)
            for chain in sorted(new):
                gone = run(binary, "-t", table, "-X", chain, check=False)
                if gone.returncode != 0:
                    errors.append(f"{binary} -t {table} -X {chain}: {gone.stderr.strip()}")


def _kill_members(parent: Path, wait_s: float = 5.0) -> None:
    """SIGKILL every process in the cgroup tree under ``parent``; wait a little for them to go."""

    def members() -> set[int]:
        found: set[int] = set()
        for procs in parent.rglob("cgroup.procs"):
            with contextlib.suppress(OSError, ValueError):
                found |= {int(pid) for pid in procs.read_text().split()}
        return found

    deadline = time.monotonic() + wait_s
    while (pids := members()) and time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


def _remove_new_cgroups(record: HostRecord, errors: list[str]) -> None:
    before = set(record.cgroups_before)
    for parent in _cgroup_parents():
        if str(parent) in before or not parent.is_dir():
            continue
        # A container half-created when containerd stopped leaves its `runc init` behind, in no
        # task containerd knows of: whatever still runs in our cgroups is ours to end.
        _kill_members(parent)
        # Children first; rmdir refuses a cgroup that still has processes, which is then reported.
        for folder in sorted((p for p in parent.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            with contextlib.suppress(OSError):
                folder.rmdir()
        try:
            parent.rmdir()
        except OSError as err:
            errors.append(f"rmdir {parent}: {err}")


def _restore_sysctls(record: HostRecord, errors: list[str]) -> None:
    for name, value in record.sysctls.items():
        if value is None or read_sysctl(name) == value:
            continue
        try:
            Path("/proc/sys", name).write_text(value + "\n")
        except OSError as err:
            errors.append(f"sysctl {name}={value}: {err}")


def restore(record: HostRecord, extra_mount_roots: list[Path]) -> list[str]:
    """Undo everything the node changed (its processes must be stopped); returns what failed."""
    errors: list[str] = []
    unmount_below([Path(record.node_root), Path(record.store), *extra_mount_roots], errors)
    remove_chains_added_since(record.chains, errors)
    if link_exists(record.bridge):
        # Deleting the bridge also drops its address and the routes through it.
        deleted = run("ip", "link", "delete", record.bridge, check=False)
        if deleted.returncode != 0:
            errors.append(f"ip link delete {record.bridge}: {deleted.stderr.strip()}")
    _remove_new_cgroups(record, errors)
    _restore_sysctls(record, errors)
    return errors
