// The original's own clients against this stack (issue 13): the droplet fetch
// script's legacy inline post and its normalize follow-up, the upload server's
// raw-upload parts and error reports, and the ingests list. Through nginx,
// against real Postgres and real storage.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { startStack } from '../lib/stack.mjs';
import { intervalFile, sha256, addDays, yearDays } from '../fakes/smt_files.mjs';

const PULL = '/api/admin/smt/pull';
const NORMALIZE = '/api/admin/smt/normalize';
const ESIID = '10443720000000013';
const ESIID2 = '10443720000000014';
let stack;

before(async () => {
  stack = await startStack({ name: 'dropin_smt' });
});
after(async () => {
  await stack?.stop();
});

// Exactly what the droplet's fetch script posts (mode inline, gzip + base64).
function legacyInline(esiid, filename, buf) {
  const gz = zlib.gzipSync(buf);
  return {
    mode: 'inline', source: 'adhocusage', filename, mime: 'text/csv', encoding: 'base64+gzip',
    sizeBytes: buf.length, compressedBytes: gz.length, esiid, meter: 'M1',
    captured_at: '2025-02-01T06:00:00.000Z', content_b64: gz.toString('base64'),
  };
}
const normalize = (query) => stack.post(`${NORMALIZE}?${query}`, {}, { admin: true });

async function count(db, table, esiid) {
  const r = await stack.sql(db, `SELECT count(*)::int AS n FROM "${table}" WHERE esiid = $1`, [esiid]);
  return r[0].n;
}
async function rows(db, table, esiid) {
  const r = await stack.sql(db, `SELECT to_char(ts, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ts, kwh::text AS kwh,
    flow, estimated FROM "${table}" WHERE esiid = $1 ORDER BY flow, ts`, [esiid]);
  return r.map((x) => ({ ts: x.ts, kwh: x.kwh, flow: x.flow, estimated: x.estimated }));
}
const sortRows = (a) => [...a].sort((x, y) => (x.flow + x.ts).localeCompare(y.flow + y.ts));
async function wipe(esiid) {
  await stack.sql('usage', 'DELETE FROM "UsageIntervalModule" WHERE esiid = $1', [esiid]);
  await stack.sql('master', 'DELETE FROM "SmtInterval" WHERE esiid = $1', [esiid]);
}

const days1 = ['2025-01-14', '2025-01-15'];
const file1 = intervalFile({ esiid: ESIID, days: days1, estimated: (n) => n % 7 === 0 });
const file2 = intervalFile({ esiid: ESIID, days: ['2025-01-16'] });

test('the fetch script: legacy inline post, then its normalize follow-up, both 200 with exact rows', async () => {
  const r = await stack.post(PULL, legacyInline(ESIID, 'adhoc_10443720000000013_20250115.csv', file1.buf), { admin: true });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.rows, 192);
  assert.equal(r.json.sizeBytes, file1.buf.length);
  assert.equal(r.json.source, 'adhocusage');
  assert.deepEqual(await rows('usage', 'UsageIntervalModule', ESIID), sortRows(file1.expected));
  assert.deepEqual(await rows('master', 'SmtInterval', ESIID), sortRows(file1.expected));

  // Its follow-up, as it sends it.
  const n = await normalize(`esiid=${ESIID}&limit=1&purge=1&cleanup=1`);
  assert.equal(n.status, 200, n.text);
  assert.equal(n.json.ok, true);
  assert.equal(n.json.files.length, 1);
  const f = n.json.files[0];
  assert.equal(f.rawFileId, Number(r.json.rawFileId));
  assert.equal(f.filename, 'adhoc_10443720000000013_20250115.csv');
  assert.deepEqual([f.rows, f.inserted, f.updated, f.unchanged], [192, 0, 0, 192]);
  assert.match(n.json.ignored.purge, /never deleted/);
  assert.match(n.json.ignored.cleanup, /kept/);
  assert.deepEqual(await rows('master', 'SmtInterval', ESIID), sortRows(file1.expected));
  assert.ok(fs.existsSync(path.join(stack.env.STORAGE_DIR, r.json.storagePath)), 'the original is kept');
});

