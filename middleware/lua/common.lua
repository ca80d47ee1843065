-- Shared prelude, prepended to every zapq script (Redis 6 has no FUNCTION LOAD).
--
-- Guard records (one string key each):
--   R|<token>|<deadline_ms>|<message_id>   a run holds the lease until deadline_ms
--   D|<message_id>                         succeeded; duplicates are skipped
--   M|<batch_id>                           merged into a debounce batch; duplicates are skipped
--   F|<message_id>                         failed for good and kept (keep_on_failure)

local function now_ms()
  local t = redis.call("TIME")
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function lease_of(value)
  local _, _, token, deadline = string.find(value, "^R|([^|]*)|(%d+)|")
  return token, tonumber(deadline)
end

-- Move a debounce window's batch onto its Dramatiq queue, exactly as the broker's own
-- enqueue does (message body in <ns>:<queue>.msgs, id on the <ns>:<queue> list).
local function flush_window(window, due_key, items_prefix, batch_ttl_ms)
  local w = redis.call("HMGET", window, "batch", "queue", "ns", "msg", "rid", "first", "last")
  if not w[1] then
    redis.call("ZREM", due_key, window)
    return nil
  end
  local batch, queue, ns, msg, rid = w[1], w[2], w[3], w[4], w[5]
  -- The flush time travels with the items, so the batch run can tell queueing from windowing.
  redis.call("RPUSH", items_prefix .. batch, '{"f":' .. now_ms() .. ',"o":' .. w[6] .. '}')
  redis.call("HSET", ns .. ":" .. queue .. ".msgs", rid, msg)
  redis.call("RPUSH", ns .. ":" .. queue, rid)
  redis.call("PEXPIRE", items_prefix .. batch, batch_ttl_ms)
  redis.call("DEL", window)
  redis.call("ZREM", due_key, window)
  return {batch, w[6], w[7]}
end

-- Dramatiq's ack (its dispatch.lua "ack" command), for a message FlowControl acks itself:
-- heartbeat, then drop the message from the worker's unacked set and from the queue's hash.
local function dramatiq_ack(acks_key, messages_key, heartbeats_key, redis_message_id, worker_id, timestamp)
  redis.call("ZADD", heartbeats_key, timestamp, worker_id)
  if redis.call("SREM", acks_key, redis_message_id) > 0 then
    redis.call("HDEL", messages_key, redis_message_id)
  end
end
