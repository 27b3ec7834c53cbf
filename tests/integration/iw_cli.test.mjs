// tools/iw, the operator's command, against a real stack, the SMT proxy
// stand-in and the ERCOT MIS stand-in: every subcommand's readable output and
// its --json output (the route's answer as it came), each exit code class,
// no secret in `ps` while a call runs, and SMT pulls (inline and streamed)
// landing rows.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { BUILD, ROOT, startStack } from '../lib/stack.mjs';
import { startSmtProxy } from '../fakes/smt_proxy.mjs';
import { startErcotMis } from '../fakes/ercot_mis.mjs';
import { constructedName, csvLine, extractRow, makeZip } from '../fakes/ercot_zip.mjs';

const execp = promisify(execFile);
const IW = path.join(ROOT, 'tools/iw');
const TOKEN = 'smt-proxy-token-iwcli-0123456789';
const E = {
  active: '10443720001234567',
  pending: '10443720007654321',
  cancel: '10443720009990001',
  noemail: '10443720009990002',
  small: '10443720005550001',
  large: '10443720005550002',
};
const D1 = '2026-11-26';
const D2 = '2026-11-27';
const TMP = mkdtempSync(path.join(os.tmpdir(), 'iwcli-'));

let smt, mis, stack;

function book() {
  return {
    agreements: [
      { agreementNumber: 1001, esiid: E.active, status: 'ACT', email: 'active@example.com' },
      { agreementNumber: 1002, esiid: E.pending, status: 'PEN' },
      { agreementNumber: 1005, esiid: E.cancel, status: 'ACT', email: 'cancel.me@example.com' },
      { agreementNumber: 1007, esiid: E.noemail, status: 'ACT' },
      { agreementNumber: 1009, esiid: '10443720009990009', status: 'ACT', email: 'term@example.com' },
    ],
    subscriptions: [
      { subscriptionNumber: 5001, esiid: E.active, serviceType: 'SUBSCRIPTION' },
      { subscriptionNumber: 5002, agreementNumber: 1002, serviceType: 'ADHOC' },
      { subscriptionNumber: 5003, esiid: E.cancel, serviceType: 'SUBSCRIPTION' },
    ],
    reports: { 'corr-0001': { status: 'COMPLETED', statusCode: '0000', statusReason: 'Report delivered' } },
  };
}

function ercotDoc(id, friendly, day, rows, { truncate = false } = {}) {
  let body = makeZip([{ name: `${friendly}.csv`, data: rows.map(csvLine).join('') }]);
  if (truncate) body = body.subarray(0, Math.floor(body.length / 2));
  return { docId: String(id), friendlyName: friendly, constructedName: constructedName(friendly, day, '055219164'),
    publishDate: `${day}T05:52:19-06:00`, body };
}

// An SMT interval CSV (real export layout) of DAYS days from 2023-01-02.
function intervalCsv(esiid, days) {
  const out = ['ESIID,USAGE_DATE,REVISION_DATE,USAGE_START_TIME,USAGE_END_TIME,USAGE_KWH,ESTIMATED_ACTUAL,CONSUMPTION_SURPLUSGENERATION\r\n'];
  const t0 = Date.UTC(2023, 0, 2);
  const hm = (q) => `${Math.floor(q / 4) % 24}:${String((q % 4) * 15).padStart(2, '0')}`;
  for (let d = 0; d < days; d++) {
    const dt = new Date(t0 + d * 86400000);
    const day = `${dt.getUTCMonth() + 1}/${dt.getUTCDate()}/${dt.getUTCFullYear()}`;
    for (let q = 0; q < 96; q++) {
      out.push(`'${esiid},${day},${day},${hm(q)},${hm(q + 1)},${(0.1 + (q % 50) / 100).toFixed(3)},A,Consumption\r\n`);
    }
  }
  return out.join('');
}

