#!/usr/bin/env bash
# Soak (issue 11, docs/robustness.md): SOAK_SECONDS of mixed traffic through
# nginx (wrk + tests/bench/soak.lua: health; authenticated SMT routes against
# the SMT proxy stand-in; explorer pages with x-admin-token; bad inputs of
# every kind, each answer checked against its own expected status) with pulls
# of real SMT interval files (curl loop, plus a normalise after each round)
# interleaved. Reports requests/s, p99, the count by status, unexpected
# answers, each worker's VmRSS after start, after warm-up and at the end.
#
# Passes (exit 0) when: 0 unexpected statuses, 0 socket errors, no worker
# replaced, every pull answered 200, RSS flat (growth < 1 MiB per worker from
# the end of warm-up to the end; not judged on a sanitizer build, where
# ASan's quarantine grows it) and, on a sanitizer build, 0 sanitizer reports.
#
#   IW_BUILD (build | build-san), SOAK_SECONDS (600), SOAK_WARMUP (30),
#   SOAK_CONNECTIONS (16), IW_WORKERS (2), IW_TEST_PGHOST (the shared test
#   cluster; started if unset)
# Not part of make test.  Example:  SOAK_SECONDS=120 tests/bench/soak.bench.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export IW_BUILD=${IW_BUILD:-build}
DURATION=${SOAK_SECONDS:-600}
WARMUP=${SOAK_WARMUP:-30}
CONNS=${SOAK_CONNECTIONS:-16}
DIR="$ROOT/tests/out/$IW_BUILD/soak"
SUFFIX="soak_${IW_BUILD//-/_}"
SMT_TOKEN="soak-smt-$(openssl rand -hex 8)"
ESIID=10443720001234567 # in the stand-in's demo data

command -v wrk >/dev/null || { echo "soak: wrk is not installed (tools/deps.sh)"; exit 1; }
[ -x "$IW_BUILD/bin/healthz" ] || { echo "soak: $IW_BUILD is not built (make all, or make SAN=1 all)"; exit 1; }
if [ -z "${IW_TEST_PGHOST:-}" ]; then
	tools/stack.sh pg-start tests/out/pg
	IW_TEST_PGHOST="$ROOT/tests/out/pg/pgrun"
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
SMT_PORT=$(free_port)

smt_pid="" pull_pid=""
cleanup() {
	[ -n "$pull_pid" ] && kill "$pull_pid" 2>/dev/null
	tools/stack.sh app-stop "$DIR" >/dev/null 2>&1 || true
	[ -n "$smt_pid" ] && kill "$smt_pid" 2>/dev/null
	wait 2>/dev/null
	return 0
}
trap cleanup EXIT
rm -rf "$DIR"
mkdir -p "$DIR/files" "$DIR/san"
for db in master usage; do
	PGOPTIONS='-c client_min_messages=warning' psql -h "$IW_TEST_PGHOST" -U postgres -d postgres -qc "DROP DATABASE IF EXISTS soak_${db}_$SUFFIX WITH (FORCE)" >/dev/null
done

node tests/fakes/smt_proxy.mjs --port "$SMT_PORT" --token "$SMT_TOKEN" >"$DIR/smt_proxy.log" 2>&1 &
smt_pid=$!
for _ in $(seq 1 50); do grep -qs 'SMT proxy stand-in on' "$DIR/smt_proxy.log" && break; sleep 0.1; done
san=()
[[ $IW_BUILD == *san* ]] && san=(IW_SAN_LOG="$DIR/san")
env "${san[@]}" IW_PGHOST="$IW_TEST_PGHOST" IW_DB_PREFIX=soak IW_DB_SUFFIX="$SUFFIX" \
	SMT_PROXY_URL="http://127.0.0.1:$SMT_PORT" SMT_PROXY_TOKEN="$SMT_TOKEN" \
	tools/stack.sh app-start "$DIR" "$PORT" >/dev/null
BASE="http://127.0.0.1:$PORT"
TOKEN=$(grep -m1 '^ADMIN_TOKEN=' "$DIR/env" | cut -d= -f2-)

# Real SMT interval exports (tests/fakes/smt_files.mjs): a week each, distinct ESIIDs.
node --input-type=module -e "
import fs from 'node:fs';
import { intervalFile, addDays } from '$ROOT/tests/fakes/smt_files.mjs';
for (let i = 0; i < 40; i++) {
  const days = []; for (let d = 0; d < 7; d++) days.push(addDays('2025-03-05', d + 7 * i));
  fs.writeFileSync('$DIR/files/IntervalData_' + i + '.csv', intervalFile({ esiid: String(10443720005000000 + i), days, generation: i % 2 === 0 }).buf);
}"

