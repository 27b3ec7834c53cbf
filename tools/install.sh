#!/usr/bin/env bash
# make install: tools/install.sh DESTDIR BUILD
#
# Installs the route programs, the tools, the SQL migrations, the nginx
# configuration and the systemd units of iw-admin under DESTDIR (empty: this
# machine). With an empty DESTDIR it also creates the iw-admin user, links the
# nginx site, leaves a self-signed placeholder certificate when none exists, and
# reloads systemd. Nothing is enabled or started: see docs/deploy.md.
#
# Layout (overridable from the environment):
#   IW_LIBDIR   /usr/lib/iw-admin     fcgi/<program>, bin/{iw,iw-migrate,iw-workers,iw-call}, smt/, smoke/
#   IW_BINDIR   /usr/local/bin        iw -> $IW_LIBDIR/bin/iw (the operator's command; /usr/local/bin
#                                     comes before /usr/sbin in root's and sudo's PATH, where
#                                     Debian's wireless tool `iw` lives)
#   IW_COMPLETIONDIR /usr/share/bash-completion/completions   iw (bash completion)
#   IW_SHAREDIR /usr/share/iw-admin   sql/{master,usage}/migrations, env examples, deploy.md
#   IW_UNITDIR  /lib/systemd/system   iw-admin-<program>.{socket,service}, timers, iw-admin.target
#   IW_NGINXDIR /etc/nginx            iw-admin/ (shared files), sites-available/iw-admin.conf
#   IW_RUNDIR   /run/iw-admin         the program sockets
#   IW_SERVER_NAME (iw-admin.example.com), IW_LOCAL_PORT (8080), IW_USER (iw-admin),
#   IW_NGINX_GROUP (www-data: nginx workers connect to the sockets)
#
# Several hosts (docs/scale.md):
#   IW_HOSTS         on the nginx host: the app hosts' IPv4 addresses; nginx gets one
#                    upstream block per route program (tools/nginx-upstreams.sh)
#   IW_FCGI_LISTEN   on an app host: its IPv4 address; each program's socket unit
#                    listens on IW_FCGI_LISTEN:<port> (tools/fcgi-ports), not a unix socket
#   IW_NGINX_ADDRS   with IW_FCGI_LISTEN: the nginx hosts' IPv4 addresses, comma-separated
#                    (FCGI_WEB_SERVER_ADDRS: the programs accept no other peer)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DESTDIR=${1-}
BUILD=${2:-build}
case $BUILD in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
DESTDIR=${DESTDIR%/}

LIBDIR=${IW_LIBDIR:-/usr/lib/iw-admin}
SHAREDIR=${IW_SHAREDIR:-/usr/share/iw-admin}
BINDIR=${IW_BINDIR:-/usr/local/bin}
COMPLETIONDIR=${IW_COMPLETIONDIR:-/usr/share/bash-completion/completions}
UNITDIR=${IW_UNITDIR:-/lib/systemd/system}
NGINXDIR=${IW_NGINXDIR:-/etc/nginx}
RUNDIR=${IW_RUNDIR:-/run/iw-admin}
STATEDIR=/var/lib/iw-admin
CONFDIR="$NGINXDIR/iw-admin"
ENVFILE=/etc/default/iw-admin
SMT_ENVFILE=/etc/default/intelliwatt-smt
SERVER_NAME=${IW_SERVER_NAME:-iw-admin.example.com}
LOCAL_PORT=${IW_LOCAL_PORT:-8080}
SVC_USER=${IW_USER:-iw-admin}
NGINX_GROUP=${IW_NGINX_GROUP:-www-data}
TLS_DIR=/etc/ssl/iw-admin

die() { echo "install: $*" >&2; exit 1; }
say() { echo "install: $*"; }

