#!/bin/sh
# Replays each fuzz target's committed corpus once, without mutation (the
# regression check of `make test`): tests/fuzz/replay.sh [BUILD], default build-san.
set -eu
cd "$(dirname "$0")/../.."
build=${1:-build-san}
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp}
export ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
fail=0
for src in tests/fuzz/fuzz_*.c; do
	t=$(basename "$src" .c)
	dir=tests/fuzz/corpus/$t
	[ -d "$dir" ] || { echo "fuzz replay: no corpus for $t" >&2; fail=1; continue; }
	if out=$("$build/fuzz-replay/$t" "$dir" 2>&1); then
		echo "fuzz replay $t: ${out##*replayed }"
	else
		echo "$out" >&2
		echo "fuzz replay $t: FAILED" >&2
		fail=1
	fi
done
exit $fail
