-- TOKEN_BUCKET and LEAKY_BUCKET: core's Gcra in microseconds (see its class comment).
-- Limit i: capacity C, and the rate reduced by gcd to R permits per P µs. The state of a limit is
-- tat, the time the bucket is full again, kept as T + f/R µs with T whole and 0 <= f < R, so no
-- stored value exceeds a timestamp. The deficit d = tat*R - now*R is only formed when it is
-- below 2^52; larger deficits (a clock that went backwards) are handled in the time domain.
-- ARGV 6..: C, R, P per limit, then '1' for the leaky bucket (a shaper), '0' for the token bucket.
local limits = columns(3)
local C, R, P = limits[1], limits[2], limits[3]
local shaper = ARGV[6 + 3 * n] == '1'
local key = KEYS[1]
local v = loadOrFresh(key, {}, { now, 0 })
local HUGE = 4503599627370496 -- 2^52, more than any span C*P

local function deficit(i)
  local D = v[2 * i - 1] - now
  if D < 0 then return 0 end
  local d = D * R[i] + v[2 * i]
  if d > HUGE then return HUGE + 1 end
  return d
end

local function room(i, permits)
  return (C[i] - permits) * P[i]
end

local function available(i)
  local d = deficit(i)
  if d >= C[i] * P[i] then return 0 end
  return C[i] - ceildiv(d, P[i])
end

-- µs until the bucket is full: ceil(d/R) = D + ceil(f/R).
local function drain(i)
  local D = v[2 * i - 1] - now
  if D < 0 then return 0 end
  if v[2 * i] > 0 then return D + 1 end
  return D
end

-- µs until limit i holds `permits`: ceil((d - room)/R) = D + ceil((f - room)/R), at least 0.
local function shortfall(i, permits)
  local D = v[2 * i - 1] - now
  if D < 0 then return 0 end
  return math.max(0, D + ceildiv(v[2 * i] - room(i, permits), R[i]))
end

-- A product above 2^53 rounds to a double above 2^53, so the comparison stays right.
local function fits(i, wait)
  return math.max(deficit(i), wait * R[i]) <= room(i, k)
end

-- tat := max(tat, start) + k*P, carried into the whole part.
local function take(i, start)
  local T, f = v[2 * i - 1], v[2 * i]
  if T < start then T, f = start, 0 end
  local q, r = divmod(f + k * P[i], R[i])
  v[2 * i - 1], v[2 * i] = T + q, r
end

local wait = 0
if shaper then
  for i = 1, n do wait = math.max(wait, drain(i)) end
end
local ok = wait <= ((op == 'r') and maxWait or 0)
local retry = shaper and wait or 0
-- One rule for one limit or several, as in core: check and start at the reserved time now + wait.
for i = 1, n do
  if not fits(i, ok and wait or 0) then
    ok = false
    if not shaper then retry = math.max(retry, shortfall(i, k)) end
  end
end
if ok and op ~= 'p' then
  local ttl = 0
  for i = 1, n do
    take(i, now + wait)
    ttl = math.max(ttl, drain(i))
  end
  store(key, v, ttl)
end
local retryOne = nil
if not shaper then retryOne = function(i) return shortfall(i, 1) end end
return reply(ok, retry, C, available, drain, retryOne, wait)
