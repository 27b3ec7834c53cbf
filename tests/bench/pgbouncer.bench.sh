#!/usr/bin/env bash
# Database-touching routes through pgbouncer (pool_mode = transaction) beside
# the same routes with direct connections, same run, same machine, with wrk:
#   GET /healthz (one trivial statement on each database: pgbouncer's cost at
#   its largest share), and GET /api/admin/ercot/ingests?limit=50 (the
#   operators' ingests list over 200 seeded ErcotIngest rows).
# Goal: through pgbouncer >= 0.8x direct. Prints numbers; never fails on them.
# Each pair runs at the same worker count a program, once for each count in
# BENCH_WORKERS: 2 (the direct default, bound by server connections) and 4
# (the default behind pgbouncer, where workers cost no server connection).
#   IW_BUILD (build), IW_TEST_PGHOST (started if unset), BENCH_DURATION (10s),
#   BENCH_CONNECTIONS (50), IW_PGBOUNCER_POOL (10), BENCH_WORKERS ("2 4")
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export IW_BUILD=${IW_BUILD:-build}
DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNECTIONS:-50}
command -v wrk >/dev/null || { echo "pgbouncer bench: wrk is not installed (tools/deps.sh)"; exit 1; }
if [ -z "${IW_TEST_PGHOST:-}" ]; then
	tools/stack.sh pg-start tests/out/pg
	IW_TEST_PGHOST="$ROOT/tests/out/pg/pgrun"
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
DIRECT="$ROOT/tests/out/$IW_BUILD/bench_direct" POOLED="$ROOT/tests/out/$IW_BUILD/bench_pooled"
cleanup() { tools/stack.sh app-stop "$DIRECT" >/dev/null 2>&1 || true; tools/stack.sh app-stop "$POOLED" >/dev/null 2>&1 || true; }
trap cleanup EXIT
seed() { # database: 200 ErcotIngest rows, as a month of daily runs leaves them
	psql -h "$IW_TEST_PGHOST" -U postgres -d "$1" -qc "INSERT INTO \"ErcotIngest\"
	  (status, tdsp, \"rowCount\", filename, \"fileSha256\", \"sizeBytes\", \"createdAt\")
	  SELECT 'ok', (ARRAY['oncor','centerpoint','aep_central','aep_north','tnmp'])[1 + g % 5], 100000 + g,
	         'ext_' || g || '.zip', md5(g::text) || md5(g::text), 50000000 + g, now() - g * interval '1 hour'
	  FROM generate_series(1, 200) g ON CONFLICT DO NOTHING"
}
measure() { # url [header] -> "req/s p99_ms errors"
	local out
	out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency ${2:+-H "$2"} "$1")
	awk '/^Requests\/sec:/ { rps = $2 }
	     $1 == "99%" { v = $2; u = v; gsub(/[0-9.]/, "", u); gsub(/[a-z]/, "", v);
	                   if (u == "us") v /= 1000; else if (u == "s") v *= 1000; p99 = v }
	     /Socket errors:/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 }
	     /Non-2xx/ { e += $5 }
	     END { printf "%s %.2f %d\n", rps, p99, e }' <<<"$out"
}
token_header() { echo "x-admin-token: $(grep -m1 '^ADMIN_TOKEN=' "$1/env" | cut -d= -f2-)"; }
report() { # label path [auth]: direct, then pooled, then the ratio
	local d_rps d_p99 d_err p_rps p_p99 p_err ratio dh="" ph=""
	[ -n "${3:-}" ] && { dh=$(token_header "$DIRECT"); ph=$(token_header "$POOLED"); }
	read -r d_rps d_p99 d_err < <(measure "http://127.0.0.1:$P1$2" "$dh")
	read -r p_rps p_p99 p_err < <(measure "http://127.0.0.1:$P2$2" "$ph")
	ratio=$(awk -v a="$p_rps" -v b="$d_rps" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
	printf '%s\n' "$1"
	printf '  direct          %10s req/s  p99 %7s ms  errors %s\n' "$d_rps" "$d_p99" "$d_err"
	printf '  via pgbouncer   %10s req/s  p99 %7s ms  errors %s\n' "$p_rps" "$p_p99" "$p_err"
	printf '  ratio pgbouncer/direct %s (goal >= 0.8)\n' "$ratio"
}
start_pair() { # workers: both stacks afresh, seeded alike
	cleanup
	rm -rf "$DIRECT" "$POOLED"
	P1=$(free_port); P2=$(free_port)
	IW_WORKERS=$1 IW_PGHOST="$IW_TEST_PGHOST" IW_DB_PREFIX=bench_direct IW_DB_SUFFIX=test \
		tools/stack.sh app-start "$DIRECT" "$P1" >/dev/null
	IW_WORKERS=$1 IW_PGBOUNCER=1 IW_PGHOST="$IW_TEST_PGHOST" IW_DB_PREFIX=bench_pooled IW_DB_SUFFIX=test \
		tools/stack.sh app-start "$POOLED" "$P2" >/dev/null
	seed bench_direct_master_test
	seed bench_pooled_master_test
}
for w in ${BENCH_WORKERS:-2 4}; do
	start_pair "$w"
	printf 'pgbouncer (wrk -t2 -c%s -d%s, %s, %s workers a program on both sides, pool %s a database):\n' \
		"$CONNS" "$DURATION" "$IW_BUILD" "$w" "${IW_PGBOUNCER_POOL:-10}"
	report "GET /healthz (one trivial statement on each database)" /healthz
	report "GET /api/admin/ercot/ingests?limit=50 (200 rows seeded)" '/api/admin/ercot/ingests?limit=50' auth
	servers=$(psql -h "$IW_TEST_PGHOST" -U postgres -d postgres -tAc \
		"SELECT count(*) FROM pg_stat_activity WHERE datname LIKE 'bench_pooled%' AND backend_type = 'client backend'")
	printf 'server connections through pgbouncer after the runs: %s\n' "$servers"
done
