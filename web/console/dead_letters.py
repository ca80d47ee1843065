"""Dead letters in Redis: list, read, requeue and delete them, each change one atomic script.

A queue's dead letters are Dramatiq's zset `{REDIS_NAMESPACE}:{queue}.XQ` (delivery id -> when it
died) and the hash of their bodies beside it (`middleware.dramatiq_protocol`). Requeueing moves a
body back to its queue as a fresh delivery of the same message: the retry count and the stored
traceback are cleared, so it gets its actor's whole retry policy again, and its `eta` too, so it
runs now. The move checks that the dead letter is still there in the same step, so two operators
requeueing at once requeue it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis.asyncio
from dramatiq.message import Message

from zapq.keyspace import dead_letter_key, messages_key, queue_key

#: Options a requeue clears: Retries' bookkeeping and a delay long past.
CLEARED_ON_REQUEUE = ("retries", "traceback", "requeue_timestamp", "eta")
MAX_REQUEUE_ALL = 10_000
REQUEUE_BATCH = 200

# KEYS: dead zset, dead bodies, queue list, queue bodies. ARGV: id, the body to queue.
_REQUEUE = """
if redis.call('zrem', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('hdel', KEYS[2], ARGV[1])
redis.call('hset', KEYS[4], ARGV[1], ARGV[2])
redis.call('rpush', KEYS[3], ARGV[1])
return 1
"""

# KEYS: dead zset, dead bodies. ARGV: id.
_DELETE = """
local removed = redis.call('zrem', KEYS[1], ARGV[1])
redis.call('hdel', KEYS[2], ARGV[1])
return removed
"""


@dataclass(frozen=True)
class DeadLetter:
    id: str  # the delivery's id in Redis (`redis_message_id`), a UUID
    queue: str
    died_at_ms: int
    message: Message[Any] | None  # None when its body is gone (expired) or does not decode

    def summary(self) -> dict[str, Any]:
        message, options = self.message, self.message.options if self.message else {}
        return {
            "id": self.id,
            "queue": self.queue,
            "died_at_ms": self.died_at_ms,
            "message_id": message.message_id if message else None,
            "actor_name": message.actor_name if message else None,
            "retries": options.get("retries", 0),
            "last_error": last_error(options.get("traceback")),
        }

    def detail(self) -> dict[str, Any]:
        message = self.message
        return {
            **self.summary(),
            "args": list(message.args) if message else None,
            "kwargs": dict(message.kwargs) if message else None,
            "options": dict(message.options) if message else None,
            "traceback": message.options.get("traceback") if message else None,
            "enqueued_at_ms": message.message_timestamp if message else None,
        }


def last_error(traceback: object) -> str | None:
    """The exception line of a traceback (its last line that is not blank)."""
    if not isinstance(traceback, str):
        return None
    lines = [line for line in traceback.strip().splitlines() if line.strip()]
    return lines[-1][:500] if lines else None


class DeadLetters:
    """One deployment's dead letters (`namespace` is REDIS_NAMESPACE); queue names must be checked first."""

    def __init__(self, client: redis.asyncio.Redis, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self._requeue = client.register_script(_REQUEUE)
        self._delete = client.register_script(_DELETE)

    def _dead(self, queue: str) -> str:
        return dead_letter_key(self.namespace, queue)

    async def counts(self, queues: tuple[str, ...]) -> dict[str, int]:
        pipeline = self.client.pipeline(transaction=False)
        for queue in queues:
            pipeline.zcard(self._dead(queue))
        return {queue: int(count) for queue, count in zip(queues, await pipeline.execute(), strict=True)}

    async def newest(self, queue: str, limit: int) -> list[DeadLetter]:
        members: list[Any] = await self.client.zrevrange(self._dead(queue), 0, limit - 1, withscores=True)
        if not members:
            return []
        ids = [_text(member) for member, _ in members]
        bodies: list[Any] = await self.client.hmget(messages_key(self._dead(queue)), ids)
        return [
            DeadLetter(rid, queue, int(score), _decode(body))
            for rid, (_, score), body in zip(ids, members, bodies, strict=True)
        ]

    async def get(self, queue: str, rid: str) -> DeadLetter | None:
        pipeline = self.client.pipeline(transaction=False)
        pipeline.zscore(self._dead(queue), rid)
        pipeline.hget(messages_key(self._dead(queue)), rid)
        score, body = await pipeline.execute()
        if score is None:
            return None
        return DeadLetter(rid, queue, int(score), _decode(body))

    async def requeue(self, queue: str, rid: str) -> bool:
        """Back onto its queue; False when it is not (or no longer) a dead letter, or its body is gone."""
        dead = self._dead(queue)
        body: Any = await self.client.hget(messages_key(dead), rid)
        message = _decode(body)
        if message is None:
            return False
        options = {k: v for k, v in message.options.items() if k not in CLEARED_ON_REQUEUE}
        fresh: Message[Any] = Message(
            queue_name=queue, actor_name=message.actor_name, args=message.args, kwargs=message.kwargs,
            options=options, message_id=message.message_id, message_timestamp=message.message_timestamp,
        )  # fmt: skip
        queued = queue_key(self.namespace, queue)
        keys = [dead, messages_key(dead), queued, messages_key(queued)]
        return bool(await self._requeue(keys=keys, args=[rid, fresh.encode()]))

    async def requeue_all(self, queue: str) -> tuple[int, int]:
        """Every dead letter of the queue, oldest first (at most MAX_REQUEUE_ALL a call).

        (requeued, left): those left have no body to run (expired, or not a Dramatiq message); delete them.
        """
        requeued = left = 0
        while requeued + left < MAX_REQUEUE_ALL:
            members: list[Any] = await self.client.zrange(self._dead(queue), left, left + REQUEUE_BATCH - 1)
            if not members:
                break
            for member in members:
                if await self.requeue(queue, _text(member)):
                    requeued += 1
                else:
                    left += 1
        return requeued, left

    async def delete(self, queue: str, rid: str) -> bool:
        dead = self._dead(queue)
        return bool(await self._delete(keys=[dead, messages_key(dead)], args=[rid]))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _decode(body: bytes | None) -> Message[Any] | None:
    if body is None:
        return None
    try:
        return Message.decode(body)
    except Exception:  # Dramatiq raises DecodeError, or whatever its encoder does on a foreign body
        return None
