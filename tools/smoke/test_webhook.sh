#!/usr/bin/env bash
# Smoke test: confirms /api/admin/smt/pull accepts the webhook secret header
# (INTELLIWATT_WEBHOOK_SECRET, alias DROPLET_WEBHOOK_SECRET) without the admin
# token. By default it makes a harmless inline post (a one-interval CSV);
# --trigger sends a trigger instead (the server then calls DROPLET_WEBHOOK_URL).
# 401 → "secret refused", exit 1; ok:true → exit 0; anything else → exit 1.
#   SMOKE_SECRET_HEADER: x-intelliwatt-secret (default) | x-smt-secret | x-webhook-secret
set -uo pipefail
. "$(dirname "$0")/smoke_lib.sh"

secret=$(smoke_setting INTELLIWATT_WEBHOOK_SECRET)
[ -n "$secret" ] || secret=$(smoke_setting DROPLET_WEBHOOK_SECRET)
[ -n "$secret" ] || { echo "test_webhook: INTELLIWATT_WEBHOOK_SECRET is not set" >&2; exit 2; }
header=${SMOKE_SECRET_HEADER:-x-intelliwatt-secret}
case $header in x-intelliwatt-secret | x-smt-secret | x-webhook-secret) ;; *)
	echo "test_webhook: SMOKE_SECRET_HEADER must be x-intelliwatt-secret, x-smt-secret or x-webhook-secret" >&2; exit 2 ;;
esac
esiid=${SMOKE_ESIID:-10443720000000001}

if [ "${1:-}" = --trigger ]; then
	body=$(printf '{"mode":"trigger","reason":"test_webhook","esiid":"%s","ts":"%s"}' "$esiid" "$(date -u +%Y-%m-%dT%H:%M:%SZ)")
else
	day=${SMOKE_DAY:-$(date -u -d yesterday +%-m/%-d/%Y)}
	csv=$(smoke_csv "$esiid" "$day" | head -n 2)
	body=$(printf '{"mode":"inline","source":"adhocusage","filename":"smoke_webhook_%s.csv","encoding":"base64","esiid":"%s","content_b64":"%s"}' \
		"$(date -u +%Y%m%dT%H%M%S)" "$esiid" "$(printf '%s\n' "$csv" | base64 -w0)")
fi
out=$(printf '%s' "$body" | smoke_post /api/admin/smt/pull 3< <(printf '%s: %s\n' "$header" "$secret"))
smoke_split "$out"
answer=$SMOKE_ANSWER
echo "$answer"
case $SMOKE_STATUS in
401) echo "test_webhook: FAILED: the server refused the secret ($header, HTTP 401)" >&2; exit 1 ;;
2??) if [[ $answer =~ \"ok\"[[:space:]]*:[[:space:]]*true ]]; then
	echo "test_webhook: ok: $header accepted (HTTP $SMOKE_STATUS)" >&2; exit 0
fi ;;
esac
echo "test_webhook: FAILED (HTTP $SMOKE_STATUS)" >&2
exit 1
