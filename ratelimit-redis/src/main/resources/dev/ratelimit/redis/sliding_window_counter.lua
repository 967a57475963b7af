-- SLIDING_WINDOW_COUNTER: core's SlidingWindowCounter in microseconds. State: the time of the
-- last take-or-deny request (core's idle expiry counts from it), then per limit the window start,
-- the previous and the current count. Windows keep their phase while the key is used within
-- twice the longest period, as in core; after that the key starts afresh, anchored at now.
-- Products previous*period stay exact because the Java side checks C*P < 2^52.
-- ARGV 6..: C, P (µs) per limit, then the idle time (µs).
local limits = columns(2)
local C, P = limits[1], limits[2]
local idle = tonumber(ARGV[6 + 2 * n])
local key = KEYS[1]
local v = loadOrFresh(key, { now }, { now, 0, 0 })
if now - v[1] >= idle then v = fresh({ now }, { now, 0, 0 }) end

local function elapsed(i)
  return math.max(now - v[3 * i - 1], 0)
end

local function roll(i)
  local e = now - v[3 * i - 1]
  if e >= P[i] then
    local windows = divmod(e, P[i])
    if windows == 1 then v[3 * i] = v[3 * i + 1] else v[3 * i] = 0 end
    v[3 * i + 1] = 0
    v[3 * i - 1] = v[3 * i - 1] + windows * P[i]
  end
end

-- µs until limit i admits `permits`; see core's SlidingWindowCounter.waitNanos.
local function waitFor(i, permits)
  local p, previous, current, e = P[i], v[3 * i], v[3 * i + 1], elapsed(i)
  local budget = C[i] - current - permits
  if budget >= 0 then
    if previous == 0 then return 0 end
    return math.max(e, p - divmod(budget * p, previous)) - e
  end
  return (p - e) + math.max(0, p - divmod((C[i] - permits) * p, current))
end

local ok, retry = true, 0
for i = 1, n do
  roll(i)
  local w = waitFor(i, k)
  if w > 0 then
    ok = false
    retry = math.max(retry, w)
  end
end
if op ~= 'p' then
  if ok then
    for i = 1, n do v[3 * i + 1] = v[3 * i + 1] + k end
  end
  v[1] = now
  store(key, v, idle)
end
return reply(ok, retry, C,
  function(i)
    local e = elapsed(i)
    local weighted = ceildiv(v[3 * i] * (P[i] - e), P[i])
    return math.max(C[i] - v[3 * i + 1] - weighted, 0)
  end,
  function(i)
    local e = elapsed(i)
    if v[3 * i + 1] > 0 then return 2 * P[i] - e end
    if v[3 * i] > 0 then return P[i] - e end
    return 0
  end,
  function(i) return waitFor(i, 1) end, 0)
