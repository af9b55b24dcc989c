-- ARGV: shard keys taken out of done and partial (their files stay until rewritten).
for i = 1, #ARGV do
  local before = facts(ARGV[i])
  redis.call('SREM', DONE, ARGV[i])
  redis.call('SREM', PARTIAL, ARGV[i])
  retally(ARGV[i], before)
end
return finish(#ARGV)
