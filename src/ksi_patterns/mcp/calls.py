"""A tool call as one operation's call, and its result (or its error) as a tool result.

Every call opens the registry anew: the SDK runs tools on worker threads, and a registry opened
per call shares no git objects between them (opening costs under a millisecond). Writes are
made for the caller `mcp`, whose agent is the client's name (the `clientInfo` of its
`initialize`), so decisions, learnings and forks record which host made them.

A `KsiError` becomes an error result holding the one line `ksi` prints for it, with the
fields named as the tools' arguments name them; nothing was written. Any other exception is a
bug: the SDK reports it without its text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, CallToolResult, ContentBlock, TextContent

from ksi_patterns.errors import KsiError
from ksi_patterns.events.values import json_safe
from ksi_patterns.operations.caller import Caller
from ksi_patterns.registry.registry import Registry, open_registry

# The operations' field names that the tools' arguments spell otherwise (as the seed does).
MCP_WORDS = {"settings": "modifications"}


@dataclass(frozen=True)
class Place:
    """What every call of one server shares: where the registry is."""

    location: Path


Ctx: TypeAlias = Context[Place, Any]


@dataclass(frozen=True)
class Reply:
    """A result that is an error although the operation ran (an emitted event a handler
    failed on): the agent sees the whole result, marked as an error."""

    data: Mapping[str, Any]
    is_error: bool


Operation = Callable[[Registry, Caller], "Mapping[str, Any] | Reply"]


def place_of(ctx: Ctx) -> Place:
    place = ctx.request_context.lifespan_context
    if not isinstance(place, Place):
        raise RuntimeError("the server was started without its registry")
    return place


def registry_of(ctx: Ctx) -> Registry:
    return open_registry(place_of(ctx).location)


def client_name(ctx: Ctx) -> str | None:
    """The client's name, as its `initialize` request gave it (None when it gave none)."""
    params = ctx.session.client_params
    name: str = params.client_info.name.strip() if params is not None else ""
    return name or None


def answer(ctx: Ctx, operation: Operation) -> CallToolResult:
    """Run `operation` for this call's client and answer with its JSON (warnings follow it as
    text), or with the error's one line."""
    notes: list[str] = []
    caller = Caller(source="mcp", agent=client_name(ctx), warn=notes.append)
    try:
        done = operation(registry_of(ctx), caller)
    except KsiError as err:
        return refusal(err)
    reply = done if isinstance(done, Reply) else Reply(done, is_error=False)
    data: dict[str, Any] = json_safe(dict(reply.data))
    blocks: list[ContentBlock] = [_text(json.dumps(data, ensure_ascii=False, indent=2))]
    blocks += map(_text, notes)
    return CallToolResult(content=blocks, structured_content=data, is_error=reply.is_error)


def refusal(err: KsiError) -> CallToolResult:
    """The error result: the message `ksi` prints, and a conflicting merge's records."""
    from ksi_patterns.operations.merges import MergeConflicts  # its import is not small

    message = worded(err)
    data: dict[str, Any] = {"error": message}
    blocks: list[ContentBlock] = [_text(message)]
    if isinstance(err, MergeConflicts):
        data["conflicts"] = json_safe(err.records)
        blocks.append(_text(json.dumps({"conflicts": data["conflicts"]}, indent=2)))
    return CallToolResult(content=blocks, structured_content=data, is_error=True)


def worded(err: KsiError) -> str:
    """The one line `ksi` prints for `err`, its field named as the tools name it."""
    return err.shown(lambda field: repr(MCP_WORDS.get(field, field)))


def protocol_error(err: KsiError) -> MCPError:
    """`err` for a resource read or a prompt, which answer errors as protocol errors."""
    return MCPError(code=INVALID_PARAMS, message=worded(err))


def _text(text: str) -> TextContent:
    return TextContent(type="text", text=text)
