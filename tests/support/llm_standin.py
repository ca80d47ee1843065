"""An OpenAI-compatible chat model standing in on 127.0.0.1: `/v1/chat/completions` with function calling.

Scripted, not clever: a test queues the model's turns in order (`calls(...)` for a message of tool
calls, `says(...)` for a final text, or any `CannedResponse` for a failure), and each request takes
the next one. With nothing queued it answers 500, so a test that forgot a turn sees the engine fall
back instead of a made-up answer. Every request is recorded: a test reads back the system prompt and
the tool results the engine sent, by tool name.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass
from typing import Any

from tests.support.http_peer import CannedResponse, HttpPeer, RecordedRequest

MODEL = "gpt-4o-mini"
COMPLETIONS_PATH = "/v1/chat/completions"


@dataclass(frozen=True)
class ToolUse:
    """One function call as the model writes it; `arguments` is sent as given when it is a str."""

    name: str
    arguments: dict[str, Any] | str


def call(name: str, /, **arguments: Any) -> ToolUse:
    return ToolUse(name, arguments)


@dataclass(frozen=True)
class Calls:
    uses: tuple[ToolUse, ...]


@dataclass(frozen=True)
class Says:
    text: str | None


ModelTurn = Calls | Says | CannedResponse


def calls(*uses: ToolUse) -> Calls:
    """A model message calling these tools (in parallel, as OpenAI models may)."""
    return Calls(uses)


def says(text: str | None) -> Says:
    """A model message with this final text and no tool call."""
    return Says(text)


class LLMStandIn:
    """Plays the queued turns on `peer`; `url` is the base URL to give the engine."""

    def __init__(self, peer: HttpPeer) -> None:
        self.peer = peer
        self.turns: list[ModelTurn] = []
        self.names_by_call_id: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        peer.responder = self._answer

    @property
    def url(self) -> str:
        return self.peer.url + "/v1"

    def script(self, *turns: ModelTurn) -> None:
        with self._lock:
            self.turns.extend(turns)

    def pending(self) -> int:
        with self._lock:
            return len(self.turns)

    def requests(self) -> list[dict[str, Any]]:
        """The bodies of every chat-completions request, oldest first."""
        return [request.json() for request in self.peer.received(COMPLETIONS_PATH)]

    def system_prompt(self) -> str:
        return str(self.requests()[-1]["messages"][0]["content"])

    def context(self) -> str:
        return str(self.requests()[-1]["messages"][1]["content"])

    def results(self, tool_name: str) -> list[Any]:
        """What the engine answered to each call of `tool_name` in the last request, decoded."""
        messages = self.requests()[-1]["messages"]
        return [
            json.loads(message["content"])
            for message in messages
            if message["role"] == "tool" and self.names_by_call_id.get(message["tool_call_id"]) == tool_name
        ]

    def _answer(self, request: RecordedRequest) -> CannedResponse:
        if request.path != COMPLETIONS_PATH:
            return CannedResponse(status=404, body={"error": {"message": f"no route {request.path}"}})
        with self._lock:
            turn = self.turns.pop(0) if self.turns else None
            if isinstance(turn, Calls):
                tool_calls = []
                for use in turn.uses:
                    call_id = f"call_{next(self._ids)}"
                    self.names_by_call_id[call_id] = use.name
                    arguments = use.arguments if isinstance(use.arguments, str) else json.dumps(use.arguments)
                    tool_calls.append(
                        {
                            "id": call_id,
                            "type": "function",
                            "function": {"name": use.name, "arguments": arguments},
                        }
                    )
                return CannedResponse(body=completion(None, tool_calls))
        if turn is None:
            return CannedResponse(
                status=500, body={"error": {"message": "the stand-in's script has no more turns"}}
            )
        if isinstance(turn, Says):
            return CannedResponse(body=completion(turn.text))
        return turn


def completion(content: str | None, tool_calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A chat completion in OpenAI's shape."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "model": MODEL,
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}
        ],
    }
