-- Push the deadline of every lease this process still holds; count the ones it lost.
-- KEYS: guard keys   ARGV: gc_ms, then per key: token, lease_ms, message_id
local now = now_ms()
local gc_ms = ARGV[1]
local lost = 0
for i = 1, #KEYS do
  local token, lease_ms, message_id = ARGV[3 * i - 1], tonumber(ARGV[3 * i]), ARGV[3 * i + 1]
  local prefix = "R|" .. token .. "|"
  local value = redis.call("GET", KEYS[i])
  if value and string.sub(value, 1, #prefix) == prefix then
    redis.call("SET", KEYS[i], prefix .. (now + lease_ms) .. "|" .. message_id, "PX", gc_ms)
  else
    lost = lost + 1
  end
end
return lost
