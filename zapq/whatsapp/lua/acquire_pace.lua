-- Pace one send: a GCRA per business number (throughput) and per number->recipient pair (spacing).
-- KEYS: number key, recipient key (zapq/keyspace.py).
-- ARGV: number interval, number tolerance, recipient interval, recipient tolerance (microseconds);
-- tolerance = (burst - 1) * interval. Returns the wait in microseconds, 0 when the send may go now.
-- Both limits are checked before either advances, so a refused call consumes nothing.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])

local function earliest(key, tolerance)
  local stored = tonumber(redis.call('GET', key))
  local arrival = now
  if stored and stored > now then arrival = stored end
  return arrival, arrival - tolerance
end

local number_arrival, number_allowed_at = earliest(KEYS[1], tonumber(ARGV[2]))
local pair_arrival, pair_allowed_at = earliest(KEYS[2], tonumber(ARGV[4]))
local allowed_at = math.max(number_allowed_at, pair_allowed_at)
if allowed_at > now then
  return allowed_at - now
end

local function advance(key, arrival, interval)
  local next_arrival = arrival + interval
  local ttl_ms = math.ceil((next_arrival - now) / 1000) + 1
  redis.call('SET', key, string.format('%.0f', next_arrival), 'PX', ttl_ms)
end

advance(KEYS[1], number_arrival, tonumber(ARGV[1]))
advance(KEYS[2], pair_arrival, tonumber(ARGV[3]))
return 0
