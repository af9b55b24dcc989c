-- The start of every ledger script (storage/scripts.py): the dataset's keys, and the
-- per-group counters that `producer status` reads instead of every shard.
--
-- A script takes `facts(k)` of each shard before it changes it and calls `retally(k, before)`
-- after: the counters move from the state the shard was in to the state it is in now
-- (storage/states.py). A change that leaves the state alone (a re-sent message, a heal
-- pass that finds the shard done) moves nothing, so each planned shard is counted in
-- exactly one state whatever is sent twice. `finish(result)` writes the moves and returns.
local PLANNED, DONE, PARTIAL, QUEUED, RUNNING, FAILED, FILES, INCOMPLETE, TALLY, HELD,
  SOURCES, LOCKLESS, HEALED, PRESENCE, LOCK, SENT, SENDERS, FINISHED = unpack(KEYS)

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function is_member(set, k) return redis.call('SISMEMBER', set, k) == 1 end
local function has(hash, k) return redis.call('HEXISTS', hash, k) == 1 end

-- Queued: the hash says since when; a sorted set per exchange lets a heal pass read only
-- the shards sent longer ago than a bound.
local senders = {}
local function set_queued(k, ms)
  local exchange = string.match(k, '^[^:]*')
  redis.call('HSET', QUEUED, k, ms)
  redis.call('ZADD', SENT .. exchange, ms, k)
  if not senders[exchange] then
    redis.call('SADD', SENDERS, exchange)
    senders[exchange] = true
  end
end

local function clear_queued(k)
  redis.call('HDEL', QUEUED, k)
  redis.call('ZREM', SENT .. string.match(k, '^[^:]*'), k)
end

-- The one state a planned shard is counted in; nil for a key nobody planned.
local function state_of(k)
  if not is_member(PLANNED, k) then return nil end
  if is_member(DONE, k) then return 'done' end
  if is_member(RUNNING, k) then return 'running' end
  if has(QUEUED, k) then return 'queued' end
  if has(FAILED, k) then return 'failed' end
  if is_member(PARTIAL, k) then return 'partial' end
  return 'missing'
end

local function facts(k)
  local state = state_of(k)
  if not state then return nil end
  local f = {state = state, incomplete = 0, rows = 0, bytes = 0}
  if (state == 'done' or state == 'partial') and has(INCOMPLETE, k) then f.incomplete = 1 end
  local info = redis.call('HGET', FILES, k)
  if info then
    local t = cjson.decode(info)
    f.rows, f.bytes = tonumber(t.rows) or 0, tonumber(t.bytes) or 0
  end
  return f
end

local moves, spans, finished, quiet = {}, {}, 0, false

local function move(field, by)
  if by ~= 0 then moves[field] = (moves[field] or 0) + by end
end

local function count(group, f, sign)
  move(group .. '|planned', sign)
  move(group .. '|' .. f.state, sign)
  move(group .. '|incomplete', sign * f.incomplete)
  move(group .. '|rows', sign * f.rows)
  move(group .. '|bytes', sign * f.bytes)
end

local function same(a, b)
  if a == nil or b == nil then return a == b end
  return a.state == b.state and a.incomplete == b.incomplete and a.rows == b.rows
    and a.bytes == b.bytes
end

local FINISHED_STATES = {done = true, partial = true, failed = true}

local function retally(k, before)
  local after = facts(k)
  if same(before, after) then return end
  local group, period = string.match(k, '^(.*):([^:]*)$')
  if before then count(group, before, -1) end
  if after then
    count(group, after, 1)
    if not before then
      local span = spans[group]
      if not span then
        span = {period, period}
        spans[group] = span
      end
      if period < span[1] then span[1] = period end
      if period > span[2] then span[2] = period end
    end
    if FINISHED_STATES[after.state] and not (before and before.state == after.state) then
      finished = finished + 1
    end
  end
end

-- Nothing planned yet: the (empty) counters are complete from here on.
local function start_counting()
  if redis.call('EXISTS', PLANNED) == 0 then redis.call('HSET', TALLY, '~counted', 1) end
end

local function finish(result)
  for field, by in pairs(moves) do
    if by ~= 0 then redis.call('HINCRBY', TALLY, field, by) end
  end
  for group, span in pairs(spans) do
    local first = redis.call('HGET', TALLY, group .. '|first')
    if not first or span[1] < first then redis.call('HSET', TALLY, group .. '|first', span[1]) end
    local last = redis.call('HGET', TALLY, group .. '|last')
    if not last or span[2] > last then redis.call('HSET', TALLY, group .. '|last', span[2]) end
  end
  if finished > 0 and not quiet then redis.call('PUBLISH', FINISHED, finished) end
  return result
end

local function clear_progress(k)
  clear_queued(k)
  redis.call('HDEL', HELD, k)
  redis.call('HDEL', SOURCES, k)
  redis.call('HDEL', LOCKLESS, k)
  redis.call('SREM', RUNNING, k)
end
