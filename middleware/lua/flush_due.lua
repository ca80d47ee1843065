-- The per-process tick: flush due debounce windows, wake duplicates whose key's lease ran out,
-- and hand freed throttle slots to parked delay-mode messages, in the order they arrived.
-- KEYS: debounce_due, waits, throttle_due   ARGV: max_per_tick, items_prefix
-- Returns {flushed, woken, dropped, unparked}: flushed lists actor, first and last message times
-- and now per flushed window; woken/dropped count parked duplicates released/skipped.
local now = now_ms()
local max = tonumber(ARGV[1])
local flushed = {}
for _, window in ipairs(redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", now, "LIMIT", 0, max)) do
  local batch = flush_window(window, KEYS[1], ARGV[2])
  if batch then
    table.insert(flushed, batch[4] or "")
    table.insert(flushed, batch[2])
    table.insert(flushed, batch[3])
    table.insert(flushed, now)
  end
end

-- A guard with parked duplicates whose run neither finished nor renewed (a crash, a lost
-- after-hook): once its lease is over, its duplicates go back on their queues.
local woken, dropped = 0, 0
for _, guard in ipairs(redis.call("ZRANGEBYSCORE", KEYS[2], "-inf", now, "LIMIT", 0, max)) do
  local value = redis.call("GET", guard)
  if value and string.sub(value, 1, 2) == "R|" then
    local _, deadline = lease_of(value)
    if deadline and deadline > now then
      redis.call("ZADD", KEYS[2], deadline, guard)
    else
      woken = woken + release_waiters(guard, KEYS[2])
    end
  elseif value then
    dropped = dropped + drop_waiters(guard, KEYS[2])
  else
    woken = woken + release_waiters(guard, KEYS[2])
  end
end

local unparked = 0
for _, throttle_key in ipairs(redis.call("ZRANGEBYSCORE", KEYS[3], "-inf", now, "LIMIT", 0, max)) do
  local parked = throttle_key .. ":parked"
  local head = redis.call("LINDEX", parked, 0)
  local limit, period = 0, 0
  while head do
    local _, _, queue_key, rid, l, p, lease = string.find(head, "^(.*)|([^|]*)|(%d+)|(%d+)|(%d+)$")
    limit, period = tonumber(l), tonumber(p)
    prune_throttle(throttle_key, now, period)
    if redis.call("ZCARD", throttle_key) >= limit then break end
    redis.call("LPOP", parked)
    if redis.call("HEXISTS", queue_key .. ".msgs", rid) == 1 then
      -- The slot is claimed for the message on its way (its delivery id), so no newcomer can
      -- take it first.
      hold_slot(throttle_key, rid, rid, now, now + 2 * tonumber(lease), period, 20 * tonumber(lease))
      redis.call("RPUSH", queue_key, rid)
      unparked = unparked + 1
    end
    head = redis.call("LINDEX", parked, 0)
  end
  if head then
    local next_free = now + period
    local oldest = redis.call("ZRANGE", throttle_key, 0, 0, "WITHSCORES")
    if oldest[2] then next_free = tonumber(oldest[2]) + period end
    local first_end = redis.call("ZRANGE", throttle_key .. ":running", 0, 0, "WITHSCORES")
    if first_end[2] then next_free = math.min(next_free, tonumber(first_end[2])) end
    redis.call("ZADD", KEYS[3], next_free, throttle_key)
  else
    redis.call("ZREM", KEYS[3], throttle_key)
  end
end
return {flushed, woken, dropped, unparked}
