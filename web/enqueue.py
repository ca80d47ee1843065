"""Non-blocking enqueue of ordinary Dramatiq messages from the event loop.

`actor.send()` does blocking Redis I/O, which stalls every request on the event
loop. This runs the broker's own `dispatch` Lua script through `redis.asyncio`
with the same arguments RedisBroker.enqueue uses, so workers receive exactly the
message `send()` would have produced, and the middleware enqueue hooks still run.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import dramatiq
import redis.asyncio
from dramatiq.brokers.redis import RedisBroker, _scripts
from dramatiq.common import current_millis
from dramatiq.message import Message

BROKER_TIMEOUT_S = 2.0


class BrokerUnavailable(Exception):
    """Redis did not take the message; the caller should answer 503 so the sender retries."""


class AsyncEnqueuer:
    def __init__(self, broker: RedisBroker, redis_url: str) -> None:
        self.broker = broker
        self.client = redis.asyncio.Redis.from_url(
            redis_url, socket_timeout=BROKER_TIMEOUT_S, socket_connect_timeout=BROKER_TIMEOUT_S
        )
        self._dispatch = self.client.register_script(_scripts["dispatch"])

    async def send(self, actor: dramatiq.Actor[Any, Any], *args: Any, **kwargs: Any) -> Message[Any]:
        return await self.enqueue(actor.message(*args, **kwargs))

    async def enqueue(self, message: Message[Any]) -> Message[Any]:
        return (await self.enqueue_many([message]))[0]

    async def enqueue_many(self, messages: list[Message[Any]]) -> list[Message[Any]]:
        """Put every message on its queue in one round trip; BrokerUnavailable if Redis refused any.

        Not a transaction: after an error some may be queued. Callers answer 503 so the sender
        retries, and the consumers' idempotency keys make the second copies harmless.
        """
        if not messages:
            return []
        prepared = [self._prepare(message) for message in messages]
        try:
            if len(prepared) == 1:
                await self._dispatch(keys=[self.broker.namespace], args=self._arguments(prepared[0]))
            else:
                await self._dispatch_pipelined(prepared)
        except (redis.RedisError, OSError) as error:
            raise BrokerUnavailable(str(error)) from error
        for message in prepared:
            self.broker.emit_after("enqueue", message, None)
        return prepared

    async def _dispatch_pipelined(self, messages: list[Message[Any]]) -> None:
        # Raw EVALSHA: a pipeline given the Script object would first ask SCRIPT EXISTS, a
        # second round trip on every call. A Redis that lost its scripts (a restart) refuses
        # every command of the pipeline, so loading the script and going again is safe.
        for attempt in (1, 2):
            pipeline = self.client.pipeline(transaction=False)
            for message in messages:
                pipeline.evalsha(self._dispatch.sha, 1, self.broker.namespace, *self._arguments(message))
            try:
                await pipeline.execute()
                return
            except redis.exceptions.NoScriptError:
                if attempt == 2:
                    raise
                await self.client.script_load(self._dispatch.script)

    def _prepare(self, message: Message[Any]) -> Message[Any]:
        message = message.copy(options={"redis_message_id": str(uuid4())})
        self.broker.emit_before("enqueue", message, None)
        return message

    def _arguments(self, message: Message[Any]) -> list[Any]:
        return [
            "enqueue",
            current_millis(),
            message.queue_name,
            self.broker.broker_id,
            self.broker.heartbeat_timeout,
            self.broker.dead_message_ttl,
            0,  # maintenance is the workers' job, not the web's
            0,  # max unpack size matters only to fetch
            message.options["redis_message_id"],
            message.encode(),
        ]

    async def ping(self) -> bool:
        return bool(await self.client.ping())

    async def close(self) -> None:
        await self.client.aclose()
