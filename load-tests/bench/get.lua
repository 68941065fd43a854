-- GET of random keys bench:0 .. bench:(KEYS-1), all present (preloaded).
local keys = tonumber(os.getenv("KEYS") or "100000")
local counter = 0

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

function request()
  return wrk.format("GET", "/bench:" .. math.random(0, keys - 1))
end
