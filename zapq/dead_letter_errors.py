"""Dead letters keep the error that killed them, for the console to show.

Dramatiq dead-letters the body its message was last enqueued with: the traceback that Retries
stores in the message's options is the one of the attempt before the last, and a message that died
on its first attempt (`max_retries=0`, `throws`) has none. After Dramatiq's nack, this writes the
message as it ended (its options with the last `traceback` and `retries`) over its dead body, only
when that body is still there: one script call per dead letter, none on any other path.
"""

from __future__ import annotations

import logging

import redis
from dramatiq.broker import Broker, MessageProxy
from dramatiq.common import q_name
from dramatiq.middleware import Middleware

from zapq.keyspace import dead_letter_key, messages_key

logger = logging.getLogger(__name__)

# Only over a body that is there: a dead letter requeued or deleted meanwhile stays gone.
_REPLACE_IF_PRESENT = """
if redis.call('hexists', KEYS[1], ARGV[1]) == 1 then
    redis.call('hset', KEYS[1], ARGV[1], ARGV[2])
    return 1
end
return 0
"""


class DeadLetterErrors(Middleware):
    def __init__(self, *, namespace: str) -> None:
        self.namespace = namespace

    def after_nack(self, broker: Broker, message: MessageProxy) -> None:
        client: redis.Redis | None = getattr(broker, "client", None)
        redis_message_id = message.options.get("redis_message_id")
        if client is None or not redis_message_id:
            return
        dead_bodies = messages_key(dead_letter_key(self.namespace, q_name(message.queue_name)))
        try:
            client.eval(_REPLACE_IF_PRESENT, 1, dead_bodies, redis_message_id, message._message.encode())
        except redis.RedisError as error:  # the dead letter is there all the same, with its older options
            logger.warning("dead letter %s kept without its last error: %s", message.message_id, error)
