-- FIXED_WINDOW with one limit: fixed_window.lua for n = 1, flat (see one.lua). The state is the
-- window's end and its count; a window opens with the first admission after the previous ended.
-- ARGV 6, 7: C, P (µs).
local C, P = tonumber(ARGV[6]), tonumber(ARGV[7])
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
  reply = { 1, C - count, C, 0, reset, 0, 0 }
else
  -- Denied, so the window is open and holds too many for k: its end is the wait, and how long a
  -- denial of one permit holds.
  local stable = 0
  if op == 'a' and permits == 1 then stable = untilEnd end
  reply = { 0, C - count, C, untilEnd, reset, stable, 0 }
end