test('normalize re-loads history: dryRun writes nothing, then exact counts, then idempotent', async () => {
  await wipe(ESIID);
  const dry = await normalize(`esiid=${ESIID}&dryRun=1`);
  assert.equal(dry.status, 200, dry.text);
  assert.equal(dry.json.files[0].rows, 192);
  assert.equal(dry.json.totals.dryRun, true);
  assert.equal(await count('usage', 'UsageIntervalModule', ESIID), 0, 'dryRun wrote nothing');
  assert.equal(await count('master', 'SmtInterval', ESIID), 0);

  const a = await normalize(`esiid=${ESIID}`);
  assert.equal(a.status, 200, a.text);
  assert.deepEqual([a.json.files[0].inserted, a.json.files[0].updated, a.json.files[0].unchanged], [192, 0, 0]);
  assert.equal(a.json.files[0].intervalNormalized.insertedCount, 192);
  assert.equal(a.json.totals.inserted, 192);
  assert.deepEqual(await rows('usage', 'UsageIntervalModule', ESIID), sortRows(file1.expected));
  assert.deepEqual(await rows('master', 'SmtInterval', ESIID), sortRows(file1.expected));

  const b = await normalize(`esiid=${ESIID}`);
  assert.equal(b.status, 200, b.text);
  assert.deepEqual([b.json.files[0].inserted, b.json.files[0].updated, b.json.files[0].unchanged], [0, 0, 192]);
  assert.equal(b.json.files[0].intervalNormalized.insertedCount, 0);
  assert.equal(b.json.files[0].intervalNormalized.updatedCount, 0);
});

test('normalize: limit takes the newest files; a missing object is reported and the others go on', async () => {
  const p2 = await stack.post(PULL, legacyInline(ESIID, 'adhoc_10443720000000013_20250116.csv', file2.buf), { admin: true });
  assert.equal(p2.status, 200, p2.text);
  const other = intervalFile({ esiid: ESIID2, days: ['2025-01-16'] });
  assert.equal((await stack.post(PULL, legacyInline(ESIID2, 'other.csv', other.buf), { admin: true })).status, 200);

  const one = await normalize(`esiid=${ESIID}`);
  assert.equal(one.json.files.length, 1, 'limit defaults to 1');
  assert.equal(one.json.files[0].rawFileId, Number(p2.json.rawFileId), 'the newest file');
  const two = await normalize(`esiid=${ESIID}&limit=100`);
  assert.deepEqual(two.json.files.map((f) => f.rows), [96, 192], 'only this ESIID, newest first');
  assert.equal((await normalize('limit=101')).status, 400);
  assert.equal((await normalize('esiid=123')).status, 400);
  assert.equal((await stack.post(`${NORMALIZE}?limit=1`, {})).status, 401);

  fs.rmSync(path.join(stack.env.STORAGE_DIR, p2.json.storagePath));
  await wipe(ESIID);
  const m = await normalize(`esiid=${ESIID}&limit=2`);
  assert.equal(m.status, 200, m.text);
  assert.equal(m.json.files[0].error, 'object_missing');
  assert.equal(m.json.files[1].inserted, 192, 'the other file still loads');
  assert.equal(m.json.totals.errors, 1);
  assert.deepEqual(await rows('master', 'SmtInterval', ESIID), sortRows(file1.expected));

  // Accept: application/x-ndjson: "listed", a line per file, then the same answer.
  const s = await stack.request('POST', `${NORMALIZE}?esiid=${ESIID}&limit=2`,
    { body: {}, admin: true, headers: { accept: 'application/x-ndjson' } });
  assert.equal(s.status, 200, s.text);
  assert.match(s.headers.get('content-type'), /application\/x-ndjson/);
  const lines = s.text.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.slice(0, 3).map((l) => l.event), ['listed', 'file', 'file']);
  assert.equal(lines[1].file.error, 'object_missing');
  assert.equal(lines[2].file.unchanged, 192);
  const last = lines.at(-1);
  assert.deepEqual([last.ok, last.files.length, last.totals.errors], [true, 2, 1]);
});

// ---- the droplet upload server: POST /api/admin/smt/raw-upload ---------------------

const RAW = '/api/admin/smt/raw-upload';
const ESIID3 = '10443720000000015';

// As the upload server cuts a large CSV: parts of whole lines, each repeating the header.
function cutParts(csv, n) {
  const eol = csv.includes('\r\n') ? '\r\n' : '\n';
  const lines = csv.split(eol).filter((l) => l !== '');
  const [header, ...body] = lines;
  const per = Math.ceil(body.length / n);
  const parts = [];
  for (let i = 0; i < n; i++) parts.push(Buffer.from([header, ...body.slice(i * per, (i + 1) * per)].join(eol) + eol));
  return parts;
}
function partBody(filename, buf, extra = {}) {
  return {
    filename, sizeBytes: buf.length, sha256: sha256(buf), contentBase64: buf.toString('base64'),
    source: 'droplet-upload', receivedAt: '2025-02-01T06:00:00Z', ...extra,
  };
}
const rawUpload = (body) => stack.post(RAW, body, { admin: true });

