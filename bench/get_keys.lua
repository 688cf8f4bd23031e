-- wrk script: GET /kv/<key> for keys drawn uniformly from the file KEYS_FILE
-- (one key per line). bench.py uses it to aim at the keys one node owns.
local list = {}
for line in io.lines(os.getenv("KEYS_FILE")) do list[#list + 1] = line end
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
request = function()
  return wrk.format("GET", "/kv/" .. list[math.random(1, #list)])
end
