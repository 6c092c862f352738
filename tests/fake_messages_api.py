"""A fake Anthropic Messages API on 127.0.0.1, for driving the real SDK in tests.

It answers `POST /v1/messages` from a script of replies, in order, and records every request it
got. A scripted message is answered as plain JSON, or as a server-sent event stream when the
request asked for `"stream": true` (message_start, content_block_start/delta/stop for text and
tool_use blocks, message_delta with the stop reason and usage, message_stop), so one script serves
both modes. A scripted error is answered with the Anthropic error JSON and its status (401, 429,
529...). When the script runs out the fake answers 400, so a test never hangs on a missing reply.

    with FakeMessagesAPI() as api:
        api.add(reply(tool_use("monitoring:alert", {"issue": "x"})))
        api.add(reply(text("done")))
        client = anthropic.Anthropic(api_key="sk-fake", base_url=api.url, max_retries=0)
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ids = itertools.count(1)

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(
    event: str,
    data: dict[str, Any] | None = None,
    *,
    delay: float | None = None,
    condition: str | None = None,
    name: str = "emit_event",
    id: str | None = None,
) -> dict[str, Any]:
    """A call of the emit_event tool (or of `name`, to test an unknown tool)."""
    tool_input: dict[str, Any] = {"event": event}
    if data is not None:
        tool_input["data"] = data
    if delay is not None:
        tool_input["delay"] = delay
    if condition is not None:
        tool_input["condition"] = condition
    return {
        "type": "tool_use",
        "id": id or f"toolu_{next(_ids):04d}",
        "name": name,
        "input": tool_input,
    }


@dataclass(frozen=True)
class Reply:
    content: list[dict[str, Any]]
    stop_reason: str
    input_tokens: int
    output_tokens: int


def reply(
    *content: dict[str, Any],
    stop_reason: str | None = None,
    input_tokens: int = 100,
    output_tokens: int = 20,
) -> Reply:
    """A scripted assistant message; stops on tool_use when it calls a tool, else end_turn."""
    if stop_reason is None:
        calls = any(block["type"] == "tool_use" for block in content)
        stop_reason = "tool_use" if calls else "end_turn"
    return Reply(list(content), stop_reason, input_tokens, output_tokens)


@dataclass(frozen=True)
class Failure:
    status: int
    message: str
    error_type: str | None = None


def failure(status: int, message: str | None = None) -> Failure:
    return Failure(status, message or f"fake {ERROR_TYPES.get(status, 'api_error')}")


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def system(self) -> str:
        system = self.body.get("system", "")
        if isinstance(system, list):
            return "\n".join(block.get("text", "") for block in system)
        return str(system)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    def tool_results(self) -> list[dict[str, Any]]:
        """The tool_result blocks of this request's last (user) message."""
        last = self.messages[-1] if self.messages else {}
        content = last.get("content", [])
        if not isinstance(content, list):
            return []
        return [block for block in content if block.get("type") == "tool_result"]


@dataclass
class FakeMessagesAPI:
    script: list[Reply | Failure] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    chunk: int = 7  # characters of tool input per input_json_delta

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting -------------------------------------------------------------------------

    def add(self, *items: Reply | Failure) -> FakeMessagesAPI:
        with self._lock:
            self.script.extend(items)
        return self

    def next_item(self, request: Request) -> Reply | Failure:
        with self._lock:
            self.requests.append(request)
            if not self.script:
                return Failure(400, "fake Messages API: no scripted reply left")
            return self.script.pop(0)

    # -- serving ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeMessagesAPI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                raw = self.rfile.read(length) if length else b"{}"
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                request = Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                if self.path.split("?")[0] != "/v1/messages":
                    self._send(404, _error_body(404, f"no route {self.path}"), "application/json")
                    return
                item = fake.next_item(request)
                if isinstance(item, Failure):
                    payload = _error_body(item.status, item.message, item.error_type)
                    self._send(item.status, payload, "application/json")
                elif body.get("stream"):
                    self._send(200, _sse(item, body, fake.chunk), "text/event-stream")
                else:
                    self._send(200, json.dumps(_message(item, body)).encode(), "application/json")

            def _send(self, status: int, payload: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(payload)))
                self.send_header("request-id", f"req_fake_{next(_ids):04d}")
                if status == 429:
                    self.send_header("retry-after", "0")
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeMessagesAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _error_body(status: int, message: str, error_type: str | None = None) -> bytes:
    kind = error_type or ERROR_TYPES.get(status, "api_error")
    return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()


def _message(item: Reply, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"msg_fake_{next(_ids):04d}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "fake-model"),
        "content": item.content,
        "stop_reason": item.stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": item.input_tokens, "output_tokens": item.output_tokens},
    }


def _sse(item: Reply, body: dict[str, Any], chunk: int) -> bytes:
    out: list[str] = []

    def send(kind: str, data: dict[str, Any]) -> None:
        out.append(f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n")

    start = _message(item, body)
    start.update(content=[], stop_reason=None)
    start["usage"] = {"input_tokens": item.input_tokens, "output_tokens": 1}
    send("message_start", {"message": start})
    for index, block in enumerate(item.content):
        if block["type"] == "text":
            send(
                "content_block_start",
                {"index": index, "content_block": {"type": "text", "text": ""}},
            )
            words = block["text"].split(" ")
            for number, word in enumerate(words):
                piece = word if number == len(words) - 1 else word + " "
                delta = {"type": "text_delta", "text": piece}
                send("content_block_delta", {"index": index, "delta": delta})
        else:
            opening = {**block, "input": {}}
            send("content_block_start", {"index": index, "content_block": opening})
            encoded = json.dumps(block["input"])
            for offset in range(0, len(encoded), chunk):
                delta = {
                    "type": "input_json_delta",
                    "partial_json": encoded[offset : offset + chunk],
                }
                send("content_block_delta", {"index": index, "delta": delta})
        send("content_block_stop", {"index": index})
    send(
        "message_delta",
        {
            "delta": {"stop_reason": item.stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": item.output_tokens},
        },
    )
    send("message_stop", {})
    return "".join(out).encode()