test('raw-upload: three parts out of order, one twice, end with exactly the file\'s intervals', async () => {
  const days = ['2025-01-20', '2025-01-21', '2025-01-22', '2025-01-23', '2025-01-24', '2025-01-25'];
  const f = intervalFile({ esiid: ESIID3, days, generation: true, estimated: (n) => n % 13 === 0 });
  const parts = cutParts(f.csv, 3);
  const name = (i) => `${ESIID3}_20250125.csv.part${i + 1}-of-3`;
  const sent = {};
  for (const i of [2, 0, 1]) {
    const extra = { esiid: ESIID3, meter: 'M1', storagePath: `/home/smt/${name(i)}`,
      ...(i === 0 ? { purgeExisting: true } : {}), ...(i === 2 ? { postIngest: true } : {}) };
    const r = await rawUpload(partBody(name(i), parts[i], extra));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.duplicate, false);
    assert.equal(r.json.kind, 'interval');
    sent[i] = r.json;
  }
  assert.equal(sent[0].rows + sent[1].rows + sent[2].rows, f.expected.length);
  assert.match(sent[0].purgeExisting, /nothing is deleted/);
  assert.match(sent[2].postIngest, /loaded/);
  const again = await rawUpload(partBody(name(1), parts[1], { esiid: ESIID3, meter: 'M1' }));
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json.duplicate, true, 'a resent part is a duplicate');
  assert.equal(again.json.rawFileId, sent[1].rawFileId);

  assert.deepEqual(await rows('usage', 'UsageIntervalModule', ESIID3), sortRows(f.expected));
  assert.deepEqual(await rows('master', 'SmtInterval', ESIID3), sortRows(f.expected));
  const files = await stack.sql('master', `SELECT filename, source, kind, storage_path FROM raw_smt_files
    WHERE esiid = $1 ORDER BY filename`, [ESIID3]);
  assert.deepEqual(files.map((x) => [x.filename, x.source, x.kind]), [0, 1, 2].map((i) => [name(i), 'droplet-upload', 'smt']));
  for (const x of files) assert.ok(fs.existsSync(path.join(stack.env.STORAGE_DIR, x.storage_path)));

  // The parts re-load through normalize with the same rows.
  const n = await normalize(`esiid=${ESIID3}&limit=3&source=droplet-upload`);
  assert.equal(n.status, 200, n.text);
  assert.equal(n.json.totals.rows, f.expected.length);
  assert.deepEqual([n.json.totals.inserted, n.json.totals.updated], [0, 0]);
});

// The upload server cuts where its byte budget ends, at a line boundary, so a
// cut can land inside the fall-back day's repeated hour (1:00-1:59 local
// happens twice, 2 November 2025). Cuts at chosen lines: a part that starts
// in the second (CST) occurrence, right after SMT's transition row, and a
// part that starts in the first (CDT) one.
function cutAtLines(csv, starts) {
  const eol = csv.includes('\r\n') ? '\r\n' : '\n';
  const [header, ...body] = csv.split(eol).filter((l) => l !== '');
  const bounds = [0, ...starts, body.length];
  return bounds.slice(0, -1).map((a, i) => Buffer.from([header, ...body.slice(a, bounds[i + 1])].join(eol) + eol));
}
// Line (0-based, header excluded) of the K-th row of DATE starting at START.
function lineOf(csv, date, start, k = 1) {
  const [, ...body] = csv.split(/\r?\n/).filter((l) => l !== '');
  const [y, m, d] = date.split('-');
  let seen = 0;
  const i = body.findIndex((l) => { const f = l.split(','); return f[1] === `${m}/${d}/${y}` && f[3] === start && ++seen === k; });
  assert.ok(i > 0, `${date} ${start} #${k}`);
  return i;
}

