-- Shared prelude, prepended to every zapq script (Redis 6 has no FUNCTION LOAD).
--
-- Dramatiq's private protocol, which the functions below follow (its key names, what its
-- dispatch.lua "enqueue", "ack" and "requeue" do), is listed in middleware/dramatiq_protocol.py:
-- a Dramatiq upgrade is re-checked there. A queue's bodies are always "<queue list>.msgs".
--
-- Guard records (one string key each):
--   R|<owner>|<deadline_ms>|<fence>|<message_id>  an attempt holds the lease until deadline_ms;
--                                                 fence orders the holders
--   D|<message_id>                              succeeded; duplicates are skipped
--   M|<batch_id>                                merged into a debounce batch; duplicates are skipped
--   F|<message_id>                              failed for good and kept (keep_on_failure)
--
-- An owner is "<redis_message_id>:<attempt>", the attempt drawn anew each time a worker starts to
-- decide a message: a script call re-sent after its reply was lost carries the same owner and
-- recognises the lease it already took, so every script is safe to run twice. A redelivery of the
-- same message (a crash, or Dramatiq's sweep of a worker that lost Redis for longer than the
-- heartbeat timeout) is a new attempt: it waits for a live lease like any duplicate, so two runs
-- never overlap. A throttle slot is the delivery's, leased like a guard: a redelivery finds its own,
-- a crashed run's slot frees when its lease ends, a failed one's at once.

local function now_ms()
  local t = redis.call("TIME")
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- owner, deadline, fence of a lease record (nil for other records).
local function lease_of(value)
  local _, _, rid, deadline, fence = string.find(value, "^R|([^|]*)|(%d+)|(%d+)|")
  return rid, tonumber(deadline), fence
end

-- A debounce entry is a one-line JSON header (ASCII: guard keys, send time) and, after a newline,
-- the item as the Python side encoded it; Lua never decodes the item, so any string survives.
local function entry_header(entry)
  local stop = string.find(entry, "\n", 1, true)
  if stop then
    entry = string.sub(entry, 1, stop - 1)
  end
  return cjson.decode(entry)
end

local function waiters_of(guard)
  return guard .. ":waiters"
end

-- Waiter entries are "<queue key>|<redis message id>": the message body stays in the queue's
-- .msgs hash while it waits, and goes back on the queue list when it is released.
local function split_waiter(entry)
  local _, _, queue_key, rid = string.find(entry, "^(.*)|([^|]*)$")
  return queue_key, rid
end

-- Settle a guard's parked duplicates and forget them. Released (the key's run failed or vanished):
-- each goes back on its queue, where one takes the key and the others park again. Dropped (the run
-- succeeded): each is skipped, its body deleted. Returns how many were released or dropped.
local function settle_waiters(guard, waits_key, release)
  local list = waiters_of(guard)
  local settled = 0
  for _, entry in ipairs(redis.call("LRANGE", list, 0, -1)) do
    local queue_key, rid = split_waiter(entry)
    if not release then
      settled = settled + redis.call("HDEL", queue_key .. ".msgs", rid)
    elseif redis.call("HEXISTS", queue_key .. ".msgs", rid) == 1 then
      redis.call("RPUSH", queue_key, rid)
      settled = settled + 1
    end
  end
  redis.call("DEL", list)
  redis.call("ZREM", waits_key, guard)
  return settled
end

local function release_waiters(guard, waits_key)
  return settle_waiters(guard, waits_key, true)
end

local function drop_waiters(guard, waits_key)
  return settle_waiters(guard, waits_key, false)
end

-- An unfinished batch keeps its items, and its messages their idempotency guards, for at least ttl_ms.
local function keep_batch(items_key, entries, ttl_ms)
  if redis.call("PTTL", items_key) < ttl_ms then
    redis.call("PEXPIRE", items_key, ttl_ms)
  end
  for _, entry in ipairs(entries) do
    if string.find(entry, "\n", 1, true) then
      for _, guard in ipairs(entry_header(entry)["x"] or {}) do
        if redis.call("PTTL", guard) < ttl_ms and string.sub(redis.call("GET", guard) or "", 1, 2) == "M|" then
          redis.call("PEXPIRE", guard, ttl_ms)
        end
      end
    end
  end
end

