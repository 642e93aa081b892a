"""``python -m e2e.demo`` (``make demo``): the whole project on this machine, with no registry.

Where the host can run the local cluster's real node (root, Linux) and both images are built,
:func:`run_node_demo` runs them as pods: the chart's operator pod, the demo VoiceService's server
pod on the real node, and the request that writes ``demo.wav`` sent through its Service
(:mod:`e2e.demo_node`). Otherwise :func:`run_demo` runs two halves side by side:

* **Kubernetes**: the local control plane (``e2e/cluster``; reused when it already runs), the Helm
  chart installed into it, the operator, and the VoiceService ``e2e/samples/demo-voice.yaml``,
  whose pods kwok marks Running, until ``kubectl get vsvc`` says Ready.
* **Speech**: ``gpt-sovits-server --demo`` on a free port and one ``POST /api/v1/tts``; the WAV it
  answers is written to ``demo.wav`` and decoded.

In that variant the chart is installed with ``operator.replicas=0`` (CRDs, ServiceAccount and
RBAC, no pod) and the operator runs as a local process that signs in with a token of the chart's
ServiceAccount: it gets exactly the permissions the chart grants its pod.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import soundfile
import yaml
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from e2e.cluster import Cluster, ClusterSettings, KubectlError, processes
from e2e.cluster.build import BuildError, ensure_built
from e2e.cluster.certs import CertificateError
from e2e.cluster.controlplane import LocalControlPlane
from e2e.cluster.node_host import unsupported_reason
from e2e.cluster.node_images import OPERATOR_IMAGE, SERVER_IMAGE, buildah_id
from e2e.cluster.processes import Component, ComponentError
from e2e.demo_node import (
    VOICE_NAME,
    demo_model_folder,
    load_images,
    operator_pod_values,
    service_url,
    voice_manifest,
    watch_autoscaling,
)
from gsv_common.settings_cli import document_env_vars, load_settings_or_exit

PROG = "python -m e2e.demo"
ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "charts" / "gpt-sovits"
SAMPLE = ROOT / "e2e" / "samples" / "demo-voice.yaml"
# The console scripts of the environment running this module (the project's venv).
SERVER_BIN = Path(sys.executable).parent / "gpt-sovits-server"
OPERATOR_BIN = Path(sys.executable).parent / "gpt-sovits-operator"
_POLL_S = 0.5
_STOP_GRACE_S = 20.0
_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class DemoError(RuntimeError):
    """A step of the demo failed; the message says which and what was seen."""


class DemoSettings(BaseSettings):
    """Settings of the demo; each is a flag (``--keep``) and a variable (``GSV_DEMO_KEEP``)."""

    model_config = SettingsConfigDict(
        env_prefix="GSV_DEMO_",
        cli_prog_name=PROG,
        cli_kebab_case=True,
        cli_implicit_flags=True,
        extra="ignore",
    )

    cluster_name: str | None = Field(
        None, pattern=_LABEL, description="Local cluster to use; default: e2e.cluster's (GSV_E2E_NAME)."
    )
    namespace: str = Field("gsv-demo", pattern=_LABEL, description="Namespace of the release and voice.")
    release: str = Field("gsv", pattern=_LABEL, description="Helm release name.")
    sample: Path = Field(SAMPLE, description="VoiceService manifest to apply.")
    output: Path = Field(Path("demo.wav"), description="Where the synthesized WAV is written.")
    text: str = Field("Hello from the demo. 你好，世界。", min_length=1, description="Text to speak.")
    speaker_id: str = Field("demo", min_length=1, description="Speaker of the request.")
    language: str = Field("auto", min_length=1, description="Language of the text (auto detects it).")
    seed: int = Field(1, ge=0, description="Sampling seed, so the demo says the same each time.")
    server_port: int = Field(0, ge=0, le=65535, description="Port of the demo server; 0 picks a free one.")
    keep: bool = Field(
        False,
        description="Leave the control plane, the release and the VoiceService in place at the end.",
    )
    real_node: bool | None = Field(
        None,
        description="Run the images as pods on the local cluster's real node (default: where the host "
        "can run one and both images are built); false simulates the pods instead.",
    )
    autoscale: bool = Field(
        False,
        description="After the speech, turn autoscaling on, drive load through the Service and print "
        "the per-pod requests per second, the HPA's desired replicas and the pods as it scales out and "
        "back (real node and the metrics pipeline: Prometheus and prometheus-adapter, built on first use).",
    )
    timeout_s: float = Field(240.0, gt=0, le=3600, description="Longest wait for each step.")
    resync_interval_s: float = Field(
        5.0, gt=0, le=600, description="Operator resync interval (short, so status changes show quickly)."
    )


document_env_vars(DemoSettings)


class Console:
    """Tagged lines on one stream, safe from both halves' threads: ``[cluster] ...``, ``[speech] ...``."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdout
        self._lock = threading.Lock()

    def say(self, part: str, message: str) -> None:
        with self._lock:
            for line in message.rstrip("\n").splitlines() or [""]:
                self._stream.write(f"[{part}] {line}\n")
            self._stream.flush()

    def teller(self, part: str) -> Callable[[str], None]:
        """A one-argument ``say`` for ``part``, the shape e2e.cluster's progress callbacks take."""
        return lambda message: self.say(part, message)


