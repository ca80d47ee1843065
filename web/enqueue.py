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
        message = message.copy(options={"redis_message_id": str(uuid4())})
        self.broker.emit_before("enqueue", message, None)
        arguments = [
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
        try:
            await self._dispatch(keys=[self.broker.namespace], args=arguments)
        except (redis.RedisError, OSError) as error:
            raise BrokerUnavailable(str(error)) from error
        self.broker.emit_after("enqueue", message, None)
        return message

    async def ping(self) -> bool:
        return bool(await self.client.ping())

    async def close(self) -> None:
        await self.client.aclose()
