// GET /metrics (issue 13): Prometheus text of one host. Checked with
// `promtool check metrics` (tools/deps.sh takes promtool alone out of
// Debian's prometheus .deb; without it these tests fail, never skip) and
// with the strict exposition parser below. The figures move after a real
// pull and real cron runs through nginx; the per-route counts and latency
// histograms match nginx's own access log line for line.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, startStack } from '../lib/stack.mjs';
import { intervalFile } from '../fakes/smt_files.mjs';
import { startSmtProxy } from '../fakes/smt_proxy.mjs';

const TOKEN = 'smt-proxy-token-metrics-0123456789';
const ESIID = '10443720000000001';
// Where tools/deps.sh puts it, or any on PATH (deps.sh fetches none then).
const PROMTOOL = [process.env.PROMTOOL, '/usr/local/lib/iw-admin/bin/promtool',
  ...(process.env.PATH || '').split(':').filter(Boolean).map((d) => path.join(d, 'promtool'))]
  .find((p) => p && existsSync(p));
let stack, smt;

before(async () => {
  smt = await startSmtProxy({ token: TOKEN, agreements: [
    { agreementNumber: 501, esiid: '10443720000000501', status: 'ACT' },
    { agreementNumber: 502, esiid: '10443720000000502', status: 'PEN' },
  ] });
  // All addresses: the last test reaches nginx from a non-loopback address.
  // Three copies of every route program: the counts come from nginx, whatever copy answered.
  stack = await startStack({ name: 'metrics', workers: 3, env: {
    IW_LISTEN: '0.0.0.0',
    SMT_PROXY_AGREEMENTS_URL: `${smt.url}/agreements`, SMT_PROXY_TOKEN: TOKEN, SMT_PROXY_TIMEOUT_MS: '3000',
    SMT_STATUS_REFRESH_COOLDOWN_MS: '0',
  } });
});
after(async () => { await stack?.stop(); await smt?.close(); });