@dataclass(frozen=True)
class WavInfo:
    """What decoding the answer found."""

    path: Path
    sample_rate: int
    channels: int
    frames: int
    peak: float

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


@dataclass(frozen=True)
class DemoResult:
    """The VoiceService as it was when Ready, and the decoded speech."""

    voice_service: dict[str, Any]
    wav: WavInfo


# ------------------------------------------------------------------ Kubernetes half


def helm(cluster: Cluster, *args: str, timeout: float = 300) -> str:
    """Run the project's helm against ``cluster``; its output, or :class:`DemoError` with it."""
    cmd = [str(cluster.bin_dir / "helm"), "--kubeconfig", str(cluster.kubeconfig), *args]
    result = subprocess.run(
        cmd, capture_output=True, text=True, env=cluster.env(), timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise DemoError(f"helm {' '.join(args[:2])} failed:\n{(result.stderr or result.stdout).strip()}")
    return result.stdout


def install_chart(
    cluster: Cluster,
    namespace: str,
    release: str,
    say: Callable[[str], None],
    operator: dict[str, Any] | None = None,
) -> None:
    """CRDs by server-side apply (the chart's upgrade path), then the chart.

    ``operator`` (the chart's ``operator`` values) runs the operator pod; without it the chart is
    installed with no operator pod (``operator.replicas=0``) for a local operator process.
    """
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CHART / "crds"))
    for crd in ("voiceservices.voice.gpt-sovits.io",):
        cluster.kubectl("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=60s")
    if operator is None:
        values = [
            "--set",
            "operator.replicas=0",
            "--set-json",
            f"operator.watchNamespaces={json.dumps([namespace])}",
        ]
        say(f"helm upgrade --install {release} charts/gpt-sovits -n {namespace} (operator.replicas=0)")
    else:
        values = ["--set-json", f"operator={json.dumps(operator)}"]
        say(f"helm upgrade --install {release} charts/gpt-sovits -n {namespace} (operator pod on the node)")
    helm(
        cluster,
        "upgrade", "--install", release, str(CHART), "--namespace", namespace, "--create-namespace",
        "--skip-crds", *values, "--wait", "--timeout", "180s",
    )  # fmt: skip
    say(helm(cluster, "list", "--namespace", namespace).rstrip())


def uninstall_chart(cluster: Cluster, namespace: str, release: str) -> None:
    """Remove the release (Helm keeps the CRDs on purpose: deleting them deletes every voice)."""
    helm(cluster, "uninstall", release, "--namespace", namespace, "--wait", "--ignore-not-found")


def operator_kubeconfig(cluster: Cluster, namespace: str, release: str, path: Path) -> Path:
    """A kubeconfig for the chart's ServiceAccount (a short-lived token), written to ``path``."""
    selector = f"app.kubernetes.io/instance={release}"
    account = cluster.kubectl(
        "get", "serviceaccount", "-n", namespace, "-l", selector, "-o", "jsonpath={.items[0].metadata.name}"
    ).stdout.strip()
    if not account:
        raise DemoError(f"the release {release!r} created no ServiceAccount in {namespace}")
    token = cluster.kubectl("create", "token", account, "-n", namespace, "--duration=2h").stdout.strip()
    config = json.loads(cluster.kubectl("config", "view", "--raw", "--minify", "-o", "json").stdout)
    user = f"system:serviceaccount:{namespace}:{account}"
    config["users"] = [{"name": user, "user": {"token": token}}]
    for context in config["contexts"]:
        context["context"]["user"] = user
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    path.chmod(0o600)
    return path


