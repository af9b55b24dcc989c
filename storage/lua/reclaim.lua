-- ARGV: (shard key, holder seen or '')... -> the keys queued again. A key is re-queued only
-- if it is not done, not locked, and still held by the holder the caller saw; a done key is
-- only cleared.
local now, out = now_ms(), {}
for i = 1, #ARGV, 2 do
  local k, seen = ARGV[i], ARGV[i + 1]
  local before = facts(k)
  if is_member(DONE, k) then
    clear_queued(k)
    redis.call('HDEL', HELD, k)
    redis.call('SREM', RUNNING, k)
  elseif redis.call('EXISTS', LOCK .. k) == 0 and (redis.call('HGET', HELD, k) or '') == seen then
    set_queued(k, now)
    redis.call('SREM', RUNNING, k)
    redis.call('HDEL', HELD, k)
    redis.call('HDEL', LOCKLESS, k)
    redis.call('INCR', HEALED)
    out[#out + 1] = k
  end
  retally(k, before)
end
return finish(out)
