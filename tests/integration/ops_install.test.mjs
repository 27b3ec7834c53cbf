// make install (tools/install.sh DESTDIR BUILD): the installed tree, the unit
// contents, `systemd-analyze verify` of every unit, the rendered nginx config
// (`nginx -t`), and then the installed tree run the way systemd would run it —
// inside a private mount + network namespace where DESTDIR is overlaid on /usr,
// /etc: migrations from the migrate unit, every program from its service's
// ExecStart (iw-workers sharing the socket on fd 0), nginx with the production
// site, and the health probe unit's command answering 200 through nginx.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { ROOT, BUILD } from '../lib/stack.mjs';

const run = promisify(execFile);
const DEST = mkdtempSync(path.join(os.tmpdir(), 'iw-install-'));
const UNITS = path.join(DEST, 'lib/systemd/system');
const PROGRAMS = readdirSync(path.join(ROOT, 'fcgi')).filter((f) => f.endsWith('.c')).map((f) => f.slice(0, -2)).sort();
const DBS = { master: 'ops_install_master_test', usage: 'ops_install_usage_test' };
let pgHost;

const read = (rel) => readFileSync(path.join(DEST, rel), 'utf8');
const mode = (rel) => statSync(path.join(DEST, rel)).mode & 0o777;
const canUnshare = spawnSync('unshare', ['-mn', 'true']).status === 0;

async function install() {
  return run(path.join(ROOT, 'tools/install.sh'), [DEST, BUILD], { env: { ...process.env } });
}

before(async () => {
  pgHost = process.env.IW_TEST_PGHOST;
  if (!pgHost) {
    await run(path.join(ROOT, 'tools/stack.sh'), ['pg-start', path.join(ROOT, 'tests/out/pg')]);
    pgHost = path.join(ROOT, 'tests/out/pg/pgrun');
  }
  await install();
});

after(() => rmSync(DEST, { recursive: true, force: true }));

test('make install puts every program, tool, migration and unit in place', () => {
  for (const p of PROGRAMS) {
    assert.ok(mode(`usr/lib/iw-admin/fcgi/${p}`) & 0o111, `${p} installed executable`);
    assert.ok(existsSync(path.join(UNITS, `iw-admin-${p}.socket`)), `${p}.socket`);
    assert.ok(existsSync(path.join(UNITS, `iw-admin-${p}.service`)), `${p}.service`);
  }
  for (const t of ['iw', 'iw-migrate', 'iw-workers', 'iw-call']) assert.ok(mode(`usr/lib/iw-admin/bin/${t}`) & 0o111, t);
  // The operator's command: on PATH through a relative link, with its completion.
  assert.equal(readlinkSync(path.join(DEST, 'usr/local/bin/iw')), '../../lib/iw-admin/bin/iw');
  assert.equal(realpathSync(path.join(DEST, 'usr/local/bin/iw')), realpathSync(path.join(DEST, 'usr/lib/iw-admin/bin/iw')));
  assert.match(read('usr/share/bash-completion/completions/iw'), /^complete -F _iw_admin iw$/m);
  assert.match(read('usr/lib/iw-admin/bin/iw'), /^INSTALLED_ENV_FILE='\/etc\/default\/iw-admin'$/m);
  assert.match(read('usr/lib/iw-admin/bin/iw'), /^INSTALLED_SHAREDIR='\/usr\/share\/iw-admin'$/m);
  assert.ok(mode('usr/lib/iw-admin/smt/fetch_and_post.sh') & 0o111);
  assert.ok(mode('usr/lib/iw-admin/smoke/smt_inline_post_test.sh') & 0o111);
  assert.ok(mode('usr/lib/iw-admin/smoke/test_webhook.sh') & 0o111);
  for (const db of ['master', 'usage']) {
    const src = readdirSync(path.join(ROOT, 'sql', db, 'migrations')).sort();
    assert.deepEqual(readdirSync(path.join(DEST, 'usr/share/iw-admin/sql', db, 'migrations')).sort(), src);
  }
  for (const u of ['iw-admin-health', 'iw-admin-ercot-cron', 'iw-admin-smt-status', 'smt-ingest']) {
    assert.ok(existsSync(path.join(UNITS, `${u}.timer`)), `${u}.timer`);
    assert.ok(existsSync(path.join(UNITS, `${u}.service`)), `${u}.service`);
  }
  const target = read('lib/systemd/system/iw-admin.target');
  for (const p of PROGRAMS) assert.match(target, new RegExp(`Wants=.*\\biw-admin-${p}\\.socket\\b`));
  assert.match(target, /Wants=.*iw-admin-health\.timer.*iw-admin-ercot-cron\.timer.*iw-admin-smt-status\.timer/);
  assert.doesNotMatch(target, /smt-ingest/, 'the droplet timer is not part of the web host target');
});

