-- wrk script for bench/api_latency.py: the token from the environment, and p50/p95 printed
-- in a line the script parses (wrk's own report has no p95).
local token = os.getenv("IOTGW_TOKEN")
if token then
  wrk.headers["Authorization"] = "Bearer " .. token
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT p50_us=%d p95_us=%d requests=%d errors=%d non2xx=%d\n",
    latency:percentile(50), latency:percentile(95), summary.requests,
    e.connect + e.read + e.write + e.timeout, e.status))
end
