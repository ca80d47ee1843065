"""The OpenAI-compatible chat-completions wire format with function calling, and one client call.

Only what the LLM engine reads is decoded: the first choice's message, its text and its tool
calls. Every way a call can fail becomes a `ModelFailure` whose `reason` is the label of
`zapq_llm_fallbacks_total`, so the engine has one thing to catch.
"""

from __future__ import annotations

from typing import Any, Literal

import httpx
import msgspec

ToolChoice = Literal["auto", "none"]


class FunctionCall(msgspec.Struct, frozen=True):
    name: str
    arguments: str = "{}"  # a JSON object as text, written by the model: not to be trusted


class ToolCall(msgspec.Struct, frozen=True):
    id: str
    function: FunctionCall
    type: str = "function"


class AssistantMessage(msgspec.Struct, frozen=True):
    content: str | None = None
    tool_calls: list[ToolCall] | None = None


class _Choice(msgspec.Struct, frozen=True):
    message: AssistantMessage


class _ChatCompletion(msgspec.Struct, frozen=True):
    choices: list[_Choice]


class ModelFailure(Exception):
    """The model gave no usable answer; `reason` is the metric label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def assistant_turn(message: AssistantMessage) -> dict[str, Any]:
    """The model's tool-calling message as it must be sent back before the tools' results."""
    return {
        "role": "assistant",
        "content": message.content,
        "tool_calls": [msgspec.to_builtins(call) for call in message.tool_calls or []],
    }


def tool_result(call_id: str, content: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


class ChatClient:
    """`POST {base_url}/chat/completions` with a bearer key; `http` is reused, never closed here."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        model: str,
        http: httpx.Client,
        timeout_s: float,
        temperature: float,
    ) -> None:
        self.completions_url = base_url.rstrip("/") + "/chat/completions"
        self.api_key = api_key
        self.model = model
        self.http = http
        self.timeout_s = timeout_s
        self.temperature = temperature

    def complete(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], tool_choice: ToolChoice
    ) -> AssistantMessage:
        """The model's next message. Raises ModelFailure."""
        body = {
            "model": self.model,
            "messages": messages,
            "tools": tools,
            "tool_choice": tool_choice,
            "temperature": self.temperature,
        }
        try:
            response = self.http.post(
                self.completions_url,
                content=msgspec.json.encode(body),
                headers={"authorization": f"Bearer {self.api_key}", "content-type": "application/json"},
                timeout=self.timeout_s,
            )
        except httpx.TimeoutException as error:
            raise ModelFailure("timeout", repr(error)) from error
        except httpx.HTTPError as error:
            raise ModelFailure("transport", repr(error)) from error
        if not response.is_success:
            raise ModelFailure("http_status", f"{response.status_code} {response.text[:200]}")
        try:
            completion = msgspec.json.decode(response.content, type=_ChatCompletion)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            raise ModelFailure("malformed", str(error)) from error
        if not completion.choices:
            raise ModelFailure("malformed", "the completion has no choices")
        return completion.choices[0].message
