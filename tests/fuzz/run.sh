#!/bin/sh
# Runs every libFuzzer target for FUZZ_SECONDS (default 60), two at a time,
# growing tests/fuzz/corpus/<target>/; findings go to tests/out/fuzz/.
#   make fuzz [FUZZ_SECONDS=N]   or   tests/fuzz/run.sh build-fuzz [target...]
set -eu
cd "$(dirname "$0")/../.."
build=${1:-build-fuzz}
[ $# -gt 0 ] && shift
secs=${FUZZ_SECONDS:-60}
out=tests/out/fuzz
mkdir -p "$out"
if [ $# -eq 0 ]; then
	for s in tests/fuzz/fuzz_*.c; do set -- "$@" "$(basename "$s" .c)"; done
fi
run_one() {
	t=$1
	dict=""
	[ -f "tests/fuzz/dict/$t.dict" ] && dict="-dict=tests/fuzz/dict/$t.dict"
	mkdir -p "tests/fuzz/corpus/$t" "$out/$t"
	# shellcheck disable=SC2086
	nice -n 10 "$build/fuzz/$t" -max_total_time="$secs" -max_len=65536 -timeout=1 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/$t/" $dict \
		"tests/fuzz/corpus/$t" >"$out/$t.log" 2>&1
}
status=0
while [ $# -gt 0 ]; do
	a=$1; shift
	run_one "$a" & pa=$!
	pb=""
	if [ $# -gt 0 ]; then b=$1; shift; run_one "$b" & pb=$!; fi
	wait "$pa" || { echo "fuzz $a: finding, see $out/$a.log" >&2; status=1; }
	[ -z "$pb" ] || wait "$pb" || { echo "fuzz $b: finding, see $out/$b.log" >&2; status=1; }
done
for l in "$out"/*.log; do
	printf '%s: %s\n' "$(basename "$l" .log)" "$(grep -E 'stat::number_of_executed_units' "$l" | tail -1)"
done
exit $status
