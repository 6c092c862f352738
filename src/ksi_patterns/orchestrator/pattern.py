"""The pattern a session runs: found in the registry, checked to be an orchestration, resolved
(`extends`), and made, with the orchestrator's profile and the task, into its system prompt."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ksi_patterns.errors import UsageError
from ksi_patterns.orchestrator import prompts

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
    orchestration pattern."""
    from ksi_patterns.documents.extends import resolve
    from ksi_patterns.documents.loading import decode, load_plain

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