test('no placeholder is left in any installed text file', () => {
  const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]);
  for (const f of walk(DEST)) {
    if (f.includes('/fcgi/') || f.endsWith('iw-migrate')) continue;
    assert.doesNotMatch(readFileSync(f, 'utf8'), /@[A-Z_]+@/, f);
  }
});

test('each program gets a socket unit and a hardened service unit', () => {
  for (const p of PROGRAMS) {
    const sock = read(`lib/systemd/system/iw-admin-${p}.socket`);
    assert.match(sock, new RegExp(`^ListenStream=/run/iw-admin/${p}\\.sock$`, 'm'));
    assert.match(sock, /^Accept=no$/m);
    assert.match(sock, /^SocketMode=0660$/m);
    assert.match(sock, /^SocketGroup=www-data$/m);
    const svc = read(`lib/systemd/system/iw-admin-${p}.service`);
    assert.match(svc, new RegExp(`^ExecStart=/usr/lib/iw-admin/bin/iw-workers \\$\\{IW_WORKERS\\} /usr/lib/iw-admin/fcgi/${p}$`, 'm'));
    assert.match(svc, new RegExp(`^Requires=iw-admin-${p}\\.socket$`, 'm'));
    for (const line of ['StandardInput=socket', 'StandardOutput=journal', 'Restart=on-failure',
      'EnvironmentFile=/etc/default/iw-admin', 'User=iw-admin', 'ProtectSystem=strict', 'NoNewPrivileges=yes',
      'PrivateTmp=yes', 'ProtectHome=yes', 'CapabilityBoundingSet=', 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6',
      'SystemCallFilter=@system-service', 'ReadWritePaths=/var/lib/iw-admin', 'Environment=IW_WORKERS=2 STORAGE_DIR=/var/lib/iw-admin/storage']) {
      assert.ok(svc.split('\n').includes(line), `${p}: ${line}`);
    }
  }
});

test('the timers: ERCOT daily 12:00 UTC, SMT status hourly with the runbook body, health every minute, SMT ingest every 30 minutes', () => {
  assert.match(read('lib/systemd/system/iw-admin-ercot-cron.timer'), /^OnCalendar=\*-\*-\* 12:00:00 UTC$/m);
  assert.match(read('lib/systemd/system/iw-admin-ercot-cron.service'),
    /^ExecStart=\/usr\/lib\/iw-admin\/bin\/iw-call --vercel-cron --timeout \d+ GET \/api\/admin\/ercot\/cron$/m);
  assert.match(read('lib/systemd/system/iw-admin-smt-status.timer'), /^OnCalendar=\*-\*-\* \*:00:00$/m);
  assert.match(read('lib/systemd/system/iw-admin-smt-status.service'),
    /^ExecStart=.*iw-call --admin .*POST \/api\/admin\/smt\/cron\/status '\{"status":"ALL","limit":100\}'$/m);
  assert.match(read('lib/systemd/system/iw-admin-health.timer'), /^OnCalendar=\*-\*-\* \*:\*:00$/m);
  assert.match(read('lib/systemd/system/iw-admin-health.service'), /^ExecStart=\/usr\/lib\/iw-admin\/bin\/iw-call GET \/healthz$/m);
  assert.match(read('lib/systemd/system/smt-ingest.timer'), /^OnCalendar=\*-\*-\* \*:00\/30:00$/m);
  assert.match(read('lib/systemd/system/smt-ingest.service'), /^ExecStart=\/usr\/lib\/iw-admin\/smt\/fetch_and_post\.sh$/m);
  // The interval tables' months ahead: monthly, both databases, also from the migrate unit.
  assert.match(read('lib/systemd/system/iw-admin-partitions.timer'), /^OnCalendar=\*-\*-01 03:00:00 UTC$/m);
  assert.match(read('lib/systemd/system/iw-admin-partitions.timer'), /^Unit=iw-admin-partitions\.service$/m);
  for (const unit of ['iw-admin-partitions', 'iw-admin-migrate']) {
    for (const db of ['master', 'usage']) {
      assert.match(read(`lib/systemd/system/${unit}.service`), new RegExp(
        `^ExecStart=/usr/lib/iw-admin/bin/iw-migrate --db ${db} --dir /usr/share/iw-admin/sql/${db}/migrations partitions$`, 'm'));
    }
  }
  assert.match(read('lib/systemd/system/iw-admin.target'), /Wants=.*iw-admin-partitions\.timer/);
});

