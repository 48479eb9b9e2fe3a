-- wrk script for tools/bench: sends the weighted request mix of mix.txt and prints wrk's own
-- summary as one JSON line ("IOGAP_WRK_JSON {...}") for bench.py.
-- usage: wrk ... -s mix.lua http://127.0.0.1:PORT -- MIXFILE [HOST_HEADER]
-- Requests are pre-generated in init() (wrk's advice for cheap request()): 4096 random picks
-- per thread, cycled.

local requests, nreq, i = {}, 0, 0
local thread_no = 0

function setup(thread)
   thread_no = thread_no + 1
   thread:set("seed", thread_no)
end

local function expand(s)
   s = s:gsub("{id}", function() return tostring(math.random(1, 1000)) end)
   return (s:gsub("{n}", function() return tostring(math.random(0, 999999)) end))
end

function init(args)
   local kinds, total = {}, 0
   for line in io.lines(args[1]) do
      local weight, method, path, body = line:match("^(%d+)%s+(%S+)%s+(%S+)%s*(.*)$")
      if weight then
         total = total + tonumber(weight)
         table.insert(kinds, { cum = total, method = method, path = path, body = body })
      end
   end
   assert(total > 0, "no requests in " .. tostring(args[1]))
   math.randomseed(1000 + (seed or 0))
   for n = 1, 4096 do
      local pick, k = math.random(1, total), nil
      for _, kind in ipairs(kinds) do
         if pick <= kind.cum then k = kind break end
      end
      local headers = { Host = args[2] }
      local body = nil
      if k.body ~= "" then
         body = expand(k.body)
         headers["Content-Type"] = "application/json"
      end
      requests[n] = wrk.format(k.method, expand(k.path), headers, body)
   end
   nreq = 4096
end

function request()
   i = i % nreq + 1
   return requests[i]
end

function done(summary, latency, _)
   local e = summary.errors
   io.write(string.format(
      'IOGAP_WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
      '"lat_us": {"mean": %.1f, "stdev": %.1f, "min": %d, "max": %d, ' ..
      '"p50": %d, "p90": %d, "p95": %d, "p99": %d}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency.stdev, latency.min, latency.max,
      latency:percentile(50), latency:percentile(90), latency:percentile(95),
      latency:percentile(99)))
end