test('raw-upload: a meter-year cut inside the repeated fall-back hour ends with exactly the year\'s intervals', async () => {
  const E1 = '10443720000000021', E2 = '10443720000000022';
  const year = intervalFile({ esiid: E1, days: yearDays(2025), estimated: (n) => n % 101 === 0 });
  // Part 2 starts at the second 1:30 (CST), after "2:00,1:15" and the second 1:15.
  const cuts = [lineOf(year.csv, '2025-03-09', '4:00'), lineOf(year.csv, '2025-11-02', '1:30', 2)];
  const parts = cutAtLines(year.csv, cuts);
  assert.match(parts[2].toString().split('\r\n')[1], /,11\/02\/2025,11\/02\/2025,1:30,1:45,/);
  const name = (i) => `${E1}_2025.csv.part${i + 1}-of-3`;
  const got = {};
  for (const i of [2, 0, 1]) { // out of order, as a retrying uploader may send them
    const r = await rawUpload(partBody(name(i), parts[i], { esiid: E1, ...(i === 0 ? { purgeExisting: true } : {}) }));
    assert.equal(r.status, 200, r.text);
    got[i] = r.json;
  }
  assert.equal(got[0].rows + got[1].rows + got[2].rows, year.expected.length);
  assert.equal(year.expected.length, 365 * 96 + 4 - 4);
  assert.deepEqual(await rows('usage', 'UsageIntervalModule', E1), sortRows(year.expected));
  assert.deepEqual(await rows('master', 'SmtInterval', E1), sortRows(year.expected));

  // A part that starts in the first (CDT) occurrence, at its 1:30, with
  // generation rows too: the rest of that hour is CDT, the repeat CST.
  const days = ['2025-11-01', '2025-11-02', '2025-11-03'];
  const f = intervalFile({ esiid: E2, days, generation: true });
  const p2 = cutAtLines(f.csv, [lineOf(f.csv, '2025-11-02', '1:30', 1), lineOf(f.csv, '2025-11-02', '1:30', 3)]);
  for (const i of [1, 2, 0]) {
    const r = await rawUpload(partBody(`${E2}.csv.part${i + 1}-of-3`, p2[i], { esiid: E2 }));
    assert.equal(r.status, 200, r.text);
  }
  assert.deepEqual(await rows('usage', 'UsageIntervalModule', E2), sortRows(f.expected));
  assert.deepEqual(await rows('master', 'SmtInterval', E2), sortRows(f.expected));
});

test('raw-upload: sizeBytes or sha256 that do not match the content are 400, nothing stored', async () => {
  const buf = intervalFile({ esiid: ESIID3, days: ['2025-02-03'] }).buf;
  const before = (await stack.sql('master', 'SELECT count(*)::int AS n FROM raw_smt_files'))[0].n;
  const a = await rawUpload(partBody('x.csv', buf, { sizeBytes: buf.length + 1 }));
  assert.equal(a.status, 400, a.text);
  assert.match(a.json.message, /sizeBytes/);
  const b = await rawUpload(partBody('x.csv', buf, { sha256: sha256(Buffer.from('other')) }));
  assert.equal(b.status, 400, b.text);
  assert.match(b.json.message, /sha256/);
  const c = await stack.post(RAW, partBody('x.csv', buf));
  assert.equal(c.status, 401);
  assert.equal((await stack.sql('master', 'SELECT count(*)::int AS n FROM raw_smt_files'))[0].n, before);
  assert.equal(await count('usage', 'UsageIntervalModule', ESIID3) % 96, 0);
});

test('raw-upload: an error report is stored and recorded as error-report, never parsed', async () => {
  const report = Buffer.from(JSON.stringify({ step: 'fetch', status: 502, esiid: ESIID3,
    message: 'sftp: connection reset', at: '2025-02-01T06:00:00Z' }));
  const usageBefore = (await stack.sql('usage', 'SELECT count(*)::int AS n FROM "UsageIntervalModule"'))[0].n;
  const r = await rawUpload(partBody('smt-upload-error-fetch-502.json', report, { source: 'droplet-error' }));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.kind, 'error-report');
  assert.equal(r.json.rows, 0);
  const row = (await stack.sql('master', 'SELECT kind, source, filename, storage_path, size_bytes::int AS size FROM raw_smt_files WHERE id = $1', [r.json.rawFileId]))[0];
  assert.deepEqual([row.kind, row.source, row.filename, row.size], ['error-report', 'droplet-error', 'smt-upload-error-fetch-502.json', report.length]);
  assert.deepEqual(fs.readFileSync(path.join(stack.env.STORAGE_DIR, row.storage_path)), report, 'stored byte for byte');
  assert.equal((await stack.sql('usage', 'SELECT count(*)::int AS n FROM "UsageIntervalModule"'))[0].n, usageBefore);
  const again = await rawUpload(partBody('smt-upload-error-fetch-502.json', report, { source: 'droplet-error' }));
  assert.equal(again.json.duplicate, true);
  const n = await normalize('source=droplet-error&limit=100');
  assert.equal(n.status, 200, n.text);
  assert.equal(n.json.files.length, 0, 'normalize never parses an error report');
});

