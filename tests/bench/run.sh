#!/usr/bin/env bash
# make bench: every benchmark prints its numbers and ratios against a baseline
# measured in the same run. Not assertions: read the numbers.
#   build/bench/*            in-process C benchmarks
#   tests/bench/*.bench.sh   stack-level benchmarks (shell)
#   tests/bench/*.bench.mjs  stack-level benchmarks (node)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export IW_BUILD=${IW_BUILD:-build}
[ -d tests/node_modules ] || (cd tests && npm ci --no-audit --no-fund >/dev/null)
tools/stack.sh pg-start tests/out/pg
export IW_TEST_PGHOST="$ROOT/tests/out/pg/pgrun"
rc=0
for b in "$IW_BUILD"/bench/*; do
	[ -x "$b" ] || continue
	echo "== $b"; "$b" || rc=1
done
for b in tests/bench/*.bench.sh; do
	[ -f "$b" ] || continue
	echo "== $b"; bash "$b" || rc=1
done
for b in tests/bench/*.bench.mjs; do
	[ -f "$b" ] || continue
	# growth.bench.mjs fills tables to 50 M rows (~25 GB, ~20 min): opt-in.
	[ "$b" = tests/bench/growth.bench.mjs ] && [ "${GROWTH:-0}" != 1 ] && { echo "== $b: skipped (GROWTH=1 runs it)"; continue; }
	echo "== $b"; node "$b" || rc=1
done
exit $rc
