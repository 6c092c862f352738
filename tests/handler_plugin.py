"""A handler plugin for the tests, loaded through entry points made in the tests."""

from __future__ import annotations

from typing import Any

SEEN: list[tuple[str, dict[str, Any]]] = []
NOT_CALLABLE = 42


def register(bus: Any) -> None:
    bus.on("composition:*ed", record, name="test_plugin.record")


def record(event: Any, bus: Any) -> dict[str, str]:
    SEEN.append((event.name, dict(event.data)))
    return {"seen": event.name}


def register_then_fail(bus: Any) -> None:
    bus.on("x:*", record, name="test_plugin.partial")
    raise RuntimeError("half way")


def register_a_failing_handler(bus: Any) -> None:
    def explode(event: Any, bus: Any) -> None:
        raise ValueError(f"cannot handle {event.name}")

    bus.on("composition:forked", explode, name="test_plugin.explode")
