"""What a session backend is: the `Backend` protocol (`simulate` and `anthropic` implement it)
and the errors that end a session (`SessionError`, and `BackendError` when the service fails)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ksi_patterns.errors import KsiError

if TYPE_CHECKING:
    from ksi_patterns.orchestrator.agent import Agent


class SessionError(KsiError):
    """The session could not go on (the model's service failed, a limit was misconfigured);
    the transcript is kept and named in the message."""


class BackendError(SessionError):
    """The backend's service failed: authentication, rate limit, overload, connection."""


class Backend(Protocol):
    name: str

    def run(self, agent: Agent) -> None:
        """Carry out `agent`'s conversation until it ends or a limit stops it; set
        `agent.final_text` and `agent.stop_reason`. Raise BackendError when the service fails."""
