"""Handler plugins, and the buses the CLI builds: the entry points of `ksi_patterns.handlers`.

`events` knows no registry; the composition handlers (composition_handlers.py) bind registry
operations to events. This module adds what else a bus gets:

- Optional modules add handlers through the entry-point group `ksi_patterns.handlers`: each entry
  point is a callable `register(bus)`. `load_plugins(bus)` loads them all and reports what each
  registered, or why it failed, without raising.
- `build_bus(registry)` is a bus with the registry's event log, the composition handlers and the
  plugins; `inventory()` lists every handler such a bus has.
- `announce(registry, event, data)` is how the CLI's own commands tell plugins what they did
  (`ksi pattern fork` announces `composition:forked` as the event handler does), so a plugin sees
  every fork however it was made. It never fails the command that already succeeded.

The composition handlers and what announcements carry stay importable from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ksi_patterns.composition.changes import decision_tracked, forked, merged
from ksi_patterns.composition.handlers import (
    COMPOSITION_EVENTS,
    CompositionEvent,
    Operation,
    register_composition_handlers,
    register_lazily,
)
from ksi_patterns.composition.queries import MAX_CHANGES
from ksi_patterns.errors import UsageError
from ksi_patterns.events.bus import EventBus
from ksi_patterns.events.types import Emission

if TYPE_CHECKING:
    from ksi_patterns.registry.registry import Registry

__all__ = [
    "ANNOUNCE_WAIT",
    "BUILT_IN",
    "COMPOSITION_EVENTS",
    "GROUP",
    "LOG_FILE",
    "MAX_CHANGES",
    "CompositionEvent",
    "HandlerInfo",
    "Operation",
    "PluginReport",
    "Warn",
    "announce",
    "build_bus",
    "decision_tracked",
    "event_log_path",
    "forked",
    "inventory",
    "load_plugins",
    "merged",
    "plugin_entry_points",
    "register_composition_handlers",
]

GROUP = "ksi_patterns.handlers"
LOG_FILE = "events.jsonl"
BUILT_IN = "built-in"
ANNOUNCE_WAIT = 5.0  # seconds `announce` waits for events that plugins delayed
Warn = Callable[[str], None]


def event_log_path(registry: Registry) -> Path:
    """`<git-dir>/ksi/events.jsonl`."""
    return registry.store.state_dir / LOG_FILE


# ---------------------------------------------------------------------------------------------
# Plugins


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
        reports.append(
            PluginReport(point.name, point.value, distribution, error is None, error, added)
        )
    return reports


# ---------------------------------------------------------------------------------------------
# Buses for the CLI


def build_bus(
    registry: Registry,
    *,
    source: str = "cli",
    metrics: Mapping[str, Any] | None = None,
    plugins: bool = True,
    warn: Warn | None = None,
) -> EventBus:
    """A bus logging to the registry's event log, with the composition handlers and (unless
    `plugins` is false) the plugins; plugins that fail are reported to `warn`."""
    bus = EventBus(log_path=event_log_path(registry), metrics=metrics, source=source)
    register_composition_handlers(bus, registry)
    if plugins:
        for report in load_plugins(bus):
            if not report.ok and warn is not None:
                warn(f"warning: handler {report.origin} failed to load: {report.error}")
    return bus


def announce(
    registry: Registry, event: str, data: Mapping[str, Any], *, warn: Warn | None = None
) -> Emission | None:
    """Emit `event` on a bus with the event log and the plugins, as a CLI command's last step:
    wait (at most ANNOUNCE_WAIT s) for what plugins delay; tell `warn` about handlers that
    failed. Never raises: the command it ends has already succeeded."""
    try:
        bus = build_bus(registry, warn=warn)
        failures: list[str] = []

        def watch(emission: Emission) -> None:
            failures.extend(
                f"warning: handler {result['handler']} failed on {emission.event.name}: "
                f"{result.get('error')}"
                for result in emission.failed
            )

        bus.observe(watch)
        try:
            emission = bus.emit(event, data)
            bus.wait(ANNOUNCE_WAIT)
        finally:
            bus.close()
        if warn is not None:
            for line in failures:
                warn(line)
        return emission
    except Exception as err:  # an announcement never fails the command it ends
        if warn is not None:
            warn(f"warning: could not announce {event}: {err}")
        return None


@dataclass(frozen=True)
class HandlerInfo:
    pattern: str
    name: str
    origin: str
    parameters: str | None = None
    announces: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "pattern": self.pattern,
            "handler": self.name,
            "origin": self.origin,
            "parameters": self.parameters,
            "announces": self.announces,
        }


def inventory() -> tuple[list[HandlerInfo], list[PluginReport]]:
    """Every handler a CLI bus has (built-in, then plugins), and how each plugin loaded. Opens no
    registry."""

    def no_registry() -> Registry:
        raise UsageError("this bus only lists handlers")

    bus = EventBus()
    try:
        register_lazily(bus, no_registry)
        found = [
            HandlerInfo(spec.event, spec.handler_name, BUILT_IN, spec.parameters, spec.announces)
            for spec in COMPOSITION_EVENTS
        ]
        reports = load_plugins(bus)
    finally:
        bus.close()
    for report in reports:
        found += [HandlerInfo(pattern, name, report.origin) for pattern, name in report.handlers]
    return found, reports
