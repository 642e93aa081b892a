"""A real local Kubernetes control plane for tests and the demo, built from Go modules.

``python -m e2e.cluster up|down|status|build|env`` drives it by hand; ``e2e/conftest.py`` gives
tests a session-wide :class:`Cluster`.
"""

from e2e.cluster.cluster import Cluster, KubectlError
from e2e.cluster.settings import ClusterSettings

__all__ = ["Cluster", "ClusterSettings", "KubectlError"]
