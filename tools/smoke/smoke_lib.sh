# shellcheck shell=bash
# Shared by the smoke tests (sourced, not run). Settings come from the
# environment, else from the first env file found: $IW_ENV_FILE, the checkout's
# var/env (make run), /etc/default/iw-admin (make install). The base URL
# defaults to http://127.0.0.1:8080.
SMOKE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

smoke_setting() { # NAME → value from the environment or the env file
	local name=$1 f
	if [ -n "${!name:-}" ]; then printf '%s' "${!name}"; return; fi
	for f in "${IW_ENV_FILE:-}" "$SMOKE_ROOT/var/env" /etc/default/iw-admin; do
		[ -n "$f" ] && [ -r "$f" ] || continue
		grep -m1 "^$name=" "$f" | cut -d= -f2- && return
	done
}

smoke_base() { local b; b=$(smoke_setting INTELLIWATT_BASE_URL); b=${b:-http://127.0.0.1:8080}; printf '%s' "${b%/}"; }

# A small SMT interval CSV (real export layout): DAY (M/D/YYYY) for ESIID, 96 rows.
smoke_csv() { # esiid day
	local esiid=$1 day=$2 h m i=0 start end
	printf 'ESIID,USAGE_DATE,REVISION_DATE,USAGE_START_TIME,USAGE_END_TIME,USAGE_KWH,ESTIMATED_ACTUAL,CONSUMPTION_SURPLUSGENERATION\r\n'
	for ((h = 0; h < 24; h++)); do
		for m in 00 15 30 45; do
			start="$h:$m"
			case $m in 45) end="$(((h + 1) % 24)):00" ;; *) end="$h:$((10#$m + 15))" ;; esac
			printf "'%s,%s,%s,%s,%s,0.%03d,A,Consumption\r\n" "$esiid" "$day" "$day" "$start" "$end" $((100 + i))
			i=$((i + 1))
		done
	done
}

# POSTs JSON from stdin to PATH with one auth header read from fd 3 (kept off
# the command line); prints the answer, then the HTTP status on a last line.
smoke_post() { # path
	curl -sS --connect-timeout 5 --max-time 60 -X POST -H @/dev/fd/3 \
		-H 'content-type: application/json' --data-binary @- -w '\n%{http_code}' "$(smoke_base)$1"
}

# Splits smoke_post's output: sets SMOKE_ANSWER and SMOKE_STATUS.
smoke_split() {
	SMOKE_STATUS=${1##*$'\n'}
	SMOKE_ANSWER=${1%$'\n'*}
	[ "$SMOKE_ANSWER" = "$1" ] && SMOKE_ANSWER=""
}
