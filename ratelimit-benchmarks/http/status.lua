-- wrk script for run-http.sh: counts the status codes each thread receives and prints one JSON line
-- ("RESULT {...}") with the totals, the request rate and latency percentiles, so that the script can check
-- that the calls really were admitted (200) or denied (429) as the scenario intends.
local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    s200, s429, other = 0, 0, 0
end

function response(status, headers, body)
    if status == 200 then
        s200 = s200 + 1
    elseif status == 429 then
        s429 = s429 + 1
    else
        other = other + 1
    end
end

function done(summary, latency, requests)
    local a, b, c = 0, 0, 0
    for _, t in ipairs(threads) do
        a = a + t:get("s200")
        b = b + t:get("s429")
        c = c + t:get("other")
    end
    local e = summary.errors
    io.write(string.format(
        'RESULT {"requests":%d,"seconds":%.3f,"requestsPerSecond":%.1f,"s200":%d,"s429":%d,"otherStatus":%d,'
            .. '"socketErrors":%d,"p50Micros":%d,"p90Micros":%d,"p99Micros":%d}\n',
        summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6), a, b, c,
        e.connect + e.read + e.write + e.timeout,
        latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
