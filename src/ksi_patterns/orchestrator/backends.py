"""Which backend a session runs on: `make_backend` by name. A backend's module is imported only
when it is chosen, so that only sessions on `anthropic` pay for importing the SDK."""

from __future__ import annotations

from ksi_patterns.errors import UsageError
from ksi_patterns.orchestrator.protocols import Backend, SessionView

BACKENDS = ("anthropic", "simulate")


def make_backend(name: str, session: SessionView) -> Backend:
    """The backend `name` for `session`; `anthropic` takes its key, retries and streaming from
    the session's options and its model from the session."""
    if name == "simulate":
        from ksi_patterns.orchestrator.simulate import SimulateBackend

        return SimulateBackend(session)
    if name == "anthropic":
        from ksi_patterns.orchestrator.anthropic_backend import AnthropicBackend

        options = session.options
        return AnthropicBackend(
            session,
            api_key=options.api_key,
            model=session.model or "",
            max_retries=options.max_retries,
            stream=options.stream,
        )
    raise UsageError(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}")
