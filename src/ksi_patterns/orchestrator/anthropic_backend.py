"""The `anthropic` backend: the real SDK (imported here and nowhere else), one tool, a tool loop.

Each agent is one conversation: the system prompt the session built, a first user message with
the task, then turns: the model answers, its content is appended, each `tool_use` block is
answered with a `tool_result` (the emission as JSON, `is_error` when a handler failed), until the
stop reason is not `tool_use` or a limit stops it. With `stream`, responses come through
`client.messages.stream` and are assembled from the raw events (text deltas, `input_json_delta`
pieces of tool input). The service's failures become one-line BackendErrors.
"""

from __future__ import annotations

import json
import warnings
from typing import TYPE_CHECKING, Any

import anthropic
from anthropic.types import (
    InputJSONDelta,
    MessageParam,
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawContentBlockStopEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    TextBlock,
    TextBlockParam,
    TextDelta,
    ToolParam,
    ToolResultBlockParam,
    ToolUseBlock,
    ToolUseBlockParam,
)

from ksi_patterns.orchestrator import prompts
from ksi_patterns.orchestrator.agent import Agent
from ksi_patterns.orchestrator.protocols import BackendError, SessionView

if TYPE_CHECKING:
    from collections.abc import Iterable

RESPONSE_MAX_TOKENS = 4096  # per response; the session's --max-tokens caps the whole run

AssistantBlock = TextBlockParam | ToolUseBlockParam


class Response:
    """One model response, whichever way it came."""

    def __init__(
        self,
        content: list[AssistantBlock],
        stop_reason: str | None,
        input_tokens: int,
        output_tokens: int,
    ) -> None:
        self.content = content
        self.stop_reason = stop_reason
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens

    @property
    def text(self) -> str:
        return "\n".join(block["text"] for block in self.content if block["type"] == "text")

    def tool_calls(self) -> list[ToolUseBlockParam]:
        return [block for block in self.content if block["type"] == "tool_use"]