def _http_status(url: str, method: str = "GET") -> int:
    """The HTTP status of ``url`` (error statuses included); OSError when nothing answers."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def start_operator(
    cluster: Cluster,
    kubeconfig: Path,
    namespace: str,
    log_file: Path,
    resync_interval_s: float,
    timeout: float,
) -> Component:
    """The operator for ``namespace`` as a local process, as the chart's pod would run it."""
    liveness, metrics = processes.free_port(), processes.free_port()
    argv = [
        str(OPERATOR_BIN),
        # What the chart sets for one replica: no peering object to take part in.
        "--standalone",
        "--namespaces",
        namespace,
        "--log-format",
        "text",
        "--liveness-port",
        str(liveness),
        "--metrics-port",
        str(metrics),
        "--resync-interval-s",
        str(resync_interval_s),
    ]
    env = cluster.env()
    env["KUBECONFIG"] = str(kubeconfig)
    operator = processes.start("operator", argv, log_file, env)
    try:
        processes.wait_for(
            "alive",
            lambda: _http_status(f"http://127.0.0.1:{liveness}/healthz") == 200,
            timeout,
            watch=[operator],
        )
    except BaseException:
        processes.stop(operator, _STOP_GRACE_S)
        raise
    return operator


def _ready_in_table(table: str, name: str) -> bool:
    """True when ``name``'s row of ``kubectl get vsvc`` has READY = True (the column after NAME)."""
    rows = [line.split() for line in table.splitlines()[1:]]
    return any(len(row) > 1 and row[0] == name and row[1] == "True" for row in rows)


def _without_age(table: str) -> list[str]:
    """The table less its last column (AGE), which changes every second."""
    return [line.rsplit(None, 1)[0] if line.strip() else line for line in table.splitlines()]


def watch_until_ready(
    cluster: Cluster,
    namespace: str,
    name: str,
    timeout: float,
    say: Callable[[str], None],
    watch: Component | None = None,
) -> dict[str, Any]:
    """Print ``kubectl get vsvc -o wide`` each time it changes, until ``name`` is Ready in it.

    Readiness is read from the printed table itself, so the last table shown is the Ready one.
    Returns the VoiceService object.
    """
    deadline = time.monotonic() + timeout
    shown: list[str] = []
    while True:
        if watch is not None:
            watch.check_running()
        table = cluster.kubectl("get", "vsvc", "-n", namespace, "-o", "wide").stdout
        if _without_age(table) != shown:
            shown = _without_age(table)
            say(f"$ kubectl get vsvc -n {namespace} -o wide   ({time.strftime('%H:%M:%S')})\n{table}")
        if _ready_in_table(table, name) or time.monotonic() > deadline:
            found = json.loads(cluster.kubectl("get", "vsvc", name, "-n", namespace, "-o", "json").stdout)
            if _ready_in_table(table, name):
                return dict(found)
            status = json.dumps(found.get("status") or {}, indent=2)
            raise DemoError(f"VoiceService {name} not Ready after {timeout:.0f}s; its status:\n{status}")
        time.sleep(_POLL_S)


def delete_voice_service(cluster: Cluster, namespace: str, name: str, timeout: float) -> None:
    """Delete the voice while the operator still runs: it holds a finalizer on it."""
    cluster.kubectl(
        "delete", "vsvc", name, "-n", namespace, "--ignore-not-found", "--wait", f"--timeout={timeout:.0f}s",
        timeout=timeout + 10,
    )  # fmt: skip


# ------------------------------------------------------------------ speech half


def start_server(port: int, log_file: Path) -> Component:
    """``gpt-sovits-server --demo`` on loopback: small random weights generated at start."""
    argv = [str(SERVER_BIN), "--demo", "--host", "127.0.0.1", "--port", str(port), "--log-format", "text"]
    return processes.start("server", argv, log_file)


