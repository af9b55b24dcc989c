-- The exchange says this IP spent `reported` weight in its window: if that is more than the
-- window holds (other software on the same IP), spend the difference now, so every worker
-- waits for it. Never lowers the count: weight in flight is not in the exchange's figure yet.
-- KEYS[1]  hash: time bucket index -> weight spent in that bucket (as in acquire.lua)
-- ARGV[1]  weight the exchange reports used     ARGV[2]  ms of spends to count it against
-- ARGV[3]  bucket length in ms                  ARGV[4]  ms the hash lives after a spend
-- Returns  the weight added (0 when the window already holds at least the reported weight).
local reported, window_ms = tonumber(ARGV[1]), tonumber(ARGV[2])
local bucket_ms, ttl_ms = tonumber(ARGV[3]), tonumber(ARGV[4])
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local current = math.floor(now_ms / bucket_ms)
local oldest = current - math.ceil(window_ms / bucket_ms)
local flat = redis.call('HGETALL', KEYS[1])
local used = 0
for i = 1, #flat, 2 do
  if tonumber(flat[i]) >= oldest then used = used + tonumber(flat[i + 1]) end
end
if reported <= used then return 0 end
redis.call('HINCRBY', KEYS[1], current, reported - used)
redis.call('PEXPIRE', KEYS[1], ttl_ms)
return reported - used
