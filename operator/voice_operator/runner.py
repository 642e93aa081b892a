"""Starts kopf with the operator's handlers and settings."""

from __future__ import annotations

import asyncio

import kopf

from voice_operator.settings import OperatorSettings


def run(settings: OperatorSettings) -> None:
    """Run the operator until it is stopped; blocks."""
    import voice_operator.handlers  # noqa: F401  (registers the handlers with kopf)

    asyncio.run(
        kopf.operator(
            clusterwide=not settings.namespaces,
            namespaces=settings.namespaces,
            standalone=settings.standalone,
            peering_name=settings.peering_name,
            liveness_endpoint=f"http://0.0.0.0:{settings.liveness_port}/healthz",
            memo=kopf.Memo(settings=settings),
        )
    )
