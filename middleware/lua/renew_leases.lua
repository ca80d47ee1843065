-- Push the deadline of every lease this process still holds, and of the throttle slots its runs
-- hold; heartbeat the worker (a busy worker's unacked messages must not look abandoned, since a
-- redelivered copy would recognise the lease as its own). Returns how many leases were lost.
-- KEYS: heartbeats_zset, guard_1..guard_n, throttle_running_1..throttle_running_t
-- ARGV: worker_id, gc_ms, n, heartbeat_ms (the worker's clock, as Dramatiq's own heartbeats),
--       per guard: owner, lease_ms; per throttle key: message_id, lease_ms
local now = now_ms()
local gc_ms, n = tonumber(ARGV[2]), tonumber(ARGV[3])
if KEYS[1] ~= "" then
  redis.call("ZADD", KEYS[1], ARGV[4], ARGV[1])
end
local lost = 0
for i = 2, n + 1 do
  local owner_id, lease_ms = ARGV[2 * i + 1], tonumber(ARGV[2 * i + 2])
  local value = redis.call("GET", KEYS[i]) or ""
  local _, _, owner, fence, rest = string.find(value, "^R|([^|]*)|%d+|(%d+)|(.*)$")
  if owner == owner_id then
    redis.call("SET", KEYS[i], "R|" .. owner_id .. "|" .. (now + lease_ms) .. "|" .. fence .. "|" .. rest, "PX", gc_ms)
    redis.call("PEXPIRE", waiters_of(KEYS[i]), gc_ms)
  else
    lost = lost + 1
  end
end
for i = n + 2, #KEYS do
  redis.call("ZADD", KEYS[i], "XX", now + tonumber(ARGV[2 * i + 2]), ARGV[2 * i + 1])
  redis.call("PEXPIRE", KEYS[i], gc_ms)
end
return lost
