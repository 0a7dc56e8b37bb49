-- demo-load.lua — the demo's load for wrk: a GET/POST mix, each connection pausing between requests so
-- the load stays well below what the machine can serve (a deploy starts a JVM next to it).
local counter = 0

request = function()
  counter = counter + 1
  if counter % 10 == 0 then
    return wrk.format("POST", "/api/orders", { ["Content-Type"] = "application/json" },
      '{"item":"demo-' .. counter .. '","quantity":1}')
  elseif counter % 10 <= 3 then
    return wrk.format("GET", "/hash/demo-" .. (counter % 97))
  end
  return wrk.format("GET", "/api/version")
end

delay = function()
  return 20
end
