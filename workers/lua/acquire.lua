-- May this worker spend `weight` of the budget now? Else how many ms until it may ask again?
-- KEYS[1]  hash: time bucket index -> weight spent in that bucket (the rolling window)
-- KEYS[2]  cooldown key: exists while the exchange told us to stay away (PTTL = time left)
-- ARGV[1]  weight of this request        ARGV[2]  budget (weight per window)
-- ARGV[3]  window length in ms           ARGV[4]  bucket length in ms
-- Returns  0 when the weight was spent, else the ms to wait before asking again.
-- The window counts every bucket that overlaps the last `window` ms, so it never
-- undercounts: in no rolling window does the cluster spend more than the budget.
local weight, budget = tonumber(ARGV[1]), tonumber(ARGV[2])
local window_ms, bucket_ms = tonumber(ARGV[3]), tonumber(ARGV[4])
local cooldown = redis.call('PTTL', KEYS[2])
if cooldown > 0 then return cooldown end
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local current = math.floor(now_ms / bucket_ms)
local span = math.ceil(window_ms / bucket_ms)
local flat = redis.call('HGETALL', KEYS[1])
local used, live = 0, {}
for i = 1, #flat, 2 do
  local b, w = tonumber(flat[i]), tonumber(flat[i + 1])
  if b < current - span then
    redis.call('HDEL', KEYS[1], flat[i])
  else
    used = used + w
    live[#live + 1] = {b, w}
  end
end
if used + weight <= budget then
  redis.call('HINCRBY', KEYS[1], current, weight)
  redis.call('PEXPIRE', KEYS[1], window_ms + 2 * bucket_ms)
  return 0
end
table.sort(live, function(x, y) return x[1] < y[1] end)
for _, bw in ipairs(live) do
  used = used - bw[2]
  if used + weight <= budget then
    return math.max((bw[1] + span + 1) * bucket_ms - now_ms, 1)
  end
end
return bucket_ms
