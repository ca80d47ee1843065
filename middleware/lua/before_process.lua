-- One call decides a message: duplicate, wait, throttled, merged, missing or run (and acquires).
-- KEYS: guard_1..guard_n, throttle_key, extra_key (batch: its items; merge: its window),
--       waits_key, due_key (merge), throttle_due_key, acks_set, messages_hash, heartbeats_zset
-- ARGV: owner (<redis_message_id>:<attempt>), message_id, lease_ms, gc_ms, n, throttle_limit, throttle_period_ms, mode, takes_acks,
--       throttle_mode, queue_key, fence_key, done_ttl_1..done_ttl_n,
--       then per mode (at m = 12 + n):
--         batch: batch_ttl_ms
--         merge: batch_id, quiet_ms, max_wait_ms, max_items, entry, queue, broker_ns,
--                flush_message, flush_rid, items_prefix, batch_ttl_ms, batch_guard_prefix, actor
--       then the ack's redis_message_id, worker_id, timestamp_ms (empty when not taking acks)
-- When takes_acks is "1", a message skipped for good is acked, and one that must wait is parked,
-- in the same atomic step as its decision; otherwise Dramatiq (or the sender) does the rest.
local now = now_ms()
local owner_id, message_id = ARGV[1], ARGV[2]
local rid = string.match(owner_id, "^([^:]*)")
local lease_ms, gc_ms, n = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local limit, period, mode = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]
local takes_acks, throttle_mode, queue_key = ARGV[9] == "1", ARGV[10], ARGV[11]
local m = 12 + n
local throttle_key, extra_key = KEYS[n + 1], KEYS[n + 2]
local waits_key, due_key, throttle_due_key = KEYS[n + 3], KEYS[n + 4], KEYS[n + 5]
local k, a = #KEYS, #ARGV

local function park()
  return dramatiq_park(KEYS[k - 2], KEYS[k], ARGV[a - 2], ARGV[a - 1], ARGV[a])
end

-- Park this delivery for a throttle slot, in arrival order and once however often the call is
-- re-sent, and have the tick look at the key again by `at`.
local function park_for_slot(at)
  local parked, entry = throttle_key .. ":parked", table.concat({queue_key, rid, limit, period, lease_ms}, "|")
  redis.call("LREM", parked, 0, entry)
  redis.call("RPUSH", parked, entry)
  redis.call("PEXPIRE", parked, math.max(period, gc_ms) * 2)
  local scheduled = redis.call("ZSCORE", throttle_due_key, throttle_key)
  if not scheduled or tonumber(scheduled) > at then
    redis.call("ZADD", throttle_due_key, at, throttle_key)
  end
  park()
end

local expired, fence = 0, nil
for i = 1, n do
  local value = redis.call("GET", KEYS[i])
  if value then
    if string.sub(value, 1, 2) == "R|" then
      local owner, deadline, owner_fence = lease_of(value)
      if owner == owner_id then
        fence = owner_fence  -- this very call already took it: re-sent after its reply was lost
      elseif deadline and deadline > now then
        if takes_acks and queue_key ~= "" then
          local list, entry = waiters_of(KEYS[i]), queue_key .. "|" .. rid
          redis.call("LREM", list, 0, entry)
          redis.call("RPUSH", list, entry)
          redis.call("PEXPIRE", list, gc_ms)
          redis.call("ZADD", waits_key, deadline, KEYS[i])
          park()
          return {"wait", i, deadline - now, 1}
        end
        return {"wait", i, deadline - now, 0}
      else
        expired = expired + 1
      end
    else
      if takes_acks then finish_message("ack", KEYS, ARGV) end
      return {"duplicate", i, value}
    end
  end
end