def synthesize(base_url: str, request: dict[str, Any], output: Path, timeout: float) -> bytes:
    """``POST /api/v1/tts``; the WAV body is written to ``output`` and returned."""
    body = json.dumps(request).encode()
    post = urllib.request.Request(
        f"{base_url}/api/v1/tts", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(post, timeout=timeout) as response:
            audio = bytes(response.read())
            kind = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as err:
        detail = err.read().decode(errors="replace")[:500]
        raise DemoError(f"POST /api/v1/tts answered {err.code}: {detail}") from None
    if not kind.startswith("audio/"):
        raise DemoError(f"POST /api/v1/tts answered {kind!r}, not audio")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(audio)
    return audio


def decode_wav(path: Path) -> WavInfo:
    """Decode the whole file (not just its header), so a truncated body fails here."""
    data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    if len(data) == 0:
        raise DemoError(f"{path} holds no audio frames")
    return WavInfo(path, int(rate), int(data.shape[1]), int(data.shape[0]), float(abs(data).max()))


def speak(settings: DemoSettings, log_file: Path, say: Callable[[str], None]) -> WavInfo:
    """Start the demo server, wait for /ready, synthesize once, decode; the server is stopped after."""
    port = settings.server_port or processes.free_port()
    base_url = f"http://127.0.0.1:{port}"
    say(f"gpt-sovits-server --demo --port {port} (log: {log_file})")
    server = start_server(port, log_file)
    try:
        started = time.monotonic()
        processes.wait_for(
            "ready", lambda: _http_status(f"{base_url}/ready") == 200, settings.timeout_s, watch=[server]
        )
        say(f"GET {base_url}/ready -> 200 after {time.monotonic() - started:.1f}s")
        request = {
            "text": settings.text,
            "speaker_id": settings.speaker_id,
            "language": settings.language,
            "seed": settings.seed,
        }
        say(f"POST {base_url}/api/v1/tts {json.dumps(request, ensure_ascii=False)}")
        started = time.monotonic()
        audio = synthesize(base_url, request, settings.output, settings.timeout_s)
        say(f"{len(audio)} bytes of audio/wav in {time.monotonic() - started:.1f}s -> {settings.output}")
        info = decode_wav(settings.output)
        say(
            f"decoded {info.path}: {info.duration_s:.2f} s at {info.sample_rate} Hz, "
            f"{info.channels} channel(s), peak {info.peak:.2f}"
        )
        return info
    finally:
        processes.stop(server, _STOP_GRACE_S)


# ------------------------------------------------------------------ both halves


def run_demo(
    cluster: Cluster, settings: DemoSettings, work_dir: Path, console: Console, *, remove: bool
) -> DemoResult:
    """Deploy and speak side by side; with ``remove``, delete the voice and the release afterwards.

    The local processes (operator, server) are always stopped before this returns.
    """
    tell_cluster, tell_speech = console.teller("cluster"), console.teller("speech")
    name = str(yaml.safe_load(settings.sample.read_text(encoding="utf-8"))["metadata"]["name"])
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="speech") as pool:
        speech = pool.submit(speak, settings, work_dir / "server.log", tell_speech)
        install_chart(cluster, settings.namespace, settings.release, tell_cluster)
        kubeconfig = operator_kubeconfig(
            cluster, settings.namespace, settings.release, work_dir / "operator.kubeconfig"
        )
        tell_cluster(
            "no image registry here: the chart deployed no operator pod; the operator runs as a local "
            f"process with the chart's ServiceAccount token (log: {work_dir / 'operator.log'})"
        )
        operator = start_operator(
            cluster,
            kubeconfig,
            settings.namespace,
            work_dir / "operator.log",
            settings.resync_interval_s,
            settings.timeout_s,
        )
        try:
            tell_cluster(f"kubectl apply -n {settings.namespace} -f {_shown(settings.sample)}")
            cluster.kubectl("apply", "-n", settings.namespace, "-f", str(settings.sample))
            voice = watch_until_ready(
                cluster, settings.namespace, name, settings.timeout_s, tell_cluster, operator
            )
            pods = cluster.kubectl("get", "pods", "-n", settings.namespace, "-o", "wide").stdout
            tell_cluster(f"$ kubectl get pods -n {settings.namespace} -o wide\n{pods}")
            wav = speech.result()
        finally:
            try:
                if remove:
                    tell_cluster(f"deleting VoiceService {name} (the operator removes its finalizer)")
                    delete_voice_service(cluster, settings.namespace, name, settings.timeout_s)
            finally:
                processes.stop(operator, _STOP_GRACE_S)
        if remove:
            tell_cluster(f"helm uninstall {settings.release} -n {settings.namespace}")
            uninstall_chart(cluster, settings.namespace, settings.release)
    return DemoResult(voice, wav)


