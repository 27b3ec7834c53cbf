// Live progress (issue 16): with Accept: application/x-ndjson the ERCOT cron
// and usage/normalize stream one JSON event per line while they work, the
// last line being the route's usual answer; without the header nothing
// changes; an error found before the first event keeps its HTTP status.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, test } from 'node:test';
import { spawn } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { startStack, ROOT, BUILD } from '../lib/stack.mjs';
import { startErcotMis } from '../fakes/ercot_mis.mjs';
import { constructedName, csvLine, extractRow, makeZip } from '../fakes/ercot_zip.mjs';
import { intervalFile, yearDays } from '../fakes/smt_files.mjs';

const CRON = '/api/admin/ercot/cron';
const NORMALIZE = '/api/admin/usage/normalize';
const NDJSON = { accept: 'application/x-ndjson' };
const DAY = '2026-11-20';
const ESIID = '10443720000007001';

let stack, mis;

// A generated extract that does not compress away: ~2 MB of zip.
function bigDoc() {
  const rows = [];
  for (let i = 0; i < 12000; i++) {
    const salt = crypto.randomBytes(24).toString('hex');
    rows.push(extractRow(`1044372${String(1e10 + i).slice(1)}`, { n: i, address: `${i} ${salt} ST` }));
  }
  const friendly = 'ONCOR_ELEC___DAILY';
  return {
    docId: '7001', friendlyName: friendly, constructedName: constructedName(friendly, DAY),
    publishDate: `${DAY}T05:52:19-06:00`,
    body: makeZip([{ name: `${friendly}.csv`, data: rows.map(csvLine).join('') }]),
  };
}

before(async () => {
  mis = await startErcotMis({ docs: [bigDoc()] });
  // A short lock wait for every route: the busy test below waits on it.
  stack = await startStack({ name: 'progress', env: { ERCOT_MIS_BASE: mis.base, IW_DB_LOCK_TIMEOUT_MS: '1500' } });
});
after(async () => {
  await stack?.stop();
  await mis?.close();
});

// tools/iw with the stack's settings file (stderr is not a terminal here).
function iw(args) {
  return new Promise((resolve) => {
    const child = spawn(path.join(ROOT, 'tools/iw'), args, {
      env: { PATH: process.env.PATH, HOME: process.env.HOME || '/root', IW_BUILD: BUILD,
        IW_ENV_FILE: path.join(stack.dir, 'env'), INTELLIWATT_BASE_URL: stack.base },
    });
    let stdout = '', stderr = '';
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// The response read as it arrives: each line with the ms it came at.
async function streamed(method, route, { headers = {}, body } = {}) {
  const t0 = Date.now();
  const res = await fetch(stack.base + route, { method, headers, body });
  const lines = [];
  let buf = '';
  const dec = new TextDecoder();
  for await (const chunk of res.body) {
    buf += dec.decode(chunk, { stream: true });
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const text = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (text) lines.push({ at: Date.now() - t0, json: JSON.parse(text) });
    }
  }
  assert.equal(buf, '', 'every line ends with a newline');
  return { status: res.status, headers: res.headers, lines, total: Date.now() - t0 };
}

const cronUrl = (q = '') => `${CRON}?token=${encodeURIComponent(stack.env.CRON_SECRET)}&date=${DAY}${q}`;

// No stretch of more than half the run goes without a line.
function assertSpread(lines, total) {
  const times = [0, ...lines.map((l) => l.at), total];
  for (let i = 1; i < times.length; i++)
    assert.ok(times[i] - times[i - 1] <= total / 2,
      `a gap of ${times[i] - times[i - 1]} ms in a run of ${total} ms: ${JSON.stringify(times)}`);
}

test('ERCOT run: per-file events while the file downloads, then the usual answer as the last line', async () => {
  const size = mis.docs[0].body.length;
  mis.options.bytesPerSec = Math.ceil(size / 3); // a download of ~3 s
  const r = await streamed('GET', cronUrl(), { headers: NDJSON });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/x-ndjson/);
  assert.equal(r.headers.get('content-length'), null);
  const events = r.lines.slice(0, -1).map((l) => l.json);
  const last = r.lines.at(-1).json;
  assert.equal(last.ok, true, JSON.stringify(last));
  assert.equal(last.results[0].rows, 12000);

  // Order: listed, start, download..., download done, load, indexed, stored.
  assert.equal(events[0].event, 'listed');
  assert.deepEqual(events[0].files, [{ tdsp: 'ONCOR', file: last.results[0].filename, total: size }]);
  const phases = events.slice(1).map((e) => e.phase + (e.done ? '!' : ''));
  const squeezed = phases.filter((p, i) => p !== phases[i - 1]);
  assert.deepEqual(squeezed, ['start', 'download', 'download!', 'load', 'load!', 'indexed!', 'stored!'], phases.join(' '));
  const dl = events.filter((e) => e.phase === 'download');
  for (let i = 1; i < dl.length; i++) assert.ok(dl[i].bytes >= dl[i - 1].bytes, 'bytes only grow');
  assert.ok(dl.every((e) => e.total === size && e.tdsp === 'ONCOR'));
  // At least one event in each tenth of the file's bytes.
  for (let tenth = 0; tenth < 10; tenth++) {
    assert.ok(dl.some((e) => e.bytes > (tenth * size) / 10 && e.bytes <= ((tenth + 1) * size) / 10),
      `no event within tenth ${tenth + 1} of ${size} bytes`);
  }
  // Events arrived while the work ran, not all at the end.
  assert.ok(r.total >= 2500, `the slowed download took ${r.total} ms`);
  assertSpread(r.lines, r.total);
  const firstDl = r.lines.find((l) => l.json.phase === 'download');
  assert.ok(firstDl.at < r.total / 2, `first download event at ${firstDl.at} of ${r.total} ms`);

  // The same request without the header, on fresh data: the same answer.
  mis.options.bytesPerSec = 0;
  await stack.sql('master', 'DELETE FROM "ErcotIngest"');
  await stack.sql('master', 'DELETE FROM "ErcotEsiidIndex"');
  const plain = await stack.get(cronUrl());
  assert.equal(plain.status, 200, plain.text);
  assert.match(plain.headers.get('content-type'), /^application\/json/);
  assert.deepEqual(last, plain.json);
  const [{ n }] = await stack.sql('master', 'SELECT count(*)::int AS n FROM "ErcotEsiidIndex"');
  assert.equal(n, 12000);

  // iw ercot run --progress draws the file's progress line from the stream.
  await stack.sql('master', 'DELETE FROM "ErcotIngest"');
  mis.options.bytesPerSec = size;
  const cli = await iw(['ercot', 'run', '--date', DAY, '--progress']);
  mis.options.bytesPerSec = 0;
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stderr, /ERCOT: 1 file\(s\) listed/);
  assert.match(cli.stderr, /ONCOR +download +\d+\.\d MiB of \d+\.\d MiB \(\d+%\), [\d.]+ MiB\/s, ETA \d+ s/);
  assert.match(cli.stderr, /ONCOR +stored .*12000 rows\n/);
  assert.match(cli.stdout, /stored ercot\/2026-11-20\/.*12000 rows/);
});