# The names of the route programs: one per fcgi/*.c.
programs() {
	local f
	for f in "$ROOT"/fcgi/*.c; do basename "$f" .c; done
}

# Substitutes the @NAME@ placeholders of the templates.
render() {
	sed -e "s#@RUN@#$RUNDIR#g" -e "s#@CONF@#$CONFDIR#g" -e "s#@LIBDIR@#$LIBDIR#g" \
		-e "s#@SHAREDIR@#$SHAREDIR#g" -e "s#@STATEDIR@#$STATEDIR#g" -e "s#@ENVFILE@#$ENVFILE#g" \
		-e "s#@USER@#$SVC_USER#g" -e "s#@NGINX_GROUP@#$NGINX_GROUP#g" \
		-e "s#@SERVER_NAME@#$SERVER_NAME#g" -e "s#@LOCAL_PORT@#$LOCAL_PORT#g" \
		-e "s#@PROG@#${2:-}#g" "$1"
}

secret() { openssl rand -hex 24; }

# --- check the build ----------------------------------------------------------------
progs=$(programs)
[ -n "$progs" ] || die "no fcgi/*.c programs"
for p in $progs iw-migrate; do
	[ -x "$BUILD/bin/$p" ] || die "$BUILD/bin/$p is not built (run make)"
done

# --- programs and tools -------------------------------------------------------------
install -d -m 0755 "$DESTDIR$LIBDIR/fcgi" "$DESTDIR$LIBDIR/bin" "$DESTDIR$LIBDIR/smt" \
	"$DESTDIR$LIBDIR/smoke" "$DESTDIR$SHAREDIR" "$DESTDIR$UNITDIR" "$DESTDIR$CONFDIR" \
	"$DESTDIR$NGINXDIR/sites-available" "$DESTDIR/etc/default"
# Programs no longer in fcgi/ must not linger (their units are removed below).
find "$DESTDIR$LIBDIR/fcgi" -mindepth 1 -maxdepth 1 -type f -delete
for p in $progs; do
	install -m 0755 "$BUILD/bin/$p" "$DESTDIR$LIBDIR/fcgi/$p"
done
install -m 0755 "$BUILD/bin/iw-migrate" "$DESTDIR$LIBDIR/bin/iw-migrate"
install -m 0755 "$ROOT/tools/systemd/iw-workers" "$ROOT/tools/systemd/iw-call" "$DESTDIR$LIBDIR/bin/"
# The operator's command (README "The iw command"): rendered for this layout,
# linked into BINDIR unless something else already has that name there.
render "$ROOT/tools/iw" >"$DESTDIR$LIBDIR/bin/iw"
chmod 0755 "$DESTDIR$LIBDIR/bin/iw"
install -d -m 0755 "$DESTDIR$BINDIR" "$DESTDIR$COMPLETIONDIR"
if [ -e "$DESTDIR$BINDIR/iw" ] && [ ! -L "$DESTDIR$BINDIR/iw" ]; then
	say "warning: $BINDIR/iw exists and is not ours: left alone; run $LIBDIR/bin/iw"
else
	# Relative, so a staged tree (DESTDIR) resolves within itself.
	ln -sfn "$(realpath -m --relative-to="$BINDIR" "$LIBDIR/bin/iw")" "$DESTDIR$BINDIR/iw"
fi
install -m 0644 "$ROOT/tools/iw.bash-completion" "$DESTDIR$COMPLETIONDIR/iw"
install -m 0755 "$ROOT/tools/smt/fetch_and_post.sh" "$DESTDIR$LIBDIR/smt/fetch_and_post.sh"
install -m 0755 "$ROOT"/tools/smoke/*.sh "$DESTDIR$LIBDIR/smoke/"

# --- migrations, examples, docs -----------------------------------------------------
rm -rf "$DESTDIR$SHAREDIR/sql"
for db in master usage; do
	install -d -m 0755 "$DESTDIR$SHAREDIR/sql/$db"
	cp -R "$ROOT/sql/$db/migrations" "$DESTDIR$SHAREDIR/sql/$db/migrations"
done
chmod -R u=rwX,go=rX "$DESTDIR$SHAREDIR/sql"
sed -E 's#@[A-Z_]+@#CHANGE_ME_openssl_rand_hex_24#' "$ROOT/tools/systemd/iw-admin.env.example" \
	>"$DESTDIR$SHAREDIR/iw-admin.env.example"
chmod 0644 "$DESTDIR$SHAREDIR/iw-admin.env.example"
install -m 0644 "$ROOT/tools/smt/intelliwatt-smt.env.example" "$DESTDIR$SHAREDIR/intelliwatt-smt.env.example"
[ -f "$ROOT/docs/deploy.md" ] && install -m 0644 "$ROOT/docs/deploy.md" "$DESTDIR$SHAREDIR/deploy.md"

# --- nginx: the files shared with `make run`, rendered for production -------------
rm -rf "$DESTDIR$CONFDIR/routes.d"
install -d -m 0755 "$DESTDIR$CONFDIR/routes.d"
for f in "$ROOT"/nginx/*.conf "$ROOT"/nginx/routes.d/*.conf; do
	rel=${f#"$ROOT"/nginx/}
	render "$f" >"$DESTDIR$CONFDIR/$rel"
	chmod 0644 "$DESTDIR$CONFDIR/$rel"
done
rm -f "$DESTDIR$CONFDIR/iw-upstreams.conf"
if [ -n "${IW_HOSTS:-}" ]; then
	IW_HOSTS=$IW_HOSTS "$ROOT/tools/nginx-upstreams.sh" "$DESTDIR$CONFDIR" || die "IW_HOSTS: see above"
	chmod 0644 "$DESTDIR$CONFDIR/iw-upstreams.conf"
	say "nginx: route programs on $IW_HOSTS"
fi
render "$ROOT/nginx/site.conf.in" >"$DESTDIR$NGINXDIR/sites-available/iw-admin.conf"
chmod 0644 "$DESTDIR$NGINXDIR/sites-available/iw-admin.conf"

# --- systemd units ---------------------------------------------------------------------
# Units of programs that are gone are removed; every current program gets a pair.
for f in "$DESTDIR$UNITDIR"/iw-admin-*.socket; do
	[ -f "$f" ] || continue
	p=$(basename "$f" .socket); p=${p#iw-admin-}
	if ! grep -qx "$p" <<<"$progs"; then
		rm -f "$f" "$DESTDIR$UNITDIR/iw-admin-$p.service"
	fi
done
wants=()
if [ -n "${IW_FCGI_LISTEN:-}" ]; then
	[[ $IW_FCGI_LISTEN =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || die "IW_FCGI_LISTEN: an IPv4 address"
	[[ ${IW_NGINX_ADDRS:-} =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}(,[0-9]{1,3}(\.[0-9]{1,3}){3})*$ ]] ||
		die "IW_FCGI_LISTEN needs IW_NGINX_ADDRS: the nginx hosts' IPv4 addresses, comma-separated"
fi
for p in $progs; do
	render "$ROOT/tools/systemd/iw-admin-program.socket.in" "$p" >"$DESTDIR$UNITDIR/iw-admin-$p.socket"
	render "$ROOT/tools/systemd/iw-admin-program.service.in" "$p" >"$DESTDIR$UNITDIR/iw-admin-$p.service"
	if [ -n "${IW_FCGI_LISTEN:-}" ]; then
		port=$(awk -v p="$p" '$1 == p { print $2; exit }' "$ROOT/tools/fcgi-ports")
		[ -n "$port" ] || die "$p has no port in tools/fcgi-ports"
		sed -i -e "s#^ListenStream=.*#ListenStream=$IW_FCGI_LISTEN:$port\nFreeBind=yes#" \
			"$DESTDIR$UNITDIR/iw-admin-$p.socket"
		sed -i -e "s#^EnvironmentFile=.*#&\nEnvironment=FCGI_WEB_SERVER_ADDRS=$IW_NGINX_ADDRS#" \
			"$DESTDIR$UNITDIR/iw-admin-$p.service"
	fi
	wants+=("iw-admin-$p.socket")
done
# GET /metrics reads nginx's access logs (web/access_log.h; www-data:adm 0640
# once logrotate has run): that program alone joins adm. The settings file may
# name other logs (EnvironmentFile= wins over Environment=).
if grep -qx metrics <<<"$progs"; then
	sed -i -e "s#^EnvironmentFile=.*#&\nSupplementaryGroups=adm\nEnvironment=IW_ACCESS_LOG=/var/log/nginx/iw-admin.access.log:/var/log/nginx/iw-admin.local.log IW_ACCESS_STATE=$STATEDIR/access-log.state#" \
		"$DESTDIR$UNITDIR/iw-admin-metrics.service"
fi
for f in "$ROOT"/tools/systemd/*.service "$ROOT"/tools/systemd/*.timer; do
	render "$f" >"$DESTDIR$UNITDIR/$(basename "$f")"
done
# An app host without nginx: its timers call the nginx host (IW_LOCAL_URL in
# the settings file), where only CRON_SECRET, not x-vercel-cron, is honoured.
if [ -n "${IW_FCGI_LISTEN:-}" ]; then
	sed -i 's#iw-call --vercel-cron #iw-call --cron #' "$DESTDIR$UNITDIR/iw-admin-ercot-cron.service"
fi
wants+=(iw-admin-health.timer iw-admin-ercot-cron.timer iw-admin-smt-status.timer)
wants+=(iw-admin-partitions.timer)
{
	echo "# Everything iw-admin runs on the web host: one socket per route program"
	echo "# and the timers. systemctl enable --now iw-admin.target"
	echo "# (generated by tools/install.sh from fcgi/*.c)"
	echo "[Unit]"
	echo "Description=iw-admin route sockets and timers"
	echo "Wants=${wants[*]}"
	echo
	echo "[Install]"
	echo "WantedBy=multi-user.target"
} >"$DESTDIR$UNITDIR/iw-admin.target"
chmod 0644 "$DESTDIR$UNITDIR"/iw-admin* "$DESTDIR$UNITDIR"/smt-ingest.*

# --- settings: written once, never overwritten ------------------------------------
(
	umask 077
	if [ ! -e "$DESTDIR$ENVFILE" ]; then
		sed -e "s#@ADMIN_TOKEN@#$(secret)#" -e "s#@CRON_SECRET@#$(secret)#" \
			-e "s#@WEBHOOK_SECRET@#$(secret)#" -e "s#@SESSION_SECRET@#$(secret)#" \
			"$ROOT/tools/systemd/iw-admin.env.example" >"$DESTDIR$ENVFILE"
		chmod 0600 "$DESTDIR$ENVFILE"
		say "wrote $ENVFILE (fresh secrets; set DATABASE_URL and USAGE_DATABASE_URL)"
	else
		say "kept the existing $ENVFILE"
	fi
	if [ ! -e "$DESTDIR$SMT_ENVFILE" ]; then
		install -m 0600 "$ROOT/tools/smt/intelliwatt-smt.env.example" "$DESTDIR$SMT_ENVFILE"
	fi
)

# --- this machine only ----------------------------------------------------------------
if [ -z "$DESTDIR" ]; then
	if ! id -u "$SVC_USER" >/dev/null 2>&1; then
		useradd --system --user-group --home-dir "$STATEDIR" --no-create-home \
			--shell /usr/sbin/nologin "$SVC_USER"
		say "created the system user $SVC_USER"
	fi
	if [ ! -e "$TLS_DIR/fullchain.pem" ] || [ ! -e "$TLS_DIR/privkey.pem" ]; then
		install -d -m 0755 "$TLS_DIR"
		(umask 077; openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=$SERVER_NAME" \
			-keyout "$TLS_DIR/privkey.pem" -out "$TLS_DIR/fullchain.pem" 2>/dev/null)
		chmod 0644 "$TLS_DIR/fullchain.pem"
		say "placeholder self-signed certificate in $TLS_DIR: replace it with the real one"
	fi
	if [ -d "$NGINXDIR/sites-enabled" ] && [ ! -e "$NGINXDIR/sites-enabled/iw-admin.conf" ]; then
		ln -s "$NGINXDIR/sites-available/iw-admin.conf" "$NGINXDIR/sites-enabled/iw-admin.conf"
	fi
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
		systemctl daemon-reload
	fi
fi

say "installed $(wc -w <<<"$progs") route programs into $DESTDIR$LIBDIR"
say "next: edit $ENVFILE, then: systemctl start iw-admin-migrate; nginx -t && systemctl reload nginx;"
say "      systemctl enable --now iw-admin.target; journalctl -u iw-admin-health -f"
