"""`ksi mcp`: serve the registry over the Model Context Protocol.

The server is a face of its own (ksi_patterns.mcp), reached through the entry point `mcp` of
the group `ksi_patterns.servers`: faces never import each other, and the SDK (with pydantic and
starlette) is loaded only by this command.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from ksi_patterns.cli import output
from ksi_patterns.cli.options import RegistryOption
from ksi_patterns.errors import UsageError

SERVERS = "ksi_patterns.servers"


class Transport(StrEnum):
    stdio = "stdio"
    http = "http"


def mcp(
    registry: RegistryOption = None,
    transport: Annotated[
        Transport, typer.Option(help="stdio (a host starts ksi) or http (streamable HTTP).")
    ] = Transport.stdio,
    host: Annotated[str, typer.Option(help="Address to listen on (http).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (http).")] = 8000,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Offer only the tools that write nothing.")
    ] = False,
) -> None:
    """Serve the registry over MCP, for agent hosts (Claude Code, Claude Desktop, ...).

    Tools find, read and evolve patterns (discover, select, show, lineage, diff, validate,
    fork, merge, track_decision, learn, record_run, emit_event); resources are the documents,
    their logs and the lineage tree; prompts make the host an orchestrator. Writes are
    recorded under the client's name. Add it to Claude Code with: claude mcp add ksi -- ksi mcp
    """
    from importlib.metadata import entry_points

    from ksi_patterns.registry.registry import open_registry

    location = open_registry(registry).location  # refuse a wrong --registry before serving
    found = entry_points(group=SERVERS, name="mcp")
    if not found:
        raise UsageError(f"no MCP server installed (entry point mcp in {SERVERS}): reinstall ksi")
    serve = next(iter(found)).load()
    if transport is Transport.http:
        output.note(f"ksi mcp: serving {location} on http://{host}:{port}/mcp")
    serve(location, transport=transport.value, host=host, port=port, read_only=read_only)
