-- Shared start of the flat single-limit scripts, after head.lua; the algorithm's body follows,
-- then one_tail.lua. Redis runs a script's whole chunk on every EVALSHA, so each local function,
-- table, gmatch and string.format of the general scripts (common.lua) is made again per decision,
-- and for one limit that was most of Redis's CPU per decision. The flat scripts make no function
-- and no table but the reply, and inline common.lua's divmod wherever it is needed. They read and
-- write the general scripts' state, so either continues the other's keys: one limit's state is
-- '1|first|second', as common.lua's encode() writes it.
--
-- Exact integers as in common.lua: every value stays below 2^52 in magnitude, so a quotient x/y
-- floored is off by at most one, and its remainder corrects it.
local floor = math.floor
local key = KEYS[1]

-- The state's two numbers; absent, another version or another width (several limits) reads as a
-- fresh key, {now, 0}, as load() reads it. string.find and string.sub cost less than a pattern
-- with captures; tonumber refuses what is not a number, so a third field spoils the second.
local first, second = now, 0
local s = redis.call('GET', key)
if s then
  local bar = string.find(s, '|', 3, true)
  if bar and string.sub(s, 1, 2) == '1|' then
    local x, y = tonumber(string.sub(s, 3, bar - 1)), tonumber(string.sub(s, bar + 1))
    if x and y then first, second = x, y end
  end
end

-- The body sets these: whether to store {first, second}, for how long (µs), and the reply.
local write, ttl, reply = false, 0, nil
