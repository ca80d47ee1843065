"""Every Redis key the flow-control middleware writes, on one page.

pattern                                    type    TTL / owner
{ns}:guard:{actor}:idem:{key}              string  lease GC while running, idempotency_ttl once done
{ns}:guard:{actor}:dedup:{sha256}          string  lease GC while running, dedup window once done
{ns}:guard:{actor}:tick:{scheduled_at_ms}  string  lease GC while running, 1 day once done (periodic)
{ns}:guard:{actor}:msg:{message_id}        string  idempotency_ttl: a raw message merged into a batch
{ns}:guard:{actor}:batch:{batch_id}        string  lease GC while running, idempotency_ttl once done
{ns}:throttle:{actor}:{key}                zset    throttle period; at most `throttle_limit` members
{ns}:debounce:window:{actor}:{key}         hash    max_wait + batch TTL; deleted when flushed
{ns}:debounce:items:{batch_id}             list    idempotency_ttl from the last merge or the flush
{ns}:debounce:due                          zset    no TTL; a window's member is removed when flushed

The README's "Redis keyspace" section explains each one.
Keys hold no user data beyond the debounced items; key parts are whatever the
actor's key functions return, so keep those short and free of secrets.
"""

from __future__ import annotations

DEFAULT_NAMESPACE = "zapq"


class Keyspace:
    def __init__(self, namespace: str = DEFAULT_NAMESPACE) -> None:
        self.namespace = namespace

    def guard(self, actor_name: str, kind: str, key: str) -> str:
        return f"{self.namespace}:guard:{actor_name}:{kind}:{key}"

    def throttle(self, actor_name: str, key: str) -> str:
        return f"{self.namespace}:throttle:{actor_name}:{key}"

    def debounce_window(self, actor_name: str, key: str) -> str:
        return f"{self.namespace}:debounce:window:{actor_name}:{key}"

    @property
    def debounce_items_prefix(self) -> str:
        return f"{self.namespace}:debounce:items:"

    def debounce_items(self, batch_id: str) -> str:
        return self.debounce_items_prefix + batch_id

    @property
    def debounce_due(self) -> str:
        return f"{self.namespace}:debounce:due"
