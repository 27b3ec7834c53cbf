// POST /api/admin/usage/normalize (SPEC §3, runbook "Normalize Usage"):
// usage DB -> SmtInterval with exact inserted/updated/unchanged counts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/stack.mjs';
import { intervalFile } from '../fakes/smt_files.mjs';

const NORMALIZE = '/api/admin/usage/normalize';
const A = '10443720000000101';
const B = '10443720000000102';
const C = '1008901000000000000103';
let stack;

before(async () => {
  stack = await startStack({ name: 'ingest_norm' });
  // Raw usage straight into the usage DB, as an earlier ingest left it.
  for (const [esiid, days] of [[A, ['2025-01-01', '2025-01-02']], [B, ['2025-03-09']], [C, ['2025-11-02']]]) {
    const f = intervalFile({ esiid, days, generation: esiid === A, estimated: (n) => n % 5 === 0 });
    const values = f.expected.map((r, i) => `($1, 'm1', $${i * 4 + 2}::timestamp, $${i * 4 + 3}::numeric, $${i * 4 + 4}::boolean, $${i * 4 + 5}, 'smt')`);
    const params = [esiid];
    for (const r of f.expected) params.push(r.ts.replace('T', ' ').replace('Z', ''), r.kwh, r.estimated, r.flow);
    await stack.sql('usage', `INSERT INTO "UsageIntervalModule" (esiid, meter, ts, kwh, estimated, flow, source) VALUES ${values.join(',')}`, params);
  }
  await stack.sql('master', `INSERT INTO "SmtAuthorization" ("houseId", esiid) VALUES ('house-7', $1), ('house-7', $2), ('house-8', $3)`, [`'${A}`, B, C]);
});
after(async () => { await stack?.stop(); });

const norm = (body) => stack.post(NORMALIZE, body, { admin: true });
const summary = (raw, ins, upd) => ({ rawCount: raw, insertedCount: ins, updatedCount: upd, unchangedCount: raw - ins - upd });

async function master(esiid) {
  return stack.sql('master', `SELECT to_char(ts, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ts, kwh::text AS kwh, flow, estimated, source, meter, filled
    FROM "SmtInterval" WHERE esiid = $1 ORDER BY flow, ts`, [esiid]);
}
async function usage(esiid) {
  return stack.sql('usage', `SELECT to_char(ts, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ts, kwh::text AS kwh, flow, estimated, source, meter, filled
    FROM "UsageIntervalModule" WHERE esiid = $1 ORDER BY flow, ts`, [esiid]);
}

test('the runbook call: rawCount > 0, then a rerun changes nothing', async () => {
  const body = { houseId: '', esiid: A, source: 'smt', start: '2025-01-01T00:00:00.000Z', end: '2025-12-31T23:59:59.999Z' };
  let r = await norm(body);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.summary, summary(384, 384, 0));
  assert.deepEqual(r.json.filter.esiids, [A]);
  assert.equal(r.json.filter.start, '2025-01-01T00:00:00.000Z');
  assert.deepEqual(await master(A), await usage(A));
  r = await norm(body);
  assert.deepEqual(r.json.summary, summary(384, 0, 0));
});

test('exact counts after changing or deleting rows in either database', async () => {
  // Master: two rows altered, three deleted; usage: one kWh and one flag changed, one row deleted.
  await stack.sql('master', `UPDATE "SmtInterval" SET kwh = kwh + 1 WHERE esiid = $1 AND flow = 'C' AND ts IN ('2025-01-01 06:00', '2025-01-01 06:15')`, [A]);
  await stack.sql('master', `DELETE FROM "SmtInterval" WHERE esiid = $1 AND flow = 'G' AND ts IN ('2025-01-02 06:00', '2025-01-02 06:15', '2025-01-02 06:30')`, [A]);
  await stack.sql('usage', `UPDATE "UsageIntervalModule" SET kwh = 42.5 WHERE esiid = $1 AND flow = 'C' AND ts = '2025-01-01 12:00'`, [A]);
  await stack.sql('usage', `UPDATE "UsageIntervalModule" SET estimated = NOT estimated WHERE esiid = $1 AND flow = 'G' AND ts = '2025-01-01 12:00'`, [A]);
  await stack.sql('usage', `DELETE FROM "UsageIntervalModule" WHERE esiid = $1 AND flow = 'C' AND ts = '2025-01-02 05:45'`, [A]);
  const r = await norm({ esiid: A });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.summary, summary(383, 3, 4));
  const m = await master(A);
  assert.equal(m.length, 384, 'a row whose raw row is gone stays in SmtInterval');
  const u = await usage(A);
  assert.deepEqual(m.filter((x) => !(x.flow === 'C' && x.ts === '2025-01-02T05:45:00.000Z')), u);
  assert.equal(m.find((x) => x.flow === 'C' && x.ts === '2025-01-01T12:00:00.000Z').kwh, '42.50000');
  assert.deepEqual((await norm({ esiid: A })).json.summary, summary(383, 0, 0));
});

test('start and end bound the interval start, both inclusive', async () => {
  const r = await norm({ esiid: C, start: '2025-11-02T01:00:00-05:00', end: '2025-11-02T01:45:00-06:00' });
  assert.equal(r.status, 200, r.text);
  // 1:00 CDT (06:00Z) .. 1:45 CST (07:45Z): both 1 o'clock hours, 8 intervals.
  assert.deepEqual(r.json.summary, summary(8, 8, 0));
  assert.deepEqual((await master(C)).map((x) => x.ts), ['2025-11-02T06:00:00.000Z', '2025-11-02T06:15:00.000Z',
    '2025-11-02T06:30:00.000Z', '2025-11-02T06:45:00.000Z', '2025-11-02T07:00:00.000Z', '2025-11-02T07:15:00.000Z',
    '2025-11-02T07:30:00.000Z', '2025-11-02T07:45:00.000Z']);
  const all = await norm({ esiid: C });
  assert.deepEqual(all.json.summary, summary(100, 92, 0));
});

test('houseId resolves through SmtAuthorization to its ESIIDs', async () => {
  const r = await norm({ houseId: 'house-7' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.filter.esiids, [A, B]);
  assert.deepEqual(r.json.summary, summary(383 + 92, 92, 0));
  assert.equal((await master(B)).length, 92);
  const one = await norm({ houseId: 'house-7', esiid: B });
  assert.deepEqual(one.json.summary, summary(92, 0, 0));
  const other = await norm({ houseId: 'house-8', esiid: A });
  assert.equal(other.status, 404);
  const none = await norm({ houseId: 'no-such-house' });
  assert.equal(none.status, 404);
  assert.equal(none.json.error, 'not_found');
});

test('bad requests are refused with 400 or 401', async () => {
  for (const body of [{}, { houseId: '', esiid: '' }, { esiid: '123' }, { esiid: A, start: '2025-01-01' },
    { esiid: A, source: 'green-button' }, { esiid: A, start: '2025-02-01T00:00:00Z', end: '2025-01-01T00:00:00Z' }]) {
    const r = await norm(body);
    assert.equal(r.status, 400, JSON.stringify(body) + ' ' + r.text);
    assert.equal(r.json.error, 'invalid_request');
  }
  const r = await stack.post(NORMALIZE, { esiid: A });
  assert.equal(r.status, 401);
});

test('an empty window answers rawCount 0', async () => {
  const r = await norm({ esiid: '10443720000009999' });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.summary, summary(0, 0, 0));
});
