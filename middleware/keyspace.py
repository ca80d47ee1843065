"""Every Redis key the flow-control middleware writes, on one page.

pattern                                    type    TTL / owner
{ns}:guard:{actor}:idem:{key}              string  lease GC while running, idempotency_ttl once done
{ns}:guard:{actor}:dedup:{sha256}          string  lease GC while running, dedup window once done
{ns}:guard:{actor}:tick:{minute_ms}        string  lease GC while running, 1 day once done (periodic)
{ns}:guard:{actor}:msg:{message_id}        string  idempotency_ttl: a raw message merged into a batch
{ns}:guard:{actor}:batch:{batch_id}        string  lease GC while running, idempotency_ttl once done
{guard}:waiters                            list    lease GC; duplicates parked while the guard's run runs
{ns}:waits                                 zset    no TTL; guards with parked duplicates, by lease deadline
{ns}:fence                                 string  no TTL; counter handing out fencing tokens
{ns}:throttle:{actor}:{key}                zset    throttle period; at most `throttle_limit` members
{ns}:throttle:{actor}:{key}:running        zset    lease GC; slots held by running runs, by deadline
{ns}:throttle:{actor}:{key}:attempts       hash    lease GC; which attempt runs each leased slot
{ns}:throttle:{actor}:{key}:parked         list    2 x max(period, lease GC); delay mode's excess, in order
{ns}:throttle:due                          zset    no TTL; throttle keys with parked messages
{ns}:debounce:window:{actor}:{key}         hash    max_wait + batch TTL; deleted when flushed
{ns}:debounce:items:{batch_id}             list    batch TTL, extended on every attempt; deleted on success
{ns}:debounce:due                          zset    no TTL; a window's member is removed when flushed

Key parts that come from messages ({key}) are never trusted to shape a key: a part made
only of `[A-Za-z0-9_.=+@-]`, at most 64 long, is used as it is, so keys stay readable;
anything else (a `:`, `*`, `{`, a long value, non-ASCII, a lone surrogate) becomes `#`
and its SHA-256, so no input can reach another key's structure or grow a key unboundedly.
The scripts also ack, park and requeue through Dramatiq's own keys (`middleware.dramatiq_protocol`).
zapq's docs/keyspace.md lists both and explains each TTL; a lease GC is 20 leases.
"""

from __future__ import annotations

import hashlib
import re

DEFAULT_NAMESPACE = "zapq"

_PLAIN_PART = re.compile(r"[A-Za-z0-9_.=+@-]{1,64}")


def safe_part(value: object) -> str:
    """A key part for any value: itself when plain and short, else `#` + its SHA-256."""
    text = str(value)
    if _PLAIN_PART.fullmatch(text):
        return text
    return "#" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class Keyspace:
    def __init__(self, namespace: str = DEFAULT_NAMESPACE) -> None:
        self.namespace = namespace

    def guard(self, actor_name: str, kind: str, key: object) -> str:
        return f"{self.namespace}:guard:{actor_name}:{kind}:{safe_part(key)}"

    def batch_guard_prefix(self, actor_name: str) -> str:
        return f"{self.namespace}:guard:{actor_name}:batch:"

    def throttle(self, actor_name: str, key: object) -> str:
        return f"{self.namespace}:throttle:{actor_name}:{safe_part(key)}"

    def debounce_window(self, actor_name: str, key: object) -> str:
        return f"{self.namespace}:debounce:window:{actor_name}:{safe_part(key)}"

    @property
    def debounce_items_prefix(self) -> str:
        return f"{self.namespace}:debounce:items:"

    def debounce_items(self, batch_id: str) -> str:
        return self.debounce_items_prefix + batch_id

    @property
    def debounce_due(self) -> str:
        return f"{self.namespace}:debounce:due"

    @property
    def waits(self) -> str:
        return f"{self.namespace}:waits"

    @property
    def fence(self) -> str:
        return f"{self.namespace}:fence"

    @property
    def throttle_due(self) -> str:
        return f"{self.namespace}:throttle:due"
