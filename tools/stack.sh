#!/usr/bin/env bash
# The local stack: a throwaway Postgres cluster, the FastCGI programs (via
# spawn-fcgi + the iw-workers supervisor, 2 workers each (4 behind pgbouncer), stderr to DIR/log/<program>.log) and nginx, all under one directory.
#
#   stack.sh run                 make run: var/, port ${PORT:-8080}; returns once /healthz answers
#   stack.sh stop                make stop: everything under var/
#   stack.sh pg-start DIR        initdb (once) and start Postgres; socket in DIR/pgrun
#   stack.sh pg-stop DIR
#   stack.sh app-start DIR PORT  databases, migrations (unless IW_MIGRATE=0), programs, nginx
#   stack.sh app-stop DIR
#
# Settings: DIR/env holds KEY=value lines; generated secrets are kept across
# restarts, and any contract setting in this script's environment wins and
# persists (listed by name at each start); IW_RESET=1 drops those.
# IW_PGBOUNCER=1 puts pgbouncer (pool_mode = transaction, IW_PGBOUNCER_POOL
# server connections per database, default 10) between the programs and the
# local cluster; migrations still connect directly.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
BUILD=${IW_BUILD:-build}
BIN="$ROOT/$BUILD/bin"
# Workers a program: 2, or 4 behind pgbouncer. A worker is single-threaded and
# waits out each statement's round trip, which the pooler lengthens by a hop;
# behind it a worker costs no server connection, so more of them hide the hop
# (docs/scale.md, tests/bench/pgbouncer.bench.sh).
if [ "${IW_PGBOUNCER:-0}" = 1 ]; then WORKERS=${IW_WORKERS:-4}; else WORKERS=${IW_WORKERS:-2}; fi

# Settings of the contract that the caller's environment may override.
SETTING_RE='^(ADMIN_TOKEN|CRON_SECRET|INTELLIWATT_[A-Z_]+|DROPLET_[A-Z_]+|DATABASE_URL|USAGE_DATABASE_URL|EXPLORER_DATABASE_URL|EXPLORER_USAGE_DATABASE_URL|STORAGE_DIR|S3_[A-Z_]+|DO_SPACES_[A-Z_]+|SMT_[A-Z_]+|ERCOT_[A-Z_]+|IW_SESSION_[A-Z_]+|IW_DB_[A-Z_]+|IW_NORMALIZE_[A-Z_]+|LOG_[A-Z_]+|TMPDIR)$'

