-- ARGV: shard key -> 1 queued again, 0 done meanwhile
-- The shard's message is (about to be) back on the broker: queued as of now, run and held by
-- nobody. A done shard stays done.
local k = ARGV[1]
local before = facts(k)
redis.call('SREM', RUNNING, k)
redis.call('HDEL', HELD, k)
local queued = 0
if is_member(DONE, k) then
  clear_queued(k)
else
  set_queued(k, now_ms())
  queued = 1
end
retally(k, before)
return finish(queued)
