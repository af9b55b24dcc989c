-- Make every worker stay away from an endpoint group for at least `ms` (never shortens one).
-- KEYS[1]  cooldown key            ARGV[1]  cooldown length in ms
-- Returns  the cooldown now in force, in ms.
local ms = tonumber(ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if left < ms then
  redis.call('SET', KEYS[1], '1', 'PX', ms)
  return ms
end
return left
