"""The MCP server over one registry: its tools, resources and prompts, served on stdio or on
streamable HTTP. `serve` is the entry point `mcp` of the group `ksi_patterns.servers`, which
`ksi mcp` starts (faces never import each other)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.types import Resource, ToolAnnotations

from ksi_patterns import __version__
from ksi_patterns.mcp import prompts, reading, resources, writing
from ksi_patterns.mcp.calls import Place

INSTRUCTIONS = """\
A git-backed registry of LLM orchestration patterns (ksi-patterns). Find patterns with discover \
and select, read them with show, diff and lineage (or as resources ksi://patterns/NAME), and \
evolve them: fork, track_decision, learn, record_run, merge. emit_event is the seed's \
event:emit: composition:* events run the same operations through the event bus and its plugins. \
The orchestrate prompt makes you the orchestrator of a pattern. Every write is a git commit \
recorded under your client's name; a refused request writes nothing and says why."""


class RegistryServer(MCPServer[Place]):
    """An MCP server whose resource list is read from the registry at each request (a fork
    made through a tool is listed at once)."""

    def __init__(self, place: Place) -> None:
        super().__init__(
            name="ksi",
            title="ksi-patterns registry",
            instructions=INSTRUCTIONS,
            version=__version__,
            lifespan=_lifespan(place),
            log_level="WARNING",  # stdio's stderr is the host's log; requests are not news
        )
        self.place = place

    async def list_resources(self) -> list[Resource]:
        import anyio.to_thread

        return await anyio.to_thread.run_sync(resources.listed, self.place)


def _lifespan(place: Place) -> Any:
    """Every request's context carries the place (tools reach the registry through it)."""

    @asynccontextmanager
    async def lifespan(_app: MCPServer[Place]) -> AsyncIterator[Place]:
        yield place

    return lifespan


def build(location: Path, *, read_only: bool = False) -> RegistryServer:
    """The server for the registry at `location`: the reading tools and the resources; unless
    `read_only`, the writing tools and the prompts (which act through them) too."""
    place = Place(location)
    app = RegistryServer(place)
    for tool in reading.TOOLS:
        app.add_tool(tool, annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
    resources.add_resources(app, place)
    if read_only:
        return app
    for tool in writing.TOOLS:
        hints = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
        app.add_tool(tool, annotations=hints)
    for prompt in prompts.PROMPTS:
        app.prompt()(prompt)
    return app


def serve(
    location: Path,
    *,
    transport: str = "stdio",
    host: str = "127.0.0.1",
    port: int = 8000,
    read_only: bool = False,
) -> None:
    """Serve the registry at `location` until the client (stdio) or a signal (http) ends it."""
    app = build(location, read_only=read_only)
    if transport == "http":
        app.run("streamable-http", host=host, port=port)
    else:
        app.run("stdio")
