  -- End of a key in the flat scripts: holds the state the body left in first and second for the
  -- next request if it is of the same key, and stores it when the run of this key ends.
  if write then dirty, dirtyTtl, dirtyTest = true, ttl, testTime end
  if write or known then heldFirst, heldSecond = first, second else heldFirst = nil end
  heldKey = key
  -- Stored once the run of this key ends (see one.lua): the next key is another, or none.
  if dirty and KEYS[i + 1] ~= key then
    dirty = false
    -- millis(ttl): whole ms rounded up so that a key never expires before it is full again, at
    -- least 1; under a test ticker at least ten minutes, as common.lua explains.
    local ms = floor(dirtyTtl / 1000)
    local rest = dirtyTtl - ms * 1000
    if rest < 0 then ms, rest = ms - 1, rest + 1000 elseif rest >= 1000 then ms, rest = ms + 1, rest - 1000 end
    if rest > 0 then ms = ms + 1 end
    if ms < 1 then ms = 1 end
    if dirtyTest and ms < 600000 then ms = 600000 end
    -- All digits, as encode()'s '%.0f' writes them (tostring would print 14 significant digits
    -- only); '%d' formats through a C long, exact for these integers, and costs less.
    redis.call('SET', key, string.format('1|%d|%d', heldFirst, heldSecond), 'PX', ms)
  end
end
return out
