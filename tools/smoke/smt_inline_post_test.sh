#!/usr/bin/env bash
# Smoke test: posts a small generated SMT interval CSV inline (gzip+base64) to
# /api/admin/smt/pull with the admin token, prints the JSON answer, and exits 0
# only when it says ok:true.
#   ADMIN_TOKEN, INTELLIWATT_BASE_URL (default http://127.0.0.1:8080): from the
#   environment or var/env or /etc/default/iw-admin (see smoke_lib.sh).
#   SMOKE_ESIID (10443720000000001), SMOKE_DAY (M/D/YYYY, default yesterday in UTC).
set -uo pipefail
. "$(dirname "$0")/smoke_lib.sh"

token=$(smoke_setting ADMIN_TOKEN)
[ -n "$token" ] || { echo "smt_inline_post_test: ADMIN_TOKEN is not set" >&2; exit 2; }
esiid=${SMOKE_ESIID:-10443720000000001}
day=${SMOKE_DAY:-$(date -u -d yesterday +%-m/%-d/%Y)}
tmp=$(mktemp) || exit 2
trap 'rm -f "$tmp"' EXIT
smoke_csv "$esiid" "$day" >"$tmp"
size=$(stat -c %s "$tmp")
filename="smoke_IntervalMeterUsage_${esiid}_$(date -u +%Y%m%dT%H%M%S).csv"

out=$(printf '{"mode":"inline","source":"adhocusage","filename":"%s","encoding":"base64+gzip","esiid":"%s","sizeBytes":%s,"content_b64":"%s"}' \
	"$filename" "$esiid" "$size" "$(gzip -c -n "$tmp" | base64 -w0)" |
	smoke_post /api/admin/smt/pull 3< <(printf 'x-admin-token: %s\n' "$token"))
smoke_split "$out"
answer=$SMOKE_ANSWER
echo "$answer"
if [[ $SMOKE_STATUS == 2?? && $answer =~ \"ok\"[[:space:]]*:[[:space:]]*true ]]; then
	echo "smt_inline_post_test: ok (HTTP $SMOKE_STATUS)" >&2
	exit 0
fi
echo "smt_inline_post_test: FAILED (HTTP $SMOKE_STATUS)" >&2
exit 1