if mode == "merge" then
  local window = extra_key
  local items_prefix, batch_ttl, batch_guard_prefix = ARGV[m + 10], tonumber(ARGV[m + 11]), ARGV[m + 12]
  local batch = redis.call("HGET", window, "batch")
  -- A window restored (say from an AOF that lost its last second) may name a batch that already
  -- ran: merging into it would skip the new message as done, so a new batch starts.
  if batch and redis.call("EXISTS", batch_guard_prefix .. batch) == 1 then
    redis.call("DEL", window)
    redis.call("ZREM", due_key, window)
    batch = nil
  end
  if not batch then
    batch = ARGV[m + 1]
    redis.call("HSET", window, "batch", batch, "first", now, "last", now,
      "max_at", now + tonumber(ARGV[m + 3]), "quiet", ARGV[m + 2], "max_items", ARGV[m + 4],
      "count", 0, "queue", ARGV[m + 6], "ns", ARGV[m + 7], "msg", ARGV[m + 8], "rid", ARGV[m + 9],
      "ttl", batch_ttl, "actor", ARGV[m + 13])
  end
  redis.call("RPUSH", items_prefix .. batch, ARGV[m + 5])
  redis.call("PEXPIRE", items_prefix .. batch, batch_ttl)
  for i = 1, n do
    redis.call("SET", KEYS[i], "M|" .. batch, "PX", ARGV[12 + i])
  end
  local count = redis.call("HINCRBY", window, "count", 1)
  redis.call("HSET", window, "last", now)
  local w = redis.call("HMGET", window, "max_at", "quiet", "max_items")
  local flushed = 0
  if count >= tonumber(w[3]) then
    flush_window(window, due_key, items_prefix)
    flushed = 1
  else
    redis.call("ZADD", due_key, math.min(now + tonumber(w[2]), tonumber(w[1])), window)
    redis.call("PEXPIRE", window, tonumber(w[1]) - now + batch_ttl)
  end
  if takes_acks then finish_message("ack", KEYS, ARGV) end
  return {"merged", batch, flushed}
end

local items = nil
if mode == "batch" then
  items = redis.call("LRANGE", extra_key, 0, -1)
  local has_item = false
  for _, entry in ipairs(items) do
    if string.find(entry, "\n", 1, true) then has_item = true end
  end
  if not has_item then
    return {"missing"}
  end
end

if limit > 0 then
  prune_throttle(throttle_key, now, period)
  local running_until = tonumber(redis.call("ZSCORE", throttle_key .. ":running", rid) or "0")
  local attempt = redis.call("HGET", throttle_key .. ":attempts", rid)
  if running_until > now and attempt and attempt ~= owner_id and attempt ~= rid then
    -- Another attempt of this very delivery still runs (its worker was swept as dead while it
    -- ran): this one waits behind it, parked, and its body goes if that run succeeds.
    if takes_acks and queue_key ~= "" then
      park_for_slot(running_until)
      return {"wait", 0, running_until - now, 1}
    end
    return {"wait", 0, running_until - now, 0}
  end
  -- A slot is a delivery's (its redis_message_id): a re-sent call, a redelivery after a crash, and
  -- a parked message whose slot the tick claimed on its way all find their own. A retry is another
  -- delivery: its failed predecessor gave its slot back.
  if not redis.call("ZSCORE", throttle_key, rid) then
    local parked = throttle_key .. ":parked"
    local full = redis.call("ZCARD", throttle_key) >= limit
    -- In delay mode a newcomer queues behind messages already waiting for a slot: order holds.
    if full or (throttle_mode == "delay" and redis.call("LLEN", parked) > 0) then
      local next_free = now
      if full then
        local oldest = redis.call("ZRANGE", throttle_key, 0, 0, "WITHSCORES")
        next_free = tonumber(oldest[2]) + period
        local first_end = redis.call("ZRANGE", throttle_key .. ":running", 0, 0, "WITHSCORES")
        if first_end[2] then next_free = math.min(next_free, tonumber(first_end[2])) end
      end
      if throttle_mode == "delay" and takes_acks and queue_key ~= "" then
        park_for_slot(next_free)
        return {"throttled", 0, next_free - now, 1}
      end
      if takes_acks and throttle_mode ~= "delay" then finish_message("ack", KEYS, ARGV) end
      return {"throttled", 0, next_free - now, 0}
    end
  end
  hold_slot(throttle_key, rid, owner_id, now, now + lease_ms, period, gc_ms)
end

if not fence then
  fence = tostring(redis.call("INCR", ARGV[12]))
end
local record = "R|" .. owner_id .. "|" .. (now + lease_ms) .. "|" .. fence .. "|" .. message_id
for i = 1, n do
  redis.call("SET", KEYS[i], record, "PX", gc_ms)
end
if mode == "batch" then
  keep_batch(extra_key, items, tonumber(ARGV[m + 1]))  -- at least another batch TTL
  return {"run", expired, fence, items}
end
return {"run", expired, fence}