test('the settings file is 0600 with fresh secrets and survives a second install', async () => {
  assert.equal(mode('etc/default/iw-admin'), 0o600);
  assert.equal(mode('etc/default/intelliwatt-smt'), 0o600);
  const env = read('etc/default/iw-admin');
  const token = /^ADMIN_TOKEN=([0-9a-f]{48})$/m.exec(env);
  assert.ok(token, 'a generated ADMIN_TOKEN');
  assert.match(env, /^CRON_SECRET=[0-9a-f]{48}$/m);
  assert.match(env, /^INTELLIWATT_WEBHOOK_SECRET=[0-9a-f]{48}$/m);
  writeFileSync(path.join(DEST, 'etc/default/iw-admin'), env + 'OPERATOR_EDIT=1\n');
  const { stdout } = await install();
  assert.match(stdout, /kept the existing \/etc\/default\/iw-admin/);
  assert.match(read('etc/default/iw-admin'), /OPERATOR_EDIT=1/);
});

test('the nginx config is the shared one, rendered for /run/iw-admin and /etc/nginx/iw-admin', () => {
  const site = read('etc/nginx/sites-available/iw-admin.conf');
  assert.match(site, /^include \/etc\/nginx\/iw-admin\/iw-http\.conf;$/m);
  assert.match(site, /ssl_certificate +\/etc\/ssl\/iw-admin\/fullchain\.pem;/);
  assert.match(site, /ssl_certificate_key +\/etc\/ssl\/iw-admin\/privkey\.pem;/);
  assert.match(site, /listen 127\.0\.0\.1:8080;/);
  for (const f of readdirSync(path.join(ROOT, 'nginx/routes.d'))) {
    const src = readFileSync(path.join(ROOT, 'nginx/routes.d', f), 'utf8');
    const got = read(`etc/nginx/iw-admin/routes.d/${f}`);
    assert.equal(got, src.replaceAll('@RUN@', '/run/iw-admin').replaceAll('@CONF@', '/etc/nginx/iw-admin'));
    for (const m of got.matchAll(/fastcgi_pass unix:\/run\/iw-admin\/([a-z0-9_]+)\.sock;/g)) {
      assert.ok(PROGRAMS.includes(m[1]), `${f}: ${m[1]} is a program with a socket unit`);
    }
  }
});

