-- ARGV: stale_ms, source, shard keys... -> per key 1 CLAIMED, 0 SKIP_DONE or 2 SKIP_BUSY
-- Skip a done shard; skip one a worker holds the lock of, or whose message was sent less than
-- `stale_ms` ago unless it was left running by a worker that is gone; else queue it now.
start_counting()
local now, stale_ms, source, out = now_ms(), tonumber(ARGV[1]), ARGV[2], {}
for i = 3, #ARGV do
  local k = ARGV[i]
  local before = facts(k)
  redis.call('SADD', PLANNED, k)
  if is_member(DONE, k) then
    out[#out + 1] = 0
  elseif redis.call('EXISTS', LOCK .. k) == 1 then
    out[#out + 1] = 2
  else
    local sent = redis.call('HGET', QUEUED, k)
    local holder = redis.call('HGET', HELD, k)
    local alive = holder and tonumber(redis.call('ZSCORE', PRESENCE, holder) or 0) > now
    local orphan = is_member(RUNNING, k) and not alive
    if sent and not orphan and now - tonumber(sent) < stale_ms then
      out[#out + 1] = 2
    else
      set_queued(k, now)
      redis.call('HSET', SOURCES, k, source)
      redis.call('HDEL', HELD, k)
      redis.call('SREM', RUNNING, k)
      out[#out + 1] = 1
    end
  end
  retally(k, before)
end
return finish(out)