// Text format 0.0.4, strictly: every sample's family has one HELP and one
// TYPE before it, names and labels well-formed, values numbers, no
// duplicate series, a family's samples together; a histogram's series are
// NAME_bucket (with le), NAME_sum and NAME_count.
const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = `(${NAME})="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`;
function parse(text) {
  assert.ok(text.endsWith('\n'), 'ends with a line feed');
  const families = new Map();
  const series = new Map();
  let current = null;
  for (const line of text.slice(0, -1).split('\n')) {
    let m;
    if ((m = new RegExp(`^# HELP (${NAME}) (.+)$`).exec(line))) {
      assert.ok(!families.has(m[1]), `one HELP for ${m[1]}`);
      families.set(m[1], { help: m[2], samples: 0 });
      current = m[1];
    } else if ((m = new RegExp(`^# TYPE (${NAME}) (gauge|counter|histogram)$`).exec(line))) {
      assert.equal(m[1], current, `TYPE of ${m[1]} right after its HELP`);
      assert.equal(families.get(m[1]).type, undefined);
      families.get(m[1]).type = m[2];
    } else {
      m = new RegExp(`^(${NAME})(\\{(${LABEL}(?:,${LABEL})*)\\})? (\\S+)$`).exec(line);
      assert.ok(m, `a sample line: ${JSON.stringify(line)}`);
      const name = m[1], labels = m[3] || '', v = m[m.length - 1];
      const f = families.get(current);
      const suffixed = f?.type === 'histogram' ? ['_bucket', '_sum', '_count'].map((x) => current + x) : [current];
      assert.ok(suffixed.includes(name), `${name} among its family's lines`);
      assert.ok(f.type, `${name} has a TYPE`);
      if (name.endsWith('_bucket') && f.type === 'histogram') assert.match(labels, /(^|,)le="/);
      assert.ok(/^(NaN|[+-]?Inf|[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)$/.test(v), `value ${v}`);
      if (f.type !== 'gauge') assert.ok(Number(v) >= 0);
      const key = labels ? `${name}{${labels}}` : name;
      assert.ok(!series.has(key), `one ${key}`);
      series.set(key, Number(v));
      f.samples++;
    }
  }
  for (const [name, f] of families) assert.ok(f.samples > 0, `${name} has samples`);
  return series;
}

// promtool check metrics prints its lint findings (stderr) and exits non-zero on any.
function promtool(text) {
  assert.ok(PROMTOOL, 'promtool is installed (tools/deps.sh, IW_DEPS_TEST=1)');
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(`${r.stdout}${r.stderr}`, '', 'promtool check metrics finds nothing');
  assert.equal(r.status, 0);
}

async function scrape(opts) {
  const r = await stack.get('/metrics', opts);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  promtool(r.text);
  return parse(r.text);
}

test('a fresh stack: every source up, nginx figures, no run yet', async () => {
  const m = await scrape();
  for (const s of ['ercot', 'smt', 'smt_cron', 'nginx', 'access_log']) assert.equal(m.get(`iw_metrics_source_up{source="${s}"}`), 1, s);
  assert.equal(m.get('iw_smt_raw_files_24h'), 0);
  assert.equal(m.get('iw_smt_intervals_24h'), 0);
  assert.equal(m.get('iw_smt_cron_failed_runs_24h'), 0);
  assert.equal(m.has('iw_smt_cron_last_run_timestamp_seconds'), false);
  assert.equal(m.has('iw_smt_newest_interval_age_seconds'), false);
  assert.ok(m.get('iw_nginx_http_requests_total') >= 1);
  assert.ok(m.get('iw_nginx_connections_active') >= 1, 'this scrape is an open connection');
  assert.equal(m.get(`iw_metrics_host_info{host="${os.hostname()}"}`), 1);
  // stub_status itself answers a loopback client only through nginx's allow list.
  const s = await stack.get('/nginx_status');
  assert.match(s.text, /^Active connections: \d+/);
});

test('after ERCOT files, a pull and two cron runs the figures are exact', async () => {
  await stack.sql('master', `INSERT INTO "ErcotIngest" (status, tdsp, "rowCount", "sizeBytes", "createdAt", "fileSha256") VALUES
    ('ok', 'ONCOR', 100, 1000, timestamp '2026-11-20 06:00:00', 'a1'),
    ('ok', 'ONCOR', 120, 1500, timestamp '2026-11-21 06:00:00', 'a2'),
    ('error', 'ONCOR', NULL, NULL, timestamp '2026-11-22 06:00:00', 'a3'),
    ('ok', 'CENTERPOINT', 7, 70, timestamp '2026-11-21 07:30:00.250', 'b1'),
    ('skipped', 'AEP "CENTRAL"', 1, 1, timestamp '2026-11-21 07:30:00', 'c1'),
    ('ok', 'T"N\\MP', 3, 30, timestamp '2026-11-21 08:00:00', 'd1')`);
  const before = await scrape();
  const f = intervalFile({ esiid: ESIID, days: ['2026-11-01', '2026-11-02'] });
  const pull = await stack.post('/api/admin/smt/pull', {
    mode: 'inline', filename: 'IntervalData.csv', content_b64: f.buf.toString('base64'), encoding: 'base64',
  }, { admin: true });
  assert.equal(pull.status, 200, pull.text);
  await stack.sql('master', `INSERT INTO "SmtAuthorization" ("id","esiid") VALUES ('a-501','10443720000000501'), ('a-502','10443720000000502')`);
  const ok = await stack.post('/api/admin/smt/cron/status', { status: 'ALL' }, { admin: true });
  assert.equal(ok.status, 200, ok.text);
  smt.options.fault = { mode: 'http500' };
  const bad = await stack.post('/api/admin/smt/cron/status', { status: 'ALL' }, { admin: true });
  smt.options.fault = null;
  assert.equal(bad.status, 502, bad.text);

  const m = await scrape();
  // Session zone of the test cluster: the stored wall times read back as epochs.
  const epoch = async (ts) => Number((await stack.sql('master',
    `SELECT extract(epoch FROM $1::timestamp::timestamptz)::text AS e`, [ts]))[0].e);
  assert.equal(m.get('iw_ercot_last_success_timestamp_seconds{tdsp="ONCOR"}'), await epoch('2026-11-21 06:00:00'));
  assert.equal(m.get('iw_ercot_last_success_bytes{tdsp="ONCOR"}'), 1500);
  assert.equal(m.get('iw_ercot_last_success_rows{tdsp="ONCOR"}'), 120);
  assert.equal(m.get('iw_ercot_last_success_timestamp_seconds{tdsp="CENTERPOINT"}'), await epoch('2026-11-21 07:30:00.25'));
  assert.equal(m.get('iw_ercot_last_success_rows{tdsp="CENTERPOINT"}'), 7);
  assert.equal([...m.keys()].filter((k) => k.includes('AEP')).length, 0, 'a skipped file is no success');
  assert.equal(m.get('iw_ercot_last_success_rows{tdsp="T\\"N\\\\MP"}'), 3, 'label value escaped');
  assert.equal(m.get('iw_smt_raw_files_24h'), 1);
  assert.equal(m.get('iw_smt_intervals_24h'), 100 + 96, '1 November 2026 is the fall-back day');
  assert.ok(m.get('iw_smt_newest_interval_age_seconds') >= 0 && m.get('iw_smt_newest_interval_age_seconds') < 60);
  const runs = await stack.sql('master', `SELECT ok, scanned, updated, failed, error,
    extract(epoch FROM "finishedAt")::float8 AS at FROM "SmtCronRun" ORDER BY id`);
  assert.equal(runs.length, 2);
  assert.equal(runs[0].ok, true);
  assert.equal(runs[0].scanned, 2);
  assert.equal(runs[0].updated, ok.json.updated);
  assert.equal(runs[1].ok, false);
  assert.ok(runs[1].error);
  assert.equal(m.get('iw_smt_cron_last_run_success'), 0);
  assert.equal(m.get('iw_smt_cron_failed_runs_24h'), 1);
  assert.equal(m.get('iw_smt_cron_last_run_rows{outcome="scanned"}'), bad.json.scanned ?? 0);
  assert.ok(Math.abs(m.get('iw_smt_cron_last_run_timestamp_seconds') - runs[1].at) < 0.001);
  assert.ok(m.get('iw_nginx_http_requests_total') >= before.get('iw_nginx_http_requests_total') + 4);
});

// nginx's access log as the expected figures: per route (as web/access_log.c
// names it) the count per status, the histogram buckets and the sum in ms.
const BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000];
function logLines(file) {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
}
function expectedFrom(lines) {
  const routes = new Map();
  for (const l of lines) {
    let name = l.route.replace(/^\/_iw\/token\//, '/') || 'other';
    if (!/^\/[A-Za-z0-9/_.-]{0,94}$/.test(name)) name = 'other';
    if (!routes.has(name)) routes.set(name, { codes: new Map(), buckets: Array(BUCKETS_MS.length + 1).fill(0), count: 0, sumMs: 0 });
    const r = routes.get(name), ms = Math.round(l.duration_ms * 1000);
    r.codes.set(l.status, (r.codes.get(l.status) || 0) + 1);
    const b = BUCKETS_MS.findIndex((x) => ms <= x);
    r.buckets[b < 0 ? BUCKETS_MS.length : b]++;
    r.count++;
    r.sumMs += ms;
  }
  return routes;
}
// Every per-route series of scrape M equals what the log lines say, and no other exists.
function assertMatchesLog(m, lines) {
  const host = os.hostname(), want = expectedFrom(lines);
  const les = [...BUCKETS_MS.map((x) => String(x / 1000)), '+Inf'];
  let n = 0;
  for (const [route, r] of want) {
    const at = `host="${host}",route="${route}"`;
    for (const [code, c] of r.codes) { assert.equal(m.get(`iw_http_requests_total{${at},code="${code}"}`), c, `${route} ${code}`); n++; }
    let cum = 0, prev = 0;
    les.forEach((le, i) => {
      cum += r.buckets[i];
      const got = m.get(`iw_http_request_duration_seconds_bucket{${at},le="${le}"}`);
      assert.equal(got, cum, `${route} le=${le}`);
      assert.ok(got >= prev, 'buckets are cumulative'); prev = got;
      n++;
    });
    assert.equal(m.get(`iw_http_request_duration_seconds_bucket{${at},le="+Inf"}`), r.count);
    assert.equal(m.get(`iw_http_request_duration_seconds_count{${at}}`), r.count, `${route} count`);
    assert.equal(m.get(`iw_http_request_duration_seconds_sum{${at}}`).toFixed(3), (r.sumMs / 1000).toFixed(3), `${route} sum`);
    n += 2;
  }
  const got = [...m.keys()].filter((k) => /^iw_http_request(s_total|_duration_seconds_)/.test(k));
  assert.equal(got.length, n, 'no series beyond the log\'s routes');
}

// The scrape whose own access-log line has request id ID counted every line
// before it: wait for that line (nginx writes it once the answer is out).
async function scrapeWithLog(id, files) {
  const m = await scrape({ headers: { 'x-request-id': id } });
  for (let i = 0; i < 100; i++) {
    const lines = files.flatMap((f) => logLines(f));
    const at = lines.findIndex((l) => l.request_id === id);
    if (at >= 0) return { m, before: lines.slice(0, at) };
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no access log line for ${id}`);
}

async function inParallel(n, width, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => { while (next < n) await fn(next++); }));
}

test('per-route request counts and latency histograms: exact against nginx, three workers, log rotation', async () => {
  const log = path.join(stack.dir, 'log/nginx-access.log');
  const host = os.hostname();
  const workers = readFileSync(path.join(stack.dir, 'run/ercot_ingests.pid'), 'utf8').split('\n').filter(Boolean);
  assert.equal(workers.length, 3, 'three copies of the route program');
  // Bytes each copy has read (its FastCGI requests, its Postgres replies).
  const rchar = () => workers.map((pid) => Number(/rchar: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))[1]));
  const readBefore = rchar();
  const a = await scrapeWithLog('metrics-scrape-a', [log]);
  assertMatchesLog(a.m, a.before);

  // Two routes, many requests at once (so several copies answer), a refusal
  // by the program, one by the auth gate, and a path that is no route.
  const N = 40, K = 24;
  await inParallel(N, 8, async () => assert.equal((await stack.get('/healthz')).status, 200));
  await inParallel(K, 8, async (i) => {
    const r = await stack.get('/api/admin/ercot/ingests?limit=5', { admin: i % 4 !== 0 });
    assert.equal(r.status, i % 4 ? 200 : 401, r.text);
  });
  assert.equal((await stack.post('/api/admin/smt/raw-upload', {})).status, 401); // the auth gate
  assert.equal((await stack.get('/no/such/route')).status, 404);

  const busy = rchar().filter((n, i) => n > readBefore[i]).length;
  assert.ok(busy >= 2, `the requests were answered by ${busy} of the 3 copies`);
  const b = await scrapeWithLog('metrics-scrape-b', [log]);
  assertMatchesLog(b.m, b.before);
  const d = (k) => (b.m.get(k) ?? 0) - (a.m.get(k) ?? 0);
  const at = (route) => `host="${host}",route="${route}"`;
  assert.equal(d(`iw_http_requests_total{${at('/healthz')},code="200"}`), N);
  assert.equal(d(`iw_http_request_duration_seconds_count{${at('/healthz')}}`), N);
  assert.equal(d(`iw_http_request_duration_seconds_bucket{${at('/healthz')},le="+Inf"}`), N);
  assert.equal(d(`iw_http_requests_total{${at('/api/admin/ercot/ingests')},code="200"}`), K * 3 / 4);
  assert.equal(d(`iw_http_requests_total{${at('/api/admin/ercot/ingests')},code="401"}`), K / 4);
  assert.equal(d(`iw_http_request_duration_seconds_count{${at('/api/admin/ercot/ingests')}}`), K);
  assert.equal(d(`iw_http_requests_total{${at('/api/admin/smt/raw-upload')},code="401"}`), 1);
  assert.equal(d(`iw_http_requests_total{${at('other')},code="404"}`), 1);
  assert.equal(d(`iw_http_requests_total{${at('/metrics')},code="200"}`), 1, 'scrape a, logged after it');

  // Lines not yet read when the log is rotated (rename + USR1, as
  // logrotate does) are read from the old file, then the new file.
  await inParallel(10, 5, async () => assert.equal((await stack.get('/healthz')).status, 200));
  renameSync(log, `${log}.1`);
  execFileSync('kill', ['-USR1', readFileSync(path.join(stack.dir, 'run/nginx.pid'), 'utf8').trim()]);
  for (let i = 0; i < 50 && !existsSync(log); i++) await new Promise((r) => setTimeout(r, 20));
  await inParallel(7, 5, async () => assert.equal((await stack.get('/healthz')).status, 200));
  const c = await scrapeWithLog('metrics-scrape-c', [`${log}.1`, log]);
  assertMatchesLog(c.m, c.before);
  assert.equal(c.m.get(`iw_http_requests_total{${at('/healthz')},code="200"}`) -
    b.m.get(`iw_http_requests_total{${at('/healthz')},code="200"}`), 17);
  assert.equal(c.m.get(`iw_http_access_log_lines_skipped_total{host="${host}"}`), 0);
});

test('promtool check metrics is live: it refuses a counter without _total and a sample without HELP', () => {
  assert.throws(() => promtool('# HELP iw_x_ms x\n# TYPE iw_x_ms counter\niw_x_ms 1\n'), /_total/);
  assert.throws(() => promtool('iw_y 1\n'), /no help text/);
});

test('the rules file names the three alerts the issue asks for', () => {
  const text = readFileSync(path.join(ROOT, 'tools/prometheus/iw-admin.rules.yml'), 'utf8');
  assert.doesNotMatch(text, /\t/, 'YAML: no tabs');
  const rules = text.split(/\n\s*- alert: /).slice(1).map((r) => ({
    name: r.split('\n')[0], expr: /\n\s*expr: (.+)/.exec(r)?.[1] }));
  const by = Object.fromEntries(rules.map((r) => [r.name, r.expr]));
  assert.match(by.IwErcotRunStale, /time\(\) - .*iw_ercot_last_success_timestamp_seconds.* > 26 \* 3600/);
  assert.match(by.IwSmtCronFailing, /iw_smt_cron_last_run_success == 0/);
  assert.match(by.IwHealthRouteFailing, /probe_success/);
  for (const r of rules) assert.ok(r.expr, `${r.name} has an expr`);
});

test('the rules file passes promtool check rules', () => {
  assert.ok(PROMTOOL, 'promtool is installed (tools/deps.sh, IW_DEPS_TEST=1)');
  const out = execFileSync(PROMTOOL, ['check', 'rules', path.join(ROOT, 'tools/prometheus/iw-admin.rules.yml')],
    { encoding: 'utf8' });
  assert.match(out, /SUCCESS: \d+ rules found/);
});

test('from a non-loopback address: the admin token is needed, and stub_status is refused', async (t) => {
  const addr = Object.values(os.networkInterfaces()).flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  if (!addr) { t.skip('no non-loopback IPv4 address on this machine'); return; }
  const base = stack.base.replace('127.0.0.1', addr);
  assert.notEqual(base, stack.base);
  const anon = await fetch(`${base}/metrics`);
  assert.equal(anon.status, 401);
  assert.equal((await anon.json()).error, 'unauthorized');
  const wrong = await fetch(`${base}/metrics`, { headers: { 'x-admin-token': 'wrong-token-wrong-token' } });
  assert.equal(wrong.status, 401);
  const good = await fetch(`${base}/metrics`, { headers: { 'x-admin-token': stack.env.ADMIN_TOKEN } });
  assert.equal(good.status, 200);
  parse(await good.text());
  assert.equal((await fetch(`${base}/nginx_status`)).status, 403);
});
