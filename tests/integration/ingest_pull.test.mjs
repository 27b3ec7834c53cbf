// POST /api/admin/smt/pull (SPEC §5): inline, upload and trigger modes, dedupe
// by sha256, every interval at its true UTC start in both interval tables,
// billing exports, limits, and the webhook authentication of SPEC §2.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { startStack } from '../lib/stack.mjs';
import { startWebhook } from '../fakes/webhook.mjs';
import { intervalFile, billingFile, sha256, HEADER, yearDays } from '../fakes/smt_files.mjs';

const PULL = '/api/admin/smt/pull';
const ESIID = '10443720000000001';
let stack, hook;

before(async () => {
  hook = await startWebhook({ status: 202, reply: { ok: true, queued: 'job-1' } });
  stack = await startStack({ name: 'ingest_pull', env: { DROPLET_WEBHOOK_URL: hook.url } });
});
after(async () => {
  await hook?.close();
  await stack?.stop();
});

const inline = (filename, buf, extra = {}) => stack.post(PULL, {
  mode: 'inline', filename, content_b64: buf.toString('base64'), encoding: 'base64', ...extra,
}, { admin: true });

const upload = (query, buf, contentType, headers = {}) => stack.request('POST', `${PULL}?${query}`, {
  raw: buf, headers: { 'content-type': contentType, 'x-admin-token': stack.env.ADMIN_TOKEN, ...headers },
});

async function rows(db, table, esiid, meter = 'unknown') {
  const r = await stack.sql(db, `SELECT to_char(ts, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ts, kwh::text AS kwh,
    flow, estimated, source FROM "${table}" WHERE esiid = $1 AND meter = $2 ORDER BY flow, ts`, [esiid, meter]);
  return r.map((x) => ({ ts: x.ts, kwh: x.kwh, flow: x.flow, estimated: x.estimated }));
}
const sortRows = (a) => [...a].sort((x, y) => (x.flow + x.ts).localeCompare(y.flow + y.ts));

function storedFiles() {
  const dir = path.join(stack.env.STORAGE_DIR, 'smt/raw');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true }).filter((f) => fs.statSync(path.join(dir, f)).isFile());
}

test('normal, spring-forward and fall-back days land at their true UTC starts in both tables', async () => {
  const days = ['2025-01-15', '2025-03-09', '2025-07-04', '2025-11-02'];
  const f = intervalFile({ esiid: ESIID, days, generation: true, estimated: (n) => n % 11 === 0 });
  const r = await inline('IntervalData_2025.csv', f.buf);
  assert.equal(r.status, 200, r.text);
  const b = r.json;
  assert.equal(b.ok, true);
  assert.equal(b.mode, 'inline');
  assert.equal(b.duplicate, false);
  assert.equal(b.sha256, sha256(f.buf));
  assert.equal(b.sizeBytes, f.buf.length);
  const perFlow = 96 + 92 + 96 + 100;
  assert.equal(b.rows, 2 * perFlow);
  assert.equal(b.skippedRows, 2 * 4, 'the four empty spring-forward rows per flow are skipped');
  assert.equal(b.blankRows, 8);
  assert.equal(b.malformedRows, 0);
  assert.deepEqual(b.intervalNormalized, { rawCount: 2 * perFlow, insertedCount: 2 * perFlow, updatedCount: 0, unchangedCount: 0 });
  assert.match(b.storagePath, new RegExp(`^smt/raw/\\d{4}-\\d{2}-\\d{2}/${b.sha256}-IntervalData_2025\\.csv$`));

  const want = sortRows(f.expected);
  assert.deepEqual(await rows('usage', 'UsageIntervalModule', ESIID), want);
  assert.deepEqual(await rows('master', 'SmtInterval', ESIID), want);

  // Spot checks written out by hand: the DST edges.
  const c = want.filter((x) => x.flow === 'C').map((x) => x.ts);
  assert.ok(c.includes('2025-03-09T07:45:00.000Z'), '1:45 CST on spring-forward day');
  assert.ok(c.includes('2025-03-09T08:00:00.000Z'), '3:00 CDT follows 1:45 CST');
  const fall = c.filter((t) => t >= '2025-11-02T05:00:00.000Z' && t < '2025-11-03T06:00:00.000Z');
  assert.equal(fall.length, 100);
  assert.equal(new Set(fall).size, 100);
  for (const t of ['2025-11-02T06:00:00.000Z', '2025-11-02T06:45:00.000Z', '2025-11-02T07:00:00.000Z', '2025-11-02T07:45:00.000Z'])
    assert.ok(fall.includes(t), t);

  // The stored object holds the decoded bytes; raw_smt_files records it.
  const obj = path.join(stack.env.STORAGE_DIR, b.storagePath);
  assert.deepEqual(fs.readFileSync(obj), f.buf);
  const raw = await stack.sql('master', 'SELECT filename, size_bytes, sha256, source, storage_path, esiid, meter FROM raw_smt_files WHERE sha256 = $1', [b.sha256]);
  assert.deepEqual(raw, [{ filename: 'IntervalData_2025.csv', size_bytes: String(f.buf.length), sha256: b.sha256,
    source: 'smt', storage_path: b.storagePath, esiid: ESIID, meter: null }]);
});

