"""The MCP SDK's real client, driven from synchronous tests, talking to a real `ksi mcp`.

    with stdio_client_of(registry, "claude-code") as client:      # spawns `ksi mcp`
        result = client.call("show", name="tournament_basic")
    with http_server(registry) as url, http_client_of(url, "host-a") as client:
        ...

A blocking portal runs the client's event loop on a thread of its own, so every test (and two
clients at once, from two threads) reads as plain calls.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, Implementation

from ksi_patterns.operations.registries import init_registry

KSI = Path(sys.executable).with_name("ksi")


def fresh_registry(folder: Path) -> Path:
    """A `ksi registry init` registry (the starter patterns) in FOLDER/registry."""
    path = folder / "registry"
    init_registry(path)
    return path


def ksi_command(*args: str) -> list[str]:
    """`ksi ARGS` as the installed command (python -m ksi_patterns where none is installed)."""
    if KSI.exists():
        return [str(KSI), *args]
    return [sys.executable, "-m", "ksi_patterns", *args]


def server_env(home: Path) -> dict[str, str]:
    """What the server sees: nothing of the user's data (its own data home), no colour."""
    return {"XDG_DATA_HOME": str(home), "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}


@dataclass
class Client:
    """One client session, called synchronously."""

    portal: BlockingPortal
    session: ClientSession

    def call(self, tool: str, **arguments: Any) -> CallToolResult:
        result: CallToolResult = self.portal.call(self.session.call_tool, tool, arguments)
        return result

    def data(self, tool: str, **arguments: Any) -> Any:
        """A call that must succeed: its structured result."""
        result = self.call(tool, **arguments)
        assert not result.is_error, text_of(result)
        return result.structured_content

    def error(self, tool: str, **arguments: Any) -> str:
        """A call that must fail: its message (the first text block)."""
        result = self.call(tool, **arguments)
        assert result.is_error, text_of(result)
        return text_of(result).splitlines()[0]

    def read(self, uri: str) -> str:
        result = self.portal.call(self.session.read_resource, uri)
        text: str = result.contents[0].text
        return text

    def prompt(self, name: str, **arguments: str) -> str:
        result = self.portal.call(self.session.get_prompt, name, arguments)
        text: str = result.messages[0].content.text
        return text

    def tools(self) -> dict[str, Any]:
        listed = self.portal.call(self.session.list_tools)
        return {tool.name: tool for tool in listed.tools}


def text_of(result: CallToolResult) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def json_of(result: CallToolResult) -> Any:
    return json.loads(getattr(result.content[0], "text", ""))


@asynccontextmanager
async def _session(
    transport: AbstractAsyncContextManager[Any], name: str
) -> AsyncIterator[ClientSession]:
    async with transport as streams:
        info = Implementation(name=name, version="0.0.1")
        async with ClientSession(streams[0], streams[1], client_info=info) as session:
            await session.initialize()
            yield session


@contextmanager
def _client(transport: AbstractAsyncContextManager[Any], name: str) -> Iterator[Client]:
    try:
        with (
            start_blocking_portal() as portal,
            portal.wrap_async_context_manager(_session(transport, name)) as session,
        ):
            yield Client(portal, session)
    except BaseExceptionGroup as group:  # the client's task groups wrap a failed assertion
        if len(group.exceptions) == 1:
            raise _innermost(group) from None
        raise


def _innermost(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


@contextmanager
def stdio_client_of(
    registry: Path, name: str, *options: str, log: Path | None = None
) -> Iterator[Client]:
    """A client of `ksi mcp --registry REGISTRY OPTIONS` spawned over stdio, named `name`."""
    command = ksi_command("mcp", "--registry", str(registry), *options)
    log = log or registry.parent / f"mcp-{name}.log"
    env = server_env(registry.parent / "xdg-data")
    params = StdioServerParameters(command=command[0], args=command[1:], env=env)
    with log.open("a") as errors, _client(stdio_client(params, errlog=errors), name) as client:
        yield client


@contextmanager
def http_client_of(url: str, name: str) -> Iterator[Client]:
    with _client(streamable_http_client(url), name) as client:
        yield client


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def http_server(registry: Path, *options: str, timeout: float = 30.0) -> Iterator[str]:
    """`ksi mcp --transport http` on a free port of 127.0.0.1, until the block ends; its URL."""
    port = free_port()
    command = ksi_command("mcp", "--registry", str(registry), "--transport", "http",
                          "--port", str(port), *options)  # fmt: skip
    log = registry.parent / f"mcp-http-{port}.log"
    env = {**os.environ, **server_env(registry.parent / "xdg-data")}
    with log.open("w") as errors:
        server = subprocess.Popen(command, stdout=errors, stderr=errors, env=env)
    try:
        _wait_for(port, server, log, timeout)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_for(port: int, server: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"ksi mcp exited ({server.returncode}):\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"ksi mcp did not listen on {port} in {timeout} s:\n{log.read_text()}")
