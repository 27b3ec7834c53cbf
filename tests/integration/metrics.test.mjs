// GET /metrics (issue 13): Prometheus text of one host. Checked with
// `promtool check metrics` when promtool is installed (Debian's prometheus
// package, ~96 MB installed with its web assets: not in tools/deps.sh), and
// always with the strict exposition parser below. The figures move after a
// real pull and real cron runs through nginx.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, startStack } from '../lib/stack.mjs';
import { intervalFile } from '../fakes/smt_files.mjs';
import { startSmtProxy } from '../fakes/smt_proxy.mjs';

const TOKEN = 'smt-proxy-token-metrics-0123456789';
const ESIID = '10443720000000001';
const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));
let stack, smt;

before(async () => {
  smt = await startSmtProxy({ token: TOKEN, agreements: [
    { agreementNumber: 501, esiid: '10443720000000501', status: 'ACT' },
    { agreementNumber: 502, esiid: '10443720000000502', status: 'PEN' },
  ] });
  // All addresses: the last test reaches nginx from a non-loopback address.
  stack = await startStack({ name: 'metrics', env: {
    IW_LISTEN: '0.0.0.0',
    SMT_PROXY_AGREEMENTS_URL: `${smt.url}/agreements`, SMT_PROXY_TOKEN: TOKEN, SMT_PROXY_TIMEOUT_MS: '3000',
    SMT_STATUS_REFRESH_COOLDOWN_MS: '0',
  } });
});
after(async () => { await stack?.stop(); await smt?.close(); });

// Text format 0.0.4, strictly: every sample's family has one HELP and one
// TYPE before it, names and labels well-formed, values numbers, no
// duplicate series, a family's samples together.
function parse(text) {
  assert.ok(text.endsWith('\n'), 'ends with a line feed');
  const families = new Map();
  const series = new Map();
  let current = null;
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  for (const line of text.slice(0, -1).split('\n')) {
    let m;
    if ((m = new RegExp(`^# HELP (${NAME}) (.+)$`).exec(line))) {
      assert.ok(!families.has(m[1]), `one HELP for ${m[1]}`);
      families.set(m[1], { help: m[2], samples: 0 });
      current = m[1];
    } else if ((m = new RegExp(`^# TYPE (${NAME}) (gauge|counter)$`).exec(line))) {
      assert.equal(m[1], current, `TYPE of ${m[1]} right after its HELP`);
      assert.equal(families.get(m[1]).type, undefined);
      families.get(m[1]).type = m[2];
    } else {
      m = new RegExp(`^(${NAME})(\\{(${NAME})="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"\\})? (\\S+)$`).exec(line);
      assert.ok(m, `a sample line: ${JSON.stringify(line)}`);
      const [, name, , label, value, v] = m;
      assert.equal(name, current, `${name} among its family's lines`);
      assert.ok(families.get(name).type, `${name} has a TYPE`);
      assert.ok(/^(NaN|[+-]?Inf|[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)$/.test(v), `value ${v}`);
      if (families.get(name).type === 'counter') assert.ok(Number(v) >= 0);
      const key = label ? `${name}{${label}="${value}"}` : name;
      assert.ok(!series.has(key), `one ${key}`);
      series.set(key, Number(v));
      families.get(name).samples++;
    }
  }
  for (const [name, f] of families) assert.ok(f.samples > 0, `${name} has samples`);
  return series;
}

function promtool(text) {
  if (!PROMTOOL) return;
  execFileSync(PROMTOOL, ['check', 'metrics'], { input: text });
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
  for (const s of ['ercot', 'smt', 'smt_cron', 'nginx']) assert.equal(m.get(`iw_metrics_source_up{source="${s}"}`), 1, s);
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

test('the rules file passes promtool check rules', { skip: !PROMTOOL && 'promtool is not installed' }, () => {
  execFileSync(PROMTOOL, ['check', 'rules', path.join(ROOT, 'tools/prometheus/iw-admin.rules.yml')]);
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
