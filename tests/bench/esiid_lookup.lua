-- wrk script of tests/bench/esiid_lookup.bench.mjs: cycles through the
-- request paths in the file named by ESIID_PATHS, with the admin token.
local paths, i = {}, 0
for line in io.lines(os.getenv("ESIID_PATHS")) do paths[#paths + 1] = line end
wrk.headers["x-admin-token"] = os.getenv("ESIID_TOKEN")
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
