-- Walk a list of request paths (one per line in the file given as the first script argument).
-- Each wrk thread takes every n-th line, so no two threads send the same path.
-- Optional args: METHOD (default GET), "cycle" to start over when the list is exhausted
-- (otherwise the last path is repeated, which the caller detects from the status counts).
-- Counts responses by status; done() prints one "status <code> <count>" line per code.
-- Extra headers come from the environment: WRK_AUTHORIZATION.

local threads = {}
local counter = 1

function setup(thread)
  thread:set("tid", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  local file, method, mode = args[1], args[2] or "GET", args[3] or "once"
  nthreads = tonumber(args[4] or "1")
  paths = {}
  local i = 0
  for line in io.lines(file) do
    if line ~= "" then
      if i % nthreads == (tid - 1) then table.insert(paths, line) end
      i = i + 1
    end
  end
  pos = 0
  cycle = (mode == "cycle")
  wrk.method = method
  local auth = os.getenv("WRK_AUTHORIZATION")
  if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
  statuses = {}
  exhausted = 0
end

function request()
  pos = pos + 1
  if pos > #paths then
    if cycle then pos = 1 else pos = #paths; exhausted = exhausted + 1 end
  end
  return wrk.format(nil, paths[pos])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local totals, exhausted_total = {}, 0
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for code, n in pairs(s) do totals[code] = (totals[code] or 0) + n end
    exhausted_total = exhausted_total + (thread:get("exhausted") or 0)
  end
  for code, n in pairs(totals) do io.write(string.format("status %d %d\n", code, n)) end
  io.write(string.format("exhausted %d\n", exhausted_total))
end
