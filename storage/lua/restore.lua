-- ARGV: (shard key, complete 1|0, file info JSON, why incomplete or '')... : files found in
-- the store, planned and recorded as they are (a rebuild after Redis lost the ledger).
start_counting()
for i = 1, #ARGV, 4 do
  local k, complete, why = ARGV[i], ARGV[i + 1] == '1', ARGV[i + 3]
  local before = facts(k)
  redis.call('SADD', complete and DONE or PARTIAL, k)
  redis.call('SREM', complete and PARTIAL or DONE, k)
  redis.call('HSET', FILES, k, ARGV[i + 2])
  redis.call('SADD', PLANNED, k)
  redis.call('HDEL', FAILED, k)
  if why ~= '' then redis.call('HSET', INCOMPLETE, k, why) else redis.call('HDEL', INCOMPLETE, k) end
  retally(k, before)
end
return finish(#ARGV / 4)
