-- POST of a 100-byte value (a JSON string: quotes + 98 characters) to random keys.
local keys = tonumber(os.getenv("KEYS") or "100000")
local body = '{"value":"' .. string.rep("x", 98) .. '"}'
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

function request()
  return wrk.format("POST", "/bench:" .. math.random(0, keys - 1), headers, body)
end
