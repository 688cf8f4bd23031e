-- wrk script: PUT a VALUE_SIZE-byte JSON string to /kv/bench-<n>, n uniform in [0, KEYS).
local keys = tonumber(os.getenv("KEYS") or "1000")
local size = tonumber(os.getenv("VALUE_SIZE") or "100")
local body = '"' .. string.rep("x", size - 2) .. '"'
local headers = { ["Content-Type"] = "application/json" }
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))

request = function()
  return wrk.format("PUT", "/kv/bench-" .. math.random(0, keys - 1), headers, body)
end
