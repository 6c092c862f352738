"""What a backend is and what it sees of its session, so that backends do not import the session.

- `Backend`: what `simulate` and `anthropic` implement: carry out one agent's conversation
  (agent.py's `Agent`, which the backend drives).
- `SessionView`: what a backend reads of its session and reports to it (session.py's `Session`
  is one); `BackendFactory` makes a backend for a session.
- The errors that end a session: `SessionError`, and `BackendError` when the service fails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ksi_patterns.errors import KsiError

if TYPE_CHECKING:
    from ksi_patterns.orchestrator.agent import Agent
    from ksi_patterns.orchestrator.options import SessionOptions
    from ksi_patterns.orchestrator.summary import Decision


class SessionError(KsiError):
    """The session could not go on (the model's service failed, a limit was misconfigured);
    the transcript is kept and named in the message."""


class BackendError(SessionError):
    """The backend's service failed: authentication, rate limit, overload, connection."""


class SessionView(Protocol):
    """What a backend reads of its session (the pattern, the metrics, the counts so far) and
    what it reports to it (records, warnings, DSL lines it skipped)."""

    @property
    def options(self) -> SessionOptions: ...
    @property
    def model(self) -> str | None: ...
    @property
    def pattern(self) -> str: ...
    @property
    def pattern_path(self) -> str: ...
    @property
    def pattern_text(self) -> str: ...
    @property
    def pattern_document(self) -> dict[str, Any]: ...
    @property
    def metrics(self) -> Mapping[str, Any]: ...
    @property
    def events(self) -> Mapping[str, int]: ...
    @property
    def decisions(self) -> Sequence[Decision]: ...
    @property
    def skipped(self) -> Sequence[Mapping[str, Any]]: ...

    def record(self, type_: str, **fields: Any) -> None: ...

    def warn(self, message: str) -> None:
        """A warning worth showing once (the SDK's deprecation notice of a model, say)."""

    def skip(self, line: int | None, text: str, reason: str, **fields: Any) -> None:
        """A DSL line the simulator did not carry out, and why."""


class Backend(Protocol):
    name: str

    def run(self, agent: Agent) -> None:
        """Carry out `agent`'s conversation until it ends or a limit stops it; set
        `agent.final_text` and `agent.stop_reason`. Raise BackendError when the service fails."""


BackendFactory = Callable[[SessionView], Backend]
