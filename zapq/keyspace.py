"""Every Redis key zapq writes or reads, on one page (docs/keyspace.md holds the same table, tested).

| key | type | TTL | owner |
|---|---|---|---|
| `{ns}:guard:{actor}:idem:{key}` | string | 20 leases, then `idempotency_ttl` | FlowControl: idempotency |
| `{ns}:guard:{actor}:dedup:{sha256}` | string | 20 leases, then the dedup window | FlowControl: dedup |
| `{ns}:guard:{actor}:tick:{minute_ms}` | string | 20 leases, then 1 day | FlowControl: periodic ticks |
| `{ns}:guard:{actor}:msg:{message_id}` | string | `idempotency_ttl` | FlowControl: a merged message |
| `{ns}:guard:{actor}:batch:{batch_id}` | string | 20 leases, then `idempotency_ttl` | FlowControl: a batch |
| `{guard}:waiters` | list | 20 leases | FlowControl: duplicates parked behind a run |
| `{ns}:waits` | zset | none | FlowControl: guards with parked duplicates |
| `{ns}:fence` | string | none | FlowControl: fencing-token counter |
| `{ns}:throttle:{actor}:{key}` | zset | the throttle period | FlowControl: throttle slots |
| `{ns}:throttle:{actor}:{key}:running` | zset | 20 leases | FlowControl: slots of running runs |
| `{ns}:throttle:{actor}:{key}:attempts` | hash | 20 leases | FlowControl: the attempt of each slot |
| `{ns}:throttle:{actor}:{key}:parked` | list | twice max(period, 20 leases) | FlowControl: delayed excess |
| `{ns}:throttle:due` | zset | none | FlowControl: throttle keys with parked messages |
| `{ns}:debounce:window:{actor}:{key}` | hash | `max_wait` + batch TTL | FlowControl: an open window |
| `{ns}:debounce:items:{batch_id}` | list | `idempotency_ttl`, per attempt | FlowControl: a batch's items |
| `{ns}:debounce:due` | zset | none | FlowControl: windows by when they close |
| `{ns}:pace:number:{phone_number_id}` | string | while it limits | pacing: a business number |
| `{ns}:pace:recipient:{phone_number_id}:{recipient}` | string | while it limits | pacing: a recipient |
| `{ns}:counts:{minute_ms}` | hash | 20 minutes | console: a minute's counts of work, per queue and actor |
| `{ns}:workers` | zset | none (members pruned after a day) | worker heartbeat: processes by last beat |
| `{REDIS_NAMESPACE}:{queue}` | list | none | Dramatiq: queued message ids |
| `{REDIS_NAMESPACE}:{queue}.msgs` | hash | none | Dramatiq: bodies, until acked |
| `{REDIS_NAMESPACE}:{queue}.DQ` | list | none | Dramatiq: delayed message ids |
| `{REDIS_NAMESPACE}:{queue}.DQ.msgs` | hash | none | Dramatiq: delayed bodies |
| `{REDIS_NAMESPACE}:{queue}.XQ` | zset | `dead_message_ttl` (7 days) | Dramatiq: dead letters |
| `{REDIS_NAMESPACE}:{queue}.XQ.msgs` | hash | `dead_message_ttl` (7 days) | Dramatiq: dead bodies |
| `{REDIS_NAMESPACE}:__acks__.{worker_id}.{queue}` | set | none | Dramatiq: a worker's unacked ids |
| `{REDIS_NAMESPACE}:__acks__.{worker_id}.{queue}.DQ` | set | none | Dramatiq: its unacked delayed ids |
| `{REDIS_NAMESPACE}:__heartbeats__` | zset | none | Dramatiq: workers by last heartbeat |

`{ns}` is `{REDIS_NAMESPACE}:zapq`, so deployments sharing a Redis through REDIS_NAMESPACE share
nothing. Parts from outside (`{key}`, `{phone_number_id}`, `{recipient}`) go through `safe_part`:
plain short values as they are, anything else as `#` + SHA-256. Flow control's keys are built by
`middleware.keyspace` (the middleware never imports zapq), Dramatiq's by
`middleware.dramatiq_protocol`; this module names them for the rest of zapq and builds pacing's.
docs/keyspace.md says why each TTL is what it is.
"""

from __future__ import annotations

from middleware.dramatiq_protocol import (
    DEFAULT_NAMESPACE,
    acks_key,
    acks_key_pattern,
    dead_letter_key,
    delay_queue_key,
    heartbeat_key,
    messages_key,
    queue_key,
)
from middleware.keyspace import Keyspace, safe_part

__all__ = [
    "DEFAULT_NAMESPACE",
    "acks_key",
    "acks_key_pattern",
    "dead_letter_key",
    "delay_queue_key",
    "flow_keys",
    "heartbeat_key",
    "messages_key",
    "minute_counts_key",
    "pace_number_key",
    "pace_recipient_key",
    "queue_key",
    "worker_heartbeats_key",
    "zapq_namespace",
]


def zapq_namespace(redis_namespace: str) -> str:
    """`{ns}`: zapq's own keys live under the deployment's REDIS_NAMESPACE, like its queues."""
    return f"{redis_namespace}:zapq"


def flow_keys(redis_namespace: str) -> Keyspace:
    """Flow control's keys of a deployment."""
    return Keyspace(zapq_namespace(redis_namespace))


def pace_number_key(redis_namespace: str, phone_number_id: str) -> str:
    """When a business number may send next (GCRA), for its throughput."""
    return f"{zapq_namespace(redis_namespace)}:pace:number:{safe_part(phone_number_id)}"


def pace_recipient_key(redis_namespace: str, phone_number_id: str, recipient: str) -> str:
    """When a business number may next message one recipient, for its spacing."""
    number, to = safe_part(phone_number_id), safe_part(recipient)
    return f"{zapq_namespace(redis_namespace)}:pace:recipient:{number}:{to}"


def minute_counts_key(redis_namespace: str, minute_ms: int) -> str:
    """A minute's counts of the workers' work, for the console (`zapq.minute_counts`)."""
    return f"{zapq_namespace(redis_namespace)}:counts:{int(minute_ms)}"


def worker_heartbeats_key(redis_namespace: str) -> str:
    """Worker processes by their last heartbeat (`zapq.worker_heartbeat`), read by the web's /metrics."""
    return f"{zapq_namespace(redis_namespace)}:workers"