class AnthropicBackend:
    name = "anthropic"

    def __init__(
        self,
        session: SessionView,
        *,
        api_key: str,
        model: str,
        max_retries: int = 2,
        stream: bool = False,
        base_url: str | None = None,
    ) -> None:
        self.session = session
        self.model = model
        self.stream = stream
        self.client = anthropic.Anthropic(
            api_key=api_key,
            base_url=base_url,  # None: the SDK reads ANTHROPIC_BASE_URL, else its default
            max_retries=max_retries,
        )
        self.max_retries = max_retries
        self.tool: ToolParam = {
            "name": prompts.TOOL_NAME,
            "description": prompts.EMIT_EVENT_TOOL["description"],
            "input_schema": prompts.EMIT_EVENT_TOOL["input_schema"],
        }

    @property
    def base_url(self) -> str:
        return str(self.client.base_url)

    # -- the loop --------------------------------------------------------------------------

    def run(self, agent: Agent) -> None:
        messages: list[MessageParam] = [
            {"role": "user", "content": f"Begin. Your task: {agent.task}"}
        ]
        while True:
            stop = agent.limit_reached()
            if stop is not None:
                agent.stop_reason = stop
                return
            max_tokens = max(1, min(RESPONSE_MAX_TOKENS, agent.tokens_left()))
            response = self._ask(agent, messages, max_tokens)
            agent.count_turn(
                content=[dict(block) for block in response.content],
                stop_reason=response.stop_reason,
                input_tokens=response.input_tokens,
                output_tokens=response.output_tokens,
            )
            if response.text:
                agent.final_text = response.text
            messages.append({"role": "assistant", "content": list(response.content)})
            calls = response.tool_calls()
            if response.stop_reason != "tool_use" or not calls:
                agent.stop_reason = response.stop_reason or "end_turn"
                return
            results: list[ToolResultBlockParam] = []
            for call in calls:
                outcome = agent.call_tool(call["name"], call["input"], call["id"])
                results.append(
                    {
                        "type": "tool_result",
                        "tool_use_id": call["id"],
                        "content": outcome.text,
                        "is_error": outcome.is_error,
                    }
                )
            messages.append({"role": "user", "content": list(results)})

    def _ask(self, agent: Agent, messages: list[MessageParam], max_tokens: int) -> Response:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return self._request(agent, messages, max_tokens)
            finally:
                for warning in caught:  # e.g. the SDK's notice that a model is deprecated
                    self.session.warn(_one_line(str(warning.message)))

    def _request(self, agent: Agent, messages: list[MessageParam], max_tokens: int) -> Response:
        try:
            if self.stream:
                return self._streamed(agent, messages, max_tokens)
            return self._plain(agent, messages, max_tokens)
        except anthropic.AuthenticationError as err:
            raise BackendError(
                f"the Anthropic API refused the key (401 {_kind(err)}): check ANTHROPIC_API_KEY"
            ) from None
        except anthropic.PermissionDeniedError as err:
            raise BackendError(
                f"the Anthropic API denied access (403 {_kind(err)}): {_detail(err)}"
            ) from None
        except anthropic.RateLimitError as err:
            raise BackendError(
                f"rate limited by the Anthropic API (429 {_kind(err)}){self._retried()}; "
                "wait and run again, or raise --max-retries"
            ) from None
        except anthropic.OverloadedError as err:
            raise BackendError(
                f"the Anthropic API is overloaded (529 {_kind(err)}){self._retried()}; "
                "try again later"
            ) from None
        except anthropic.NotFoundError as err:
            raise BackendError(
                f"the Anthropic API does not know model {self.model!r} or the endpoint "
                f"(404 {_kind(err)}): {_detail(err)}"
            ) from None
        except anthropic.APIStatusError as err:
            raise BackendError(
                f"the Anthropic API answered {err.status_code} {_kind(err)}: {_detail(err)}"
                f"{self._retried()}"
            ) from None
        except anthropic.APITimeoutError:
            raise BackendError(
                f"the Anthropic API at {self.base_url} did not answer in time{self._retried()}"
            ) from None
        except anthropic.APIConnectionError as err:
            cause = err.__cause__ or err.__context__
            because = f": {_one_line(str(cause))}" if cause is not None and str(cause) else ""
            raise BackendError(
                f"cannot reach the Anthropic API at {self.base_url}{because}{self._retried()}"
            ) from None
        except anthropic.APIError as err:
            raise BackendError(f"the Anthropic API failed: {_one_line(err.message)}") from None

    def _retried(self) -> str:
        if self.max_retries <= 0:
            return ""
        return f" after {self.max_retries} retr{'y' if self.max_retries == 1 else 'ies'}"

    def _plain(self, agent: Agent, messages: list[MessageParam], max_tokens: int) -> Response:
        message = self.client.messages.create(
            model=self.model,
            max_tokens=max_tokens,
            system=agent.system,
            messages=messages,
            tools=[self.tool],
        )
        content: list[AssistantBlock] = []
        for block in message.content:
            if isinstance(block, TextBlock):
                content.append({"type": "text", "text": block.text})
            elif isinstance(block, ToolUseBlock):
                content.append(_tool_use(block.id, block.name, block.input))
        return Response(
            content,
            message.stop_reason,
            message.usage.input_tokens,
            message.usage.output_tokens,
        )

    def _streamed(self, agent: Agent, messages: list[MessageParam], max_tokens: int) -> Response:
        blocks: dict[int, dict[str, Any]] = {}
        pieces: dict[int, list[str]] = {}
        stop_reason: str | None = None
        input_tokens = output_tokens = 0
        with self.client.messages.stream(
            model=self.model,
            max_tokens=max_tokens,
            system=agent.system,
            messages=messages,
            tools=[self.tool],
        ) as stream:
            for event in stream:
                if isinstance(event, RawMessageStartEvent):
                    input_tokens = event.message.usage.input_tokens
                    output_tokens = event.message.usage.output_tokens
                elif isinstance(event, RawContentBlockStartEvent):
                    start = event.content_block
                    if isinstance(start, TextBlock):
                        blocks[event.index] = {"type": "text", "text": start.text}
                    elif isinstance(start, ToolUseBlock):
                        blocks[event.index] = {
                            "type": "tool_use",
                            "id": start.id,
                            "name": start.name,
                        }
                        pieces[event.index] = []
                elif isinstance(event, RawContentBlockDeltaEvent):
                    delta = event.delta
                    if isinstance(delta, TextDelta) and event.index in blocks:
                        blocks[event.index]["text"] += delta.text
                    elif isinstance(delta, InputJSONDelta) and event.index in pieces:
                        pieces[event.index].append(delta.partial_json)
                elif isinstance(event, RawContentBlockStopEvent):
                    if event.index in pieces:
                        blocks[event.index]["input"] = _tool_input("".join(pieces[event.index]))
                elif isinstance(event, RawMessageDeltaEvent):
                    stop_reason = event.delta.stop_reason or stop_reason
                    output_tokens = event.usage.output_tokens
        content: list[AssistantBlock] = []
        for index in sorted(blocks):
            block = blocks[index]
            if block["type"] == "text":
                content.append({"type": "text", "text": block["text"]})
            else:
                content.append(_tool_use(block["id"], block["name"], block.get("input", {})))
        return Response(content, stop_reason, input_tokens, output_tokens)


def _tool_use(id: str, name: str, tool_input: dict[str, object]) -> ToolUseBlockParam:
    return {"type": "tool_use", "id": id, "name": name, "input": tool_input}


def _tool_input(text: str) -> dict[str, object]:
    """The tool input assembled from its input_json_delta pieces ({} when there were none)."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {"_unparsed_input": text}  # call_tool refuses it (no event); the model is told
    return value if isinstance(value, dict) else {"_input": value}


def _kind(err: anthropic.APIStatusError) -> str:
    body = err.body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("type"), str):
            return str(error["type"])
    return type(err).__name__


def _detail(err: anthropic.APIStatusError) -> str:
    body = err.body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return _one_line(str(error["message"]))
    return _one_line(err.message)


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text_of(blocks: Iterable[AssistantBlock]) -> str:
    return "\n".join(block["text"] for block in blocks if block["type"] == "text")
