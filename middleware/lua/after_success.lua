-- Record completion on every guard this run still holds, skip its parked duplicates, drop a
-- finished batch's items, free its throttle lease (the slot counts for the period), and ack.
-- Returns {lost, parked duplicates skipped per guard}.
-- A guard whose lease another run took (a higher fence) is left alone and reported as lost:
-- that success is refused, the other run decides the key.
-- KEYS: guard_1..guard_n, throttle_key, items_key, waits_key, acks_set, messages_hash, heartbeats
-- ARGV: owner, fence, done_value, n, done_ttl_1..done_ttl_n, slot member (the delivery),
--       finish ("ack" or ""),
--       then the ack's redis_message_id, worker_id, timestamp_ms
local owner_id, fence, done = ARGV[1], ARGV[2], ARGV[3]
local n = tonumber(ARGV[4])
local throttle_key, items_key, waits_key = KEYS[n + 1], KEYS[n + 2], KEYS[n + 3]
local lost, skipped = 0, {}
for i = 1, n do
  local value = redis.call("GET", KEYS[i])
  -- Already done: the same call again, after a connection error hid its reply.
  if value ~= done then
    local owner, _, owner_fence = lease_of(value or "")
    if value and owner == owner_id and owner_fence == fence then
      redis.call("SET", KEYS[i], done, "PX", ARGV[4 + i])
      skipped[i] = drop_waiters(KEYS[i], waits_key)
    else
      lost = lost + 1
    end
  end
  skipped[i] = skipped[i] or 0
end
if throttle_key ~= "" then
  end_slot_lease(throttle_key, ARGV[5 + n])
end
if items_key ~= "" and lost == 0 then
  redis.call("DEL", items_key)
end
finish_message(ARGV[6 + n], KEYS, ARGV)
return {lost, skipped}
