-- ARGV: token, ttl_ms, shard key -> 1 taken, 0 busy
-- A shard still marked running keeps its fetcher even if its lock lapsed (Redis was out of
-- reach longer than the TTL): that worker takes it back; only the healer frees the shard.
local k = ARGV[3]
if redis.call('EXISTS', LOCK .. k) == 1 or is_member(RUNNING, k) then return 0 end
local before = facts(k)
redis.call('SET', LOCK .. k, ARGV[1], 'PX', ARGV[2])
redis.call('SADD', RUNNING, k)
retally(k, before)
return finish(1)
