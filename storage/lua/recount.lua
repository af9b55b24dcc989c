-- Count every planned shard afresh, and index every queued one by when it was sent: for a
-- ledger written before the counters existed, and as `producer reconcile`'s last step.
-- O(shards) in one step: a rare repair, never on a hot path.
quiet = true
redis.call('DEL', TALLY)
for _, exchange in ipairs(redis.call('SMEMBERS', SENDERS)) do
  redis.call('DEL', SENT .. exchange)
end
redis.call('DEL', SENDERS)
local queued = redis.call('HGETALL', QUEUED)
for i = 1, #queued, 2 do set_queued(queued[i], tonumber(queued[i + 1])) end
local planned = redis.call('SMEMBERS', PLANNED)
for _, k in ipairs(planned) do retally(k, nil) end
redis.call('HSET', TALLY, '~counted', 1)
return finish(#planned)
