-- make bench, P7: wrk asks GET $BENCH_PREFIX/ID for the notification ids in
-- $BENCH_IDS_FILE (one a line), each thread from its own place in the
-- list, with the header $BENCH_HEADER ("Name: value": the console's
-- session cookie, or the API's bearer token). The same script and list
-- serve the console's notification page and the API's answer
-- (bench/console.sh). Cycling through many notifications keeps each one's
-- audit trail as a person would find it: every console view appends a
-- record.viewed record about the notification it shows, and the page
-- lists them all, so a run on one notification would time a page that
-- grows by a few thousand rows.
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS_FILE")) do
    ids[#ids + 1] = line
end
local prefix = os.getenv("BENCH_PREFIX")
local name, value = string.match(os.getenv("BENCH_HEADER"), "^([^:]+):%s*(.*)$")
local headers = { [name] = value }
local threads = 0
local i = 0

function setup(thread)
    thread:set("id", threads)
    threads = threads + 1
end

function init(args)
    i = math.floor((id or 0) * #ids / 2) % #ids
end

function request()
    i = i % #ids + 1
    return wrk.format("GET", prefix .. ids[i], headers)
end
