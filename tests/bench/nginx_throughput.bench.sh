#!/usr/bin/env bash
# nginx → FastCGI throughput with the shipped settings (upstream keepalive off,
# IW_WORKERS copies per route, SPEC §8): an authenticated route
# (GET /api/admin/ercot/cron/health with x-admin-token); through the
# auth_request gate that checks credentials before the body is read
# (POST /api/admin/smt/pull): a cheap authenticated POST that the program
# refuses after auth (400: a bad field, so no database work), and an inline
# pull of a small file already stored (the program's dedupe answer, one
# database statement); each against an nginx `return 200` location measured
# in the same run on the same nginx.
# Target: ratio ≥ 0.15, route p99 < 20 ms at 50 connections, 0 errors.
# Prints numbers; never fails on them (make bench reads them).
#   IW_BUILD (build), IW_TEST_PGHOST (the shared test cluster; started if unset),
#   BENCH_DURATION (10s), BENCH_CONNECTIONS (50), IW_WORKERS (2)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export IW_BUILD=${IW_BUILD:-build}
DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNECTIONS:-50}
ROUTE=/api/admin/ercot/cron/health
DIR="$ROOT/tests/out/$IW_BUILD/bench_nginx"

command -v wrk >/dev/null || { echo "nginx_throughput: wrk is not installed (tools/deps.sh)"; exit 1; }
if [ -z "${IW_TEST_PGHOST:-}" ]; then
	tools/stack.sh pg-start tests/out/pg
	IW_TEST_PGHOST="$ROOT/tests/out/pg/pgrun"
fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

cleanup() { tools/stack.sh app-stop "$DIR" >/dev/null 2>&1 || true; }
trap cleanup EXIT
rm -rf "$DIR"
IW_PGHOST="$IW_TEST_PGHOST" IW_DB_PREFIX=bench_nginx IW_DB_SUFFIX=test \
	tools/stack.sh app-start "$DIR" "$PORT" >/dev/null

# The baseline: a bench-only `return 200` location in the same server, added
# to the rendered copy (never to nginx/routes.d) and picked up by a reload.
cat >"$DIR/nginx/conf/routes.d/99-bench.conf" <<'EOF'
location = /bench/return200 {
    access_log off;
    return 200 '{"ok":true}\n';
}
EOF
nginx -p "$DIR/nginx" -c "$DIR/nginx/conf/local.conf" -s reload 2>/dev/null
for _ in $(seq 1 50); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/bench/return200")" = 200 ] && break
	sleep 0.1
done
TOKEN=$(grep -m1 '^ADMIN_TOKEN=' "$DIR/env" | cut -d= -f2-)
code=$(curl -s -o /dev/null -w '%{http_code}' -H "x-admin-token: $TOKEN" "http://127.0.0.1:$PORT$ROUTE")
[ "$code" = 200 ] || { echo "nginx_throughput: $ROUTE answered $code"; exit 1; }

# A one-row interval file, posted once so every later post is a duplicate.
PULL=/api/admin/smt/pull
HOOK=$(grep -m1 '^INTELLIWATT_WEBHOOK_SECRET=' "$DIR/env" | cut -d= -f2-)
CSV=$'ESIID,USAGE_DATE,REVISION_DATE,USAGE_START_TIME,USAGE_END_TIME,USAGE_KWH,ESTIMATED_ACTUAL,CONSUMPTION_SURPLUSGENERATION\n10443720000000001,11/01/2026,11/02/2026,00:00,00:15,0.25,A,Consumption\n'
PULL_BODY=$(printf '{"mode":"inline","filename":"bench.csv","encoding":"base64","content_b64":"%s"}' \
	"$(printf '%s' "$CSV" | base64 -w0)")
code=$(curl -s -o /dev/null -w '%{http_code}' -H "x-intelliwatt-secret: $HOOK" \
	-H 'content-type: application/json' --data-binary "$PULL_BODY" "http://127.0.0.1:$PORT$PULL")
