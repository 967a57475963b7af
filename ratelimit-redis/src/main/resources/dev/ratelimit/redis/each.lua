-- Start of the general scripts: they decide for one key or several per call, as the flat ones do
-- (see one.lua), each key exactly as a call of its own would, in the order of KEYS, the same key
-- twice on the state the first wrote. decide() below holds head.lua, common.lua and the
-- algorithm's body, unchanged: they read their key as KEYS[1] and their request as ARGV, which are
-- decide()'s parameters here, not Redis's globals. So each key makes its own functions and tables,
-- as before; what the keys of one call share is the call itself (the EVALSHA, its arguments and
-- reply, the script's start and the round trip) and Redis's TIME, which head.lua reads once.
--
-- ARGV: four per key (now or '', op, permits, max wait), then the limits' figures (head.lua's
-- ARGV 5..). With one key, this is head.lua's ARGV exactly.
-- Reply: seven numbers per key, as head.lua describes.
local base = 4 * #KEYS
local argv = {}
for j = base + 1, #ARGV do argv[j - base + 4] = ARGV[j] end
local out = {}
local redisNow = nil

-- decide() reads all of its ARGV before it returns, so one table serves every key in turn.
local function decide(KEYS, ARGV)
