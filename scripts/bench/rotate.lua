-- wrk script for scripts/bench-http.sh: rotate over a pre-built request list.
--
--   wrk -t2 -c16 -d10s -s scripts/bench/rotate.lua http://127.0.0.1:PORT -- requests.tsv
--
-- requests.tsv: one request per line, tab-separated
--   METHOD <TAB> PATH?QUERY <TAB> BODY (may be empty) [<TAB> anything else, ignored]
-- Every request is formatted once in init() (wrk's advice for fast servers); request()
-- only picks the next one. Each thread starts at a different offset of the list so
-- that threads do not send the same request in lockstep.
--
-- done() prints one machine-readable line that the shell script parses:
--   BENCH requests=N duration_us=N rps=F p50_us=N p90_us=N p99_us=N max_us=N mean_us=F
--         err_status=N err_connect=N err_read=N err_write=N err_timeout=N
-- err_status is wrk's count of HTTP statuses > 399; latencies are wrk's per-request
-- latencies (no coordinated-omission correction), in microseconds.

local thread_count = 0

function setup(thread)
   thread:set("thread_index", thread_count)
   thread_count = thread_count + 1
end

local requests = {}
local next_index = 1

local function split_tabs(line)
   local fields = {}
   local start = 1
   while true do
      local tab = string.find(line, "\t", start, true)
      if not tab then
         table.insert(fields, string.sub(line, start))
         return fields
      end
      table.insert(fields, string.sub(line, start, tab - 1))
      start = tab + 1
   end
end

function init(args)
   local path = args[1]
   if not path then
      error("rotate.lua: pass the request list after --, e.g. -- requests.tsv")
   end
   local file = assert(io.open(path, "r"))
   for line in file:lines() do
      line = string.gsub(line, "\r$", "")
      if line ~= "" and string.sub(line, 1, 1) ~= "#" then
         local f = split_tabs(line)
         local method, target, body = f[1], f[2], f[3]
         local headers = { ["Accept"] = "application/fhir+json" }
         if body == nil or body == "" then
            body = nil
         else
            headers["Content-Type"] = "application/fhir+json"
         end
         table.insert(requests, wrk.format(method, target, headers, body))
      end
   end
   file:close()
   if #requests == 0 then
      error("rotate.lua: no request in " .. path)
   end
   -- spread the threads over the list (thread_index is set by setup()).
   local index = thread_index or 0
   next_index = (index * 7919) % #requests + 1
end

function request()
   local r = requests[next_index]
   next_index = next_index % #requests + 1
   return r
end

function done(summary, latency, requests_stats)
   local e = summary.errors
   local seconds = summary.duration / 1e6
   io.write(string.format(
      "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.1f "
         .. "err_status=%d err_connect=%d err_read=%d err_write=%d err_timeout=%d\n",
      summary.requests, summary.duration, summary.requests / seconds,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean,
      e.status, e.connect, e.read, e.write, e.timeout))
end