test('raw-upload: a full 10 MiB part (~14 MiB of JSON) passes nginx and the program, one over the cap does not', async (t) => {
  const ESIID4 = '10443720000000016';
  const MiB = 1024 * 1024;
  const daysFrom = (n) => Array.from({ length: n }, (_, i) => addDays('2019-01-01', i));
  const probe = intervalFile({ esiid: ESIID4, days: daysFrom(10) }).buf.length / 10;
  let f = intervalFile({ esiid: ESIID4, days: daysFrom(Math.floor((10 * MiB) / probe)) });
  while (f.buf.length > 10 * MiB) f = intervalFile({ esiid: ESIID4, days: daysFrom(f.expected.length / 96 - 5) });
  assert.ok(f.buf.length > 9.9 * MiB, `part of ${f.buf.length} bytes`);
  const body = partBody(`${ESIID4}.csv.part1-of-1`, f.buf, { esiid: ESIID4 });
  const t0 = Date.now();
  const r = await rawUpload(body);
  const ms = Date.now() - t0;
  assert.equal(r.status, 200, r.text.slice(0, 500));
  assert.equal(r.json.rows, f.expected.length);
  t.diagnostic(`10 MiB part: ${JSON.stringify(body).length} bytes of JSON, ${f.expected.length} rows, ${ms} ms`);
  assert.equal(await count('usage', 'UsageIntervalModule', ESIID4), f.expected.length);
  assert.equal(await count('master', 'SmtInterval', ESIID4), f.expected.length);
  // Over nginx's 18m: refused before the program sees it.
  const big = await stack.request('POST', RAW, { raw: Buffer.alloc(19 * MiB, 0x20),
    headers: { 'content-type': 'application/json', 'x-admin-token': stack.env.ADMIN_TOKEN } });
  assert.equal(big.status, 413);
});

// ---- GET /api/admin/ercot/ingests ----------------------------------------------------

test('ercot ingests: newest first, limit, status and tdsp filters, admin only', async () => {
  const ins = `INSERT INTO "ErcotIngest" ("createdAt", status, tdsp, filename, "rowCount", "fileSha256", error)
    VALUES ($1, $2, $3, $4, $5, $6, $7)`;
  const mk = [
    ['2025-03-01 06:00:00', 'ok', 'ONCOR', 'oncor_1.zip', 100, 'a1', null],
    ['2025-03-02 06:00:00', 'ok', 'CENTERPOINT', 'cnp_1.zip', 200, 'a2', null],
    ['2025-03-03 06:00:00', 'error', 'ONCOR', 'oncor_2.zip', null, 'a3', 'download failed'],
    ['2025-03-04 06:00:00', 'skipped', 'TNMP', 'tnmp_1.zip', 0, 'a4', null],
  ];
  for (const m of mk) await stack.sql('master', ins, m);
  const all = await stack.get('/api/admin/ercot/ingests', { admin: true });
  assert.equal(all.status, 200, all.text);
  assert.deepEqual(all.json.ingests.map((x) => x.filename), ['tnmp_1.zip', 'oncor_2.zip', 'cnp_1.zip', 'oncor_1.zip']);
  assert.equal(all.json.ingests[1].error, 'download failed');
  assert.equal(all.json.ingests[3].rowCount, 100);
  assert.equal(all.json.ingests[3].createdAt, '2025-03-01T06:00:00.000Z');
  const two = await stack.get('/api/admin/ercot/ingests?limit=2', { admin: true });
  assert.deepEqual(two.json.ingests.map((x) => x.filename), ['tnmp_1.zip', 'oncor_2.zip']);
  const oncor = await stack.get('/api/admin/ercot/ingests?tdsp=ONCOR', { admin: true });
  assert.deepEqual(oncor.json.ingests.map((x) => x.filename), ['oncor_2.zip', 'oncor_1.zip']);
  const okOncor = await stack.get('/api/admin/ercot/ingests?tdsp=ONCOR&status=ok', { admin: true });
  assert.deepEqual(okOncor.json.ingests.map((x) => x.filename), ['oncor_1.zip']);
  const none = await stack.get('/api/admin/ercot/ingests?tdsp=AEP', { admin: true });
  assert.deepEqual([none.status, none.json.ingests], [200, []]);
  assert.equal((await stack.get('/api/admin/ercot/ingests?limit=501', { admin: true })).status, 400);
  assert.equal((await stack.get('/api/admin/ercot/ingests?status=bogus', { admin: true })).status, 400);
  assert.equal((await stack.get('/api/admin/ercot/ingests')).status, 401);
});
