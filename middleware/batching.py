"""Group commit for Lua scripts: concurrent callers in one process share one EVALSHA.

Worker threads finishing at the same moment would each pay a Redis round trip;
here the first caller leads and runs every request queued so far as a single
script call, so under load a message costs a fraction of a round trip per hook,
and an uncontended caller runs at once with no hand-off to another thread.
One group holds several scripts: a thread's before-process request and another's
after-success request share a call.

Requests are isolated: each runs under `pcall` with its own result, so one request's
error (a bad value, a Lua error) fails that request alone and never the others in its
call. An asynchronous exception (a time limit, a shutdown) raised in a leader or a
waiter hands leadership on, so no thread is left waiting for a leader that is gone.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import redis
from redis.commands.core import Script

MAX_BATCH = 64
_NO_RESULT = object()

# Each request's body runs as a function over its own slice of KEYS and ARGV.
_FUNCTION_PREFIX = "functions[{index}] = function(KEYS, ARGV)\n"
_FUNCTION_SUFFIX = "\nend\n"
_DISPATCH = """
local results, key_at, arg_at = {}, 0, 1 + 3 * tonumber(ARGV[1])
for request = 1, tonumber(ARGV[1]) do
  local run_one = functions[tonumber(ARGV[3 * request - 1])]
  local key_count, arg_count = tonumber(ARGV[3 * request]), tonumber(ARGV[3 * request + 1])
  local keys, args = {}, {}
  for i = 1, key_count do keys[i] = KEYS[key_at + i] end
  for i = 1, arg_count do args[i] = ARGV[arg_at + i] end
  key_at, arg_at = key_at + key_count, arg_at + arg_count
  local ok, result = pcall(run_one, keys, args)
  if ok then
    results[request] = {1, result}
  else
    results[request] = {0, type(result) == "table" and (result.err or "error") or tostring(result)}
  end
end
return results
"""


class _Request:
    __slots__ = ("args", "done", "error", "function", "keys", "lead", "result", "woken")

    def __init__(self, function: int, keys: list[Any], args: list[Any]) -> None:
        self.function, self.keys, self.args = function, keys, args
        self.woken = threading.Event()
        self.done = self.lead = False
        self.result: Any = _NO_RESULT
        self.error: BaseException | None = None


class BatchedScripts:
    """Scripts whose calls are grouped per process; `group[name]` calls like a redis-py Script."""

    def __init__(self, client: redis.Redis, prelude: str, bodies: Mapping[str, str]) -> None:
        source = [prelude, "\nlocal functions = {}\n"]
        for index, body in enumerate(bodies.values(), start=1):
            source += [_FUNCTION_PREFIX.format(index=index), body, _FUNCTION_SUFFIX]
        self._script: Script = client.register_script("".join(source) + _DISPATCH)
        self._functions = {name: _Function(self, index) for index, name in enumerate(bodies, start=1)}
        self._lock = threading.Lock()
        self._pending: list[_Request] = []
        self._leading = False

    def __getitem__(self, name: str) -> _Function:
        return self._functions[name]

    @property
    def source(self) -> str:
        return str(self._script.script)

    @property
    def sha(self) -> str:
        return str(self._script.sha)

    def evalsha_arguments(self, name: str, keys: list[Any], args: list[Any]) -> list[Any]:
        """EVALSHA's arguments after the sha for one request alone (for a caller's own pipeline)."""
        header = [1, self._functions[name].index, len(keys), len(args)]
        return [len(keys), *keys, *header, *args]

    @staticmethod
    def single_result(reply: list[Any]) -> Any:
        """The result of a request sent with `evalsha_arguments`; its error as ResponseError."""
        ok, result = reply[0]
        if not ok:
            raise redis.ResponseError(
                result.decode(errors="replace") if isinstance(result, bytes) else result
            )
        return result

    def call(self, function: int, keys: list[Any], args: list[Any]) -> Any:
        request = _Request(function, keys, args)
        with self._lock:
            self._pending.append(request)
            lead = not self._leading
            self._leading = True
        if not lead:
            try:
                request.woken.wait()
            except BaseException:
                self._abandon(request)
                raise
            if request.done:
                return _outcome(request)
        self._lead()
        return _outcome(request)

    def _abandon(self, request: _Request) -> None:
        """A waiter interrupted before its call ran: withdraw it, and pass on a lead it was given."""
        with self._lock:
            if request in self._pending:
                self._pending.remove(request)
            if request.lead and not request.done:
                self._hand_on()

    def _lead(self) -> None:
        with self._lock:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        try:
            self._execute(batch)
        finally:
            with self._lock:
                self._hand_on()

    def _hand_on(self) -> None:
        """Wake the next pending request to lead, or stop leading (call with the lock held)."""
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
            header += [request.function, len(request.keys), len(request.args)]
            keys += request.keys
            args += request.args
        try:
            results = self._script(keys=keys, args=header + args)
        except redis.RedisError as error:
            for request in batch:
                request.error = error
        except BaseException:
            # An asynchronous exception (a time limit, a shutdown) is the leader's alone: the
            # others learn only that their call's reply was not read, a retryable ConnectionError.
            raise
        else:
            for request, (ok, result) in zip(batch, results, strict=True):
                if ok:
                    request.result = result
                else:
                    message = result.decode(errors="replace") if isinstance(result, bytes) else str(result)
                    request.error = redis.ResponseError(message)
        finally:
            for request in batch:
                request.done = True
                request.woken.set()


def _outcome(request: _Request) -> Any:
    if request.error is not None:
        raise request.error
    if request.result is _NO_RESULT:  # the leader was interrupted before the reply was read
        raise redis.ConnectionError("the script call was interrupted before its reply")
    return request.result


class _Function:
    __slots__ = ("group", "index")

    def __init__(self, group: BatchedScripts, index: int) -> None:
        self.group, self.index = group, index

    def __call__(self, *, keys: list[Any], args: list[Any]) -> Any:
        return self.group.call(self.index, keys, args)