test('a meter-year of real-format data lands with every interval at its true UTC start', async () => {
  const esiid = '1008901000000000000099';
  const f = intervalFile({ esiid, days: yearDays(2025), estimated: (n) => n % 301 === 0 });
  assert.equal(f.expected.length, 35040);
  const r = await upload(`filename=IntervalMeterUsage_2025.csv&esiid=${esiid}`, zlib.gzipSync(f.buf), 'application/gzip');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.rows, 35040);
  assert.equal(r.json.skippedRows, 4);
  assert.equal(r.json.firstIntervalStart, '2025-01-01T06:00:00.000Z');
  assert.equal(r.json.lastIntervalStart, '2026-01-01T05:45:00.000Z');
  assert.deepEqual(r.json.intervalNormalized, { rawCount: 35040, insertedCount: 35040, updatedCount: 0, unchangedCount: 0 });
  const got = await rows('master', 'SmtInterval', esiid);
  assert.equal(got.length, 35040);
  assert.deepEqual(got, sortRows(f.expected));
  assert.deepEqual(await rows('usage', 'UsageIntervalModule', esiid), got);
});

test('the same file posted twice is a duplicate: nothing stored or loaded again', async () => {
  const f = intervalFile({ esiid: '10443720000000011', days: ['2025-02-01'] });
  const first = await inline('dup.csv', f.buf);
  assert.equal(first.status, 200, first.text);
  const before = await stack.sql('usage', 'SELECT max("updatedAt") AS u, count(*) AS n FROM "UsageIntervalModule" WHERE esiid = $1', ['10443720000000011']);
  const filesBefore = storedFiles().length;
  const again = await inline('dup-renamed.csv', f.buf);
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json.duplicate, true);
  assert.equal(again.json.sha256, first.json.sha256);
  assert.equal(again.json.storagePath, first.json.storagePath);
  assert.equal(again.json.rows, 0);
  const viaUpload = await upload('filename=dup3.csv', f.buf, 'text/csv');
  assert.equal(viaUpload.json.duplicate, true);
  assert.equal((await stack.sql('master', 'SELECT count(*)::int AS n FROM raw_smt_files WHERE sha256 = $1', [first.json.sha256]))[0].n, 1);
  assert.equal(storedFiles().length, filesBefore);
  assert.equal(storedFiles().filter((x) => x.includes(first.json.sha256)).length, 1);
  const afterRows = await stack.sql('usage', 'SELECT max("updatedAt") AS u, count(*) AS n FROM "UsageIntervalModule" WHERE esiid = $1', ['10443720000000011']);
  assert.deepEqual(afterRows, before);
});

