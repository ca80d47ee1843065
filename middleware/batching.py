"""Group commit for Lua scripts: concurrent callers in one process share one EVALSHA.

Worker threads finishing at the same moment would each pay a Redis round trip;
here the first caller leads and runs every request queued so far as a single
script call, so under load a message costs a fraction of a round trip per hook,
and an uncontended caller runs at once with no hand-off to another thread.
"""

from __future__ import annotations

import threading
from typing import Any

import redis
from redis.commands.core import Script

MAX_BATCH = 64

# Each request's body runs as a function over its own slice of KEYS and ARGV.
_MULTI_PREFIX = "local function run_one(KEYS, ARGV)\n"
_MULTI_SUFFIX = """
end
local results, key_at, arg_at = {}, 0, 1 + 2 * tonumber(ARGV[1])
for request = 1, tonumber(ARGV[1]) do
  local key_count, arg_count = tonumber(ARGV[2 * request]), tonumber(ARGV[2 * request + 1])
  local keys, args = {}, {}
  for i = 1, key_count do keys[i] = KEYS[key_at + i] end
  for i = 1, arg_count do args[i] = ARGV[arg_at + i] end
  key_at, arg_at = key_at + key_count, arg_at + arg_count
  results[request] = run_one(keys, args)
end
return results
"""


class _Request:
    __slots__ = ("args", "done", "error", "keys", "lead", "result", "woken")

    def __init__(self, keys: list[Any], args: list[Any]) -> None:
        self.keys, self.args = keys, args
        self.woken = threading.Event()
        self.done = self.lead = False
        self.result: Any = None
        self.error: BaseException | None = None


class BatchedScript:
    """Call like a redis-py Script (`script(keys=..., args=...)`); calls are grouped per process."""

    def __init__(self, client: redis.Redis, prelude: str, body: str) -> None:
        self._script: Script = client.register_script(prelude + "\n" + _MULTI_PREFIX + body + _MULTI_SUFFIX)
        self._lock = threading.Lock()
        self._pending: list[_Request] = []
        self._leading = False

    def __call__(self, *, keys: list[Any], args: list[Any]) -> Any:
        request = _Request(keys, args)
        with self._lock:
            self._pending.append(request)
            lead = not self._leading
            self._leading = True
        if not lead:
            request.woken.wait()
            if request.done:
                return _outcome(request)
        self._lead()
        return _outcome(request)

    def _lead(self) -> None:
        with self._lock:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        self._execute(batch)
        with self._lock:
            if self._pending:
                successor = self._pending[0]
                successor.lead = True
                successor.woken.set()
            else:
                self._leading = False

    def _execute(self, batch: list[_Request]) -> None:
        header: list[Any] = [len(batch)]
        keys: list[Any] = []
        args: list[Any] = []
        for request in batch:
            header += [len(request.keys), len(request.args)]
            keys += request.keys
            args += request.args
        try:
            results = self._script(keys=keys, args=header + args)
        except BaseException as error:
            for request in batch:
                request.error = error
        else:
            for request, result in zip(batch, results, strict=True):
                request.result = result
        for request in batch:
            request.done = True
            request.woken.set()


def _outcome(request: _Request) -> Any:
    if request.error is not None:
        raise request.error
    return request.result