def run_node_demo(
    cluster: Cluster,
    plane: LocalControlPlane,
    settings: DemoSettings,
    work_dir: Path,
    console: Console,
    *,
    remove: bool,
) -> DemoResult:
    """The images as pods on the real node; the speech request goes through the VoiceService's Service."""
    tell_cluster, tell_speech = console.teller("cluster"), console.teller("speech")
    load_images(plane, tell_cluster)
    operator = operator_pod_values(settings.namespace, settings.resync_interval_s)
    install_chart(cluster, settings.namespace, settings.release, tell_cluster, operator)
    pods = cluster.kubectl("get", "pods", "-n", settings.namespace, "-o", "wide").stdout
    tell_cluster(f"$ kubectl get pods -n {settings.namespace} -o wide\n{pods}")
    try:
        models = demo_model_folder(work_dir / "models")
        tell_cluster(f"kubectl apply: VoiceService {VOICE_NAME}, its model from hostPath {models}")
        manifest = voice_manifest(settings.namespace, models, autoscaling=settings.autoscale)
        cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest))
        voice = watch_until_ready(cluster, settings.namespace, VOICE_NAME, settings.timeout_s, tell_cluster)
        table = cluster.kubectl("get", "vsvc,pods", "-n", settings.namespace, "-o", "wide").stdout
        tell_cluster(f"$ kubectl get vsvc,pods -n {settings.namespace} -o wide\n{table}")
        url = service_url(cluster, settings.namespace, VOICE_NAME)
        request = {
            "text": settings.text,
            "speaker_id": settings.speaker_id,
            "language": settings.language,
            "seed": settings.seed,
        }
        tell_speech(
            f"POST {url}/api/v1/tts (the VoiceService's ClusterIP) {json.dumps(request, ensure_ascii=False)}"
        )
        started = time.monotonic()
        audio = synthesize(url, request, settings.output, settings.timeout_s)
        tell_speech(
            f"{len(audio)} bytes of audio/wav in {time.monotonic() - started:.1f}s -> {settings.output}"
        )
        wav = decode_wav(settings.output)
        tell_speech(
            f"decoded {wav.path}: {wav.duration_s:.2f} s at {wav.sample_rate} Hz, "
            f"{wav.channels} channel(s), peak {wav.peak:.2f}"
        )
        if settings.autoscale:
            tell_scale = console.teller("autoscale")
            summary = watch_autoscaling(cluster, settings.namespace, tell_scale, settings.timeout_s * 2)
            tell_scale(summary)
    finally:
        if remove:
            tell_cluster(f"deleting VoiceService {VOICE_NAME}, then helm uninstall {settings.release}")
            delete_voice_service(cluster, settings.namespace, VOICE_NAME, settings.timeout_s)
            uninstall_chart(cluster, settings.namespace, settings.release)
    return DemoResult(voice, wav)


def on_real_node(settings: DemoSettings, cluster_settings: ClusterSettings) -> tuple[bool, str]:
    """Whether the demo runs on the real node, and why (or why not)."""
    if settings.real_node is False:
        return False, "--real-node false: pods simulated by kwok, the server as a local process"
    why_not = unsupported_reason()
    missing = [
        ref for ref in (OPERATOR_IMAGE, SERVER_IMAGE) if buildah_id(cluster_settings.cache_dir, ref) is None
    ]
    if why_not is None and missing:
        why_not = f"{', '.join(missing)} not built (`make node-images`)"
    if why_not is None:
        return True, "the images run as pods on the real node"
    if settings.real_node:
        raise DemoError(f"--real-node true: {why_not}")
    return False, f"no real node ({why_not}): pods simulated by kwok, the server as a local process"


