#!/usr/bin/env bash
# Requests/s with two app hosts against one: runs the throughput case of
# tests/integration/multihost.test.mjs (network namespaces: nginx, two app
# hosts on TCP, pgbouncer on a db host) for BENCH_SECONDS each way and prints
# its line. GET /healthz touches both databases through pgbouncer. The CPU
# share printed beside each figure is this whole machine's (every "host" shares
# its cores). Goal on real hosts: two >= 1.6x one. Prints; never fails on numbers.
#   IW_BUILD (build), IW_TEST_PGHOST (started if unset), BENCH_SECONDS (10)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export IW_BUILD=${IW_BUILD:-build}
if [ -z "${IW_TEST_PGHOST:-}" ]; then
	tools/stack.sh pg-start tests/out/pg
	export IW_TEST_PGHOST="$ROOT/tests/out/pg/pgrun"
fi
echo "nproc: $(nproc)"
IW_MULTIHOST_BENCH_S=${BENCH_SECONDS:-10} node --test --test-reporter=spec \
	--test-name-pattern='throughput' tests/integration/multihost.test.mjs 2>&1 |
	grep -E 'GET \/healthz wrk|CPU by command|✖' || true