-- Move a debounce window's batch onto its Dramatiq queue, exactly as the broker's own
-- enqueue does (message body in <ns>:<queue>.msgs, id on the <ns>:<queue> list).
local function flush_window(window, due_key, items_prefix)
  local w = redis.call("HMGET", window, "batch", "queue", "ns", "msg", "rid", "first", "last", "ttl", "actor")
  if not w[1] then
    redis.call("ZREM", due_key, window)
    return nil
  end
  local batch, queue, ns, msg, rid = w[1], w[2], w[3], w[4], w[5]
  -- The flush time travels with the items, so the batch run can tell queueing from windowing.
  redis.call("RPUSH", items_prefix .. batch, '{"f":' .. now_ms() .. ',"o":' .. w[6] .. '}')
  redis.call("HSET", ns .. ":" .. queue .. ".msgs", rid, msg)
  redis.call("RPUSH", ns .. ":" .. queue, rid)
  redis.call("PEXPIRE", items_prefix .. batch, tonumber(w[8]))
  redis.call("DEL", window)
  redis.call("ZREM", due_key, window)
  return {batch, w[6], w[7], w[9]}
end

-- Dramatiq's ack (its dispatch.lua "ack" command), for a message FlowControl acks itself:
-- heartbeat, then drop the message from the worker's unacked set and from the queue's hash.
-- The body goes even when another worker's unacked set holds the message (Dramatiq's sweep moved
-- it while this one ran): the message is finished, and a copy parked or queued must not run again.
local function dramatiq_ack(acks_key, messages_key, heartbeats_key, rid, worker_id, timestamp)
  redis.call("ZADD", heartbeats_key, timestamp, worker_id)
  redis.call("SREM", acks_key, rid)
  redis.call("HDEL", messages_key, rid)
end

-- Take a message out of the worker's unacked set but keep its body: it is parked (a waiter, a
-- throttled message) and goes back on its queue later. Returns whether this call took it out.
local function dramatiq_park(acks_key, heartbeats_key, rid, worker_id, timestamp)
  redis.call("ZADD", heartbeats_key, timestamp, worker_id)
  return redis.call("SREM", acks_key, rid) > 0
end

-- Put an unacked message back on its queue (Dramatiq's "requeue"): it could not be decided or
-- its retry could not be enqueued, and it must not be lost.
local function dramatiq_requeue(acks_key, messages_key, heartbeats_key, rid, worker_id, timestamp)
  redis.call("ZADD", heartbeats_key, timestamp, worker_id)
  if redis.call("SREM", acks_key, rid) > 0 then
    local queue_key = string.sub(messages_key, 1, -6)
    redis.call("RPUSH", queue_key, rid)
  end
end

-- Finish a message the way the caller asked: "ack", "requeue" or "" (leave it to Dramatiq).
-- The last three keys and arguments of a script are the ack's (a script's KEYS and ARGV are
-- passed in: group-committed scripts run as functions over their own slices).
local function finish_message(how, keys, args)
  if how == "ack" or how == "requeue" then
    local k, a = #keys, #args
    local finish = how == "ack" and dramatiq_ack or dramatiq_requeue
    finish(keys[k - 2], keys[k - 1], keys[k], args[a - 2], args[a - 1], args[a])
  end
end

-- Throttle: drop slots whose period ended and slots of runs that crashed (their lease ran out).
local function prune_throttle(throttle_key, now, period)
  local running = throttle_key .. ":running"
  local crashed = redis.call("ZRANGEBYSCORE", running, "-inf", now)
  for _, member in ipairs(crashed) do
    redis.call("ZREM", throttle_key, member)
    redis.call("HDEL", throttle_key .. ":attempts", member)
  end
  redis.call("ZREMRANGEBYSCORE", running, "-inf", now)
  redis.call("ZREMRANGEBYSCORE", throttle_key, "-inf", now - period)
end

-- Hold a throttle slot for `member` (a delivery), run by `attempt`, until its lease deadline (the
-- slot then counts for the period). The tick claims a slot with the delivery as its own attempt.
local function hold_slot(throttle_key, member, attempt, now, deadline, period, gc_ms)
  if not redis.call("ZSCORE", throttle_key, member) then
    redis.call("ZADD", throttle_key, now, member)
  end
  redis.call("ZADD", throttle_key .. ":running", deadline, member)
  redis.call("HSET", throttle_key .. ":attempts", member, attempt)
  redis.call("PEXPIRE", throttle_key, math.max(period, gc_ms))
  redis.call("PEXPIRE", throttle_key .. ":running", gc_ms)
  redis.call("PEXPIRE", throttle_key .. ":attempts", gc_ms)
end

-- A run's slot is no longer leased: it finished (the slot counts on) or was given back.
local function end_slot_lease(throttle_key, member)
  redis.call("ZREM", throttle_key .. ":running", member)
  redis.call("HDEL", throttle_key .. ":attempts", member)
end
