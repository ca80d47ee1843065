-- Flush every debounce window whose quiet period or max_wait has passed.
-- KEYS: due_key   ARGV: max_windows, items_prefix, batch_ttl_ms
-- Returns, per flushed window: window key, batch id, first and last message times, and now.
local now = now_ms()
local flushed = {}
local due = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", now, "LIMIT", 0, tonumber(ARGV[1]))
for _, window in ipairs(due) do
  local batch = flush_window(window, KEYS[1], ARGV[2], tonumber(ARGV[3]))
  if batch then
    table.insert(flushed, window)
    table.insert(flushed, batch[1])
    table.insert(flushed, batch[2])
    table.insert(flushed, batch[3])
    table.insert(flushed, now)
  end
end
return flushed
