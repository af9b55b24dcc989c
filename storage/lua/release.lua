-- ARGV: token, shard key -> 1 released, 0 not ours
local k = ARGV[2]
if redis.call('GET', LOCK .. k) ~= ARGV[1] then return 0 end
local before = facts(k)
redis.call('SREM', RUNNING, k)
redis.call('DEL', LOCK .. k)
retally(k, before)
return finish(1)
