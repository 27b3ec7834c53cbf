// Route programs on several hosts (docs/scale.md), with hosts made of network
// namespaces on one bridge, all inside this machine (10.201.N.0/24):
//   .1 nginx (upstreams from tools/nginx-upstreams.sh, IW_HOSTS = .2 .3)
//   .2 / .3 two app hosts: every program on TCP (spawn-fcgi -a/-p, ports from
//      tools/fcgi-ports), FCGI_WEB_SERVER_ADDRS = .1
//   .4 the db host: pgbouncer (transaction pooling) on TCP, in front of the
//      test cluster on its unix socket (the database host's own Postgres)
//   .254 this machine's end: the test's HTTP clients and the fakes' forwarders
// Shown: another peer is refused by a program; a program will not listen on
// TCP without the allow-list; GETs under load while one host's programs are
// killed and restarted: none fails; a write in flight on the host that dies:
// a 502 JSON and never a second run on the other host; both hosts' timers at
// once: one ERCOT run and one SMT status run. Throughput with one app host
// against two is reported (IW_MULTIHOST_BENCH_S lengthens it: tests/bench).
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { BIN, BUILD, ROOT, startStack } from '../lib/stack.mjs';
import { fcgiRequest, getParams } from '../lib/fcgi_client.mjs';
import { startErcotMis } from '../fakes/ercot_mis.mjs';
import { constructedName, csvLine, extractRow, makeZip } from '../fakes/ercot_zip.mjs';
import { startSmtProxy } from '../fakes/smt_proxy.mjs';

const run = promisify(execFile);
const id = process.pid % 10000;
const NET = `10.201.${100 + (process.pid % 150)}`;
const NGX = `${NET}.1`, APP = { a: `${NET}.2`, b: `${NET}.3` }, DB = `${NET}.4`, ME = `${NET}.254`;
const NS = { sw: `iwmh${id}s`, n: `iwmh${id}n`, a: `iwmh${id}a`, b: `iwmh${id}b`, d: `iwmh${id}d` };
const HTTP_PORT = 8080;
const BASE = `http://${NGX}:${HTTP_PORT}`;
const BENCH_S = Number(process.env.IW_MULTIHOST_BENCH_S || 3);
const PORTS = Object.fromEntries(readFileSync(path.join(ROOT, 'tools/fcgi-ports'), 'utf8').split('\n')
  .filter((l) => /^[a-z]/.test(l)).map((l) => l.trim().split(/\s+/)).map(([p, n]) => [p, Number(n)]));
const PROGRAMS = readdirSync(path.join(ROOT, 'fcgi')).filter((f) => f.endsWith('.c')).map((f) => f.slice(0, -2));
const TOKEN = 'smt-proxy-multihost-token';

function ip(...args) {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

let netnsReason = null;
{
  const probe = `iwprobe${id}`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0) netnsReason = `network namespaces cannot be made here (ip netns add: ${r.stderr.trim()})`;
  else spawnSync('ip', ['netns', 'del', probe]);
  if (!netnsReason && spawnSync('which', ['wrk']).status !== 0) netnsReason = 'wrk is not installed';
}
const skip = netnsReason || false;
if (netnsReason) test('multihost: skipped', { skip: netnsReason }, () => {});

let stack, mis, smt, dir, pgbDir;
const forwarders = [];
const fakeSeen = { mis: [], smt: [] }; // source addresses of the app hosts' connections

// A TCP forwarder on ME so the app hosts reach a fake listening on loopback.
async function forward(targetPort, seen) {
  const srv = net.createServer((c) => {
    seen.push(c.remoteAddress);
    const up = net.connect(targetPort, '127.0.0.1');
    c.pipe(up); up.pipe(c);
    c.on('error', () => up.destroy()); up.on('error', () => c.destroy());
  });
  await new Promise((r) => srv.listen(0, ME, r));
  forwarders.push(srv);
  return srv.address().port;
}