rss_of() { # program -> "pid:KiB ..." of its live copies
	local p=$1 pid out=""
	while read -r pid; do
		[ -n "$pid" ] || continue
		out+="$pid:$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0) "
	done <"$DIR/run/$p.pid"
	echo "$out"
}
snapshot() { # -> file of "program pid KiB" lines
	local p e
	for f in "$DIR"/run/*.supervisor.pid; do
		p=$(basename "$f" .supervisor.pid)
		for e in $(rss_of "$p"); do echo "$p ${e%%:*} ${e##*:}"; done
	done >"$1"
}

pull_loop() { # every pull must answer 200 (a resend is a 200 duplicate)
	local round=0 f code
	while :; do
		for f in "$DIR"/files/*.csv; do
			code=$(curl -s -o /dev/null -w '%{http_code}' -H "x-admin-token: $TOKEN" -H 'content-type: text/csv' \
				--data-binary "@$f" "$BASE/api/admin/smt/pull?filename=$(basename "$f")&meter=soak") || code=000
			echo "pull $code" >>"$DIR/pulls.txt"
			sleep 0.1
		done
		code=$(curl -s -o /dev/null -w '%{http_code}' -H "x-admin-token: $TOKEN" -H 'content-type: application/json' \
			-d '{"esiid":"10443720005000001"}' "$BASE/api/admin/usage/normalize") || code=000
		echo "normalize $code" >>"$DIR/pulls.txt"
		round=$((round + 1))
	done
}

export SOAK_ADMIN_TOKEN=$TOKEN SOAK_ESIID=$ESIID
snapshot "$DIR/rss-start.txt"
pull_loop &
pull_pid=$!
wrk -t2 -c "$CONNS" -d "${WARMUP}s" -s tests/bench/soak.lua "$BASE" >"$DIR/wrk-warmup.txt" 2>&1
snapshot "$DIR/rss-warm.txt"
wrk -t2 -c "$CONNS" -d "${DURATION}s" --timeout 10s -s tests/bench/soak.lua "$BASE" >"$DIR/wrk.txt" 2>&1
snapshot "$DIR/rss-end.txt"
kill "$pull_pid" 2>/dev/null; wait "$pull_pid" 2>/dev/null || true; pull_pid=""
tools/stack.sh app-stop "$DIR" >/dev/null 2>&1

fail=0
echo "soak: build $IW_BUILD, ${DURATION}s after ${WARMUP}s warm-up, $CONNS connections, IW_WORKERS=${IW_WORKERS:-2}"
grep '^SOAK' "$DIR/wrk.txt" | sed 's/^SOAK /wrk: /'
grep -q '^SOAK unexpected=0 ' "$DIR/wrk.txt" || fail=1
grep -q '^SOAK socket_errors connect=0 read=0 write=0 timeout=0$' "$DIR/wrk.txt" || fail=1
echo "pulls: $(awk '{c[$1" "$2]++} END {for (k in c) printf "%s=%d ", k, c[k]}' "$DIR/pulls.txt")"
grep -qv ' 200$' "$DIR/pulls.txt" && fail=1
# RSS: per worker, start -> after warm-up -> end (KiB); growth judged warm -> end.
printf '%-28s %8s %10s %10s %10s %8s\n' program pid start_KiB warm_KiB end_KiB growth
max_growth=0
while read -r p pid warm; do
	start=$(awk -v p="$p" -v i="$pid" '$1 == p && $2 == i {print $3}' "$DIR/rss-start.txt")
	end=$(awk -v p="$p" -v i="$pid" '$1 == p && $2 == i {print $3}' "$DIR/rss-end.txt")
	if [ -z "$end" ]; then echo "$p: worker $pid was replaced during the soak"; fail=1; continue; fi
	g=$((end - warm))
	[ "$g" -gt "$max_growth" ] && max_growth=$g
	printf '%-28s %8s %10s %10s %10s %8s\n' "$p" "$pid" "${start:-?}" "$warm" "$end" "$g"
done <"$DIR/rss-warm.txt"
reports=$(find "$DIR/san" -type f | wc -l)
if [[ $IW_BUILD == *san* ]]; then
	echo "rss: not judged on a sanitizer build (max growth ${max_growth} KiB)"
	echo "sanitizer reports: $reports"
	[ "$reports" = 0 ] || { find "$DIR/san" -type f -exec head -30 {} \; ; fail=1; }
else
	echo "rss: max growth per worker after warm-up ${max_growth} KiB (flat: < 1024)"
	[ "$max_growth" -lt 1024 ] || fail=1
fi
[ $fail = 0 ] && echo "soak: PASS" || echo "soak: FAIL"
exit $fail
