#!/usr/bin/env bash
# Includes go one way between the layers of common/ (docs/architecture.md):
#   core: nothing of ours    io: core          web: core io
#   usage: core io           smt: core io usage
#   ercot: core io           explorer: core io usage          fcgi/: all
# and libpq / libcurl stay in the layers that own them:
#   PQ...() / <libpq-fe.h>   only io/db*, io/run_lock and the domain folders
#   curl_...() / <curl/...>  only io/http.c and io/storage_s3.c
# Prints each wrong-way edge as FILE:LINE: ... and exits 1 when there is one.
# `tools/check-layers.sh --warn` prints them and exits 0.
set -uo pipefail
cd "$(dirname "$0")/.."
warn=0
[ "${1:-}" = --warn ] && warn=1

declare -A allowed=(
	[core]=""
	[io]="core"
	[web]="core io"
	[usage]="core io"
	[smt]="core io usage"
	[ercot]="core io"
	[explorer]="core io usage"
)
# Uses of a library that are known and not yet moved behind io/ (each line
# "path" exempts that file from the libpq / libcurl rule). Keep it shrinking.
LIB_EXCEPTIONS=tools/check-layers.exceptions
bad=0
report() { echo "$1"; bad=$((bad + 1)); }
excepted() { [ -f "$LIB_EXCEPTIONS" ] && grep -v "^#" "$LIB_EXCEPTIONS" | grep -qxF "$1 $2"; }

for f in $(git ls-files -co --exclude-standard 'common/*.[ch]' 'fcgi/*.c'); do
	case $f in
	common/*/*) layer=${f#common/}; layer=${layer%%/*} ;;
	fcgi/*) layer=fcgi ;;
	*) report "$f: a file of common/ outside a layer folder"; continue ;;
	esac
	if [ "$layer" != fcgi ] && [ -z "${allowed[$layer]+x}" ]; then
		report "$f: unknown layer '$layer'"; continue
	fi
	while IFS=: read -r line inc; do
		inc=${inc#*\"}; inc=${inc%\"*}
		case $inc in
		*/*) to=${inc%%/*} ;;
		*) report "$f:$line: #include \"$inc\" does not name its folder"; continue ;;
		esac
		[ "$layer" = fcgi ] && continue
		[ "$to" = "$layer" ] && continue
		case " ${allowed[$layer]} " in
		*" $to "*) ;;
		*) report "$f:$line: $layer may not include $inc" ;;
		esac
	done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")

	rel=${f#common/}
	if grep -qE '\bPQ[a-zA-Z]+\(|<libpq-fe\.h>' "$f"; then
		case $layer:$rel in
		io:io/db*|io:io/run_lock.*|usage:*|smt:*|ercot:*|explorer:*) ;;
		*) excepted "$f" libpq || report "$f: uses libpq outside io/db* and the domain folders" ;;
		esac
	fi
	if grep -qE '\bcurl_[a-z_]+\(|<curl/' "$f"; then
		case $rel in
		io/http.[ch]|io/storage_s3.[ch]) ;;
		*) excepted "$f" libcurl || report "$f: uses libcurl outside io/http.c and io/storage_s3.c" ;;
		esac
	fi
done

# An exception whose file no longer needs it is stale: the list only shrinks.
if [ -f "$LIB_EXCEPTIONS" ]; then
	while read -r path lib; do
		case $path in ''|'#'*) continue ;; esac
		pat='\bPQ[a-zA-Z]+\(|<libpq-fe\.h>'
		[ "$lib" = libcurl ] && pat='\bcurl_[a-z_]+\(|<curl/'
		[ -f "$path" ] && grep -qE "$pat" "$path" ||
			report "$LIB_EXCEPTIONS: '$path $lib' is no longer needed: remove the line"
	done < "$LIB_EXCEPTIONS"
fi

if [ "$bad" -gt 0 ]; then
	echo "check-layers: $bad wrong-way edge(s)"
	[ "$warn" = 1 ] && exit 0
	exit 1
fi
echo "check-layers: ok"
