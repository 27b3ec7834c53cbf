-- wrk script of tests/bench/soak.bench.sh: a weighted round of mixed requests,
-- each tagged with X-Request-Id "soak-<n>" (nginx echoes it on every answer,
-- errors included), so each answer is checked against its own expected status.
-- Environment: SOAK_ADMIN_TOKEN, SOAK_ESIID (an ESIID the SMT stand-in knows).
local token = os.getenv("SOAK_ADMIN_TOKEN") or ""
local esiid = os.getenv("SOAK_ESIID") or "10443720001234567"
local admin = { ["x-admin-token"] = token, ["content-type"] = "application/json" }

local list = {} -- { name, expected status, method, path, headers, body, weight }
local function add(name, expect, method, path, headers, body, weight)
	list[#list + 1] = { name = name, expect = expect, method = method, path = path,
		headers = headers or {}, body = body, weight = weight or 1 }
end

add("health", 200, "GET", "/healthz", {}, nil, 4)
add("smt status", 200, "POST", "/api/admin/smt/agreements/status", admin, '{"esiid":"' .. esiid .. '"}', 2)
add("smt myagreements", 200, "POST", "/api/admin/smt/agreements/myagreements", admin, "{}", 2)
add("explorer page", 200, "GET", "/admin/database?table=ErcotIngest", { ["x-admin-token"] = token }, nil, 2)
add("explorer json", 200, "GET", "/admin/database?table=SmtInterval&format=json", { ["x-admin-token"] = token })
add("cron health", 200, "GET", "/api/admin/ercot/cron/health", { ["x-admin-token"] = token })
-- Bad inputs of every kind.
add("no token", 401, "POST", "/api/admin/smt/agreements/status", { ["content-type"] = "application/json" }, '{"esiid":"' .. esiid .. '"}')
add("wrong token", 401, "POST", "/api/admin/smt/agreements/status", { ["x-admin-token"] = token .. "x", ["content-type"] = "application/json" }, "{}")
add("wrong ?token", 401, "GET", "/api/admin/ercot/cron/health?token=nope", {}, nil)
add("broken json", 400, "POST", "/api/admin/smt/agreements/status", admin, '{"esiid":')
add("not utf-8", 400, "POST", "/api/admin/smt/agreements/status", admin, '{"esiid":"\255\254"}')
add("bad esiid", 400, "POST", "/api/admin/smt/agreements/status", admin, '{"esiid":"12ab"}')
add("unknown field type", 400, "POST", "/api/admin/usage/normalize", admin, '{"esiid":["x"]}')
add("wrong method", 405, "GET", "/api/admin/smt/agreements/status", { ["x-admin-token"] = token }, nil)
add("unknown route", 404, "GET", "/api/admin/nope", {}, nil)
add("bad media type", 415, "POST", "/api/admin/smt/pull?filename=x.csv", { ["x-admin-token"] = token, ["content-type"] = "text/html" }, "<p>")
add("bad base64", 400, "POST", "/api/admin/smt/pull", admin, '{"mode":"inline","filename":"a.csv","content_b64":"@@@@"}')
add("not a csv", 400, "POST", "/api/admin/smt/pull", admin, '{"mode":"inline","filename":"a.csv","content_b64":"aGVsbG8K"}')
add("sql guard", 400, "POST", "/admin/database?format=json", { ["x-admin-token"] = token, ["content-type"] = "application/x-www-form-urlencoded" }, "sql=DELETE+FROM+%22SmtInterval%22")
add("explorer unknown table", 404, "GET", "/admin/database?table=pg_authid&format=json", { ["x-admin-token"] = token }, nil)
add("too large", 413, "POST", "/admin/database?format=json", { ["x-admin-token"] = token, ["content-type"] = "application/x-www-form-urlencoded" }, "sql=" .. string.rep("a", 70000))

local round = {} -- formatted requests, repeated by weight (in init: wrk sets Host then)
local expect = {}
local names = {}
for i, r in ipairs(list) do
	expect[i] = r.expect
	names[i] = r.name
end

local threads = {}
function setup(thread)
	threads[#threads + 1] = thread
end

function init()
	for i, r in ipairs(list) do
		local h = { ["x-request-id"] = "soak-" .. i }
		for k, v in pairs(r.headers) do h[k] = v end
		for _ = 1, r.weight do
			round[#round + 1] = wrk.format(r.method, r.path, h, r.body)
		end
	end
	n = 0
	statuses = {}
	unexpected = {}
end

function request()
	n = n + 1
	return round[(n % #round) + 1]
end

function response(status, headers)
	statuses[status] = (statuses[status] or 0) + 1
	local id = headers["X-Request-Id"] or headers["x-request-id"] or ""
	local i = tonumber(id:match("^soak%-(%d+)$") or "")
	if not i or expect[i] ~= status then
		local key = (i and names[i] or "untagged") .. " -> " .. status
		unexpected[key] = (unexpected[key] or 0) + 1
	end
end

function done(summary, latency)
	local all, bad = {}, {}
	for _, t in ipairs(threads) do
		for k, v in pairs(t:get("statuses") or {}) do all[k] = (all[k] or 0) + v end
		for k, v in pairs(t:get("unexpected") or {}) do bad[k] = (bad[k] or 0) + v end
	end
	local s = {}
	for k, v in pairs(all) do s[#s + 1] = k .. ":" .. v end
	table.sort(s)
	local u, nbad = {}, 0
	for k, v in pairs(bad) do u[#u + 1] = k .. " x" .. v; nbad = nbad + v end
	local e = summary.errors
	io.write(string.format("SOAK requests=%d seconds=%.1f rps=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
		summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
	io.write("SOAK statuses " .. table.concat(s, " ") .. "\n")
	io.write(string.format("SOAK socket_errors connect=%d read=%d write=%d timeout=%d\n",
		e.connect, e.read, e.write, e.timeout))
	io.write(string.format("SOAK unexpected=%d %s\n", nbad, table.concat(u, "; ")))
end
