-- FIXED_WINDOW with one limit: fixed_window.lua for n = 1, flat (see one.lua). The state is the
-- window's end and its count; a window opens with the first admission after the previous ended.
-- ARGV 1, 2: C, P (µs).
local C, P = tonumber(ARGV[1]), tonumber(ARGV[2])
local base = 3
--@each key
local ends, count = first, second
local ended = now - ends >= 0
if ended then count = 0 end

local ok = C - count >= k
if ok and op ~= 'p' then
  if ended then
    ends, count = now + P, k
  else
    count = count + k
  end
  first, second, write, ttl = ends, count, true, ends - now
end

local untilEnd = ends - now
local reset = 0
if count > 0 then reset = untilEnd end
if ok then
  out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5], out[o + 6], out[o + 7] = 1, C - count, C, 0, reset, 0, 0
else
  -- Denied, so the window is open and holds too many for k: its end is the wait, and how long a
  -- denial of one permit holds.
  local stable = 0
  if op == 'a' and permits == 1 then stable = untilEnd end
  out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5], out[o + 6], out[o + 7] = 0, C - count, C, untilEnd, reset, stable, 0
end
