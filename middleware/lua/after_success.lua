-- Record completion on every guard; report how many leases were no longer ours. With the
-- message's Dramatiq ack keys, also ack it, as the broker's own ack does: the success record
-- and the ack are one atomic step, so a message is never acked without its record.
-- KEYS: guard_1..guard_n, [acks_set, messages_hash, heartbeats_zset]
-- ARGV: token, done_value, n, ttl_ms_1..ttl_ms_n, [redis_message_id, worker_id, timestamp_ms]
local n = tonumber(ARGV[3])
local lost = 0
local prefix = "R|" .. ARGV[1] .. "|"
for i = 1, n do
  local value = redis.call("GET", KEYS[i])
  -- Already done_value: the same call again, after a connection error hid its reply.
  if value ~= ARGV[2] and (not value or string.sub(value, 1, #prefix) ~= prefix) then
    lost = lost + 1
  end
  redis.call("SET", KEYS[i], ARGV[2], "PX", ARGV[3 + i])
end
if #KEYS > n then
  dramatiq_ack(KEYS[n + 1], KEYS[n + 2], KEYS[n + 3], ARGV[4 + n], ARGV[5 + n], ARGV[6 + n])
end
return lost
