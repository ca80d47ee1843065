-- One call decides a message: duplicate, wait, throttled, merged or run (and acquires).
-- KEYS: guard_1..guard_n, throttle_key, items_key (batch mode) or window_key (merge mode), due_key
-- ARGV: token, lease_ms, gc_ms, n_guards, throttle_limit, throttle_period_ms, mode, message_id,
--       merge mode only: new_batch_id, quiet_ms, max_wait_ms, max_items, entry, merged_ttl_ms,
--                        queue, broker_ns, flush_message, flush_rid, items_prefix, batch_ttl_ms
local now = now_ms()
local token, lease_ms, gc_ms = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local n = tonumber(ARGV[4])
local limit, period = tonumber(ARGV[5]), tonumber(ARGV[6])
local mode, message_id = ARGV[7], ARGV[8]
local throttle_key = KEYS[n + 1]

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
      return {"duplicate", i, value}
    end
  end
end

if mode == "merge" then
  local window, due_key = KEYS[n + 2], KEYS[n + 3]
  local items_prefix, batch_ttl = ARGV[19], tonumber(ARGV[20])
  local batch = redis.call("HGET", window, "batch")
  if not batch then
    batch = ARGV[9]
    redis.call("HSET", window, "batch", batch, "first", now, "last", now,
      "max_at", now + tonumber(ARGV[11]), "quiet", ARGV[10], "max_items", ARGV[12],
      "count", 0, "queue", ARGV[15], "ns", ARGV[16], "msg", ARGV[17], "rid", ARGV[18])
  end
  redis.call("RPUSH", items_prefix .. batch, ARGV[13])
  redis.call("PEXPIRE", items_prefix .. batch, batch_ttl)
  for i = 1, n do
    redis.call("SET", KEYS[i], "M|" .. batch, "PX", ARGV[14])
  end
  local count = redis.call("HINCRBY", window, "count", 1)
  redis.call("HSET", window, "last", now)
  local w = redis.call("HMGET", window, "max_at", "quiet", "max_items")
  if count >= tonumber(w[3]) then
    flush_window(window, due_key, items_prefix, batch_ttl)
    return {"merged", batch, 1}
  end
  redis.call("ZADD", due_key, math.min(now + tonumber(w[2]), tonumber(w[1])), window)
  redis.call("PEXPIRE", window, tonumber(w[1]) - now + batch_ttl)
  return {"merged", batch, 0}
end

if limit > 0 then
  redis.call("ZREMRANGEBYSCORE", throttle_key, "-inf", now - period)
  if redis.call("ZCARD", throttle_key) >= limit then
    local oldest = redis.call("ZRANGE", throttle_key, 0, 0, "WITHSCORES")
    return {"throttled", 0, tonumber(oldest[2]) + period - now}
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
