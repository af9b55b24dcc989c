-- ARGV: shard keys whose messages could not be sent: their claims are undone.
for i = 1, #ARGV do
  local before = facts(ARGV[i])
  clear_queued(ARGV[i])
  retally(ARGV[i], before)
end
return finish(#ARGV)
