#!/usr/bin/env bash
# Runs the tests and ends with one line "N passed, N failed".
#   tests/run.sh unit   unit tests (build/)
#   tests/run.sh lint   shellcheck -S error on every shell script
#   tests/run.sh all    unit tests, integration tests (build/), then the
#                       integration tests again with ASan+UBSan (build-san/),
#                       then a representative third of them (PGBOUNCER_FILES)
#                       with every stack behind pgbouncer in transaction pooling
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
mode=${1:-all}
passed=0 failed=0
mkdir -p tests/out

count_line() { # "... N passed, M failed" -> adds to the totals
	local line=$1
	if [[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
		passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
	fi
}

run_units() {
	local build=$1 t out
	for t in "$build"/tests/test_*; do
		[ -x "$t" ] || continue
		out=$("$t" 2>&1); local rc=$?
		echo "$out" | grep -E 'FAIL|passed' | sed "s#^#[$build] #"
		local last; last=$(echo "$out" | grep -E 'passed, [0-9]+ failed' | tail -n1)
		if [ -z "$last" ]; then failed=$((failed + 1)); echo "[$build] $t: crashed (rc $rc)"; fi
		count_line "$last"
	done
}

# Every route family that touches a database, through pgbouncer (the rest
# reach no database, or the SELECT box's own direct connection).
PGBOUNCER_FILES="foundation smt_cron smt_routes ingest_pull ingest_normalize ingest_direct ercot_cron security pgbouncer"

run_integration() { # build [label files...]
	local build=$1 label=${2:-} out files
	if [ -n "$label" ]; then
		shift 2; files=$(for f in "$@"; do echo "tests/integration/$f.test.mjs"; done)
	else
		files=$(ls tests/integration/*.test.mjs 2>/dev/null)
	fi
	[ -n "$files" ] || return 0
	[ -d tests/node_modules ] || (cd tests && npm ci --no-audit --no-fund >/dev/null 2>&1 || npm install --no-audit --no-fund >/dev/null)
	out=tests/out/integration-$build${label:+-$label}.tap
	build=$build${label:+ $label}
	echo "[$build] integration: $(echo "$files" | wc -l) files"
	IW_BUILD=${build%% *} IW_TEST_PGHOST="$ROOT/tests/out/pg/pgrun" \
		node --test --test-concurrency=2 --test-timeout=300000 --test-reporter=tap $files >"$out" 2>&1
	grep -E '^not ok|^# (tests|pass|fail|skipped)' "$out" | sed "s#^#[$build] #"
	# Show the failures' details.
	if grep -q '^# fail [1-9]' "$out"; then
		grep -B2 -A30 -E '^\s*not ok' "$out" | head -n 200
	fi
	local p f
	p=$(grep -E '^# pass ' "$out" | tail -n1 | awk '{print $3}')
	f=$(grep -E '^# fail ' "$out" | tail -n1 | awk '{print $3}')
	if [ -z "$p" ]; then failed=$((failed + 1)); echo "[$build] integration: runner crashed"; tail -n 30 "$out"; fi
	passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
}

# Every shell script of the repo (*.sh, or a sh/bash shebang) at error level.
run_shellcheck() {
	local files=() f out
	command -v shellcheck >/dev/null || { echo "[lint] shellcheck is not installed (tools/deps.sh)"; failed=$((failed + 1)); return; }
	while IFS= read -r -d '' f; do
		case $f in
		*.sh) files+=("$f") ;;
		*) head -n1 "$f" 2>/dev/null | grep -qE '^#!.*[/ ](ba|da)?sh([[:space:]]|$)' && files+=("$f") ;;
		esac
	done < <(find .ci tools tests Makefile -path tests/node_modules -prune -o -path tests/out -prune -o -type f -print0 2>/dev/null)
	if out=$(shellcheck -S error "${files[@]}" 2>&1); then
		echo "[lint] shellcheck -S error: ${#files[@]} scripts, 0 errors"; passed=$((passed + 1))
	else
		echo "$out" | head -n 60; echo "[lint] shellcheck -S error: errors above"; failed=$((failed + 1))
	fi
}

case "$mode" in
lint)
	run_shellcheck
	;;
unit)
	run_units build
	;;
all)
	run_shellcheck
	run_units build
	tools/stack.sh pg-start tests/out/pg || { echo "0 passed, 1 failed"; exit 1; }
	run_integration build
	run_units build-san
	run_integration build-san
	# shellcheck disable=SC2086
	IW_TEST_PGBOUNCER=1 run_integration build pgbouncer $PGBOUNCER_FILES
	tools/stack.sh pg-stop tests/out/pg
	;;
*) echo "usage: tests/run.sh unit|lint|all" >&2; exit 2 ;;
esac
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