test('malformed rows are counted and listed, the good rows land, never a 500', async () => {
  const good = intervalFile({ esiid: '10443720000000012', days: ['2025-04-01'], quote: false, eol: '\n', bom: true });
  const lines = good.csv.split('\n');
  // Lines 3, 5, 7 (1-based, header = line 1) replaced by broken rows.
  lines[2] = `10443720000000012,04/01/2025,,0:15,0:30,abc,A,Consumption`;
  lines[4] = `10443720000000012,13/45/2025,,0:45,1:00,0.100,A,Consumption`;
  lines[6] = `12345,04/01/2025,,1:15,1:30,0.100,A,Consumption`;
  const buf = Buffer.from(lines.join('\n'));
  const r = await inline('broken.csv', buf);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.rows, 93);
  assert.equal(r.json.malformedRows, 3);
  assert.equal(r.json.skippedRows, 3);
  assert.deepEqual(r.json.malformed.map((m) => m.line), [3, 5, 7]);
  assert.ok(r.json.malformed.every((m) => typeof m.reason === 'string' && m.reason.length > 0));
  const got = await rows('master', 'SmtInterval', '10443720000000012');
  assert.equal(got.length, 93);
  assert.ok(!got.some((x) => x.ts === '2025-04-01T05:15:00.000Z'), 'the bad kWh row is not stored');
});

test('a later row for the same interval in one file wins', async () => {
  const esiid = '10443720000000013';
  const f = intervalFile({ esiid, days: ['2025-05-05'], quote: false, eol: '\n' });
  const csv = f.csv + `${esiid},05/05/2025,05/06/2025,0:00,0:15,9.876,E,Consumption\n`;
  const r = await inline('corrected.csv', Buffer.from(csv));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.rows, 97);
  assert.equal(r.json.usageLoaded.intervals, 96);
  assert.equal(r.json.usageLoaded.supersededInFile, 1);
  const first = (await rows('usage', 'UsageIntervalModule', esiid))[0];
  assert.deepEqual(first, { ts: '2025-05-05T05:00:00.000Z', kwh: '9.87600', flow: 'C', estimated: true });
  assert.deepEqual((await rows('master', 'SmtInterval', esiid))[0], first);
});

test('upload mode: a plain CSV and a gzip file, with ?esiid= and ?meter=', async () => {
  const esiid = '10443720000000014';
  const plain = intervalFile({ esiid, days: ['2025-08-01'] });
  let r = await upload(`filename=${encodeURIComponent('../etc/passwd plain.csv')}&meter=MTR-1&esiid=${esiid}`, plain.buf, 'text/csv');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.mode, 'upload');
  assert.equal(r.json.filename, 'passwd_plain.csv', 'basename in a safe character set');
  assert.equal(r.json.meter, 'MTR-1');
  assert.equal(r.json.rows, 96);
  assert.deepEqual(await rows('master', 'SmtInterval', esiid, 'MTR-1'), sortRows(plain.expected));

  const day2 = intervalFile({ esiid, days: ['2025-08-02'] });
  const gz = zlib.gzipSync(day2.buf);
  r = await upload('filename=day2.csv.gz&meter=MTR-1', gz, 'application/gzip');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.sha256, sha256(day2.buf), 'sha256 of the decoded bytes');
  assert.equal(r.json.sizeBytes, day2.buf.length);
  assert.equal(r.json.filename, 'day2.csv');
  assert.deepEqual(fs.readFileSync(path.join(stack.env.STORAGE_DIR, r.json.storagePath)), day2.buf);
  assert.equal((await rows('usage', 'UsageIntervalModule', esiid, 'MTR-1')).length, 192);

  // octet-stream with gzip magic is inflated too; a base64+gzip inline post as well.
  const day3 = intervalFile({ esiid, days: ['2025-08-03'] });
  r = await upload('filename=day3.bin&meter=MTR-1', zlib.gzipSync(day3.buf), 'application/octet-stream');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.rows, 96);
  const day4 = intervalFile({ esiid, days: ['2025-08-04'] });
  r = await stack.post(PULL, { mode: 'inline', filename: 'day4.csv', encoding: 'base64+gzip', meter: 'MTR-1',
    content_b64: zlib.gzipSync(day4.buf).toString('base64'), sizeBytes: day4.buf.length }, { admin: true });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.rows, 96);
  assert.equal((await rows('master', 'SmtInterval', esiid, 'MTR-1')).length, 4 * 96);
});

