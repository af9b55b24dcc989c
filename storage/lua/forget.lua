-- ARGV: shard keys whose file is gone: no longer stored.
for i = 1, #ARGV do
  local k = ARGV[i]
  local before = facts(k)
  redis.call('SREM', DONE, k)
  redis.call('SREM', PARTIAL, k)
  redis.call('HDEL', FILES, k)
  redis.call('HDEL', INCOMPLETE, k)
  retally(k, before)
end
return finish(#ARGV)
