"""Starts kopf with the operator's handlers and settings."""

from __future__ import annotations

import asyncio

import kopf

from voice_operator.settings import OperatorSettings


def run(settings: OperatorSettings) -> None:
    """Run the operator until it is stopped; blocks."""
    from voice_operator.handlers import register

    registry = kopf.OperatorRegistry()
    register(settings, registry)
    asyncio.run(
        kopf.operator(
            registry=registry,
            clusterwide=not settings.namespaces,
            namespaces=settings.namespaces,
            standalone=settings.standalone,
            # Naming a peering makes kopf wait for its CRD even in standalone mode: name it only
            # when peering is wanted.
            peering_name=None if settings.standalone else settings.peering_name,
            liveness_endpoint=f"http://0.0.0.0:{settings.liveness_port}/healthz",
            memo=kopf.Memo(settings=settings),
        )
    )