[ "$code" = 200 ] || { echo "nginx_throughput: $PULL answered $code"; exit 1; }
printf 'wrk.method = "POST"\nwrk.body = [[%s]]\nwrk.headers["content-type"] = "application/json"\nwrk.headers["x-intelliwatt-secret"] = "%s"\n' \
	"$PULL_BODY" "$HOOK" >"$DIR/pull.lua"
printf 'wrk.method = "POST"\nwrk.body = [[{"mode":5}]]\nwrk.headers["content-type"] = "application/json"\nwrk.headers["x-intelliwatt-secret"] = "%s"\n' \
	"$HOOK" >"$DIR/cheap.lua"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "x-intelliwatt-secret: $HOOK" \
	-H 'content-type: application/json' --data-binary '{"mode":5}' "http://127.0.0.1:$PORT$PULL")
[ "$code" = 400 ] || { echo "nginx_throughput: cheap $PULL answered $code"; exit 1; }

# wrk --latency output → "req/s p99_ms errors non2xx"
measure() { # url [header | -s script]
	local out rps p99 errs non2xx
	if [ $# -gt 2 ]; then
		out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency "$2" "$3" "$1")
	elif [ $# -gt 1 ]; then
		out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency -H "$2" "$1")
	else
		out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency "$1")
	fi
	rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
	p99=$(awk '$1 == "99%" { v = $2; u = v; gsub(/[0-9.]/, "", u); gsub(/[a-z]/, "", v);
		if (u == "us") v /= 1000; else if (u == "s") v *= 1000; printf "%.2f", v }' <<<"$out")
	errs=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' <<<"$out")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $5 }' <<<"$out")
	echo "$rps $p99 $((${errs:-0} + ${non2xx:-0})) ${errs:-0}"
}

read -r base_rps base_p99 base_err _ < <(measure "http://127.0.0.1:$PORT/bench/return200")
read -r route_rps route_p99 route_err _ < <(measure "http://127.0.0.1:$PORT$ROUTE" "x-admin-token: $TOKEN")
read -r cheap_rps cheap_p99 _ cheap_err < <(measure "http://127.0.0.1:$PORT$PULL" -s "$DIR/cheap.lua")
read -r pull_rps pull_p99 pull_err _ < <(measure "http://127.0.0.1:$PORT$PULL" -s "$DIR/pull.lua")
ratio=$(awk -v a="$route_rps" -v b="$base_rps" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
meets=$(awk -v r="$ratio" -v p="$route_p99" -v e="$route_err" 'BEGIN { print (r >= 0.15 && p < 20 && e == 0) ? "yes" : "NO" }')
cheap_ratio=$(awk -v a="$cheap_rps" -v b="$base_rps" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
cheap_meets=$(awk -v r="$cheap_ratio" -v e="$cheap_err" 'BEGIN { print (r >= 0.15 && e == 0) ? "yes" : "NO" }')
pull_ratio=$(awk -v a="$pull_rps" -v b="$base_rps" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')

printf 'nginx_throughput (wrk -t2 -c%s -d%s --latency, IW_WORKERS=%s, keepalive off, %s):\n' \
	"$CONNS" "$DURATION" "${IW_WORKERS:-2}" "$IW_BUILD"
printf '  nginx return 200            %10s req/s  p99 %7s ms  errors %s\n' "$base_rps" "$base_p99" "$base_err"
printf '  GET %s (admin) %10s req/s  p99 %7s ms  errors %s\n' "$ROUTE" "$route_rps" "$route_p99" "$route_err"
printf '  POST %s (gate, 400)   %10s req/s  p99 %7s ms  socket errors %s\n' "$PULL" "$cheap_rps" "$cheap_p99" "$cheap_err"
printf '  POST %s (gate + dup)   %10s req/s  p99 %7s ms  errors %s\n' "$PULL" "$pull_rps" "$pull_p99" "$pull_err"
printf '  ratio route/return200 %s (target >= 0.15, p99 < 20 ms, 0 errors): %s\n' "$ratio" "$meets"
printf '  ratio gated POST/return200 %s (target >= 0.15, 0 socket errors): %s\n' "$cheap_ratio" "$cheap_meets"
printf '  ratio dedupe pull/return200 %s (informational: one database statement per request)\n' "$pull_ratio"
