-- The flat scripts' loop over the keys (see one.lua); the algorithm's figures are read above it,
-- once per call, and `base` is the ARGV index of the first key's four arguments.
for i = 1, #KEYS do
  local key = KEYS[i]
  local a = base + 4 * (i - 1)
  local now = tonumber(ARGV[a])
  local testTime = now ~= nil
  if not now then
    if not redisNow then
      local t = redis.call('TIME')
      redisNow = tonumber(t[1]) * 1000000 + tonumber(t[2])
    end
    now = redisNow
  end
  local op, permits, maxWait = ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local k = permits
  if op == 'p' then k = 1 end
  -- This key's seven reply numbers go to out[o + 1] .. out[o + 7].
  local o = 7 * (i - 1)

  -- The state's two numbers; absent, another version or another width (several limits) reads as
  -- a fresh key, {now, 0}, as load() reads it. string.find and string.sub cost less than a
  -- pattern with captures; tonumber refuses what is not a number, so a third field spoils the second.
  -- known: the state was read as ours, rather than as a fresh key.
  local first, second, known = now, 0, false
  if key == heldKey then
    if heldFirst then first, second, known = heldFirst, heldSecond, true end
  else
    -- pcall: a key of another type reads as fresh too, as in load(), rather than failing the call.
    local s = redis.pcall('GET', key)
    if type(s) == 'string' then
      local bar = string.find(s, '|', 3, true)
      if bar and string.sub(s, 1, 2) == '1|' then
        local x, y = tonumber(string.sub(s, 3, bar - 1)), tonumber(string.sub(s, bar + 1))
        if x and y then first, second, known = x, y, true end
      end
    end
  end

  -- The body sets these: whether to store {first, second}, and for how long (µs).
  local write, ttl = false, 0
