-- FIXED_WINDOW: core's FixedWindow in microseconds. State per limit: window end and count; a
-- window opens with the first request admitted after the previous one ended.
-- ARGV 6..: C, P (µs) per limit.
local limits = columns(2)
local C, P = limits[1], limits[2]
local key = KEYS[1]
local v = loadOrFresh(key, {}, { now, 0 })

local function ended(i)
  return now - v[2 * i - 1] >= 0
end

local function count(i)
  if ended(i) then return 0 end
  return v[2 * i]
end

local function untilEnd(i)
  return v[2 * i - 1] - now
end

local ok, retry = true, 0
for i = 1, n do
  if C[i] - count(i) < k then
    ok = false
    retry = math.max(retry, untilEnd(i))
  end
end
if ok and op ~= 'p' then
  local ttl = 0
  for i = 1, n do
    if ended(i) then
      v[2 * i - 1], v[2 * i] = now + P[i], k
    else
      v[2 * i] = v[2 * i] + k
    end
    ttl = math.max(ttl, untilEnd(i))
  end
  store(key, v, ttl)
end
return reply(ok, retry, C,
  function(i) return C[i] - count(i) end,
  function(i) if count(i) > 0 then return untilEnd(i) end return 0 end,
  untilEnd, 0)
