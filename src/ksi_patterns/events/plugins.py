"""Handler plugins: the entry points of the group `ksi_patterns.handlers`.

Each entry point is a callable `register(bus)` that calls `bus.on(pattern, handler)`. ksi's own
composition handlers are registered the same way (the entry point `composition` of the
`ksi-patterns` distribution), so the modules that handle events and the modules that emit them
never import each other. A plugin that fails to import or register is reported, never raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from ksi_patterns.events.bus import EventBus

GROUP = "ksi_patterns.handlers"
OWN_DISTRIBUTION = "ksi-patterns"  # entry points of this distribution are the built-in handlers


@dataclass(frozen=True)
class PluginReport:
    """What one entry point of the `ksi_patterns.handlers` group did when loaded."""

    name: str
    value: str  # module:attribute
    distribution: str | None  # "package 1.2.3"
    ok: bool
    error: str | None = None
    handlers: tuple[tuple[str, str], ...] = field(default=())  # (pattern, handler name)

    @property
    def origin(self) -> str:
        return f"plugin {self.name} ({self.distribution or self.value})"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "distribution": self.distribution,
            "ok": self.ok,
            "error": self.error,
            "handlers": [{"pattern": p, "handler": h} for p, h in self.handlers],
        }


def is_built_in(point: metadata.EntryPoint) -> bool:
    """Whether `point` belongs to ksi itself (the composition handlers)."""
    dist = getattr(point, "dist", None)
    return dist is not None and dist.name == OWN_DISTRIBUTION


def plugin_entry_points() -> list[metadata.EntryPoint]:
    """The installed entry points of the group, by name (discovery reads package metadata:
    only when a bus is being built, never at `ksi --help`)."""
    found = metadata.entry_points(group=GROUP)
    return sorted(found, key=lambda ep: (ep.name, ep.value))


def load_plugins(
    bus: EventBus, entry_points: Sequence[metadata.EntryPoint] | None = None
) -> list[PluginReport]:
    """Call every plugin's `register(bus)`; a plugin that fails to import or register is
    reported (and what it registered before failing is kept), never raised."""
    reports = []
    try:
        points = list(entry_points) if entry_points is not None else plugin_entry_points()
    except Exception as err:  # unreadable package metadata
        return [PluginReport("(entry points)", GROUP, None, False, f"{type(err).__name__}: {err}")]
    for point in points:
        reports.append(_load(bus, point))
    return reports


def _load(bus: EventBus, point: metadata.EntryPoint) -> PluginReport:
    before = len(bus.registrations())
    dist = getattr(point, "dist", None)
    distribution = f"{dist.name} {dist.version}" if dist is not None else None
    error = None
    try:
        register = point.load()
        if not callable(register):
            raise TypeError(f"{point.value} is not callable")
        register(bus)
    except Exception as err:
        error = f"{type(err).__name__}: {err}"
    added = tuple((r.pattern, r.name) for r in bus.registrations()[before:])
    return PluginReport(point.name, point.value, distribution, error is None, error, added)
