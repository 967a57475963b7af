-- TOKEN_BUCKET and LEAKY_BUCKET with one limit: gcra.lua for n = 1, flat (see one.lua). The state
-- is tat = T + f/R, with T whole and 0 <= f < R; see gcra.lua for the rule.
-- ARGV 1..4: C, R, P, then '1' for the leaky bucket (a shaper), '0' for the token bucket.
local C, R, P = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local shaper = ARGV[4] == '1'
local base = 5
--@each key
local T, f = first, second

-- D: µs until full, whole part; d: the deficit D*R + f, formed only while D >= 0 and capped
-- above 2^52; drain: µs until full, ceil(d/R) = D + ceil(f/R).
local D = T - now
local d, drain = 0, 0
if D >= 0 then
  d = D * R + f
  if d > 4503599627370496 then d = 4503599627370497 end
  drain = D
  if f > 0 then drain = D + 1 end
end

local wait, retry = 0, 0
if shaper then wait, retry = drain, drain end
local ok
if op == 'r' then ok = wait <= maxWait else ok = wait <= 0 end
-- fits(): max(deficit, wait*R) <= room for k, at the reserved time now + wait.
local need = d
if ok and wait * R > need then need = wait * R end
local room = (C - k) * P
if need > room then
  ok = false
  if not shaper and D >= 0 then
    -- shortfall(k) = max(0, D + ceil((f - room)/R))
    local x = f - room
    local q = floor(x / R)
    local r = x - q * R
    if r < 0 then q, r = q - 1, r + R elseif r >= R then q, r = q + 1, r - R end
    if r > 0 then q = q + 1 end
    retry = D + q
    if retry < 0 then retry = 0 end
  end
end

if ok and op ~= 'p' then
  -- take(): tat := max(tat, now + wait) + k*P, carried into the whole part.
  local start = now + wait
  if T < start then T, f = start, 0 end
  local x = f + k * P
  local q = floor(x / R)
  local r = x - q * R
  if r < 0 then q, r = q - 1, r + R elseif r >= R then q, r = q + 1, r - R end
  T, f = T + q, r
  -- D, d and drain again, of the state as written, for the figures: repeated rather than a
  -- function, which would be created on every call.
  D = T - now
  d, drain = 0, 0
  if D >= 0 then
    d = D * R + f
    if d > 4503599627370496 then d = 4503599627370497 end
    drain = D
    if f > 0 then drain = D + 1 end
  end
  first, second, write, ttl = T, f, true, drain
end

-- available(): C - ceil(d/P), or 0 once the deficit reaches C*P.
local remaining = 0
if d < C * P then
  local q = floor(d / P)
  local r = d - q * P
  if r < 0 then q, r = q - 1, r + P elseif r >= P then q, r = q + 1, r - P end
  if r > 0 then q = q + 1 end
  remaining = C - q
end

if ok then
  out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5], out[o + 6], out[o + 7] = 1, remaining, C, 0, drain, 0, wait
else
  -- A denied single permit of the token bucket holds until one permit fits: shortfall(1), which
  -- is retry, since k = 1 then.
  local stable = 0
  if op == 'a' and permits == 1 and not shaper then stable = retry end
  out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5], out[o + 6], out[o + 7] = 0, remaining, C, retry, drain, stable, 0
end
