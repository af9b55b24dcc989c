-- ARGV: shard key, complete (1|0), file info (JSON), why incomplete ('' if whole)
-- A committed file: done if its period had ended, else partial; nothing of it queued or held.
local k, complete, info, why = ARGV[1], ARGV[2] == '1', ARGV[3], ARGV[4]
local before = facts(k)
redis.call('SADD', complete and DONE or PARTIAL, k)
redis.call('SREM', complete and PARTIAL or DONE, k)
redis.call('HSET', FILES, k, info)
if why ~= '' then redis.call('HSET', INCOMPLETE, k, why) else redis.call('HDEL', INCOMPLETE, k) end
redis.call('HDEL', FAILED, k)
clear_progress(k)
retally(k, before)
return finish(1)
