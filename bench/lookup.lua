-- make bench, P2: wrk asks GET /v1/cpis/flags/NHS_NUMBER for the NHS
-- numbers in $BENCH_NHS_FILE (one a line: numbers with CP-IS flags), each
-- thread from its own place in the list, with the lookup token in
-- $BENCH_TOKEN. The same script is used against nginx, which answers every
-- such path with one static file (bench/lookup.sh).
local numbers = {}
for line in io.lines(os.getenv("BENCH_NHS_FILE")) do
    numbers[#numbers + 1] = line
end
local headers = { ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN") }
local threads = 0
local i = 0

function setup(thread)
    thread:set("id", threads)
    threads = threads + 1
end

function init(args)
    i = math.floor((id or 0) * #numbers / 2) % #numbers
end

function request()
    i = i % #numbers + 1
    return wrk.format("GET", "/v1/cpis/flags/" .. numbers[i], headers)
end
