-- Give back what a failed run held: its leases (or keep them as F records), its throttle slot,
-- its parked duplicates (back on their queues), and, when a debounce batch failed for good, the
-- merged messages' guards (a batch to be retried keeps its items and guards until any retry can
-- come); then finish the message as asked ("ack", "requeue" or "").
-- KEYS: guard_1..guard_n, throttle_key, items_key, waits_key, throttle_due_key,
--       acks_set, messages_hash, heartbeats
-- ARGV: owner, keep (0/1), final (0/1), failed_value, n, ttl_ms_1..ttl_ms_n, slot member, finish,
--       then the ack's redis_message_id, worker_id, timestamp_ms
local owner_id, keep, final = ARGV[1], ARGV[2] == "1", ARGV[3] == "1"
local n = tonumber(ARGV[5])
local throttle_key, items_key, waits_key, throttle_due_key = KEYS[n + 1], KEYS[n + 2], KEYS[n + 3], KEYS[n + 4]
local member = ARGV[6 + n]
for i = 1, n do
  local value = redis.call("GET", KEYS[i])
  if value and lease_of(value) == owner_id then
    if keep and final then
      redis.call("SET", KEYS[i], ARGV[4], "PX", ARGV[5 + i])
    else
      redis.call("DEL", KEYS[i])
    end
    release_waiters(KEYS[i], waits_key)
  end
end
if throttle_key ~= "" then
  redis.call("ZREM", throttle_key, member)
  end_slot_lease(throttle_key, member)
  if redis.call("LLEN", throttle_key .. ":parked") > 0 then
    redis.call("ZADD", throttle_due_key, 0, throttle_key)
  end
end
local released = 0
if not final and items_key ~= "" then
  -- A batch that will be retried keeps its items, and its messages their guards, for as long as
  -- any retry can be delayed (Dramatiq's limit is 7 days), whatever its own TTL.
  keep_batch(items_key, redis.call("LRANGE", items_key, 0, -1), 7 * 24 * 3600 * 1000 + 3600 * 1000)
end
if final and not keep and items_key ~= "" then
  for _, entry in ipairs(redis.call("LRANGE", items_key, 0, -1)) do
    if string.find(entry, "\n", 1, true) then
      for _, guard in ipairs(entry_header(entry)["g"] or {}) do
        local value = redis.call("GET", guard)
        if value and string.sub(value, 1, 2) == "M|" then
          redis.call("DEL", guard)
          released = released + 1
        end
      end
    end
  end
end
finish_message(ARGV[7 + n], KEYS, ARGV)
return released
