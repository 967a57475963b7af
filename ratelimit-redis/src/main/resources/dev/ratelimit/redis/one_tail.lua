  -- End of a key in the flat scripts: stores the state the body left in first and second.
  if write then
    -- millis(ttl): whole ms rounded up so that a key never expires before it is full again, at
    -- least 1; under a test ticker at least ten minutes, as common.lua explains.
    local ms = floor(ttl / 1000)
    local rest = ttl - ms * 1000
    if rest < 0 then ms, rest = ms - 1, rest + 1000 elseif rest >= 1000 then ms, rest = ms + 1, rest - 1000 end
    if rest > 0 then ms = ms + 1 end
    if ms < 1 then ms = 1 end
    if testTime and ms < 600000 then ms = 600000 end
    -- All digits, as encode()'s '%.0f' writes them (tostring would print 14 significant digits
    -- only); '%d' formats through a C long, exact for these integers, and costs less.
    redis.call('SET', key, string.format('1|%d|%d', first, second), 'PX', ms)
  end
end
return out
