-- One call decides a message: duplicate, wait, throttled, merged or run (and acquires).
-- KEYS: guard_1..guard_n, throttle_key, items_key (batch mode) or window_key (merge mode),
--       merge mode only: due_key,
--       then, when ack_skipped is not "0": the message's acks_set, messages_hash, heartbeats_zset
-- ARGV: token, lease_ms, gc_ms, n_guards, throttle_limit, throttle_period_ms, mode, message_id,
--       ack_skipped ("0"; "1": ack a duplicate or merged message here; "2": a throttled one too),
--       merge mode only: new_batch_id, quiet_ms, max_wait_ms, max_items, entry, merged_ttl_ms,
--                        queue, broker_ns, flush_message, flush_rid, items_prefix, batch_ttl_ms,
--       then, when ack_skipped is not "0": redis_message_id, worker_id, timestamp_ms
-- A message skipped for good is acked (`dramatiq_ack`) in the same atomic step as its decision:
-- a merged message's item is in its window exactly when the message is acked.
local now = now_ms()
local token, lease_ms, gc_ms = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local n = tonumber(ARGV[4])
local limit, period = tonumber(ARGV[5]), tonumber(ARGV[6])
local mode, message_id, ack_skipped = ARGV[7], ARGV[8], ARGV[9]
local throttle_key = KEYS[n + 1]

local function skipped(decision, throttled)
  if ack_skipped == "2" or (ack_skipped == "1" and not throttled) then
    local k, a = #KEYS, #ARGV
    dramatiq_ack(KEYS[k - 2], KEYS[k - 1], KEYS[k], ARGV[a - 2], ARGV[a - 1], ARGV[a])
  end
  return decision
end

local expired = 0
for i = 1, n do
  local value = redis.call("GET", KEYS[i])
  if value then
    if string.sub(value, 1, 1) == "R" then
      local _, deadline = lease_of(value)
      if deadline and deadline > now then
        return {"wait", i, deadline - now}
      end
      expired = expired + 1
    else
      return skipped({"duplicate", i, value}, false)
    end
  end
end

if mode == "merge" then
  local window, due_key = KEYS[n + 2], KEYS[n + 3]
  local items_prefix, batch_ttl = ARGV[20], tonumber(ARGV[21])
  local batch = redis.call("HGET", window, "batch")
  if not batch then
    batch = ARGV[10]
    redis.call("HSET", window, "batch", batch, "first", now, "last", now,
      "max_at", now + tonumber(ARGV[12]), "quiet", ARGV[11], "max_items", ARGV[13],
      "count", 0, "queue", ARGV[16], "ns", ARGV[17], "msg", ARGV[18], "rid", ARGV[19])
  end
  redis.call("RPUSH", items_prefix .. batch, ARGV[14])
  redis.call("PEXPIRE", items_prefix .. batch, batch_ttl)
  for i = 1, n do
    redis.call("SET", KEYS[i], "M|" .. batch, "PX", ARGV[15])
  end
  local count = redis.call("HINCRBY", window, "count", 1)
  redis.call("HSET", window, "last", now)
  local w = redis.call("HMGET", window, "max_at", "quiet", "max_items")
  if count >= tonumber(w[3]) then
    flush_window(window, due_key, items_prefix, batch_ttl)
    return skipped({"merged", batch, 1}, false)
  end
  redis.call("ZADD", due_key, math.min(now + tonumber(w[2]), tonumber(w[1])), window)
  redis.call("PEXPIRE", window, tonumber(w[1]) - now + batch_ttl)
  return skipped({"merged", batch, 0}, false)
end

if limit > 0 then
  redis.call("ZREMRANGEBYSCORE", throttle_key, "-inf", now - period)
  if redis.call("ZCARD", throttle_key) >= limit then
    local oldest = redis.call("ZRANGE", throttle_key, 0, 0, "WITHSCORES")
    return skipped({"throttled", 0, tonumber(oldest[2]) + period - now}, true)
  end
  redis.call("ZADD", throttle_key, now, token)
  redis.call("PEXPIRE", throttle_key, period)
end

local record = "R|" .. token .. "|" .. (now + lease_ms) .. "|" .. message_id
for i = 1, n do
  redis.call("SET", KEYS[i], record, "PX", gc_ms)
end
if mode == "batch" then
  return {"run", expired, redis.call("LRANGE", KEYS[n + 2], 0, -1)}
end
return {"run", expired}
