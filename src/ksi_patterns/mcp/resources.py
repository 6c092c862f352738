"""The registry as resources: every document, the logs beside a pattern, the lineage tree.

    ksi://patterns/NAME                    the pattern or profile, as written (YAML)
    ksi://patterns/NAME@REF                at a release, branch, tag or commit
    ksi://patterns/NAME/decisions          its decision log (and NAME@REF/decisions)
    ksi://patterns/NAME/runs               its runs log, where it has one (and NAME@REF/runs)
    ksi://lineage, ksi://lineage/NAME      the family tree of forks (JSON)

A REF holding `/` (fork/NAME) is written percent-encoded: fork%2FNAME. The list is made from
the registry at each request, so a fork made a moment ago is in it; the templates cover every
ref. Reading a resource calls one operation, as the tools do.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.types import Resource

from ksi_patterns.errors import KsiError
from ksi_patterns.mcp.calls import Ctx, Place, place_of, protocol_error
from ksi_patterns.operations.finding import list_documents
from ksi_patterns.operations.reading import LOGS, log_path, read_log, show
from ksi_patterns.registry.registry import Registry, open_registry

YAML = "application/yaml"
JSON = "application/json"
LINEAGE = "Every family tree of forks."


def listed(place: Place) -> list[Resource]:
    """The resources at the tip: documents, the logs they have, and the lineage tree."""
    found = list_documents(open_registry(place.location))  # what does not read is left out
    paths = {entry.path for entry in found}
    shown = [Resource(uri="ksi://lineage", name="lineage", description=LINEAGE, mime_type=JSON)]
    for entry in found:
        if entry.kind == "decision-log":
            continue  # listed as its pattern's log
        uri = f"ksi://patterns/{entry.name}"
        about = entry.description or None
        shown.append(Resource(uri=uri, name=entry.name, description=about, mime_type=YAML))
        if entry.kind != "orchestration":
            continue
        for log in LOGS:
            if log_path(entry.name, log) in paths:
                name, about = f"{entry.name} {log}", f"The {log} log of {entry.name}."
                log_uri = f"{uri}/{log}"
                shown.append(Resource(uri=log_uri, name=name, description=about, mime_type=YAML))
    return shown


def add_resources(app: MCPServer[Any], place: Place) -> None:
    """The templates every listed resource (and every ref) is read through."""
    # Refs first: a name never holds '@', so `{name}` stops there and `{ref}` takes the rest.
    at_ref = "at a release, branch, tag or commit"
    templates = (
        ("ksi://patterns/{name}@{ref}/{log}", "log at a ref", read_log_at, f"A log {at_ref}."),
        ("ksi://patterns/{name}@{ref}", "document at a ref", read_document_at, f"As {at_ref}."),
        ("ksi://patterns/{name}/{log}", "log", read_pattern_log, "decisions or runs, as written."),
        ("ksi://patterns/{name}", "document", read_document, "A pattern or profile as written."),
    )
    for uri, name, reader, about in templates:
        app.resource(uri, name=name, description=about, mime_type=YAML)(reader)
    about = "The family tree of forks holding NAME."
    app.resource("ksi://lineage/{name}", name="family tree", description=about, mime_type=JSON)(
        read_family
    )

    def read_forest() -> str:  # a static resource gets no context: it keeps the place
        return _trees(place, None)

    app.resource("ksi://lineage", name="lineage", description=LINEAGE, mime_type=JSON)(read_forest)


def read_document(name: str, ctx: Ctx) -> str:
    return _read(place_of(ctx), lambda registry: show(registry, name).text)


def read_document_at(name: str, ref: str, ctx: Ctx) -> str:
    return _read(place_of(ctx), lambda registry: show(registry, f"{name}@{ref}").text)


def read_pattern_log(name: str, log: str, ctx: Ctx) -> str:
    return _read(place_of(ctx), lambda registry: read_log(registry, name, log).text)


def read_log_at(name: str, ref: str, log: str, ctx: Ctx) -> str:
    return _read(place_of(ctx), lambda registry: read_log(registry, f"{name}@{ref}", log).text)


def read_family(name: str, ctx: Ctx) -> str:
    return _trees(place_of(ctx), name)


def _trees(place: Place, name: str | None) -> str:
    from ksi_patterns.operations.forks import lineage

    def trees(registry: Registry) -> str:
        roots = [root.to_json() for root in lineage(registry, name)]
        return json.dumps({"trees": roots}, ensure_ascii=False, indent=2, default=str)

    return _read(place, trees)


def _read(place: Place, reader: Callable[[Registry], str]) -> str:
    """What `reader` reads, opening the registry for it; a KsiError as a protocol error."""
    try:
        return reader(open_registry(place.location))
    except KsiError as err:
        raise protocol_error(err) from None
