-- Shared by every scenario: prints throughput and p50/p95/p99 latency (ms) in one line.
--
-- With RATE set, each connection pauses a random 0..2×(CONNECTIONS/RATE) seconds before each
-- request, so the connections together offer about RATE requests per second (an open-ish load:
-- latency is then the server's time per request at that rate, not the queue a closed loop of
-- CONNECTIONS clients builds up). Without RATE every connection sends as fast as it is answered.
local rate = tonumber(os.getenv("RATE") or "")
if rate then
  local mean_ms = tonumber(os.getenv("CONNECTIONS")) * 1000 / rate
  function delay()
    return math.random(0, math.floor(2 * mean_ms))
  end
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    "RESULT requests=%d rps=%.0f p50=%.1fms p95=%.1fms p99=%.1fms max=%.1fms errors=%d non2xx=%d\n",
    summary.requests, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, errors, summary.errors.status))
end
