-- wrk script shared by every wrk scenario of bench/run.sh, for every system.
--
-- Environment (all optional):
--   BENCH_METHOD   GET (default) or POST
--   BENCH_BODY     request body (POST), sent as application/x-www-form-urlencoded
--   BENCH_AUTH     value of the Authorization header (e.g. "Basic ...")
--   BENCH_TOKENS   file of refresh tokens, one a line: refresh-token rotation. Each
--                  thread takes its share; every request uses a token once and each
--                  200 response's new refresh_token goes back into the pool, so each
--                  chain is rotated for the whole run. BENCH_BODY is prefixed to
--                  "&refresh_token=<token>". BENCH_THREADS must equal wrk -t.
--   BENCH_DELAY_MS delay before each request (the soak's fixed-rate stand-in)
-- done() prints one JSON line: requests, rps, p50/p99 latency (ms), non-2xx responses
-- and socket errors (connect, read, write, timeout).

local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local auth = os.getenv("BENCH_AUTH")
local tokens_file = os.getenv("BENCH_TOKENS")

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

non2xx = 0
lost = 0
local pool = {}
local head, tail = 1, 0

function init(args)
  wrk.method = method
  if body then
    wrk.body = body
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  end
  if auth then
    wrk.headers["Authorization"] = auth
  end
  if tokens_file then
    -- init() of thread 0 runs before setup() of thread 1: the count comes from run.sh.
    local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
    local i = 0
    for line in io.lines(tokens_file) do
      if line ~= "" then
        if i % nthreads == id then
          tail = tail + 1
          pool[tail] = line
        end
        i = i + 1
      end
    end
  end
end

local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if delay_ms and delay_ms > 0 then
  delay = function() return delay_ms end
end

if tokens_file then
  request = function()
    local t = "exhausted"
    if head <= tail then
      t = pool[head]
      pool[head] = nil
      head = head + 1
    else
      lost = lost + 1
    end
    return wrk.format(nil, nil, nil, (body or "") .. "&refresh_token=" .. t)
  end
end

function response(status, headers, resp_body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  elseif tokens_file then
    local t = string.match(resp_body, '"refresh_token"%s*:%s*"([^"]+)"')
    if t then
      tail = tail + 1
      pool[tail] = t
    end
  end
end

function done(summary, latency, requests)
  local n2 = 0
  local lo = 0
  for _, t in ipairs(threads) do
    n2 = n2 + (t:get("non2xx") or 0)
    lo = lo + (t:get("lost") or 0)
  end
  local e = summary.errors
  local sock = e.connect + e.read + e.write + e.timeout
  local secs = summary.duration / 1e6
  io.write(string.format(
    '{"requests":%d,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"non2xx":%d,"socket_errors":%d,"errors":%d,"pool_exhausted":%d,"duration_s":%.2f}\n',
    summary.requests, summary.requests / secs, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, n2, sock, n2 + sock, lo, secs))
end
