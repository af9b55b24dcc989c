-- ARGV: token, ttl_ms, shard key -> 1 KEPT, 2 RETAKEN or 0 LOST
-- Extend our lock; if it expired (Redis was out of reach longer than its TTL) take it again,
-- unless another worker took it or the shard got done meanwhile.
local k = ARGV[3]
local holder = redis.call('GET', LOCK .. k)
if holder == ARGV[1] then
  redis.call('PEXPIRE', LOCK .. k, ARGV[2])
  return 1
end
if holder or is_member(DONE, k) then return 0 end
local before = facts(k)
redis.call('SET', LOCK .. k, ARGV[1], 'PX', ARGV[2])
redis.call('SADD', RUNNING, k)
retally(k, before)
return finish(2)
