-- wrk script: GET /kv/bench-<n> for n uniform in [0, KEYS), KEYS from the env.
local keys = tonumber(os.getenv("KEYS") or "1000")
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
request = function()
  return wrk.format("GET", "/kv/bench-" .. math.random(0, keys - 1))
end
