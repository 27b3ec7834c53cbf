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
import { intervalFile, sha256 } from '../fakes/smt_files.mjs';

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
});