// Runs tools/iw with only the settings file and the base URL in its environment.
function iw(args, { env = {} } = {}) {
  return new Promise((resolve) => {
    const child = spawn(IW, args, {
      env: { PATH: process.env.PATH, HOME: process.env.HOME || '/root', IW_BUILD: BUILD,
        IW_ENV_FILE: path.join(stack.dir, 'env'), INTELLIWATT_BASE_URL: stack.base, ...env },
    });
    let stdout = '', stderr = '';
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    child.on('close', (code) => resolve({ code, stdout, stderr, pid: child.pid }));
  });
}
const json = (r) => { try { return JSON.parse(r.stdout); } catch { assert.fail(`not JSON: ${r.stdout} ${r.stderr}`); } };
const ok = (r) => assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);

before(async () => {
  smt = await startSmtProxy({ token: TOKEN, ...book() });
  mis = await startErcotMis({ docs: [
    ercotDoc(2001, 'ONCOR_ELEC___DAILY', D1, [extractRow('10443720000000001', { n: 1 }), extractRow('10443720000000002', { n: 2 })]),
    ercotDoc(2002, 'CENTERPOINT__DAILY', D2, [extractRow('1008901000000000000001', { tdsp: 'CENTERPOINT', n: 3 })], { truncate: true }),
  ] });
  stack = await startStack({ name: 'iwcli', env: { SMT_PROXY_URL: smt.url, SMT_PROXY_TOKEN: TOKEN,
    ERCOT_MIS_BASE: mis.base, ERCOT_PAGE_URL: mis.pageUrl } });
  await stack.sql('master', `INSERT INTO "SmtAuthorization" ("id","esiid","contactEmail","smtAgreementId","smtStatus")
    VALUES ('iwcli-cancel', $1, 'cancel.me@example.com', '1005', 'ACTIVE'),
           ('iwcli-pending', $2, NULL, '1002', 'PENDING')`, [E.cancel, E.pending]);
});
after(async () => {
  await stack?.stop();
  await smt?.close();
  await mis?.close();
  rmSync(TMP, { recursive: true, force: true });
});

test('help: every command, the exit codes, one command\'s help', async () => {
  const r = await iw(['help']);
  ok(r);
  for (const c of ['health', 'smt status', 'smt cancel', 'smt terminate', 'smt agreements', 'smt esiids',
    'smt subscriptions', 'smt report', 'smt cron', 'smt pull', 'usage normalize', 'ercot run', 'ercot health',
    'ercot ingests', 'migrate', 'logs']) assert.match(r.stdout, new RegExp(`^  ${c}\\b`, 'm'), c);
  for (const code of [0, 1, 2, 3, 4, 5, 6, 7]) assert.match(r.stdout, new RegExp(`^  ${code}  `, 'm'), `exit ${code}`);
  const one = await iw(['help', 'smt', 'pull']);
  ok(one);
  assert.match(one.stdout, /^usage: iw smt pull FILE/m);
  assert.match(one.stdout, /8 MiB/);
  const sub = await iw(['smt', 'pull', '--help']);
  assert.equal(sub.stdout, one.stdout, 'iw CMD --help is iw help CMD');
});

test('health: readable and --json', async () => {
  const r = await iw(['health']);
  ok(r);
  assert.equal(r.stdout, `healthy: database ok at ${stack.base}\n`);
  const j = await iw(['health', '--json']);
  ok(j);
  assert.deepEqual(json(j), { ok: true, db: 'ok' });
});

