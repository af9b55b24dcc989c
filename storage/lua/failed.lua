-- ARGV: shard key, reason. Failed with its reason; nothing of it queued or held.
local before = facts(ARGV[1])
redis.call('HSET', FAILED, ARGV[1], ARGV[2])
clear_progress(ARGV[1])
retally(ARGV[1], before)
return finish(1)
