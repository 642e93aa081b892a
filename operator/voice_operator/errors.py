"""The operator's error types: which failures retry and which wait for a new spec."""

from __future__ import annotations

import kopf


class SpecInvalidError(kopf.PermanentError):
    """The spec cannot be reconciled as written; retrying will not help until it changes."""


class KubernetesApiError(kopf.TemporaryError):
    """A Kubernetes API call failed in a way that may pass (conflict, timeout, 5xx)."""
