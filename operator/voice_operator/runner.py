"""Starts kopf with the operator's handlers and settings."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket

import kopf

from voice_operator.settings import OperatorSettings


def peering_priority(settings: OperatorSettings) -> int:
    """This replica's peering priority: the configured one, else a random one.

    kopf pauses every replica when several share the highest priority, so replicas of one
    Deployment (same settings) must differ; a random 31-bit number makes a tie negligible.
    """
    if settings.peering_priority is not None:
        return settings.peering_priority
    return secrets.randbelow(2**31)


def peering_identity(settings: OperatorSettings) -> str:
    """This replica's name in the peering object: its pod name, else host, pid and a random tag.

    Given explicitly because kopf's own default asks the password database for the process's
    login name, which an image running as a bare uid (65532) does not have.
    """
    if settings.pod_name:
        return settings.pod_name
    return f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(3)}"


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
            priority=peering_priority(settings),
            identity=peering_identity(settings),  # type: ignore[arg-type]  # kopf types it as a NewType of str
            liveness_endpoint=f"http://0.0.0.0:{settings.liveness_port}/healthz",
            memo=kopf.Memo(settings=settings),
        )
    )
