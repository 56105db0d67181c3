/**
 * The Lua scripts a leaderboard runs in Redis (through the REST gateway, one
 * round trip each). Scores stay strings inside the scripts: Lua numbers print
 * with 14 digits, composite scores need up to 16.
 */

/**
 * Writes absolute scores, each only if its version is newer than the one the
 * board holds. KEYS: board, versions, built. ARGV[1]: "live" (only when the
 * board is built: an unbuilt board is rebuilt from Postgres instead) or
 * "load" (a staging board). Then triples: member, composite ("" = remove),
 * version. Returns how many members changed, or -1 when the board is not built.
 */
export const WRITE_SCRIPT = `
if ARGV[1] == 'live' and redis.call('EXISTS', KEYS[3]) == 0 then return -1 end
local changed = 0
for i = 2, #ARGV, 3 do
  local m, s, ver = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local cur = tonumber(redis.call('HGET', KEYS[2], m) or '-1')
  if ver > cur then
    if s == '' then redis.call('ZREM', KEYS[1], m) else redis.call('ZADD', KEYS[1], s, m) end
    redis.call('HSET', KEYS[2], m, ARGV[i + 2])
    changed = changed + 1
  end
end
return changed
`;

/** Swaps a staging board in atomically. KEYS: staging board, staging versions, board, versions, built. */
export const SWAP_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('RENAME', KEYS[1], KEYS[3]) else redis.call('DEL', KEYS[3]) end
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('RENAME', KEYS[2], KEYS[4]) else redis.call('DEL', KEYS[4]) end
redis.call('SET', KEYS[5], '1')
return 1
`;

/**
 * One page and the callers' own neighbourhoods in one call. KEYS: board,
 * built. ARGV: limit, cursor composite ("" = top), cursor member, around,
 * then user ids. Returns JSON: { built, total, page: [[member, composite,
 * rank]…] (limit + 1 entries when there are more), me: { [user]: [[member,
 * composite, rank]…] } }. A rank is 1 + the members with a strictly better
 * composite, so exact ties share it.
 */
export const READ_SCRIPT = `
if redis.call('EXISTS', KEYS[2]) == 0 then return cjson.encode({ built = false }) end
local z = KEYS[1]
local limit = tonumber(ARGV[1])
local around = tonumber(ARGV[4])
local function entries(flat, out)
  for i = 1, #flat, 2 do
    out[#out + 1] = { flat[i], flat[i + 1], redis.call('ZCOUNT', z, '-inf', '(' .. flat[i + 1]) + 1 }
  end
  return out
end
local page = {}
if ARGV[2] == '' then
  entries(redis.call('ZRANGE', z, 0, limit, 'WITHSCORES'), page)
else
  local s, m = ARGV[2], ARGV[3]
  local flat = {}
  if redis.call('ZSCORE', z, m) == s then
    local r = redis.call('ZRANK', z, m)
    flat = redis.call('ZRANGE', z, r + 1, r + limit + 1, 'WITHSCORES')
  else
    local offset = 0
    while #flat < (limit + 1) * 2 do
      local same = redis.call('ZRANGEBYSCORE', z, s, s, 'WITHSCORES', 'LIMIT', offset, 1000)
      if #same == 0 then break end
      for i = 1, #same, 2 do
        if same[i] > m and #flat < (limit + 1) * 2 then flat[#flat + 1] = same[i]; flat[#flat + 1] = same[i + 1] end
      end
      offset = offset + 1000
    end
    if #flat < (limit + 1) * 2 then
      local rest = redis.call('ZRANGEBYSCORE', z, '(' .. s, '+inf', 'WITHSCORES', 'LIMIT', 0, limit + 1 - #flat / 2)
      for i = 1, #rest do flat[#flat + 1] = rest[i] end
    end
  end
  entries(flat, page)
end
local me = {}
for i = 5, #ARGV do
  local r = redis.call('ZRANK', z, ARGV[i])
  if r then
    local from = r - around
    if from < 0 then from = 0 end
    me[ARGV[i]] = entries(redis.call('ZRANGE', z, from, r + around, 'WITHSCORES'), {})
  end
end
return cjson.encode({ built = true, total = redis.call('ZCARD', z), page = page, me = me })
`;