test('ERCOT run: an error before the first event keeps its status', async () => {
  const bad = await streamed('GET', `${CRON}?token=${encodeURIComponent(stack.env.CRON_SECRET)}&date=2026-13-01`, { headers: NDJSON });
  assert.equal(bad.status, 400);
  assert.equal(bad.lines.length, 1);
  assert.equal(bad.lines[0].json.error, 'invalid_request');
  mis.options.listingStatus = 503;
  try {
    const down = await streamed('GET', cronUrl(), { headers: NDJSON });
    assert.equal(down.status, 502, 'a listing failure comes before any event');
    assert.deepEqual(down.lines.map((l) => l.json.ok), [false]);
  } finally {
    mis.options.listingStatus = 200;
  }
});

test('usage/normalize over a sizeable window: read progress while the rows stream, then the usual answer', async () => {
  // 4 years of two flows at 15 minutes: ~280 000 raw rows.
  await stack.sql('usage', `INSERT INTO "UsageIntervalModule" (esiid, meter, ts, kwh, estimated, flow, source)
    SELECT $1, 'm1', t, 0.5, false, f, 'smt' FROM generate_series('2021-01-01'::timestamp, '2024-12-31 23:45', '15 minutes') t,
    (VALUES ('C'), ('G')) v(f)`, [ESIID]);
  const [{ raw }] = await stack.sql('usage', 'SELECT count(*)::int AS raw FROM "UsageIntervalModule" WHERE esiid = $1', [ESIID]);
  const body = JSON.stringify({ esiid: ESIID, start: '2021-01-01T00:00:00Z', end: '2024-12-31T23:59:59.999Z' });
  const headers = { 'x-admin-token': stack.env.ADMIN_TOKEN, 'content-type': 'application/json' };
  const r = await streamed('POST', NORMALIZE, { headers: { ...headers, ...NDJSON }, body });
  assert.equal(r.status, 200);
  const events = r.lines.slice(0, -1).map((l) => l.json);
  const last = r.lines.at(-1).json;
  assert.equal(last.ok, true, JSON.stringify(last));
  assert.equal(last.summary.rawCount, raw);
  const reads = events.filter((e) => e.phase === 'read');
  assert.equal(reads.length, Math.floor(raw / 50000));
  assert.deepEqual(reads.map((e) => e.rowsRead), reads.map((_, i) => (i + 1) * 50000));
  assert.deepEqual(events.at(-1), { ...events.at(-1), event: 'normalize', phase: 'written', rowsRead: raw, rowsWritten: raw });
  assert.ok(r.lines[0].at < r.lines.at(-1).at, 'the first event came before the answer');

  // Fresh data, the same request without the header: the same answer.
  await stack.sql('master', 'DELETE FROM "SmtInterval" WHERE esiid = $1', [ESIID]);
  const plain = await stack.post(NORMALIZE, JSON.parse(body), { admin: true });
  assert.equal(plain.status, 200, plain.text);
  assert.deepEqual(last, plain.json);
  // A second, upsert pass streams read, write, written.
  const again = await streamed('POST', NORMALIZE, { headers: { ...headers, ...NDJSON }, body });
  const phases = again.lines.slice(0, -1).map((l) => l.json.phase).filter((p, i, a) => p !== a[i - 1]);
  assert.deepEqual(phases, ['read', 'write', 'written']);
  assert.equal(again.lines.at(-1).json.summary.unchangedCount, raw);
});

