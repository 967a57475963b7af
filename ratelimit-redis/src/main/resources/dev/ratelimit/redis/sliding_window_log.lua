-- SLIDING_WINDOW_LOG: core's SlidingWindowLog in microseconds. KEYS[1] holds the permits in
-- each limit's log; KEYS[1 + i] is limit i's log, a list of 'time:permits' entries, oldest
-- first, one per distinct admission time. Every key shares the client's hash tag (one slot).
-- ARGV 6..: C, P (µs) per limit.
local limits = columns(2)
local C, P = limits[1], limits[2]
local key = KEYS[1]
local used = load(key, n)
local dirty = false
if not used then
  -- logs without their counts (another format, or lost): start afresh
  used = fresh({}, { 0 })
  for i = 1, n do redis.call('DEL', KEYS[1 + i]) end
end

local function parse(entry)
  local t, p = string.match(entry, '^(%-?%d+):(%d+)$')
  return tonumber(t), tonumber(p)
end

local function entry(index, i)
  local e = redis.call('LINDEX', KEYS[1 + i], index)
  if not e then return nil end
  return parse(e)
end

-- Drops the entries that have left the window (now - period, now].
local function expire(i)
  while true do
    local t, p = entry(0, i)
    if not t or now - t < P[i] then return end
    redis.call('LPOP', KEYS[1 + i])
    used[i] = used[i] - p
    dirty = true
  end
end

-- µs until the oldest entries holding at least `excess` permits have left.
local function timeToFree(i, excess)
  local freed, index = 0, 0
  while true do
    local chunk = redis.call('LRANGE', KEYS[1 + i], index, index + 63)
    for _, e in ipairs(chunk) do
      local t, p = parse(e)
      freed = freed + p
      if freed >= excess then return t + P[i] - now end
    end
    if #chunk < 64 then
      error('log of ' .. KEYS[1 + i] .. ' holds fewer than ' .. excess .. ' permits')
    end
    index = index + 64
  end
end

local function append(i)
  local t, p = entry(-1, i)
  if t == now then
    redis.call('LSET', KEYS[1 + i], -1, string.format('%.0f:%.0f', now, p + k))
  else
    redis.call('RPUSH', KEYS[1 + i], string.format('%.0f:%.0f', now, k))
  end
  used[i] = used[i] + k
end

local function resetOf(i)
  local t = entry(-1, i)
  if not t then return 0 end
  return t + P[i] - now
end

local ok, retry = true, 0
for i = 1, n do
  -- Dropping what has left the window changes no figure, so a peek does it too, like core's.
  expire(i)
  local excess = used[i] + k - C[i]
  if excess > 0 then
    ok = false
    retry = math.max(retry, timeToFree(i, excess))
  end
end
if ok and op ~= 'p' then
  local ttl = 0
  for i = 1, n do
    append(i)
    ttl = math.max(ttl, resetOf(i))
  end
  for i = 1, n do redis.call('PEXPIRE', KEYS[1 + i], millis(ttl)) end
  store(key, used, ttl)
elseif dirty then
  redis.call('SET', key, encode(used), 'KEEPTTL')
end
return reply(ok, retry, C,
  function(i) return C[i] - used[i] end,
  resetOf,
  function(i) return timeToFree(i, used[i] + 1 - C[i]) end, 0)