def _shown(path: Path) -> str:
    """``path`` relative to the repository when inside it, for shorter lines."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def next_steps(settings: DemoSettings, cluster: Cluster, work_dir: Path, kept: bool, real_node: bool) -> str:
    """What to try after the demo."""
    wav = settings.output
    lines = [
        "Next steps:",
        f"  * listen: play {wav}  (the demo weights are random: expect noise, not words)",
        f"  * the server alone: {SERVER_BIN.name} --demo, then open http://127.0.0.1:8000/docs",
        "  * on a real cluster: README.md, 'Run it on a real cluster'",
        "  * the chart's values and upgrades: charts/gpt-sovits/README.md",
        "  * autoscaling on requests per second: docs/autoscaling.md",
    ]
    if kept and real_node:
        lines += [
            "  * the control plane, the release, the operator pod and the voice's pod stay (--keep):",
            f'      eval "$(python -m e2e.cluster env{_name_flag(settings)})"',
            f"      kubectl get vsvc,pods -n {settings.namespace} -o wide",
            f"      kubectl logs -n {settings.namespace} deploy/{VOICE_NAME}     # the server's JSON lines",
            f"      curl -s $(kubectl get svc {VOICE_NAME} -n {settings.namespace} "
            "-o jsonpath='http://{.spec.clusterIP}:8000')/ready",
            f"    stop everything: python -m e2e.cluster down{_name_flag(settings)}",
        ]
    elif kept:
        lines += [
            "  * the control plane, the release and the VoiceService are still there (--keep):",
            f'      eval "$(python -m e2e.cluster env{_name_flag(settings)})"',
            f"      kubectl get vsvc,deploy,pods -n {settings.namespace}",
            "    the operator stopped with the demo; to run it again:",
            f"      KUBECONFIG={work_dir / 'operator.kubeconfig'} {OPERATOR_BIN.name} --standalone "
            f"--namespaces {settings.namespace}",
            f"    stop everything: python -m e2e.cluster down{_name_flag(settings)}",
        ]
    return "\n".join(lines)


def _name_flag(settings: DemoSettings) -> str:
    return f" --name {settings.cluster_name}" if settings.cluster_name else ""


def main(argv: list[str] | None = None) -> int:
    settings = load_settings_or_exit(DemoSettings, argv, prog=PROG)
    overrides: dict[str, Any] = {"name": settings.cluster_name} if settings.cluster_name else {}
    cluster_settings = ClusterSettings().model_copy(update=overrides)
    console = Console()
    work_dir = cluster_settings.cache_dir / "demo" / cluster_settings.name
    work_dir.mkdir(parents=True, exist_ok=True)
    tell = console.teller("cluster")
    started_plane: LocalControlPlane | None = None
    try:
        real_node, why = on_real_node(settings, cluster_settings)
        if settings.autoscale and not real_node:
            raise DemoError(f"--autoscale needs the real node: {why}")
        pipeline = settings.autoscale or cluster_settings.metrics_pipeline
        cluster_settings = cluster_settings.model_copy(
            update={"real_node": real_node, "metrics_pipeline": pipeline}
        )
        toolset = ensure_built(cluster_settings, tell)
        plane = LocalControlPlane(cluster_settings, toolset, tell)
        reused = bool(plane.status()["api_ready"])
        if reused and plane.runs_real_node() != real_node:
            # A running control plane keeps its nodes: follow it rather than restart it.
            real_node = not real_node
            why = "the running control plane " + ("has" if real_node else "has no") + " real node"
            cluster_settings = cluster_settings.model_copy(update={"real_node": real_node})
            plane = LocalControlPlane(cluster_settings, toolset, tell)
        if reused and settings.autoscale and not plane.status()["metrics_pipeline"]:
            raise DemoError(
                f"--autoscale: the running control plane {cluster_settings.name!r} has no metrics pipeline; "
                f"stop it (python -m e2e.cluster down{_name_flag(settings)}) and run the demo again"
            )
        cluster = plane.up()
        started_plane = None if reused else plane
        how = "reused" if reused else "started"
        tell(f"control plane {cluster_settings.name!r} {how}: {cluster.kubeconfig}")
        tell(why)
        if real_node:
            result = run_node_demo(cluster, plane, settings, work_dir, console, remove=not settings.keep)
        else:
            result = run_demo(cluster, settings, work_dir, console, remove=not settings.keep)
        if not settings.keep and reused:
            cluster.kubectl("delete", "namespace", settings.namespace, "--wait=false", "--ignore-not-found")
        endpoint = (result.voice_service.get("status") or {}).get("endpoint", "")
        console.say("demo", f"VoiceService Ready (endpoint {endpoint}); speech in {result.wav.path}")
        console.say("demo", next_steps(settings, cluster, work_dir, settings.keep, real_node))
        return 0
    except (DemoError, ComponentError, BuildError, CertificateError, KubectlError, TimeoutError) as err:
        console.say("demo", f"FAILED: {err}")
        return 1
    except KeyboardInterrupt:
        console.say("demo", "interrupted")
        return 130
    finally:
        if started_plane is not None and not settings.keep:
            tell("stopping the control plane the demo started (--keep leaves it running)")
            started_plane.down()


if __name__ == "__main__":
    raise SystemExit(main())