test('limits and bad input: base64, sizeBytes, gzip bomb, body caps, unknown content', async () => {
  const filesBefore = storedFiles().length;
  const rawBefore = (await stack.sql('master', 'SELECT count(*)::int AS n FROM raw_smt_files'))[0].n;
  let r = await stack.post(PULL, { mode: 'inline', filename: 'x.csv', content_b64: 'not base64!!' }, { admin: true });
  assert.equal(r.status, 400);
  assert.equal(r.json.error, 'invalid_request');
  assert.match(r.json.message, /base64/);

  const f = intervalFile({ esiid: ESIID, days: ['2025-09-01'] });
  r = await inline('size.csv', f.buf, { sizeBytes: f.buf.length + 1 });
  assert.equal(r.status, 400);
  assert.match(r.json.message, /sizeBytes/);

  // 80 MiB of zeros gzip to ~80 KiB: inflating stops at the 64 MiB cap.
  const bomb = zlib.gzipSync(Buffer.alloc(80 * 1024 * 1024), { level: 9 });
  r = await stack.post(PULL, { mode: 'inline', filename: 'bomb.csv', encoding: 'base64+gzip', content_b64: bomb.toString('base64') }, { admin: true });
  assert.equal(r.status, 413, r.text);
  assert.equal(r.json.error, 'payload_too_large');

  const big = Buffer.alloc(6.5 * 1024 * 1024, 'A').toString('base64'); // ~8.7 MB of JSON
  r = await stack.post(PULL, { mode: 'inline', filename: 'big.csv', content_b64: big }, { admin: true });
  assert.equal(r.status, 413, r.text);
  assert.equal(r.json.error, 'payload_too_large');

  r = await stack.post(PULL, { mode: 'inline', filename: 'trunc.csv', encoding: 'base64+gzip', content_b64: zlib.gzipSync(f.buf).subarray(0, 200).toString('base64') }, { admin: true });
  assert.equal(r.status, 400);
  assert.match(r.json.message, /gzip/);

  r = await inline('notes.csv', Buffer.from('hello,world\n1,2\n'));
  assert.equal(r.status, 400);
  assert.match(r.json.message, /neither an SMT interval CSV/);

  r = await stack.post(PULL, { mode: 'inline', content_b64: f.buf.toString('base64') }, { admin: true });
  assert.equal(r.status, 400);
  assert.match(r.json.message, /filename/);

  r = await upload('esiid=123', f.buf, 'text/csv');
  assert.equal(r.status, 400);
  r = await upload('filename=a.csv', f.buf, 'text/plain');
  assert.equal(r.status, 415);

  assert.equal(storedFiles().length, filesBefore, 'nothing stored');
  assert.equal((await stack.sql('master', 'SELECT count(*)::int AS n FROM raw_smt_files'))[0].n, rawBefore, 'nothing recorded');
});

test('billing exports go to SmtBillingRead; a corrected file replaces its earlier rows', async () => {
  const esiid = '1008901000000000000021';
  const v1 = billingFile({ esiid, months: [['01/02/2025', '01/31/2025', '1,234.5'], ['02/01/2025', '03/02/2025', '987.25']] });
  let r = await inline('Acme_MonthlyBilling_20250310.csv', Buffer.from(v1));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.kind, 'billing');
  assert.equal(r.json.billingInserted, 2);
  assert.equal(r.json.intervalNormalized, undefined);
  let got = await stack.sql('master', `SELECT esiid, meter, "tdspName", to_char("readStart", 'YYYY-MM-DD') AS s,
    to_char("readEnd", 'YYYY-MM-DD') AS e, "kwhTotal"::text AS k, "rawSmtFileId"::text AS f, "rawRow"->>'TDSP_DUNS' AS duns
    FROM "SmtBillingRead" WHERE esiid = $1 ORDER BY "readStart"`, [esiid]);
  assert.deepEqual(got.map((x) => [x.s, x.e, x.k, x.meter, x.tdspName, x.duns]), [
    ['2025-01-02', '2025-01-31', '1234.50000', '123456789', 'CenterPoint Energy', '957877905'],
    ['2025-02-01', '2025-03-02', '987.25000', '123456789', 'CenterPoint Energy', '957877905'],
  ]);
  assert.equal(got[0].f, String(r.json.rawFileId));

  const v2 = billingFile({ esiid, months: [['01/02/2025', '01/31/2025', '1200'], ['02/01/2025', '03/02/2025', '990'], ['03/03/2025', '04/01/2025', 'oops']] });
  r = await inline('Acme_MonthlyBilling_20250310.csv', Buffer.from(v2));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.billingInserted, 2);
  assert.equal(r.json.billingReplaced, 2);
  assert.equal(r.json.skippedRows, 1);
  assert.deepEqual(r.json.malformed.map((m) => m.line), [4]);
  got = await stack.sql('master', `SELECT "kwhTotal"::text AS k FROM "SmtBillingRead" WHERE esiid = $1 ORDER BY "readStart"`, [esiid]);
  assert.deepEqual(got.map((x) => x.k), ['1200.00000', '990.00000']);
});