test('smt status / agreements / esiids / subscriptions / report: summaries, and --json is the route\'s answer', async () => {
  const s = await iw(['smt', 'status', E.active]);
  ok(s);
  assert.match(s.stdout, new RegExp(`^ESIID ${E.active}$`, 'm'));
  assert.match(s.stdout, /^status: +ACTIVE \(agreement 1001, SMT says /m);
  assert.match(s.stdout, /^subscription: 5001 SUBSCRIPTION Active$/m);
  assert.match(s.stdout, /^ {2}1001 +ACTIVE +\S+ +10443720001234567$/m);
  const sj = await iw(['smt', 'status', E.active, '--json']);
  ok(sj);
  const direct = await stack.post('/api/admin/smt/agreements/status', { esiid: E.active }, { admin: true });
  assert.deepEqual(json(sj), direct.json);

  const a = await iw(['smt', 'agreements', '--status', 'ACT']);
  ok(a);
  assert.match(a.stdout, /^4 agreement\(s\) with status ACT$/m);
  for (const n of [1001, 1005, 1007, 1009]) assert.match(a.stdout, new RegExp(`^  ${n} +ACTIVE `, 'm'));
  assert.doesNotMatch(a.stdout, /^ {2}1002 /m);
  const aj = json(await iw(['smt', 'agreements', '--json', '--status=PEN']));
  assert.deepEqual(aj.agreements.map((x) => x.agreementNumber), [1002]);
  assert.equal(smt.callsTo('/smt/agreements/myagreements').at(-1).body.statusReason, 'PEN');

  const e = await iw(['smt', 'esiids', '1002']);
  ok(e);
  assert.equal(e.stdout, `agreement 1002: 1 ESIID(s)\n  ${E.pending}\n`);
  assert.deepEqual(json(await iw(['smt', 'esiids', '1002', '--json'])).esiids, [E.pending]);

  const sub = await iw(['smt', 'subscriptions', '--type', 'ADHOC']);
  ok(sub);
  assert.match(sub.stdout, /^1 subscription\(s\) of type ADHOC$/m);
  assert.match(sub.stdout, /^ {2}5002 +ADHOC +ACTIVE +1002 /m);
  const subj = json(await iw(['smt', 'subscriptions', '--json']));
  assert.equal(subj.subscriptions.length, 3);

  const rep = await iw(['smt', 'report', 'corr-0001']);
  ok(rep);
  assert.equal(rep.stdout, 'report corr-0001: COMPLETED (code 0000)\nreason: Report delivered\n');
  assert.equal(json(await iw(['smt', 'report', 'corr-0001', '--json'])).reportStatus.status, 'COMPLETED');
});

test('smt cron, terminate and cancel change rows and write audit rows', async () => {
  const c = await iw(['smt', 'cron', '--all', '--limit', '10']);
  ok(c);
  assert.match(c.stdout, /^SMT status refresh \(ALL\): scanned 2, updated 2, failed 0, throttled 0$/m);
  const synced = await stack.sql('master', `SELECT count(*)::int AS n FROM "SmtAuthorization" WHERE "smtLastSyncAt" IS NOT NULL`);
  assert.equal(synced[0].n, 2);
  const cj = json(await iw(['smt', 'cron', '--json']));
  assert.equal(cj.ok, true);
  assert.equal(cj.status, 'PENDING');

  const t = await iw(['smt', 'terminate', '1009', '--email', 'term@example.com']);
  ok(t);
  assert.match(t.stdout, /^agreement 1009 terminated for term@example\.com$/m);
  assert.match(t.stdout, /^SMT says: +Agreement terminated successfully \(code 0000\)$/m);
  const audit = await stack.sql('master', `SELECT action, ok FROM "SmtAdminAction" WHERE "agreementNumber" = '1009'`);
  assert.deepEqual(audit, [{ action: 'terminate', ok: true }]);

  const k = await iw(['smt', 'cancel', E.cancel, '--ticket', 'TCK-iwcli-1']);
  ok(k);
  assert.match(k.stdout, new RegExp(`^ESIID ${E.cancel}: cancelled$`, 'm'));
  assert.match(k.stdout, /^terminated agreements: +1005$/m);
  assert.match(k.stdout, /^unsubscribed: +5003$/m);
  const rows = await stack.sql('master', `SELECT action, ticket FROM "SmtAdminAction" WHERE esiid = $1`, [E.cancel]);
  assert.deepEqual(rows, [{ action: 'cancel', ticket: 'TCK-iwcli-1' }]);
  const again = json(await iw(['smt', 'cancel', E.cancel, '--ticket', 'TCK-iwcli-2', '--json']));
  assert.equal(again.alreadyTerminated, true);
});

test('smt pull: a small file goes inline, a larger one streamed; rows land; usage normalize', async () => {
  const small = path.join(TMP, 'small_IntervalMeterUsage.csv');
  writeFileSync(small, intervalCsv(E.small, 2));
  const s = await iw(['smt', 'pull', small, '--esiid', E.small]);
  ok(s);
  assert.match(s.stdout, /^small_IntervalMeterUsage\.csv \(inline\): stored$/m);
  assert.match(s.stdout, /^ {2}rows: +192 loaded, 0 skipped$/m);
  const usage = async (e) => (await stack.sql('usage', `SELECT count(*)::int AS n FROM "UsageIntervalModule" WHERE esiid = $1`, [e]))[0].n;
  const master = async (e) => (await stack.sql('master', `SELECT count(*)::int AS n FROM "SmtInterval" WHERE esiid = $1`, [e]))[0].n;
  assert.equal(await usage(E.small), 192);
  assert.equal(await master(E.small), 192);
  const dup = json(await iw(['smt', 'pull', small, '--json']));
  assert.equal(dup.duplicate, true);
  assert.equal(dup.mode, 'inline');

  // Above iw's inline limit (4 MiB): a raw upload (two spring-forward days lose 4 rows each).
  const large = path.join(TMP, 'large_IntervalMeterUsage.csv');
  writeFileSync(large, intervalCsv(E.large, 620));
  const l = await iw(['smt', 'pull', large, '--json']);
  ok(l);
  const lj = json(l);
  assert.ok(lj.sizeBytes > 4 * 1024 * 1024, `${lj.sizeBytes}`);
  assert.equal(lj.mode, 'upload');
  assert.equal(lj.rows, 620 * 96 - 8);
  assert.equal(await usage(E.large), 620 * 96 - 8);
  assert.equal(await master(E.large), 620 * 96 - 8);

  // The CSV's first day (America/Chicago) in UTC; --from/--to dates are whole UTC days.
  const n = await iw(['usage', 'normalize', '--esiid', E.small, '--from', '2023-01-02T06:00:00.000Z', '--to', '2023-01-03T05:59:59.999Z']);
  ok(n);
  assert.equal(n.stdout, `normalized ${E.small} from 2023-01-02T06:00:00.000Z to 2023-01-03T05:59:59.999Z\n`
    + '  raw rows:  96\n  inserted:  0\n  updated:   0\n  unchanged: 96\n');
  const nj = json(await iw(['usage', 'normalize', '--esiid', E.small, '--from', '2023-01-01', '--to', '2023-01-03', '--json']));
  assert.equal(nj.filter.start, '2023-01-01T00:00:00.000Z');
  assert.equal(nj.filter.end, '2023-01-03T23:59:59.999Z');
  assert.deepEqual(nj.summary, { rawCount: 192 - 24, insertedCount: 0, updatedCount: 0, unchangedCount: 192 - 24 });
});

test('smt reprocess, coverage and metrics, against the files pulled above', async () => {
  const d = await iw(['smt', 'reprocess', E.small, '--dry-run']);
  ok(d);
  assert.match(d.stdout, /^re-processed 1 stored file\(s\) \(dry run: nothing written\)$/m);
  const r = json(await iw(['smt', 'reprocess', E.small, '--json']));
  assert.deepEqual([r.ok, r.files.length, r.totals.inserted, r.totals.updated], [true, 1, 0, 0]);
  const c = await iw(['coverage', E.small, '--from', '2023-01-01', '--to', '2023-01-04']);
  ok(c);
  assert.match(c.stdout, /^ {2}days: 4, complete 2, missing 2$/m);
  assert.match(c.stdout, /^ {2}intervals: 192 of 384,/m);
  assert.match(c.stdout, /^ {2}missing: 2023-01-01 2023-01-04$/m);
  const bad = await iw(['coverage', E.small, '--from', 'yesterday']);
  assert.equal(bad.code, 2);
  const m = await iw(['metrics']);
  ok(m);
  assert.match(m.stdout, /^# TYPE \S+ gauge$/m);
  assert.match(m.stdout, /^iw_\S+ /m);
});

test('ercot health, run (stored, then a failed file: exit 1), ingests; a server without the route: exit 7', async () => {
  const h = await iw(['ercot', 'health']);
  ok(h);
  assert.equal(h.stdout, 'ERCOT ingest: method scrape, storage local\nmissing settings: none\n');
  assert.deepEqual(json(await iw(['ercot', 'health', '--json'])), { ok: true, missing: [], method: 'scrape', storage: 'local' });

  const r = await iw(['ercot', 'run', '--date', D1]);
  ok(r);
  assert.match(r.stdout, /^ERCOT run \(scrape\): 1 file\(s\)$/m);
  assert.match(r.stdout, /^ {2}ONCOR +\S*ONCOR_ELEC___DAILY\S*: stored ercot\/2026-11-26\/\S+, \d+ bytes, 2 rows$/m);
  const idx = await stack.sql('master', `SELECT count(*)::int AS n FROM "ErcotEsiidIndex"`);
  assert.equal(idx[0].n, 2);
  const again = json(await iw(['ercot', 'run', '--date', D1, '--tdsp', 'ONCOR', '--json']));
  assert.equal(again.results[0].skipped, true);

  const bad = await iw(['ercot', 'run', '--date', D2]);
  assert.equal(bad.code, 1, `${bad.stdout}${bad.stderr}`);
  assert.match(bad.stdout, /^ {2}CENTERPOINT +\S*CENTERPOINT__DAILY\S*: ERROR /m);

  const i = await iw(['ercot', 'ingests']);
  ok(i);
  assert.match(i.stdout, /^3 ERCOT ingest\(s\)$/m);
  const ij = json(await iw(['ercot', 'ingests', '--json', '--status', 'error']));
  assert.equal(ij.ok, true);
  assert.deepEqual(ij.ingests.map((x) => x.status), ['error']);
  // A server that lacks a route (an older deployment): exit 7.
  const old = await iw(['ercot', 'ingests'], { env: { INTELLIWATT_BASE_URL: `${stack.base}/older` } });
  assert.equal(old.code, 7, `${old.stdout}${old.stderr}`);
  assert.match(old.stderr, /has no such route yet \(HTTP 404\)/);
});

test('exit codes: 2 usage, 3 auth, 4 input, 5 upstream, 6 unreachable', async () => {
  for (const args of [['smt', 'status', '12'], ['smt', 'cancel', E.active], ['smt', 'terminate', 'x', '--email', 'a@b.co'],
    ['smt', 'frobnicate'], ['nonsense'], ['smt', 'agreements', '--status', 'XYZ'], ['smt', 'status', E.active, '--bogus']]) {
    const r = await iw(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^iw: /);
  }
  // Missing settings file.
  const nofile = await iw(['health'], { env: { IW_ENV_FILE: path.join(TMP, 'absent.env') } });
  assert.equal(nofile.code, 2);

  const badEnv = path.join(TMP, 'wrong.env');
  writeFileSync(badEnv, 'ADMIN_TOKEN=this-is-not-the-admin-token-0000\n');
  const auth = await iw(['smt', 'status', E.active], { env: { IW_ENV_FILE: badEnv } });
  assert.equal(auth.code, 3);
  assert.match(auth.stderr, /^iw: unauthorized \(HTTP 401\): /m);
  assert.equal(json(await iw(['smt', 'status', E.active, '--json'], { env: { IW_ENV_FILE: badEnv } })).error, 'unauthorized');

  const junk = path.join(TMP, 'notes.csv');
  writeFileSync(junk, 'a,b\n1,2\n');
  const input = await iw(['smt', 'pull', junk]);
  assert.equal(input.code, 4);
  assert.match(input.stderr, /^iw: invalid_request \(HTTP 400\): content: /m);

  const up = await iw(['smt', 'report', 'corr-unknown']);
  assert.equal(up.code, 5);
  assert.match(up.stderr, /^iw: upstream_failed \(HTTP 502\): /m);

  const down = await iw(['health'], { env: { INTELLIWATT_BASE_URL: 'http://127.0.0.1:9' } });
  assert.equal(down.code, 6);
  assert.match(down.stderr, /^iw: no answer from http:\/\/127\.0\.0\.1:9: /m);

  // 409: cancel without a contact email on file (the ERCOT test covers exit 1).
  await stack.sql('master', `INSERT INTO "SmtAuthorization" ("id","esiid","smtAgreementId","smtStatus")
    VALUES ('iwcli-noemail', $1, '1007', 'ACTIVE')`, [E.noemail]);
  const conflict = await iw(['smt', 'cancel', E.noemail, '--ticket', 'TCK-iwcli-3']);
  assert.equal(conflict.code, 4, conflict.stderr);
  assert.match(conflict.stderr, /^iw: contact_email_missing \(HTTP 409\): contactEmail: /m);
});

test('no secret in ps while a call runs (slow SMT proxy), nor while a file uploads', async () => {
  const { ADMIN_TOKEN } = stack.env;
  const sample = async (promise) => {
    const seen = [];
    let done = false;
    promise.then(() => { done = true; });
    while (!done) {
      const { stdout } = await execp('ps', ['-eo', 'args']);
      seen.push(stdout);
      await new Promise((r) => setTimeout(r, 25));
    }
    return seen;
  };
  smt.options.delayMs = 1500;
  try {
    const call = iw(['smt', 'status', E.active]);
    const seen = await sample(call);
    ok(await call);
    assert.ok(seen.some((s) => s.includes(`${stack.base}/api/admin/smt/agreements/status`)),
      'a sample caught curl running');
    for (const s of seen) assert.ok(!s.includes(ADMIN_TOKEN), 'the admin token is not in ps');
  } finally {
    smt.options.delayMs = 0;
  }
  // A streamed upload (large enough to take a moment).
  const big = path.join(TMP, 'ps_IntervalMeterUsage.csv');
  writeFileSync(big, intervalCsv('10443720005550003', 700));
  const call = iw(['smt', 'pull', big]);
  const seen = await sample(call);
  ok(await call);
  assert.ok(seen.some((s) => s.includes('/api/admin/smt/pull?filename=ps_IntervalMeterUsage.csv')),
    `a sample caught the upload (${seen.length} samples)`);
  for (const s of seen) assert.ok(!s.includes(ADMIN_TOKEN), 'the admin token is not in ps');
});

test('logs: a route\'s JSON lines, readable and raw', async () => {
  const r = await iw(['logs', 'smt_pull', '--lines', '3']);
  ok(r);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 3);
  for (const l of lines) assert.match(l, /^\d{4}-\d\d-\d\dT[\d:.]+Z {2}INFO {2}smt_pull {2}status=\d{3} {2}[\d.]+ms {2}/);
  const raw = await iw(['logs', 'smt_pull', '--lines', '3', '--json']);
  ok(raw);
  for (const l of raw.stdout.trim().split('\n')) assert.equal(JSON.parse(l).route, 'smt_pull');
  const all = await iw(['logs', '--lines', '20', '--json']);
  ok(all);
  const ts = all.stdout.trim().split('\n').map((l) => JSON.parse(l).ts);
  assert.deepEqual(ts, [...ts].sort(), 'every route merged in time order');
  assert.ok(new Set(all.stdout.trim().split('\n').map((l) => JSON.parse(l).route)).size > 1);
  const none = await iw(['logs', 'no_such_route']);
  assert.equal(none.code, 4);
});

test('migrate: passed through to iw-migrate with the settings file\'s databases', async () => {
  const r = await iw(['migrate', 'status']);
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout + r.stderr, /iwcli_master_test/);
  const u = await iw(['migrate', '--db', 'usage', 'status']);
  assert.equal(u.code, 0, `${u.stdout}${u.stderr}`);
  assert.match(u.stdout + u.stderr, /iwcli_usage_test/);
  const bad = await iw(['migrate', 'frobnicate']);
  assert.equal(bad.code, 2);
});
