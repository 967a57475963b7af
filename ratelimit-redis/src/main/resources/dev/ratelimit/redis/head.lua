-- Head of the general scripts: one key's decision starts here, before common.lua and the
-- algorithm's body, all inside each.lua's decide(), which runs them once per key of the call.
--
-- Times are microseconds: absolute Redis TIME (about 1.7e15 today, below 2^52 until 2112), or the
-- test ticker's reading when ARGV[1] is not empty.
-- ARGV (decide()'s: one key's): 1 now (µs) or '', 2 op ('a' take, 'p' peek, 'r' reserve a
--       leaky-bucket slot), 3 permits, 4 max wait (µs, 'r' only), 5 number of limits, 6.. the
--       limits, algorithm-specific.
-- Reply: {allowed, remaining, limit, retryUs, resetUs, stableUs, waitUs}; stableUs is how long a
-- denial of one permit keeps these exact figures (0 when not applicable), waitUs the reserved wait.
local now = tonumber(ARGV[1])
local testTime = now ~= nil
if not now then
  -- Read once per call (each.lua's redisNow), so the keys of one call share an instant, as in the
  -- flat scripts: TIME costs Redis about as much as a GET.
  if not redisNow then
    local t = redis.call('TIME')
    redisNow = tonumber(t[1]) * 1000000 + tonumber(t[2])
  end
  now = redisNow
end
local op = ARGV[2]
local permits = tonumber(ARGV[3])
local k = permits
if op == 'p' then k = 1 end