test('webhook authentication: each header, the alias setting, wrong secrets', async () => {
  const secret = stack.env.INTELLIWATT_WEBHOOK_SECRET;
  const f = intervalFile({ esiid: '10443720000000015', days: ['2025-10-01'] });
  const body = JSON.stringify({ mode: 'inline', filename: 'auth.csv', content_b64: f.buf.toString('base64') });
  const post = (headers) => stack.request('POST', PULL, { raw: body, headers: { 'content-type': 'application/json', ...headers } });
  for (const h of ['x-intelliwatt-secret', 'x-smt-secret', 'x-webhook-secret']) {
    const r = await post({ [h]: secret });
    assert.equal(r.status, 200, `${h}: ${r.text}`);
  }
  let r = await post({ 'x-intelliwatt-secret': secret + 'x' });
  assert.equal(r.status, 401);
  assert.equal(r.json.error, 'unauthorized');
  r = await post({ 'x-admin-token': 'wrong-token-wrong-token' });
  assert.equal(r.status, 401);
  r = await post({});
  assert.equal(r.status, 401);

  await stack.restart({ DROPLET_WEBHOOK_SECRET: 'alias-secret-' + 'a'.repeat(20) });
  r = await post({ 'x-webhook-secret': 'alias-secret-' + 'a'.repeat(20) });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.duplicate, true);
  r = await post({ 'x-smt-secret': stack.env.INTELLIWATT_WEBHOOK_SECRET });
  assert.equal(r.status, 200, 'the primary name still works beside the alias');
  r = await post({ 'x-smt-secret': secret });
  assert.equal(r.status, 401, 'the previous secret no longer works');
  assert.ok(!stack.log('smt_pull').includes(secret), 'the secret is never logged');
});

test('trigger mode posts to the droplet webhook with the secret and returns its reply', async () => {
  hook.requests.length = 0;
  let r = await stack.post(PULL, { reason: 'manual', esiid: `'${ESIID}`, meter: 'M9', houseId: 'house-1', forceRepost: true }, { admin: true });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.triggered, true);
  assert.equal(r.json.webhookStatus, 202);
  assert.deepEqual(r.json.response, { ok: true, queued: 'job-1' });
  assert.equal(hook.requests.length, 1);
  const q = hook.requests[0];
  assert.equal(q.method, 'POST');
  assert.equal(q.path, '/trigger/smt-now');
  assert.equal(q.headers['x-intelliwatt-secret'], stack.env.INTELLIWATT_WEBHOOK_SECRET);
  assert.equal(q.headers['content-type'], 'application/json');
  assert.deepEqual({ ...q.json, ts: undefined }, { reason: 'manual', esiid: ESIID, meter: 'M9', houseId: 'house-1', forceRepost: true, ts: undefined });
  assert.ok(Math.abs(Date.parse(q.json.ts) - Date.now()) < 60000);

  hook.respond(500, { ok: false, error: 'sftp down' });
  r = await stack.post(PULL, { mode: 'refresh' }, { admin: true });
  assert.equal(r.status, 502);
  assert.equal(r.json.error, 'upstream_failed');
  assert.deepEqual(r.json.response, { ok: false, error: 'sftp down' });
  hook.respond(202, { ok: true, queued: 'job-1' });

  await stack.restart({ DROPLET_WEBHOOK_URL: '' });
  r = await stack.post(PULL, {}, { admin: true });
  assert.equal(r.status, 503);
  assert.equal(r.json.error, 'server_misconfigured');
  assert.match(r.json.message, /DROPLET_WEBHOOK_URL/);
});

test('the header of a real SMT export is what the generator writes', () => {
  assert.equal(HEADER, 'ESIID,USAGE_DATE,REVISION_DATE,USAGE_START_TIME,USAGE_END_TIME,USAGE_KWH,ESTIMATED_ACTUAL,CONSUMPTION_SURPLUSGENERATION');
});
