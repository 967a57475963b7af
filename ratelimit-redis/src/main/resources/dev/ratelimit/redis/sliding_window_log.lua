-- SLIDING_WINDOW_LOG: core's SlidingWindowLog in microseconds, in one list per client (KEYS[1]).
-- Every limit admits the same requests at the same times, so the limits share one log and differ
-- only in where their windows start. Element 0 is a header, then 'time:permits' entries, oldest
-- first, one per distinct admission time. Header: '2|len|last|lastPermits', then per limit
-- 'used|first|firstTime': the permits in its window, the index of its oldest entry still in the
-- window (len + 1 when none) and that entry's time, so that nothing is read when nothing left.
-- Entries older than every window are trimmed once 16 have gathered (the header's indices say
-- where each window starts, so stale entries change nothing but memory).
-- Per decision: TIME, one LRANGE (the header and the oldest entries together); when admitted,
-- RPUSH or LSET of the newest entry, LSET of the header and PEXPIRE; sometimes an LTRIM; further
-- LRANGEs only when many entries leave at once or a denial must count far into the log.
-- ARGV 6..: C, P (µs) per limit.
local limits = columns(2)
local C, P = limits[1], limits[2]
local key = KEYS[1]
local FORMAT = '2'
local CHUNK = 32
local TRIM_AT = 16

local raw = {}       -- entry index (1-based, = list index) -> 'time:permits', as read
local len, last, lastP = 0, 0, 0
local used, first, firstT = {}, {}, {}
local exists = false

local function parse(e)
  local t, p = string.match(e, '^(%-?%d+):(%d+)$')
  return tonumber(t), tonumber(p)
end

-- The header and the oldest entries in one round; anything unreadable (another format, the old
-- layout's string, a wrong shape) reads as a fresh client's log, and is dropped unless this is a
-- peek, which writes nothing over state it cannot read (the other scripts leave it too).
local head = redis.pcall('LRANGE', key, 0, CHUNK)
local fields = nil
if type(head) == 'table' and head.err == nil and head[1] then
  fields = {}
  for f in string.gmatch(head[1], '[^|]+') do fields[#fields + 1] = f end
  if fields[1] ~= FORMAT or #fields ~= 4 + 3 * n then fields = nil end
end
if fields then
  exists = true
  len, last, lastP = tonumber(fields[2]), tonumber(fields[3]), tonumber(fields[4])
  for i = 1, n do
    used[i], first[i], firstT[i] = tonumber(fields[2 + 3 * i]), tonumber(fields[3 + 3 * i]), tonumber(fields[4 + 3 * i])
  end
  for j = 2, #head do raw[j - 1] = head[j] end
else
  if op ~= 'p' and (type(head) ~= 'table' or head.err ~= nil or head[1]) then redis.call('DEL', key) end
  for i = 1, n do used[i], first[i], firstT[i] = 0, 1, 0 end
end

local function entry(index)
  if index > len then error('log ' .. key .. ' has no entry ' .. index) end
  if not raw[index] then
    local got = redis.call('LRANGE', key, index, index + CHUNK - 1)
    for j, e in ipairs(got) do raw[index + j - 1] = e end
  end
  return parse(raw[index])
end

local dirty = false

-- Moves limit i's window start past the entries that have left (now - period, now].
local function expire(i)
  while used[i] > 0 and now - firstT[i] >= P[i] do
    local _, p = entry(first[i])
    used[i] = used[i] - p
    first[i] = first[i] + 1
    if used[i] > 0 then firstT[i] = entry(first[i]) else firstT[i] = 0 end
    dirty = true
  end
end

-- µs until the oldest entries in limit i's window holding at least `excess` permits have left.
local function timeToFree(i, excess)
  local freed, index = 0, first[i]
  while true do
    local t, p = entry(index)
    freed = freed + p
    if freed >= excess then return t + P[i] - now end
    index = index + 1
  end
end

local function resetOf(i)
  if used[i] > 0 then return last + P[i] - now end
  return 0
end

local ok, retry = true, 0
for i = 1, n do
  -- A peek drops too, to read its figures, but writes nothing (below), as core's peek changes nothing.
  expire(i)
  local excess = used[i] + k - C[i]
  if excess > 0 then
    ok = false
    retry = math.max(retry, timeToFree(i, excess))
  end
end

local admitted = ok and op ~= 'p'
local merged = false
if admitted then
  -- At or behind the newest entry (Redis TIME stepped back, say, after a failover): counted with
  -- the newest, so the list stays in time order, which expire and timeToFree rely on; it stays in
  -- the window longer, never shorter.
  if len > 0 and now <= last then
    merged = true
    lastP = lastP + k
    -- a limit whose window had emptied counts the merged permits too: its window starts there
    for i = 1, n do
      if used[i] == 0 then first[i], firstT[i] = len, last end
    end
  else
    len, last, lastP = len + 1, now, k
    for i = 1, n do
      if used[i] == 0 then first[i], firstT[i] = len, now end
    end
  end
  for i = 1, n do used[i] = used[i] + k end
end

-- The figures first: the writes below renumber the entries.
local result = reply(ok, retry, C,
  function(i) return C[i] - used[i] end,
  resetOf,
  function(i) return timeToFree(i, used[i] + 1 - C[i]) end, 0)

if op == 'p' then return result end

local empty = true
for i = 1, n do if used[i] > 0 then empty = false end end
if empty then
  -- every entry has left: the state is a fresh key's
  if exists then redis.call('DEL', key) end
elseif admitted or dirty then
  local stale = len
  for i = 1, n do stale = math.min(stale, first[i] - 1) end
  local newest = string.format('%.0f:%.0f', last, lastP)
  if not exists then
    stale = 0
  elseif admitted then
    if merged then redis.call('LSET', key, -1, newest) else redis.call('RPUSH', key, newest) end
  end
  if stale < TRIM_AT then stale = 0 end
  local h = { FORMAT, string.format('%.0f', len - stale), string.format('%.0f', last), string.format('%.0f', lastP) }
  for i = 1, n do
    h[#h + 1] = string.format('%.0f', used[i])
    h[#h + 1] = string.format('%.0f', first[i] - stale)
    h[#h + 1] = string.format('%.0f', firstT[i])
  end
  local header = table.concat(h, '|')
  if not exists then
    redis.call('RPUSH', key, header, newest)
  else
    -- LTRIM keeps list indices stale..end; the header then overwrites entry `stale` at index 0
    if stale > 0 then redis.call('LTRIM', key, stale, -1) end
    redis.call('LSET', key, 0, header)
  end
  if admitted then
    local ttl = 0
    for i = 1, n do ttl = math.max(ttl, resetOf(i)) end
    redis.call('PEXPIRE', key, millis(ttl))
  end
end
return result
