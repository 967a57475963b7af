-- SLIDING_WINDOW_COUNTER: core's SlidingWindowCounter in microseconds. State per limit: the window
-- start, the previous and the current count. A window rolls forward by whole periods while a
-- count remembers its grid; once both counts are zero it re-anchors at now, exactly as a fresh
-- key would, so an expired key and a present idle one decide alike. Rolling is otherwise a pure
-- function of time, so only admissions write. A denial never does, not even when it re-anchored a
-- limit (several limits: one with no counts rolls while another denies): stored, that anchor would
-- move the window's grid to an instant no admitted request chose, as core's denial no longer does.
-- A peek writes nothing. Core's peek may re-anchor an idle limit, which changes no later decision,
-- since a re-anchored limit and an idle one decide alike (above).
-- Products previous*period stay exact because the Java side checks C*P < 2^52.
-- ARGV 6..: C, P (µs) per limit.
local limits = columns(2)
local C, P = limits[1], limits[2]
local key = KEYS[1]
local v = loadOrFresh(key, {}, { now, 0, 0 })

local function elapsed(i)
  return math.max(now - v[3 * i - 2], 0)
end

-- µs from the window's start to the reading, negative behind it (Redis's TIME after a failover to
-- a node whose clock is behind, or a stale test reading). Such a reading is decided as at the
-- start (elapsed() is 0), but its waits count from the reading itself, as core's do.
local function since(i)
  return now - v[3 * i - 2]
end

local function roll(i)
  local e = now - v[3 * i - 2]
  if e >= P[i] then
    local windows = divmod(e, P[i])
    if windows == 1 then v[3 * i - 1] = v[3 * i] else v[3 * i - 1] = 0 end
    v[3 * i] = 0
    if v[3 * i - 1] == 0 then
      v[3 * i - 2] = now
    else
      v[3 * i - 2] = v[3 * i - 2] + windows * P[i]
    end
  end
end

-- µs until limit i admits `permits`; see core's SlidingWindowCounter.waitNanos.
local function waitFor(i, permits)
  local p, previous, current, e = P[i], v[3 * i - 1], v[3 * i], elapsed(i)
  local budget = C[i] - current - permits
  if budget >= 0 then
    if previous == 0 then return 0 end
    local admitAt = math.max(e, p - divmod(budget * p, previous))
    if admitAt == e then return 0 end
    return admitAt - since(i)
  end
  return (p - since(i)) + math.max(0, p - divmod((C[i] - permits) * p, current))
end

-- µs until limit i is as a fresh key: its counts have rolled out.
local function resetOf(i)
  if v[3 * i] > 0 then return 2 * P[i] - since(i) end
  if v[3 * i - 1] > 0 then return P[i] - since(i) end
  return 0
end

-- µs until a request would re-anchor limit i: when its counts have rolled out, or, with none,
-- when its window ends. Until then the state equals a fresh key's only if it is absent. Counted
-- from the reading, so that after a step back the key lives until then, not that much less.
local function nextAnchor(i)
  if v[3 * i] > 0 or v[3 * i - 1] > 0 then return resetOf(i) end
  return P[i] - since(i)
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
if op ~= 'p' and ok then
  local ttl = 0
  for i = 1, n do
    if ok then v[3 * i] = v[3 * i] + k end
    ttl = math.max(ttl, nextAnchor(i))
  end
  store(key, v, ttl)
end
return reply(ok, retry, C,
  function(i)
    local e = elapsed(i)
    local weighted = ceildiv(v[3 * i - 1] * (P[i] - e), P[i])
    return math.max(C[i] - v[3 * i] - weighted, 0)
  end,
  resetOf,
  -- A denial cached locally must not outlive a point where a limit would re-anchor: past it the
  -- figures Redis would give no longer follow from the cached ones by the passing of time.
  function(i)
    local stable = waitFor(i, 1)
    for j = 1, n do stable = math.min(stable, nextAnchor(j)) end
    return stable
  end, 0)
