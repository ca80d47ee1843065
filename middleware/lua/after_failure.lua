-- Give back what a failed run held: its leases (or keep them as F records), its throttle
-- slot, and, when a debounce batch failed for good, the merged messages' guards.
-- KEYS: guard_1..guard_n, throttle_key, items_key
-- ARGV: token, keep (0/1), final (0/1), failed_value, ttl_ms_1..ttl_ms_n
local n = #KEYS - 2
local prefix = "R|" .. ARGV[1] .. "|"
local keep, final = ARGV[2] == "1", ARGV[3] == "1"
for i = 1, n do
  local value = redis.call("GET", KEYS[i])
  if value and string.sub(value, 1, #prefix) == prefix then
    if keep and final then
      redis.call("SET", KEYS[i], ARGV[4], "PX", ARGV[4 + i])
    else
      redis.call("DEL", KEYS[i])
    end
  end
end
if KEYS[n + 1] ~= "" then
  redis.call("ZREM", KEYS[n + 1], ARGV[1])
end
local released = 0
if final and not keep and KEYS[n + 2] ~= "" then
  for _, entry in ipairs(redis.call("LRANGE", KEYS[n + 2], 0, -1)) do
    for _, guard in ipairs(cjson.decode(entry)["g"] or {}) do
      local value = redis.call("GET", guard)
      if value and string.sub(value, 1, 2) == "M|" then
        redis.call("DEL", guard)
        released = released + 1
      end
    end
  end
end
return released
