"""Non-blocking enqueue of ordinary Dramatiq messages from the event loop.

`actor.send()` does blocking Redis I/O, which stalls every request on the event
loop. This runs the broker's own `dispatch` Lua script through `redis.asyncio`
with the same arguments RedisBroker.enqueue uses (`middleware.dramatiq_protocol`),
so workers receive exactly the message `send()` would have produced, and the
middleware enqueue hooks still run.

A debounced message is merged into its window instead, with FlowControl's own merge
script, exactly as `FlowControlRedisBroker.enqueue` does for `send()`: the window then
follows when customers wrote, not when a worker thread got to their messages.

Requests that enqueue at the same moment share a round trip (group commit): while one
pipeline is at Redis, the next requests queue up, and the next pipeline carries them
all. An idle server sends at once; a busy one writes and parses once per batch instead
of once per request.
"""

from __future__ import annotations

import asyncio
from typing import Any, NamedTuple
from uuid import uuid4

import dramatiq
import redis.asyncio
from dramatiq.brokers.redis import RedisBroker
from dramatiq.message import Message

from middleware.decision import decode_decision
from middleware.dramatiq_protocol import DISPATCH_SCRIPT, enqueue_call
from middleware.flow_control import FlowControl, find_flow_control

BROKER_TIMEOUT_S = 2.0
MAX_BATCH = 256


class BrokerUnavailable(Exception):
    """Redis did not take the message; the caller should answer 503 so the sender retries."""


class Enqueued(NamedTuple):
    """A message handed to Redis, and whether FlowControl knew it already (its idempotency key).

    A duplicate was not queued again: Meta redelivered a message zapq already has.
    """

    message: Message[Any]
    duplicate: bool = False


class _Command:
    """One EVALSHA of a pipeline: Dramatiq's enqueue, or FlowControl's merge of a debounced message."""

    __slots__ = ("actor_name", "arguments", "duplicate", "merge", "message")

    def __init__(self, message: Message[Any], arguments: list[Any], *, merge: bool) -> None:
        self.message, self.arguments, self.merge = message, arguments, merge
        self.actor_name = message.actor_name
        self.duplicate = False


class _Submission:
    __slots__ = ("commands", "future")

    def __init__(self, commands: list[_Command], future: asyncio.Future[None]) -> None:
        self.commands = commands
        self.future = future


class AsyncEnqueuer:
    def __init__(self, broker: RedisBroker, redis_url: str) -> None:
        self.broker = broker
        self.client = redis.asyncio.Redis.from_url(
            redis_url, socket_timeout=BROKER_TIMEOUT_S, socket_connect_timeout=BROKER_TIMEOUT_S
        )
        self._dispatch = self.client.register_script(DISPATCH_SCRIPT)
        self.flow_control: FlowControl | None = find_flow_control(broker)
        self._waiting: list[_Submission] = []
        self._flushing = False

    async def send(self, actor: dramatiq.Actor[Any, Any], *args: Any, **kwargs: Any) -> Message[Any]:
        return await self.enqueue(actor.message(*args, **kwargs))

    async def enqueue(self, message: Message[Any]) -> Message[Any]:
        return (await self.enqueue_many([message]))[0].message

    async def enqueue_many(self, messages: list[Message[Any]]) -> list[Enqueued]:
        """Put every message on its queue; BrokerUnavailable if Redis refused any.

        Not a transaction: after an error some may be queued. Callers answer 503 so the sender
        retries, and the consumers' idempotency keys make the second copies harmless.
        """
        if not messages:
            return []
        prepared = [self._prepare(message) for message in messages]
        commands = [self._command(message) for message in prepared]
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Submission(commands, future))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        await future
        for message in prepared:
            self.broker.emit_after("enqueue", message, None)
        return [Enqueued(command.message, command.duplicate) for command in commands]

    async def _flush(self) -> None:
        """Send everything waiting, batch after batch, until nothing waits."""
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                await self._send_batch(batch)
        finally:
            self._flushing = False

    async def _send_batch(self, batch: list[_Submission]) -> None:
        commands = [command for item in batch for command in item.commands]
        try:
            results = await self._pipelined(commands)
            # A merge that did not absorb its message (its key is running as a plain message)
            # leaves it to be queued as Dramatiq would.
            unmerged = [
                self._dispatch_command(command.message)
                for command, result in zip(commands, results, strict=True)
                if command.merge and not isinstance(result, Exception) and not self._absorbed(command, result)
            ]
            if unmerged:
                results += await self._pipelined(unmerged)
        except (redis.RedisError, OSError) as error:
            for item in batch:
                _settle(item.future, BrokerUnavailable(str(error)))
            return
        failed = {
            id(command.message)
            for command, result in zip(commands + unmerged, results, strict=True)
            if isinstance(result, Exception)
        }
        for item in batch:
            errors = [command for command in item.commands if id(command.message) in failed]
            _settle(
                item.future, BrokerUnavailable(f"Redis refused {errors[0].actor_name}") if errors else None
            )

    def _absorbed(self, command: _Command, reply: Any) -> bool:
        assert self.flow_control is not None
        try:
            decision = self.flow_control.script_group.single_result(reply)
        except redis.ResponseError:
            return False
        command.duplicate = decode_decision(decision).outcome == "duplicate"
        return self.flow_control.count_send_decision(command.actor_name, decision)

    async def _pipelined(self, commands: list[_Command]) -> list[Any]:
        # Raw EVALSHA: a pipeline given the Script object would first ask SCRIPT EXISTS, a
        # second round trip on every call. A Redis that lost its scripts (a restart) refuses
        # every command of the pipeline, so loading the scripts and going again is safe.
        results = await self._evalsha_all(commands)
        if any(isinstance(result, redis.exceptions.NoScriptError) for result in results):
            await self.client.script_load(self._dispatch.script)
            if self.flow_control is not None:
                await self.client.script_load(self.flow_control.script_group.source)
            results = await self._evalsha_all(commands)
        return results

    async def _evalsha_all(self, commands: list[_Command]) -> list[Any]:
        pipeline = self.client.pipeline(transaction=False)
        for command in commands:
            if command.merge:
                assert self.flow_control is not None
                pipeline.evalsha(self.flow_control.script_group.sha, *command.arguments)
            else:
                pipeline.evalsha(self._dispatch.sha, *command.arguments)
        results: list[Any] = await pipeline.execute(raise_on_error=False)
        return results

    def _prepare(self, message: Message[Any]) -> Message[Any]:
        message = message.copy(options={"redis_message_id": str(uuid4())})
        self.broker.emit_before("enqueue", message, None)
        return message

    def _command(self, message: Message[Any]) -> _Command:
        if self.flow_control is not None:
            request = self.flow_control.merge_request(self.broker, message)
            if request is not None:
                arguments = self.flow_control.script_group.evalsha_arguments("before_process", *request)
                return _Command(message, arguments, merge=True)
        return self._dispatch_command(message)

    def _dispatch_command(self, message: Message[Any]) -> _Command:
        keys, args = enqueue_call(self.broker, message)
        return _Command(message, [len(keys), *keys, *args], merge=False)

    async def ping(self) -> bool:
        return bool(await self.client.ping())

    async def close(self) -> None:
        await self.client.aclose()


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # its request was cancelled (client went away)
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