test('usage/normalize: an input error keeps its status with the header', async () => {
  const r = await streamed('POST', NORMALIZE, {
    headers: { 'x-admin-token': stack.env.ADMIN_TOKEN, 'content-type': 'application/json', ...NDJSON },
    body: JSON.stringify({ esiid: ESIID, start: '2024-02-01T00:00:00Z', end: '2024-01-01T00:00:00Z' }),
  });
  assert.equal(r.status, 400);
  assert.equal(r.lines.length, 1);
  assert.equal(r.lines[0].json.error, 'invalid_request');
});

test('usage/normalize: a failure after the first event is a 200 stream whose last line is the error', async () => {
  // SmtInterval locked against writers: the rows stream (events), then the
  // write waits past lock_timeout. Without the header the same is a 409.
  const admin = new pg.Client({ host: process.env.IW_TEST_PGHOST, user: 'postgres', database: stack.dbs.master });
  await admin.connect();
  try {
    await admin.query('BEGIN');
    await admin.query('LOCK TABLE "SmtInterval" IN EXCLUSIVE MODE');
    const body = JSON.stringify({ esiid: ESIID });
    const headers = { 'x-admin-token': stack.env.ADMIN_TOKEN, 'content-type': 'application/json' };
    const r = await streamed('POST', NORMALIZE, { headers: { ...headers, ...NDJSON }, body });
    assert.equal(r.status, 200);
    assert.ok(r.lines.length > 1 && r.lines[0].json.phase === 'read');
    const last = r.lines.at(-1).json;
    assert.deepEqual(Object.keys(last).sort(), ['error', 'message', 'ok']);
    assert.equal(last.ok, false);
    assert.equal(last.error, 'busy');
    const plain = await stack.post(NORMALIZE, { esiid: ESIID }, { admin: true });
    assert.equal(plain.status, 409);
    assert.equal(plain.json.error, 'busy');
    assert.ok(plain.headers.get('retry-after'));
    // iw exits with the class of the last line's error (busy: input, 4).
    const cli = await iw(['usage', 'normalize', '--esiid', ESIID, '--progress']);
    assert.equal(cli.code, 4, cli.stderr);
    assert.match(cli.stderr, /normalize read +50000 rows read/);
    assert.match(cli.stderr, /iw: busy \(HTTP 200\): /);
  } finally {
    await admin.query('ROLLBACK').catch(() => {});
    await admin.end();
  }
});

test('raw pull upload: received, spooled, stored and loaded events, then the usual answer', async () => {
  const esiid = '10443720000007002';
  const f = intervalFile({ esiid, days: yearDays(2025) });
  const headers = { 'x-admin-token': stack.env.ADMIN_TOKEN, 'content-type': 'text/csv' };
  const url = `/api/admin/smt/pull?filename=year.csv&esiid=${esiid}`;
  const r = await streamed('POST', url, { headers: { ...headers, ...NDJSON }, body: f.buf });
  assert.equal(r.status, 200);
  const events = r.lines.slice(0, -1).map((l) => l.json);
  const last = r.lines.at(-1).json;
  assert.equal(last.ok, true, JSON.stringify(last));
  const phases = events.map((e) => e.phase).filter((p, i, a) => p !== a[i - 1]);
  assert.deepEqual(phases, ['received', 'stored', 'loaded']);
  assert.ok(events.every((e) => e.event === 'pull'));
  assert.equal(events.find((e) => e.phase === 'received').bytesReceived, f.buf.length);
  assert.equal(events.find((e) => e.phase === 'loaded').rows, f.expected.length);

  // Fresh data, the same request without the header: the same answer (timings and the new row's id aside).
  await stack.sql('master', 'DELETE FROM raw_smt_files');
  await stack.sql('usage', 'DELETE FROM "UsageIntervalModule" WHERE esiid = $1', [esiid]);
  await stack.sql('master', 'DELETE FROM "SmtInterval" WHERE esiid = $1', [esiid]);
  const plain = await stack.request('POST', url, { raw: f.buf, headers });
  assert.equal(plain.status, 200, plain.text);
  const strip = (o) => JSON.parse(JSON.stringify(o, (k, v) => (/ms$|Ms$|^id$|^rawFileId$|At$/.test(k) ? undefined : v)));
  assert.deepEqual(strip(last), strip(plain.json));
});
