-- Start of the flat single-limit scripts. A flat script is: this file, the part of the algorithm's
-- file above its line '--@each key', one_key.lua, the rest of the algorithm's file, one_tail.lua.
--
-- Redis runs a script's whole chunk on every EVALSHA, so each local function, table, gmatch and
-- string.format of the general scripts (common.lua) is made again per call, and for one limit
-- that was most of Redis's CPU per decision. The flat scripts make no function and no table but
-- the reply, and inline common.lua's divmod wherever it is needed. They read and write the
-- general scripts' state, so either continues the other's keys: one limit's state is
-- '1|first|second', as common.lua's encode() writes it.
--
-- One call decides for one key or several (RedisRateLimiter sends the requests that wait for
-- Redis together), in the order of KEYS, each exactly as if it had been a call of its own: the
-- keys' requests are independent, and the same key twice is decided twice, the second time on
-- the state the first wrote. Redis's TIME is read once per call, so the requests of one call
-- share one instant. A run of one key (a hot client's requests, sent together) reads its state
-- once and stores it once, after the run's last request: a GET and a SET PX cost Redis more than
-- the decision between them, so a hot key's call did most of its work on state it then overwrote.
--
-- ARGV: first the limit's figures (the algorithm's file says which), then four per key: now (µs,
-- a test ticker's reading) or '' for Redis's TIME, op ('a' take, 'p' peek, 'r' reserve a
-- leaky-bucket slot), permits, max wait (µs, 'r' only).
-- Reply: seven numbers per key, as head.lua describes for the general scripts.
--
-- Exact integers as in common.lua: every value stays below 2^52 in magnitude, so a quotient x/y
-- floored is off by at most one, and its remainder corrects it.
local floor = math.floor
local redisNow = nil
local out = {}
-- The previous key, and its state as the next request of that key must read it: heldFirst nil
-- when the state reads as a fresh key's (absent, or not ours). dirty: that state is not yet
-- stored, and dirtyTtl, dirtyTest are the ttl and testTime of the request that last wrote it.
local heldKey, heldFirst, heldSecond = nil, nil, 0
local dirty, dirtyTtl, dirtyTest = false, 0, false
