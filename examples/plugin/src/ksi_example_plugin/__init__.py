"""An example ksi-patterns handler plugin (the seed's "Phase 4: Integration Patterns").

ksi calls `register(bus)` when it builds an event bus (`ksi event emit`, an orchestrator
session, and the announcements of `ksi pattern fork`, `merge` and `track-decision`). The
plugin registers handlers and acts through events only: it imports nothing from ksi, and
ksi imports nothing from it.

- `composition:forked`: an evaluation module would compare a new orchestration fork with its
  parent; this one asks for it by emitting `evaluation:compare_requested`.
- `composition:decision_tracked`: a monitoring module; it emits `monitoring:alert` when a
  decision was taken with a confidence below 0.5 (a condition the bus evaluates).

What a handler returns is its result (shown by `ksi event emit` and logged as ok); what it
raises is reported as its error, and the other handlers still run.
"""

from __future__ import annotations

from typing import Any

LOW_CONFIDENCE = 0.5


def register(bus: Any) -> None:
    bus.on("composition:forked", compare_with_parent, name="example.compare_with_parent")
    bus.on("composition:decision_tracked", watch_confidence, name="example.watch_confidence")


def compare_with_parent(event: Any, bus: Any) -> dict[str, Any]:
    data = event.data
    if data.get("type") != "orchestration":
        return {"skipped": "not an orchestration pattern"}
    emission = bus.emit(
        "evaluation:compare_requested",
        {"parent": data.get("parent"), "fork": data.get("name"), "commit": data.get("commit")},
    )
    return {"requested": "evaluation:compare_requested", "outcome": emission.outcome}


def watch_confidence(event: Any, bus: Any) -> dict[str, Any]:
    data = event.data
    emission = bus.emit(
        "monitoring:alert",
        {
            "issue": "low_confidence_decision",
            "pattern": data.get("pattern"),
            "decision": data.get("decision"),
            "confidence": data.get("confidence"),
        },
        condition=f"confidence != null && confidence < {LOW_CONFIDENCE}",
    )
    return {"alert": emission.emitted, "reason": emission.reason}
