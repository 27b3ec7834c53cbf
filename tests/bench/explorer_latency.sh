#!/usr/bin/env bash
# DB explorer latency through nginx: median (and p90) of N requests of the
# ErcotIngest page and of a SELECT-box query, as an x-admin-token caller.
#
#   tests/bench/explorer_latency.sh BASE_URL ENV_FILE [N] [get|post]
#
# BASE_URL: e.g. http://127.0.0.1:8080; ENV_FILE: the stack's env (ADMIN_TOKEN).
# The last argument says how the SELECT box is called: `get` (?sql=, the
# code before the security hardening) or `post` (form body, the current one).
set -euo pipefail
base=${1:?BASE_URL}
envfile=${2:?ENV_FILE}
n=${3:-20}
mode=${4:-post}
token=$(grep -m1 '^ADMIN_TOKEN=' "$envfile" | cut -d= -f2-)
sql='SELECT status, count(*) AS n FROM "ErcotIngest" GROUP BY 1 ORDER BY 1'

stats() { sort -n | awk '{v[NR]=$1} END {printf "median %.2f ms  p90 %.2f ms  (n=%d)\n", v[int((NR+1)/2)]*1000, v[int(NR*0.9+0.5)]*1000, NR}'; }

page() {
	curl -sS -o /dev/null -w '%{time_total}\n' -H "x-admin-token: $token" \
		"$base/admin/database?table=ErcotIngest"
}
select_box() {
	if [ "$mode" = get ]; then
		curl -sS -o /dev/null -w '%{time_total}\n' -H "x-admin-token: $token" --get \
			--data-urlencode "sql=$sql" --data-urlencode format=json "$base/admin/database"
	else
		curl -sS -o /dev/null -w '%{time_total}\n' -H "x-admin-token: $token" \
			--data-urlencode "sql=$sql" --data-urlencode format=json "$base/admin/database"
	fi
}

page >/dev/null; select_box >/dev/null # warm both workers' connections
page >/dev/null; select_box >/dev/null
printf 'ErcotIngest page: '; for _ in $(seq 1 "$n"); do page; done | stats
printf 'SELECT box (%s): ' "$mode"; for _ in $(seq 1 "$n"); do select_box; done | stats