// The installed tree, run as systemd would run it, in a private namespace.
test('installed tree: systemd-analyze verify, nginx -t, programs from their units, the health probe through nginx', {
  skip: canUnshare ? false : 'unshare -mn is not permitted here',
}, async () => {
  const admin = new pg.Client({ host: pgHost, user: 'postgres', database: 'postgres' });
  await admin.connect();
  for (const db of Object.values(DBS)) {
    await admin.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${db}"`);
  }
  await admin.end();
  // The operator's edits: the databases, and a TLS pair at the placeholder paths.
  const envFile = path.join(DEST, 'etc/default/iw-admin');
  writeFileSync(envFile, read('etc/default/iw-admin')
    .replace(/^DATABASE_URL=.*$/m, `DATABASE_URL=postgresql://postgres@/${DBS.master}?host=${pgHost}`)
    .replace(/^USAGE_DATABASE_URL=.*$/m, `USAGE_DATABASE_URL=postgresql://postgres@/${DBS.usage}?host=${pgHost}`)
    .replace(/^STORAGE_DIR=.*$/m, `STORAGE_DIR=${DEST}/storage`));
  chmodSync(envFile, 0o600);
  const tls = path.join(DEST, 'etc/ssl/iw-admin');
  await run('mkdir', ['-p', tls]);
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=iw-admin.example.com',
    '-keyout', path.join(tls, 'privkey.pem'), '-out', path.join(tls, 'fullchain.pem')]);
  writeFileSync(path.join(DEST, 'nginx-main.conf'), `user root;
worker_processes 1;
pid /run/nginx-test.pid;
error_log stderr warn;
events { worker_connections 256; }
http { include /etc/nginx/sites-available/iw-admin.conf; }
`);
  const script = `
set -u
fail() { echo "FAIL: $*"; exit 1; }
unit_exec() { sed -n 's/^ExecStart=//p' "$UNITS/$1"; }
cleanup() {
  [ -f /run/nginx-test.pid ] && kill -QUIT "$(cat /run/nginx-test.pid)" 2>/dev/null
  for f in /run/iw-admin/*.pid; do [ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null; done
  sleep 0.3
  for f in /run/iw-admin/*.pid; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done
}
trap cleanup EXIT
ip link set lo up
mount -t overlay overlay -o lowerdir="$DEST/usr/lib:/usr/lib" /usr/lib || fail overlay
mount -t overlay overlay -o lowerdir="$DEST/usr/share:/usr/share" /usr/share || fail overlay
mount -t overlay overlay -o lowerdir="$DEST/etc:/etc" /etc || fail overlay
mount -t tmpfs tmpfs /run && mkdir -p /run/iw-admin
mount -t tmpfs tmpfs /var/log/nginx

out=$(systemd-analyze verify "$UNITS"/*.socket "$UNITS"/*.service "$UNITS"/*.timer "$UNITS"/*.target 2>&1) ||
  fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warned: $out"
echo "verify: ok"

nginx -t -c "$DEST/nginx-main.conf" 2>&1 || fail "nginx -t"

set -a; . /etc/default/iw-admin; set +a
export ASAN_OPTIONS=detect_leaks=0
while IFS= read -r cmd; do
  eval "$cmd" >/dev/null 2>&1 || fail "migrate: $cmd"
done < <(unit_exec iw-admin-migrate.service)
echo "migrate: ok"

for p in $PROGRAMS; do
  cmd=$(unit_exec "iw-admin-$p.service")
  cmd=\${cmd//'\${IW_WORKERS}'/$IW_WORKERS}
  spawn-fcgi -s "/run/iw-admin/$p.sock" -M 0660 -F 1 -P "/run/iw-admin/$p.pid" -- $cmd >/dev/null 2>&1 ||
    fail "spawn $p: $cmd"
done
nginx -c "$DEST/nginx-main.conf" || fail "nginx start"

launcher=$(cat /run/iw-admin/healthz.pid)
echo "workers: $(pgrep -c -P "$launcher")"
health=$(eval "$(unit_exec iw-admin-health.service)"); echo "probe rc=$? $health"
cron=$(eval "$(unit_exec iw-admin-ercot-cron.service | sed 's#/api/admin/ercot/cron$#/api/admin/ercot/cron/health#')"); echo "cron rc=$? $cron"
# The installed iw: settings from /etc/default/iw-admin, nginx's loopback listener.
echo "iw-health: $("$DEST/usr/local/bin/iw" health) rc=$?"
echo "iw-ercot: $("$DEST/usr/local/bin/iw" ercot health --json) rc=$?"
"$DEST/usr/local/bin/iw" migrate --db usage status >/dev/null 2>&1; echo "iw-migrate rc=$?"
echo "https: $(curl -sk -o /dev/null -w '%{http_code}' --resolve iw-admin.example.com:443:127.0.0.1 https://iw-admin.example.com/healthz)"
echo "http: $(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Host: iw-admin.example.com' http://127.0.0.1/healthz)"
echo "vercel-cron-public: $(curl -sk -o /dev/null -w '%{http_code}' --interface 127.0.0.2 -H 'x-vercel-cron: 1' --resolve iw-admin.example.com:443:127.0.0.1 https://iw-admin.example.com/api/admin/ercot/cron/health)"

# A worker that dies is replaced alone; its sibling and the launcher stay.
victim=$(pgrep -P "$launcher" | head -1)
sibling=$(pgrep -P "$launcher" | grep -vx "$victim")
kill -KILL "$victim"
for i in $(seq 1 30); do [ "$(pgrep -c -P "$launcher")" = 2 ] && ! pgrep -P "$launcher" | grep -qx "$victim" && break; sleep 0.1; done
kill -0 "$launcher" 2>/dev/null && echo "launcher: alive" || echo "launcher: exited"
echo "after kill: $(pgrep -c -P "$launcher") copies, sibling $(pgrep -P "$launcher" | grep -cx "$sibling"), victim $(pgrep -P "$launcher" | grep -cx "$victim")"
echo "after kill https: $(curl -sk -o /dev/null -w '%{http_code}' --resolve iw-admin.example.com:443:127.0.0.1 https://iw-admin.example.com/healthz)"
# SIGTERM (systemctl stop) stops every copy: no orphans.
kill -TERM "$launcher"
for i in $(seq 1 30); do kill -0 "$launcher" 2>/dev/null || break; sleep 0.1; done
kill -0 "$launcher" 2>/dev/null && echo "stopped: no" || echo "stopped: yes"
echo "orphans: $(pgrep -c -f "^/usr/lib/iw-admin/fcgi/healthz\$" || true)"
`;
  const r = spawnSync('unshare', ['-mn', 'bash', '-c', script], {
    encoding: 'utf8', timeout: 60000,
    env: { ...process.env, DEST, UNITS, PROGRAMS: PROGRAMS.join(' ') },
  });
  const out = `${r.stdout}\n${r.stderr}`;
  assert.equal(r.status, 0, out);
  assert.match(out, /^verify: ok$/m, out);
  assert.match(out, /nginx: configuration file .* test is successful/, out);
  assert.match(out, /^migrate: ok$/m, out);
  assert.match(out, /^workers: 2$/m, 'iw-workers runs IW_WORKERS=2 copies on the shared socket');
  assert.match(out, /^probe rc=0 iw-call: GET \/healthz -> 200 in [0-9.]+s: \{"ok":true,"db":"ok"\}/m, out);
  assert.match(out, /^cron rc=0 iw-call: GET \/api\/admin\/ercot\/cron\/health -> 200 /m, out);
  assert.match(out, /^iw-health: healthy: database ok at http:\/\/127\.0\.0\.1:8080 rc=0$/m, out);
  assert.match(out, /^iw-ercot: \{"ok":true,"missing":\[\],.* rc=0$/m, out);
  assert.match(out, /^iw-migrate rc=0$/m, 'iw migrate finds the installed migrations (IW_MIGRATE_ROOT)');
  assert.match(out, /^https: 200$/m, out);
  assert.match(out, /^http: 308 https:\/\/iw-admin\.example\.com\/healthz$/m, out);
  assert.match(out, /^vercel-cron-public: 401$/m, 'x-vercel-cron from a non-loopback client is cleared');
  assert.match(out, /^launcher: alive$/m, 'a dead copy does not take the launcher down');
  assert.match(out, /^after kill: 2 copies, sibling 1, victim 0$/m, 'the dead copy alone is replaced');
  assert.match(out, /^after kill https: 200$/m, out);
  assert.match(out, /^stopped: yes$/m, out);
  assert.match(out, /^orphans: 0$/m, out);
});
