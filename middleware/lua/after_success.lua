-- Record completion on every guard; report how many leases were no longer ours.
-- KEYS: guard_1..guard_n   ARGV: token, done_value, ttl_ms_1..ttl_ms_n
local lost = 0
local prefix = "R|" .. ARGV[1] .. "|"
for i = 1, #KEYS do
  local value = redis.call("GET", KEYS[i])
  if not value or string.sub(value, 1, #prefix) ~= prefix then
    lost = lost + 1
  end
  redis.call("SET", KEYS[i], ARGV[2], "PX", ARGV[2 + i])
end
return lost
