-- ARGV: shard key. A delivery of a shard that is done already: nothing of it is queued or held.
local before = facts(ARGV[1])
clear_progress(ARGV[1])
retally(ARGV[1], before)
return finish(1)