function makeNetwork() {
  ip('netns', 'add', NS.sw);
  ip('-n', NS.sw, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', NS.sw, 'link', 'set', 'br0', 'up');
  const plug = (key, addr, ns) => {
    const a = `mh${id}${key}0`, b = `mh${id}${key}1`;
    ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
    ip('link', 'set', b, 'netns', NS.sw);
    ip('-n', NS.sw, 'link', 'set', b, 'master', 'br0', 'up');
    if (ns) {
      ip('link', 'set', a, 'netns', ns);
      ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', a);
      ip('-n', ns, 'link', 'set', a, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    } else {
      ip('addr', 'add', `${addr}/24`, 'dev', a);
      ip('link', 'set', a, 'up');
    }
  };
  for (const k of ['n', 'a', 'b', 'd']) ip('netns', 'add', NS[k]);
  plug('n', NGX, NS.n); plug('a', APP.a, NS.a); plug('b', APP.b, NS.b); plug('d', DB, NS.d);
  plug('r', ME, null);
}

function removeNetwork() {
  spawnSync('ip', ['link', 'del', `mh${id}r0`]);
  for (const ns of Object.values(NS)) spawnSync('ip', ['netns', 'del', ns]);
}

function startPgbouncer(pghost) {
  pgbDir = `/tmp/iw-mh-pgb-${process.pid}`;
  rmSync(pgbDir, { recursive: true, force: true });
  mkdirSync(pgbDir, { recursive: true });
  writeFileSync(`${pgbDir}/pgbouncer.ini`, `[databases]
* = host=${pghost}
[pgbouncer]
listen_addr = ${DB}
listen_port = 6432
unix_socket_dir =
auth_type = trust
auth_file = ${pgbDir}/userlist.txt
pool_mode = transaction
default_pool_size = 10
max_db_connections = 10
max_client_conn = 2000
logfile = ${pgbDir}/pgbouncer.log
pidfile = ${pgbDir}/pgbouncer.pid
`);
  writeFileSync(`${pgbDir}/userlist.txt`, '"postgres" ""\n"iw_explorer" ""\n');
  const pw = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const uid = Number(pw.stdout.trim());
  for (const f of ['', '/pgbouncer.ini', '/userlist.txt']) chownSync(`${pgbDir}${f}`, uid, uid);
  const r = spawnSync('ip', ['netns', 'exec', NS.d, 'runuser', '-u', 'postgres', '--', 'pgbouncer', '-d', '-q',
    `${pgbDir}/pgbouncer.ini`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pgbouncer: ${r.stderr}`);
}

function appEnv(host) {
  const e = stack.env;
  const url = (db, user = 'postgres') => `postgresql://${user}@${DB}:6432/${db}`;
  const env = {
    PATH: process.env.PATH,
    ADMIN_TOKEN: e.ADMIN_TOKEN, CRON_SECRET: e.CRON_SECRET,
    INTELLIWATT_WEBHOOK_SECRET: e.INTELLIWATT_WEBHOOK_SECRET, IW_SESSION_SECRET: e.IW_SESSION_SECRET,
    DATABASE_URL: url(stack.dbs.master), USAGE_DATABASE_URL: url(stack.dbs.usage),
    EXPLORER_DATABASE_URL: url(stack.dbs.master, 'iw_explorer'),
    EXPLORER_USAGE_DATABASE_URL: url(stack.dbs.usage, 'iw_explorer'),
    STORAGE_DIR: `${dir}/${host}/storage`,
    ERCOT_MIS_BASE: mis.fwdBase, ERCOT_PAGE_URL: mis.fwdPage,
    SMT_PROXY_AGREEMENTS_URL: `${smt.fwdBase}/agreements`, SMT_PROXY_TOKEN: TOKEN, SMT_PROXY_TIMEOUT_MS: '5000',
    FCGI_WEB_SERVER_ADDRS: NGX,
  };
  if (/san/.test(BUILD)) {
    Object.assign(env, {
      ASAN_OPTIONS: `log_path=${stack.dir}/san/asan:detect_leaks=1:abort_on_error=0`,
      UBSAN_OPTIONS: `log_path=${stack.dir}/san/ubsan:print_stacktrace=1`,
      LSAN_OPTIONS: `suppressions=${ROOT}/tests/lsan.supp:print_suppressions=0`,
    });
  }
  return env;
}

// Every program of app host HOST ('a' or 'b'), 2 workers each, on TCP.
function startPrograms(host) {
  const hd = `${dir}/${host}`;
  mkdirSync(`${hd}/run`, { recursive: true });
  mkdirSync(`${hd}/log`, { recursive: true });
  mkdirSync(`${hd}/storage`, { recursive: true });
  const env = appEnv(host);
  for (const p of PROGRAMS) {
    assert.ok(PORTS[p], `${p} has a port in tools/fcgi-ports`);
    const r = spawnSync('ip', ['netns', 'exec', NS[host], 'spawn-fcgi', '-a', APP[host], '-p', String(PORTS[p]),
      '-F', '2', '-P', `${hd}/run/${p}.pid`, '--', '/bin/sh', '-c', 'exec "$2" 2>>"$1"', 'iw',
      `${hd}/log/${p}.log`, path.join(BIN, p)], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`spawn-fcgi ${p} on ${host}: ${r.stderr}`);
  }
}

function pidsOf(host) {
  const rd = `${dir}/${host}/run`;
  if (!existsSync(rd)) return [];
  return readdirSync(rd).filter((f) => f.endsWith('.pid')).flatMap((f) =>
    readFileSync(path.join(rd, f), 'utf8').split('\n').filter(Boolean).map(Number));
}

// Running (a killed worker may stay a zombie: spawn-fcgi's children are orphans).
function alive(pid) {
  try { return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
}

async function stopPrograms(host, signal = 'SIGTERM') {
  const pids = pidsOf(host);
  for (const pid of pids) { try { process.kill(pid, signal); } catch { /* gone */ } }
  for (let i = 0; i < 50 && pids.some(alive); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  rmSync(`${dir}/${host}/run`, { recursive: true, force: true });
}

function startNginx() {
  const nd = `${dir}/nginx`;
  const conf = `${nd}/conf`;
  for (const d of ['conf/routes.d', 'body', 'fastcgi', 'proxy', 'uwsgi', 'scgi']) mkdirSync(`${nd}/${d}`, { recursive: true });
  mkdirSync(`${dir}/run`, { recursive: true });
  mkdirSync(`${dir}/log`, { recursive: true });
  const files = [...readdirSync(path.join(ROOT, 'nginx')).filter((f) => f.endsWith('.conf') || f === 'local.conf.in'),
    ...readdirSync(path.join(ROOT, 'nginx/routes.d')).map((f) => `routes.d/${f}`)];
  for (const f of files) {
    const text = readFileSync(path.join(ROOT, 'nginx', f), 'utf8').replaceAll('@RUN@', `${dir}/run`)
      .replaceAll('@CONF@', conf).replaceAll('@VAR@', dir).replaceAll('@PORT@', String(HTTP_PORT))
      .replaceAll('@LISTEN@', NGX).replaceAll('@USER@', 'user root;');
    writeFileSync(path.join(conf, f === 'local.conf.in' ? 'local.conf' : f), text);
  }
  const r = spawnSync(path.join(ROOT, 'tools/nginx-upstreams.sh'), [conf], {
    env: { ...process.env, IW_HOSTS: `${APP.a},${APP.b}`, IW_FAIL_TIMEOUT: '2s' }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nginx-upstreams.sh: ${r.stderr}`);
  const n = spawnSync('ip', ['netns', 'exec', NS.n, 'nginx', '-p', nd, '-c', `${conf}/local.conf`, '-e',
    `${dir}/log/nginx-error.log`], { encoding: 'utf8' });
  if (n.status !== 0) throw new Error(`nginx: ${n.stderr}`);
}

async function waitHealthy() {
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`${BASE}/healthz`)).status === 200) return; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('nginx /healthz did not answer 200');
}

async function request(method, route, { body, admin = false, headers = {} } = {}) {
  const h = { ...headers };
  if (admin) h['x-admin-token'] = stack.env.ADMIN_TOKEN;
  if (body !== undefined) h['content-type'] = 'application/json';
  const res = await fetch(BASE + route, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, text, json };
}

// CPU ticks (user + system) of every process on this machine, by command name.
function ticksByCommand() {
  const out = {};
  for (const pid of readdirSync('/proc').filter((f) => /^\d+$/.test(f))) {
    try {
      const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'));
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      out[`${pid}:${comm}`] = Number(f[11]) + Number(f[12]);
    } catch { /* exited */ }
  }
  return out;
}

// Where the CPU went between two ticksByCommand() samples: top commands, % of all.
function cpuSplit(a, b, total) {
  const by = {};
  for (const [k, v] of Object.entries(b)) {
    const comm = k.slice(k.indexOf(':') + 1);
    by[comm] = (by[comm] || 0) + v - (a[k] || 0);
  }
  return Object.entries(by).filter(([, v]) => v > 0).sort((x, y) => y[1] - x[1]).slice(0, 8)
    .map(([c, v]) => `${c} ${Math.round((v / total) * 100)}%`).join(', ');
}

// wrk for SECS on ROUTE; also the share of CPU time this machine was busy.
async function wrk(route, secs, headers = []) {
  const stat = () => readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  const s0 = stat();
  const p0 = ticksByCommand();
  const args = ['-t2', '-c16', `-d${secs}s`, '--latency'];
  for (const h of headers) args.push('-H', h);
  const { stdout } = await run('wrk', [...args, BASE + route]);
  const s1 = stat();
  const p1 = ticksByCommand();
  const d = s1.map((v, i) => v - s0[i]);
  const total = d.reduce((a, b) => a + b, 0);
  const idle = d[3] + d[4];
  const num = (re) => { const m = re.exec(stdout); return m ? Number(m[1]) : 0; };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/), requests: num(/(\d+) requests in/),
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
    socketErrors: sock ? sock.slice(1).map(Number).reduce((a, b) => a + b, 0) : 0,
    p99: /99%\s+(\S+)/.exec(stdout)?.[1], busy: Math.round((1 - idle / total) * 100), stdout,
    split: cpuSplit(p0, p1, total),
  };
}

function requestsLogged(host, program, after = 0) {
  const f = `${dir}/${host}/log/${program}.log`;
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8').split('\n').filter((l) => l.includes('"msg":"request"') || l.includes('"event":"request"'))
    .map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter(Boolean)
    .filter((l) => Date.parse(l.ts) >= after);
}

const D = '2026-11-20';
let seq = 5000;
function doc(friendly, day, rows) {
  const body = makeZip([{ name: `${friendly}.csv`, data: rows.map(csvLine).join('') }]);
  return { docId: String(++seq), friendlyName: friendly, constructedName: constructedName(friendly, day, '055219164'),
    publishDate: `${day}T05:52:19-06:00`, body };
}

before(async () => {
  if (netnsReason) return;
  mis = await startErcotMis({ docs: [doc('ONCOR_ELEC___DAILY', D, [extractRow('10443720000000001', { n: 1 })])] });
  smt = await startSmtProxy({ token: TOKEN, agreements: [
    { agreementNumber: 7001, esiid: '10443720000000001', status: 'ACT' },
    { agreementNumber: 7002, esiid: '10443720000000002', status: 'PEN' },
  ] });
  stack = await startStack({ name: 'multihost', workers: 1 });
  await run(path.join(ROOT, 'tools/stack.sh'), ['app-stop', stack.dir]); // only its databases and settings are used
  dir = path.join(stack.dir, 'hosts');
  rmSync(dir, { recursive: true, force: true });
  await stack.sql('master', `INSERT INTO "SmtAuthorization" ("id","esiid","createdAt") VALUES
    ('mh-1', '10443720000000001', now() - interval '1 hour'), ('mh-2', '10443720000000002', now() - interval '1 hour')`);
  try {
    makeNetwork();
    const misPort = await forward(Number(new URL(mis.base).port), fakeSeen.mis);
    const smtPort = await forward(Number(new URL(smt.url).port), fakeSeen.smt);
    const rehost = (u, port) => { const x = new URL(u); x.host = `${ME}:${port}`; return x.toString().replace(/\/$/, ''); };
    mis.fwdBase = rehost(mis.base, misPort);
    mis.fwdPage = rehost(mis.pageUrl, misPort);
    smt.fwdBase = rehost(smt.url, smtPort);
    startPgbouncer(realpathSync(process.env.IW_TEST_PGHOST));
    startPrograms('a');
    startPrograms('b');
    startNginx();
    await waitHealthy();
  } catch (e) {
    await teardown();
    throw e;
  }
});

async function teardown() {
  if (dir) {
    const pid = existsSync(`${dir}/run/nginx.pid`) ? Number(readFileSync(`${dir}/run/nginx.pid`, 'utf8')) : 0;
    if (pid) { try { process.kill(pid, 'SIGQUIT'); } catch { /* gone */ } }
    await stopPrograms('a');
    await stopPrograms('b');
  }
  if (pgbDir && existsSync(`${pgbDir}/pgbouncer.pid`)) {
    const pid = Number(readFileSync(`${pgbDir}/pgbouncer.pid`, 'utf8'));
    try { process.kill(pid, 'SIGINT'); } catch { /* gone */ }
    for (let i = 0; i < 30 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  }
  if (pgbDir) rmSync(pgbDir, { recursive: true, force: true });
  for (const s of forwarders.splice(0)) s.close();
  removeNetwork();
}

after(async () => {
  if (netnsReason) return;
  try {
    await teardown();
  } finally {
    await stack?.stop();
    await mis?.close();
    await smt?.close();
  }
});

test('a program on TCP answers nginx\'s host and refuses any other peer', { skip }, async () => {
  // A forged request (x-vercel-cron, a loopback REMOTE_ADDR) from this machine's address.
  const forged = getParams('/api/admin/ercot/cron/health', { HTTP_X_VERCEL_CRON: '1', REMOTE_ADDR: '127.0.0.1' });
  const other = await fcgiRequest({ host: APP.a, port: PORTS.ercot_cron_health, localAddress: ME, params: forged });
  assert.equal(other.connected, true, 'the port is reachable');
  assert.equal(other.answered, false, `refused peer got an answer: ${other.stdout}`);
  assert.equal(other.stdout, '');
  // The same client from nginx's host is answered.
  const { stdout } = await run('ip', ['netns', 'exec', NS.n, process.execPath,
    path.join(ROOT, 'tests/lib/fcgi_client.mjs'), APP.a, String(PORTS.healthz), '/healthz']);
  const ok = JSON.parse(stdout);
  assert.equal(ok.answered, true, stdout);
  assert.match(ok.stdout, /"ok":\s*true/);
});

test('a program will not listen on TCP without FCGI_WEB_SERVER_ADDRS', { skip }, async () => {
  const log = `${dir}/unguarded.log`;
  const env = { ...appEnv('a') };
  delete env.FCGI_WEB_SERVER_ADDRS;
  const r = spawnSync('ip', ['netns', 'exec', NS.a, 'spawn-fcgi', '-a', APP.a, '-p', '9999', '-F', '1', '--',
    '/bin/sh', '-c', 'exec "$2" 2>>"$1"', 'iw', log, path.join(BIN, 'healthz')], { env, encoding: 'utf8' });
  assert.equal(r.status, 1, 'spawn-fcgi saw its child exit');
  assert.match(r.stderr, /child exited with: 1/);
  assert.match(readFileSync(log, 'utf8'), /start-up refused: FastCGI on TCP .* without FCGI_WEB_SERVER_ADDRS/);
  const probe = await fcgiRequest({ host: APP.a, port: 9999, localAddress: ME, params: getParams('/healthz') });
  assert.equal(probe.answered, false);
  assert.equal(probe.error, 'ECONNREFUSED', 'nothing listens there');
});

test('throughput: two app hosts against one (GET /healthz, both databases)', { skip }, async (t) => {
  const two = await wrk('/healthz', BENCH_S);
  await stopPrograms('b');
  const one = await wrk('/healthz', BENCH_S);
  startPrograms('b');
  for (const r of [two, one]) {
    assert.ok(r.requests > 0, r.stdout);
    assert.equal(r.non2xx + r.socketErrors, 0, r.stdout);
  }
  const line = `GET /healthz wrk -t2 -c16 ${BENCH_S}s: two hosts ${two.rps} req/s p99 ${two.p99} (CPU ${two.busy}% busy); `
    + `one host ${one.rps} req/s p99 ${one.p99} (CPU ${one.busy}% busy); ratio ${(two.rps / one.rps).toFixed(2)}`;
  t.diagnostic(line);
  t.diagnostic(`CPU by command, two hosts: ${two.split}`);
  t.diagnostic(`CPU by command, one host: ${one.split}`);
  writeFileSync(`${dir}/throughput.txt`, `${line}\ntwo: ${two.split}\none: ${one.split}\n`);
  await new Promise((r) => setTimeout(r, 2100)); // b's fail_timeout passes
});

test('GETs while one app host\'s programs are killed and restarted: none fails', { skip }, async (t) => {
  const t0 = Date.now();
  const load = wrk('/healthz', 6);
  const health = wrk('/api/admin/ercot/cron/health', 6, [`x-admin-token: ${stack.env.ADMIN_TOKEN}`]);
  await new Promise((r) => setTimeout(r, 1500));
  await stopPrograms('a', 'SIGKILL');
  const killedAt = Date.now();
  await new Promise((r) => setTimeout(r, 1500));
  startPrograms('a');
  const restartedAt = Date.now();
  const [h, c] = await Promise.all([load, health]);
  for (const r of [h, c]) {
    assert.ok(r.requests > 100, r.stdout);
    assert.equal(r.non2xx, 0, r.stdout);
    assert.equal(r.socketErrors, 0, r.stdout);
  }
  t.diagnostic(`during the kill: /healthz ${h.requests} requests, cron health ${c.requests}, 0 failed`);
  // Host a serves again after its restart: nginx tries it once its
  // fail_timeout has passed, which a loaded machine may push past the load.
  for (let i = 0; i < 60 && requestsLogged('a', 'healthz', restartedAt).length === 0; i++) {
    await fetch(`${BASE}/healthz`).catch(() => {});
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok(requestsLogged('a', 'healthz', restartedAt).length > 0, 'a serves again after its restart');
  assert.ok(requestsLogged('b', 'healthz', killedAt).length > 0);
  assert.ok(t0 < killedAt);
});

test('a write in flight when its host dies: a 502 JSON, never run again on the other host', { skip }, async () => {
  await new Promise((r) => setTimeout(r, 2100)); // every host back in every upstream
  // POST /api/admin/smt/cron/status: writes smtLastSyncAt after SMT answers.
  smt.options.delayMs = 2000;
  smt.calls.length = 0;
  fakeSeen.smt.length = 0;
  try {
    const post = request('POST', '/api/admin/smt/cron/status', { admin: true, body: { status: 'ALL', limit: 100 } });
    for (let i = 0; i < 50 && !fakeSeen.smt.length; i++) await new Promise((r) => setTimeout(r, 50));
    const victim = fakeSeen.smt[0] === APP.a ? 'a' : 'b';
    assert.ok(fakeSeen.smt.length, 'the run reached SMT');
    await stopPrograms(victim, 'SIGKILL');
    const r = await post;
    assert.equal(r.status, 502, r.text);
    assert.deepEqual([r.json?.ok, r.json?.error], [false, 'upstream_failed']);
    await new Promise((res) => setTimeout(res, 2500)); // a retry would have reached SMT by now
    assert.equal(smt.callsTo('/smt/agreements/myagreements').length, 1, 'SMT was asked once: no second run');
    const synced = await stack.sql('master', `SELECT count(*)::int AS n FROM "SmtAuthorization" WHERE "smtLastSyncAt" IS NOT NULL`);
    assert.equal(synced[0].n, 0, 'the killed run wrote nothing, and nothing ran it again');
    startPrograms(victim);
  } finally {
    smt.options.delayMs = 0;
  }
  // GET /api/admin/ercot/cron writes too: fastcgi_next_upstream off.
  await new Promise((r) => setTimeout(r, 2100));
  mis.options.delayMs = 2000;
  mis.requests.length = 0;
  fakeSeen.mis.length = 0;
  try {
    const get = request('GET', `/api/admin/ercot/cron?date=${D}`, { headers: { authorization: `Bearer ${stack.env.CRON_SECRET}` } });
    for (let i = 0; i < 50 && !fakeSeen.mis.length; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(fakeSeen.mis.length, 'the run reached the MIS');
    const victim = fakeSeen.mis[0] === APP.a ? 'a' : 'b';
    await stopPrograms(victim, 'SIGKILL');
    const r = await get;
    assert.equal(r.status, 502, r.text);
    assert.equal(r.json?.error, 'upstream_failed');
    await new Promise((res) => setTimeout(res, 2500));
    assert.deepEqual([...new Set(fakeSeen.mis)], [APP[victim]], 'the other host never ran it');
    const rows = await stack.sql('master', `SELECT count(*)::int AS n FROM "ErcotIngest"`);
    assert.equal(rows[0].n, 0);
    startPrograms(victim);
  } finally {
    mis.options.delayMs = 0;
  }
});

test('both app hosts\' timers at once: one ERCOT run and one SMT status run', { skip }, async () => {
  await new Promise((r) => setTimeout(r, 2100));
  // The ERCOT lease of the killed run above is still held: let it lapse.
  await stack.sql('master', `UPDATE "IwRunLock" SET "expiresAt" = now() - interval '1 second'`);
  const since = Date.now();
  const timer = (host, args) => run('ip', ['netns', 'exec', NS[host], 'env', '-i', `PATH=${process.env.PATH}`,
    `ADMIN_TOKEN=${stack.env.ADMIN_TOKEN}`, `CRON_SECRET=${stack.env.CRON_SECRET}`, `IW_LOCAL_URL=${BASE}`,
    path.join(ROOT, 'tools/systemd/iw-call'), ...args]).then((r) => r.stdout, (e) => e.stdout);
  const statusOf = (line) => Number(/-> (\d{3})/.exec(line)?.[1]);

  mis.options.delayMs = 1000;
  fakeSeen.mis.length = 0;
  try {
    const out = await Promise.all(['a', 'b'].map((h) => timer(h, ['--cron', '--timeout', '30', 'GET', `/api/admin/ercot/cron?date=${D}`])));
    assert.deepEqual(out.map(statusOf).sort(), [200, 409], out.join('\n'));
    assert.match(out.find((l) => statusOf(l) === 409), /busy/);
  } finally {
    mis.options.delayMs = 0;
  }
  const ingests = await stack.sql('master', `SELECT count(*)::int AS n FROM "ErcotIngest"`);
  assert.equal(ingests[0].n, 1, 'one run stored the day\'s file once');
  // Each host's program served one of the two (nginx spread them).
  const served = ['a', 'b'].map((h) => requestsLogged(h, 'ercot_cron', since).map((l) => l.status));
  assert.deepEqual(served.flat().sort(), [200, 409], JSON.stringify(served));

  smt.options.delayMs = 1000;
  smt.calls.length = 0;
  try {
    const out = await Promise.all(['a', 'b'].map((h) => timer(h, ['--admin', '--timeout', '30', 'POST',
      '/api/admin/smt/cron/status', '{"status":"ALL","limit":100}'])));
    assert.deepEqual(out.map(statusOf).sort(), [200, 409], out.join('\n'));
  } finally {
    smt.options.delayMs = 0;
  }
  assert.equal(smt.callsTo('/smt/agreements/myagreements').length, 1, 'one run asked SMT');
  const synced = await stack.sql('master', `SELECT count(*)::int AS n FROM "SmtAuthorization" WHERE "smtLastSyncAt" IS NOT NULL`);
  assert.equal(synced[0].n, 2);
});

test('make install for several hosts: TCP socket units with the allow-list, upstreams nginx accepts', async () => {
  const dest = `/tmp/iw-mh-install-${process.pid}`;
  rmSync(dest, { recursive: true, force: true });
  const install = (env) => spawnSync(path.join(ROOT, 'tools/install.sh'), [dest, BUILD],
    { env: { ...process.env, ...env }, encoding: 'utf8' });
  try {
    const refused = install({ IW_FCGI_LISTEN: '10.9.0.2' });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /IW_FCGI_LISTEN needs IW_NGINX_ADDRS/);
    const r = install({ IW_HOSTS: '10.9.0.2,10.9.0.3', IW_FCGI_LISTEN: '10.9.0.2', IW_NGINX_ADDRS: '10.9.0.1' });
    assert.equal(r.status, 0, r.stderr);
    const unit = (f) => readFileSync(`${dest}/lib/systemd/system/${f}`, 'utf8');
    assert.match(unit('iw-admin-ercot_cron.socket'), new RegExp(`^ListenStream=10\\.9\\.0\\.2:${PORTS.ercot_cron}$`, 'm'));
    assert.match(unit('iw-admin-ercot_cron.service'), /^Environment=FCGI_WEB_SERVER_ADDRS=10\.9\.0\.1$/m);
    assert.match(unit('iw-admin-ercot-cron.service'), /iw-call --cron --timeout 1800 GET \/api\/admin\/ercot\/cron$/m);
    const conf = `${dest}/etc/nginx/iw-admin`;
    const up = readFileSync(`${conf}/iw-upstreams.conf`, 'utf8');
    assert.match(up, new RegExp(`upstream iw_healthz \\{\\n    zone iw_healthz 64k;\\n    server 10\\.9\\.0\\.2:${PORTS.healthz} max_fails=1 fail_timeout=10s;\\n    server 10\\.9\\.0\\.3:${PORTS.healthz} `));
    assert.doesNotMatch(up, /^\s*keepalive\s/m);
    const ercot = readFileSync(`${conf}/routes.d/40-ercot.conf`, 'utf8');
    assert.doesNotMatch(ercot, /unix:/);
    assert.match(ercot, /fastcgi_pass iw_ercot_cron;\n\s+fastcgi_next_upstream off;/);
    const health = readFileSync(`${conf}/routes.d/00-health.conf`, 'utf8');
    assert.match(health, /fastcgi_pass iw_healthz;\n\s+fastcgi_next_upstream error timeout;/);
    // Every writing route inherits `off` from iw-http.conf; only read-only locations retry.
    const retrying = spawnSync('grep', ['-rl', 'fastcgi_next_upstream error', conf], { encoding: 'utf8' }).stdout.trim().split('\n').map((f) => path.relative(conf, f)).sort();
    assert.deepEqual(retrying, ['iw-server.conf', 'routes.d/00-health.conf', 'routes.d/50-explorer.conf']);
    assert.match(readFileSync(`${conf}/iw-http.conf`, 'utf8'), /^fastcgi_next_upstream off;$/m);
    // nginx accepts the rendered configuration (the paths are rewritten under DESTDIR).
    const main = `${dest}/nginx-test.conf`;
    const fix = (f) => writeFileSync(f, readFileSync(f, 'utf8').replaceAll('/etc/nginx/iw-admin', conf));
    for (const f of readdirSync(conf).filter((x) => x.endsWith('.conf'))) fix(`${conf}/${f}`);
    for (const f of readdirSync(`${conf}/routes.d`)) fix(`${conf}/routes.d/${f}`);
    writeFileSync(main, `pid ${dest}/nginx.pid; error_log stderr; events {} http { include ${conf}/iw-http.conf; server { listen 127.0.0.1:1; include ${conf}/iw-server.conf; } }\n`);
    const t = spawnSync('nginx', ['-t', '-p', dest, '-c', main], { encoding: 'utf8' });
    assert.equal(t.status, 0, t.stderr);
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
});
