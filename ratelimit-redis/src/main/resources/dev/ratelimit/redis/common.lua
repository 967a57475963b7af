-- Shared part of the general scripts, after head.lua and before the algorithm's body.
--
-- Lua numbers are doubles, exact for integers up to 2^53. Every integer here stays below 2^52 in
-- magnitude (the Java side refuses limits that could break this when it builds a limiter), so
-- products and divisions below are exact; divmod corrects the one-off error of a rounded quotient.
local maxWait = tonumber(ARGV[4])
local n = tonumber(ARGV[5])
local VERSION = '1'

local function divmod(a, b)
  local q = math.floor(a / b)
  local r = a - q * b
  if r < 0 then
    q, r = q - 1, r + b
  elseif r >= b then
    q, r = q + 1, r - b
  end
  return q, r
end

local function ceildiv(a, b)
  local q, r = divmod(a, b)
  if r > 0 then q = q + 1 end
  return q
end

-- Whole milliseconds for PX, rounded up so that a key never expires before it is full again.
-- Under a test ticker, Redis's expiry clock is not the decisions' clock: keep keys ten minutes
-- at least (every script judges staleness from its stored times, so expiry is only clean-up).
local function millis(us)
  local ms = math.max(1, ceildiv(us, 1000))
  if testTime then ms = math.max(ms, 600000) end
  return ms
end

-- '%.0f' keeps all digits; tostring would print 14 significant digits only.
local function encode(values)
  local parts = { VERSION }
  for i = 1, #values do parts[i + 1] = string.format('%.0f', values[i]) end
  return table.concat(parts, '|')
end

-- The numbers stored at key, or nil when the key is absent or holds another format or width, or
-- another type (pcall: GET's WRONGTYPE would fail the call, and so every client's decisions).
local function load(key, width)
  local s = redis.pcall('GET', key)
  if type(s) ~= 'string' then return nil end
  local fields = {}
  for field in string.gmatch(s, '[^|]+') do fields[#fields + 1] = field end
  if fields[1] ~= VERSION or #fields ~= width + 1 then return nil end
  local values = {}
  for i = 2, #fields do values[i - 1] = tonumber(fields[i]) end
  return values
end

-- A fresh state: the values of `head`, then those of `perLimit` once per limit.
local function fresh(head, perLimit)
  local v = {}
  for _, x in ipairs(head) do v[#v + 1] = x end
  for _ = 1, n do
    for _, x in ipairs(perLimit) do v[#v + 1] = x end
  end
  return v
end

local function loadOrFresh(key, head, perLimit)
  return load(key, #head + n * #perLimit) or fresh(head, perLimit)
end

-- The limits' arguments from ARGV[6] on, `width` numbers per limit, as one array per column.
local function columns(width)
  local cols = {}
  for c = 1, width do cols[c] = {} end
  for i = 1, n do
    for c = 1, width do cols[c][i] = tonumber(ARGV[5 + (i - 1) * width + c]) end
  end
  return cols
end

local function store(key, values, ttlUs)
  redis.call('SET', key, encode(values), 'PX', millis(ttlUs))
end

-- The reply, with the figures of the limit that binds (the first with the fewest permits left).
-- available(i) and resetOf(i) read the state after any take; retryOne(i) is limit i's own wait
-- for one permit, asked only of a denied single permit, where it bounds how long the figures hold.
local function reply(ok, retry, capacity, available, resetOf, retryOne, wait)
  local remaining, binding, reset = nil, 1, 0
  for i = 1, n do
    local a = available(i)
    if remaining == nil or a < remaining then remaining, binding = a, i end
    reset = math.max(reset, resetOf(i))
  end
  local stable = 0
  if not ok and op == 'a' and permits == 1 and retryOne then stable = retryOne(binding) end
  if ok then retry = 0 else wait = 0 end
  return { ok and 1 or 0, remaining, capacity[binding], retry, reset, stable, wait }
end