die() { echo "stack: $*" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# --- Postgres ---------------------------------------------------------------

# The cluster lives in DIR/pg unless the postgres user cannot reach DIR
# (a checkout under /root): then under /tmp, named after DIR.
pg_home() {
	local dir=$1
	if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$dir" 2>/dev/null; then
		echo "/tmp/iw-pg-$(echo -n "$dir" | sha256sum | cut -c1-12)"
	else
		echo "$dir/pg"
	fi
}

pg_start() {
	local dir=$1 home
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	home=$(pg_home "$dir")
	mkdir -p "$home/run"
	[ "$(id -u)" = 0 ] && chown postgres: "$home" "$home/run"
	if [ ! -f "$home/data/PG_VERSION" ]; then
		as_pg "$PGBIN/initdb" -D "$home/data" -U postgres --auth=trust -E UTF8 \
			--locale=C.UTF-8 >"$dir/pg-initdb.log" 2>&1 || { cat "$dir/pg-initdb.log" >&2; die "initdb failed"; }
	fi
	ln -sfn "$home/run" "$dir/pgrun"
	if ! as_pg "$PGBIN/pg_ctl" -D "$home/data" status >/dev/null 2>&1; then
		as_pg "$PGBIN/pg_ctl" -D "$home/data" -w -t 60 -l "$home/postgres.log" \
			-o "-c listen_addresses='' -k $home/run -c max_connections=500 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=256MB" \
			start >/dev/null || { tail -20 "$home/postgres.log" >&2; die "postgres did not start"; }
	fi
}

pg_stop() {
	local dir=$1 home
	[ -d "$dir" ] || return 0
	dir=$(cd "$dir" && pwd)
	home=$(pg_home "$dir")
	[ -f "$home/data/PG_VERSION" ] || return 0
	as_pg "$PGBIN/pg_ctl" -D "$home/data" -m fast -w stop >/dev/null 2>&1 || true
}

# --- pgbouncer (IW_PGBOUNCER=1) ---------------------------------------------------
PGB_PORT=6432

# pgbouncer refuses to run as root: it runs as postgres, from a directory that
# user can reach (like the cluster's, see pg_home).
pgb_home() {
	local dir=$1
	if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$dir" 2>/dev/null; then
		echo "/tmp/iw-pgb-$(echo -n "$dir" | sha256sum | cut -c1-12)"
	else
		echo "$dir/pgbouncer"
	fi
}

pgb_start() {
	local dir=$1 pghost=$2 home
	home=$(pgb_home "$dir")
	command -v pgbouncer >/dev/null || die "pgbouncer is not installed (tools/deps.sh)"
	mkdir -p "$home"
	cat >"$home/pgbouncer.ini" <<INI
[databases]
* = host=$pghost
[pgbouncer]
listen_addr =
unix_socket_dir = $home
listen_port = $PGB_PORT
auth_type = trust
auth_file = $home/userlist.txt
pool_mode = transaction
default_pool_size = ${IW_PGBOUNCER_POOL:-10}
max_client_conn = 2000
max_db_connections = ${IW_PGBOUNCER_POOL:-10}
server_lifetime = 3600
logfile = $home/pgbouncer.log
pidfile = $home/pgbouncer.pid
admin_users = postgres
INI
	printf '"postgres" ""\n"iw_explorer" ""\n' >"$home/userlist.txt"
	[ "$(id -u)" = 0 ] && chown -R postgres: "$home"
	as_pg pgbouncer -d -q "$home/pgbouncer.ini" || die "pgbouncer did not start (see $home/pgbouncer.log)"
	for _ in $(seq 1 50); do [ -S "$home/.s.PGSQL.$PGB_PORT" ] && return 0; sleep 0.1; done
	die "pgbouncer did not open its socket (see $home/pgbouncer.log)"
}

pgb_stop() {
	local home pid
	home=$(pgb_home "$1")
	[ -f "$home/pgbouncer.pid" ] || return 0
	pid=$(cat "$home/pgbouncer.pid" 2>/dev/null || true)
	[ -n "$pid" ] && kill -INT "$pid" 2>/dev/null || true
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	rm -f "$home/pgbouncer.pid"
}

# --- settings ------------------------------------------------------------------

secret() { openssl rand -hex 24; }

# Writes DIR/env: previous values, then generated defaults for what is
# missing, then the caller's environment on top. Settings given once persist:
# the names of those that differ from the generated defaults are listed at
# every start (never their values), and a comment line in DIR/env remembers
# which names an environment gave (a given secret looks like a generated one).
# IW_RESET=1 (make run RESET=1) drops every earlier override and keeps the
# generated secrets (the databases and storage stay where the defaults point).
GIVEN_MARK='# given by an environment:'
write_env() {
	local dir=$1 pghost=$2 prefix=$3
	declare -A kv=() def=() given=() now=()
	local order=() k v line generated=" ADMIN_TOKEN CRON_SECRET INTELLIWATT_WEBHOOK_SECRET IW_SESSION_SECRET "
	local reset=${IW_RESET:-0}
	[ "$reset" = 0 ] && reset=""
	# The stack's own knobs are no contract settings: never kept.
	local knob='^(IW_DB_PREFIX|IW_DB_SUFFIX)$'
	# Non-secret defaults, in the form this start writes them.
	def[DATABASE_URL]="postgresql://postgres@/${prefix}_master_${IW_DB_SUFFIX:-dev}?host=$pghost"
	def[USAGE_DATABASE_URL]="postgresql://postgres@/${prefix}_usage_${IW_DB_SUFFIX:-dev}?host=$pghost"
	# The DB explorer's read-only role (iw-migrate explorer-role), trust auth locally.
	def[EXPLORER_DATABASE_URL]="postgresql://iw_explorer@/${prefix}_master_${IW_DB_SUFFIX:-dev}?host=$pghost"
	def[EXPLORER_USAGE_DATABASE_URL]="postgresql://iw_explorer@/${prefix}_usage_${IW_DB_SUFFIX:-dev}?host=$pghost"
	def[STORAGE_DIR]="$dir/storage"
	if [ -f "$dir/env" ]; then
		while IFS= read -r line; do
			if [[ $line == "$GIVEN_MARK"* ]]; then
				for k in ${line#"$GIVEN_MARK"}; do given[$k]=1; done
				continue
			fi
			[[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
			k=${BASH_REMATCH[1]}; v=${BASH_REMATCH[2]}
			[[ $k =~ $knob ]] && continue
			[ -n "${kv[$k]+x}" ] || order+=("$k")
			kv[$k]=$v
		done <"$dir/env"
	fi
	if [ -n "$reset" ]; then
		# Keep only the generated secrets (no environment gave them); the
		# default URLs and paths are written afresh below.
		local keep=()
		for k in "${order[@]}"; do
			if [[ $generated == *" $k "* && -z ${given[$k]+x} ]]; then keep+=("$k"); else unset "kv[$k]"; fi
		done
		order=("${keep[@]}")
		given=()
	fi
	set_default() { if [ -z "${kv[$1]+x}" ]; then order+=("$1"); kv[$1]=$2; fi; }
	set_default ADMIN_TOKEN "$(secret)"
	set_default CRON_SECRET "$(secret)"
	set_default INTELLIWATT_WEBHOOK_SECRET "$(secret)"
	set_default IW_SESSION_SECRET "$(secret)"
	for k in DATABASE_URL USAGE_DATABASE_URL EXPLORER_DATABASE_URL EXPLORER_USAGE_DATABASE_URL; do
		set_default "$k" "${def[$k]}"
	done
	# Through pgbouncer or straight to the local cluster, as this start asks.
	for k in DATABASE_URL USAGE_DATABASE_URL; do
		if [ -n "${PGB_HOST:-}" ] && [[ ${kv[$k]} == *"?host=$pghost" ]]; then
			kv[$k]="${kv[$k]%\?host=*}?host=$PGB_HOST&port=$PGB_PORT"
		elif [ -z "${PGB_HOST:-}" ] && [[ ${kv[$k]} == *"&port=$PGB_PORT" ]]; then
			kv[$k]="${kv[$k]%\?host=*}?host=$pghost"
		fi
		[ -n "${PGB_HOST:-}" ] && def[$k]="${def[$k]%\?host=*}?host=$PGB_HOST&port=$PGB_PORT"
	done
	set_default STORAGE_DIR "${def[STORAGE_DIR]}"
	while IFS='=' read -r k v; do
		[[ $k =~ $SETTING_RE ]] || continue
		[[ $k =~ $knob ]] && continue
		[ -n "${kv[$k]+x}" ] || order+=("$k")
		kv[$k]=${!k}
		given[$k]=1 now[$k]=1
	done < <(env)
	# What differs from the generated defaults: names only, secrets never shown.
	local differ=() kept=()
	for k in "${order[@]}"; do
		if [ -n "${def[$k]+x}" ]; then
			[ "${kv[$k]}" = "${def[$k]}" ] && continue
		elif [[ $generated == *" $k "* ]]; then
			[ -n "${given[$k]+x}" ] || continue
		fi
		differ+=("$k")
		[ -n "${now[$k]+x}" ] || kept+=("$k")
	done
	umask 077
	{
		[ ${#differ[@]} -gt 0 ] && echo "$GIVEN_MARK ${differ[*]}"
		for k in "${order[@]}"; do printf '%s=%s\n' "$k" "${kv[$k]}"; done
	} >"$dir/env.tmp"
	mv "$dir/env.tmp" "$dir/env"
	[ -n "$reset" ] && echo "stack: settings reset to the generated defaults (secrets and data kept)"
	if [ ${#differ[@]} -gt 0 ]; then
		echo "stack: settings that differ from the generated defaults (values in $dir/env): ${differ[*]}"
		[ ${#kept[@]} -gt 0 ] &&
			echo "stack:   kept from an earlier start (not in this environment): ${kept[*]}; RESET=1 (IW_RESET=1) drops them"
	fi
	return 0
}

# Reads DIR/env into the array ENV_ARGS (KEY=value words for env -i).
read_env() {
	local line
	ENV_ARGS=()
	while IFS= read -r line; do
		[[ $line =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] && ENV_ARGS+=("$line")
	done <"$1/env"
}

env_value() { grep -m1 "^$2=" "$1/env" | cut -d= -f2-; }

# --- databases and migrations --------------------------------------------------

db_name() { local url=$1; url=${url%%\?*}; echo "${url##*/}"; }

ensure_db() {
	local pghost=$1 name=$2
	psql -h "$pghost" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = \$\$$name\$\$" | grep -q 1 ||
		psql -h "$pghost" -U postgres -d postgres -qc "CREATE DATABASE \"$name\"" >/dev/null
}

# --- programs and nginx -----------------------------------------------------------

programs() {
	local f
	for f in "$ROOT"/fcgi/*.c; do basename "$f" .c; done
}

render_nginx() {
	local dir=$1 port=$2 f user=""
	mkdir -p "$dir/nginx/conf" "$dir/nginx/body" "$dir/nginx/fastcgi" "$dir/nginx/proxy" \
		"$dir/nginx/uwsgi" "$dir/nginx/scgi"
	[ "$(id -u)" = 0 ] && user="user root;"
	mkdir -p "$dir/nginx/conf/routes.d"
	rm -rf "$dir/nginx/conf"; mkdir -p "$dir/nginx/conf/routes.d"
	for f in "$ROOT"/nginx/*.conf "$ROOT"/nginx/local.conf.in "$ROOT"/nginx/routes.d/*.conf; do
		sed -e "s#@RUN@#$dir/run#g" -e "s#@CONF@#$dir/nginx/conf#g" -e "s#@VAR@#$dir#g" \
			-e "s#@PORT@#$port#g" -e "s#@LISTEN@#${IW_LISTEN:-127.0.0.1}#g" -e "s#@USER@#$user#g" \
			"$f" >"$dir/nginx/conf/${f#"$ROOT"/nginx/}"
	done
	mv "$dir/nginx/conf/local.conf.in" "$dir/nginx/conf/local.conf"
}

app_start() {
	local dir=$1 port=$2 pghost=${IW_PGHOST:-} prefix=${IW_DB_PREFIX:-iw} p
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	[ -n "$pghost" ] || pghost="$dir/pgrun"
	app_stop "$dir"
	mkdir -p "$dir/run" "$dir/log"
	PGB_HOST=""
	if [ "${IW_PGBOUNCER:-0}" = 1 ]; then
		pgb_start "$dir" "$pghost"
		PGB_HOST=$(pgb_home "$dir")
	fi
	write_env "$dir" "$pghost" "$prefix"
	read_env "$dir"
	# GET /metrics reads nginx's access log (web/access_log.h); not kept in DIR/env.
	ENV_ARGS+=(IW_ACCESS_LOG="$dir/log/nginx-access.log" IW_ACCESS_STATE="$dir/run/access-log.state")
	mkdir -p "$(env_value "$dir" STORAGE_DIR)"

	# Databases of the local cluster are created; remote ones must exist.
	local url
	for url in "$(env_value "$dir" DATABASE_URL)" "$(env_value "$dir" USAGE_DATABASE_URL)"; do
		[[ $url == *"host=$pghost"* || ( -n $PGB_HOST && $url == *"host=$PGB_HOST"* ) ]] &&
			ensure_db "$pghost" "$(db_name "$url")"
	done
	# IW_MIGRATE=0 leaves the schema alone (migrations run elsewhere).
	DIRECT_URLS=()
	if [ -n "$PGB_HOST" ]; then
		for k in DATABASE_URL USAGE_DATABASE_URL; do
			url=$(env_value "$dir" "$k")
			DIRECT_URLS+=("$k=${url/host=$PGB_HOST&port=$PGB_PORT/host=$pghost}")
		done
	fi
	if [ "${IW_MIGRATE:-1}" != 0 ]; then
		local db
		for db in master usage; do
			# Migrations take session locks: straight to the cluster, never through pgbouncer.
			env -i PATH="$PATH" "${ENV_ARGS[@]}" "${DIRECT_URLS[@]}" "$BIN/iw-migrate" --dir "$ROOT/sql/$db/migrations" \
				--db "$db" deploy >>"$dir/log/migrate.log" 2>&1 ||
				{ cat "$dir/log/migrate.log" >&2; die "$db migrations failed"; }
			# The interval table's months ahead (docs/ingest.md, "Partitions").
			env -i PATH="$PATH" "${ENV_ARGS[@]}" "${DIRECT_URLS[@]}" "$BIN/iw-migrate" --dir "$ROOT/sql/$db/migrations" \
				--db "$db" partitions >>"$dir/log/migrate.log" 2>&1 ||
				{ cat "$dir/log/migrate.log" >&2; die "$db partitions failed"; }
			# The DB explorer's read-only role and its SELECT grants.
			env -i PATH="$PATH" "${ENV_ARGS[@]}" "${DIRECT_URLS[@]}" "$BIN/iw-migrate" --dir "$ROOT/sql/$db/migrations" \
				--db "$db" explorer-role >>"$dir/log/migrate.log" 2>&1 ||
				{ cat "$dir/log/migrate.log" >&2; die "$db explorer role failed"; }
		done
	fi

	local san=()
	[ -n "${IW_SAN_LOG:-}" ] && san=(ASAN_OPTIONS="log_path=$IW_SAN_LOG/asan:detect_leaks=1:abort_on_error=0"
		UBSAN_OPTIONS="log_path=$IW_SAN_LOG/ubsan:print_stacktrace=1"
		LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp:print_suppressions=0")
	for p in $(programs); do
		# make run and make test build everything first; a partial build
		# (one program being worked on) starts what exists.
		[ -x "$BIN/$p" ] || { echo "stack: warning: $BIN/$p is not built; skipped" >&2; continue; }
		# spawn-fcgi binds the socket and starts one supervisor, the production
		# launcher (tools/systemd/iw-workers): it runs $WORKERS copies on that
		# socket and replaces a copy that dies, alone. run/P.supervisor.pid
		# names it; run/P.pid lists the live copies.
		env -i PATH="$PATH" "${ENV_ARGS[@]}" "${san[@]}" IW_WORKERS_PIDFILE="$dir/run/$p.pid" \
			spawn-fcgi -s "$dir/run/$p.sock" -M 0600 -F 1 -P "$dir/run/$p.supervisor.pid" \
			-- /bin/sh -c 'exec 2>>"$1"; shift; exec "$@"' iw "$dir/log/$p.log" \
			"$ROOT/tools/systemd/iw-workers" "$WORKERS" "$BIN/$p" >/dev/null </dev/null ||
			die "could not start $p (see $dir/log/$p.log)"
	done
	render_nginx "$dir" "$port"
	nginx -p "$dir/nginx" -c "$dir/nginx/conf/local.conf" -e "$dir/log/nginx-error.log" ||
		die "nginx did not start (see $dir/log/nginx-error.log)"
	echo "$port" >"$dir/run/port"
	local code
	for _ in $(seq 1 100); do
		code=$(curl -s -o /dev/null -w '%{http_code}' "http://${IW_LISTEN:-127.0.0.1}:$port/healthz" 2>/dev/null || true)
		case "$code" in
		200) return 0 ;;
		503) echo "stack: warning: /healthz says a database is unavailable" >&2; return 0 ;;
		esac
		sleep 0.1
	done
	die "/healthz did not answer on port $port (logs in $dir/log)"
}

app_stop() {
	local dir=$1 f pid
	[ -d "$dir/run" ] || return 0
	if [ -f "$dir/run/nginx.pid" ]; then
		pid=$(cat "$dir/run/nginx.pid" 2>/dev/null || true)
		[ -n "$pid" ] && kill -QUIT "$pid" 2>/dev/null || true
	fi
	# Supervisors stop their copies; a copy signalled first would be replaced.
	for f in "$dir"/run/*.supervisor.pid; do
		[ -f "$f" ] || continue
		while read -r pid || [ -n "$pid" ]; do [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true; done <"$f"
	done
	for f in "$dir"/run/*.pid; do
		[ -f "$f" ] || continue
		[ "$(basename "$f")" = nginx.pid ] && continue
		[[ $f == *.supervisor.pid ]] && continue
		# Copies whose supervisor is alive are its to stop.
		pid=$(cat "${f%.pid}.supervisor.pid" 2>/dev/null || true)
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && continue
		while read -r pid || [ -n "$pid" ]; do [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true; done <"$f"
	done
	# Wait for the programs to exit (sanitizer reports are written at exit).
	for _ in $(seq 1 50); do
		local alive=0
		for f in "$dir"/run/*.pid; do
			[ -f "$f" ] || continue
			while read -r pid || [ -n "$pid" ]; do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && alive=1; done <"$f"
		done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	# Supervisors first: a copy killed before its supervisor would be replaced.
	for f in "$dir"/run/*.supervisor.pid "$dir"/run/*.pid; do
		[ -f "$f" ] || continue
		while read -r pid || [ -n "$pid" ]; do [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true; done <"$f"
		rm -f "$f"
	done
	rm -f "$dir"/run/*.sock
	pgb_stop "$dir"
}

cmd=${1:-}
case "$cmd" in
run)
	VAR="$ROOT/var"
	PORT=${PORT:-8080}
	app_stop "$VAR"
	pg_start "$VAR"
	app_start "$VAR" "$PORT"
	token=$(env_value "$VAR" ADMIN_TOKEN)
	cat <<MSG
iw-admin is running at http://127.0.0.1:$PORT (settings in var/env, logs in var/log, stop with: make stop)
Settings given to make run persist in var/env (listed above by name); make run RESET=1 drops them.
Try:
  tools/iw health; tools/iw help
  curl -s http://127.0.0.1:$PORT/healthz
  curl -s -H "x-admin-token: \$(grep ^ADMIN_TOKEN= var/env | cut -d= -f2-)" http://127.0.0.1:$PORT/api/admin/ercot/cron/health
MSG
	: "$token"
	;;
stop)
	app_stop "$ROOT/var"
	pg_stop "$ROOT/var"
	echo "iw-admin stopped"
	;;
pg-start) pg_start "${2:?DIR}" ;;
pg-stop) pg_stop "${2:?DIR}" ;;
app-start) app_start "${2:?DIR}" "${3:?PORT}" ;;
app-stop) app_stop "$(cd "${2:?DIR}" && pwd)" ;;
*) sed -n '2,12p' "$0"; exit 2 ;;
esac
