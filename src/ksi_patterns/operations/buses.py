"""Event buses for a registry: its event log, ksi's own composition handlers, and the plugins.

The composition handlers are registered through the entry point `composition` of the group
`ksi_patterns.handlers`, as any plugin is, so this layer never imports the face above it; they
find the registry in the bus's `context`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ksi_patterns.errors import KsiError

if TYPE_CHECKING:
    from ksi_patterns.events.bus import EventBus
    from ksi_patterns.events.plugins import PluginReport
    from ksi_patterns.registry.registry import Registry

LOG_FILE = "events.jsonl"
BUILT_IN = "built-in"


def event_log_path(registry: Registry) -> Path:
    """`<git-dir>/ksi/events.jsonl`."""
    return registry.store.state_dir / LOG_FILE


def open_bus(
    registry: Registry | None,
    *,
    source: str = "api",
    metrics: Mapping[str, Any] | None = None,
    plugins: bool = True,
    warn: Callable[[str], None] | None = None,
    agent: str | None = None,
) -> EventBus:
    """A bus logging to the registry's event log, with the composition handlers and (unless
    `plugins` is false) the plugins; plugins that fail to load are reported to `warn`. Without a
    registry the bus logs nothing and its composition handlers refuse to run (for listing).
    `agent` is who acts when an event's data names nobody (an MCP client's name)."""
    from ksi_patterns.events.bus import EventBus

    bus = EventBus(
        log_path=event_log_path(registry) if registry is not None else None,
        metrics=metrics,
        source=source,
        context={"registry": registry, "agent": agent} if registry is not None else None,
    )
    for report in _load_handlers(bus, plugins=plugins):
        if not report.ok and warn is not None:
            warn(f"warning: handler {report.origin} failed to load: {report.error}")
    return bus


def _load_handlers(bus: EventBus, *, plugins: bool) -> list[PluginReport]:
    """ksi's own handlers first (they answer composition events before any plugin sees them),
    then the plugins."""
    from ksi_patterns.events.plugins import is_built_in, load_plugins, plugin_entry_points

    try:
        points = plugin_entry_points()
    except Exception:  # unreadable package metadata: load_plugins reports it
        return load_plugins(bus)
    own = [point for point in points if is_built_in(point)]
    if not own:
        raise KsiError(
            "this installation of ksi-patterns has lost its package metadata (no entry point "
            "`composition` in the group ksi_patterns.handlers): reinstall it"
        )
    others = [point for point in points if not is_built_in(point)] if plugins else []
    return load_plugins(bus, own + others)


@dataclass(frozen=True)
class HandlerInfo:
    pattern: str
    name: str
    origin: str  # "built-in", or the plugin that registered it
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


def handlers() -> tuple[list[HandlerInfo], list[PluginReport]]:
    """Every handler a bus gets (built-in, then plugins), and how each plugin loaded. Opens no
    registry."""
    from ksi_patterns.events.bus import EventBus

    bus = EventBus()
    try:
        reports = _load_handlers(bus, plugins=True)
        registrations = {(r.pattern, r.name): r for r in bus.registrations()}
    finally:
        bus.close()
    found = []
    for report in reports:
        own = _is_own(report)
        for pattern, name in report.handlers:
            about = registrations[(pattern, name)].about
            found.append(
                HandlerInfo(
                    pattern,
                    name,
                    BUILT_IN if own else report.origin,
                    about.get("parameters") or None,
                    about.get("announces") or None,
                )
            )
    return found, [report for report in reports if not _is_own(report)]


def _is_own(report: PluginReport) -> bool:
    from ksi_patterns.events.plugins import OWN_DISTRIBUTION

    return (report.distribution or "").split(" ")[0] == OWN_DISTRIBUTION
