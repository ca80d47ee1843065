"""Helpers shared by the middleware tests."""

from __future__ import annotations

from prometheus_client import REGISTRY


def decisions(actor, outcome: str) -> float:  # type: ignore[no-untyped-def]
    """The flow-control decision counter for one actor and outcome."""
    labels = {"actor_name": actor.actor_name, "outcome": outcome}
    return REGISTRY.get_sample_value("zapq_flow_decisions_total", labels) or 0.0


def drain(broker, worker) -> None:  # type: ignore[no-untyped-def]
    broker.join("default", timeout=20_000)
    worker.join()


def flow_control(broker):  # type: ignore[no-untyped-def]
    """The broker's FlowControl middleware (its keyspace names the keys a test inspects)."""
    from middleware.flow_control import find_flow_control

    middleware = find_flow_control(broker)
    assert middleware is not None
    return middleware
