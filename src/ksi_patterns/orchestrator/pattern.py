"""The pattern a session runs: found in the registry, checked to be an orchestration, resolved
(`extends`), and made, with the orchestrator's profile and the task, into its system prompt."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ksi_patterns.errors import KsiError, UsageError
from ksi_patterns.orchestrator import prompts
from ksi_patterns.orchestrator.options import DEFAULT_PROFILE

if TYPE_CHECKING:
    from ksi_patterns.registry.registry import Registry


@dataclass(frozen=True)
class SessionPattern:
    path: str  # in the registry: orchestrations/NAME.yaml
    text: str  # the file as it is
    document: dict[str, Any]  # resolved: what it inherits filled in
    system: str  # the orchestrator's system prompt


def load_pattern(
    registry: Registry, pattern: str, profile: str, task: str, metrics: Mapping[str, Any]
) -> SessionPattern:
    """`pattern` ready to run with `profile` on `task`; a UsageError when it is not an
    orchestration pattern or the task is empty."""
    from ksi_patterns.documents.extends import resolve
    from ksi_patterns.documents.loading import decode, load_plain

    if not task.strip():
        raise UsageError("{field} is empty: say what the session should do", field="task")
    lookup = registry.lookup()
    path = registry.find(pattern)
    text = decode(registry.read(path), path)
    document = load_plain(text, path)
    kind = document.get("type") if isinstance(document, dict) else None
    if not path.startswith("orchestrations/") or kind not in (None, "orchestration"):
        raise UsageError(f"{pattern!r} ({path}) is not an orchestration pattern")
    resolved = resolve(pattern, lookup)
    profile_text = prompts.profile_prompt(profile, lookup)
    system = prompts.orchestrator_prompt(profile_text, pattern, text, resolved, task, metrics)
    return SessionPattern(path, text, resolved, system)


def registry_defaults(registry: Registry) -> dict[str, Any]:
    """The registry's `defaults` (orchestrator profile, model); {} when it has none."""
    try:
        defaults = registry.config().get("defaults")
    except KsiError:
        return {}
    return defaults if isinstance(defaults, dict) else {}


def chosen_profile(registry: Registry, profile: str | None) -> str:
    """The orchestrator's profile: the one asked for, else the registry's
    `defaults.orchestrator_profile`, else base_orchestrator."""
    from ksi_patterns.documents.model import check_name

    wanted = profile or registry_defaults(registry).get("orchestrator_profile") or DEFAULT_PROFILE
    return check_name(wanted, "profile")
