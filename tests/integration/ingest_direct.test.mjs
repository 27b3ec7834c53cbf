// POST /api/admin/smt/pull, the direct load (common/smt_ingest.c): a file
// whose window is empty is COPYed straight into UsageIntervalModule and, when
// SmtInterval's window is empty too, into SmtInterval at the same time. Every
// way around it must give the rows and counts the general path gives:
// SmtInterval's window ends equal to UsageIntervalModule's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/stack.mjs';
import { intervalFile } from '../fakes/smt_files.mjs';

const PULL = '/api/admin/smt/pull';
let stack;

before(async () => { stack = await startStack({ name: 'ingest_direct' }); });
after(async () => { await stack?.stop(); });

const upload = (query, buf) => stack.request('POST', `${PULL}?${query}`, {
  raw: buf, headers: { 'content-type': 'text/csv', 'x-admin-token': stack.env.ADMIN_TOKEN },
});

const COLS = `meter, to_char(ts, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ts, kwh::text AS kwh, flow, estimated, source, filled`;
const all = (db, table, esiid) => stack.sql(db,
  `SELECT ${COLS} FROM "${table}" WHERE esiid = $1 ORDER BY meter, flow, ts`, [esiid]);
const bare = (rows) => rows.map((x) => ({ ts: x.ts, kwh: x.kwh, flow: x.flow, estimated: x.estimated }));
const sorted = (a) => [...a].sort((x, y) => (x.flow + x.ts).localeCompare(y.flow + y.ts));

function counts(r) {
  const u = r.json.usageLoaded, n = r.json.intervalNormalized;
  return { intervals: u.intervals, inserted: u.insertedCount, updated: u.updatedCount, unchanged: u.unchangedCount,
    raw: n.rawCount, nInserted: n.insertedCount, nUpdated: n.updatedCount, nUnchanged: n.unchangedCount };
}

test('empty windows: every row lands once in both tables, counted exactly; meter and source kept byte for byte', async () => {
  const esiid = '10443720000000201';
  const f = intervalFile({ esiid, days: ['2025-03-09', '2025-11-02'], generation: true, estimated: (n) => n % 7 === 0 });
  const r = await upload(`filename=a.csv&meter=${encodeURIComponent('M\\1 "x"')}`, f.buf);
  assert.equal(r.status, 200, r.text);
  const n = f.expected.length;
  assert.deepEqual(counts(r), { intervals: n, inserted: n, updated: 0, unchanged: 0, raw: n, nInserted: n, nUpdated: 0, nUnchanged: 0 });
  const usage = await all('usage', 'UsageIntervalModule', esiid);
  assert.deepEqual(bare(usage), sorted(f.expected));
  assert.ok(usage.every((x) => x.meter === 'M\\1 "x"' && x.source === 'smt' && x.filled === false));
  assert.deepEqual(await all('master', 'SmtInterval', esiid), usage);
  const ids = await stack.sql('master', 'SELECT count(DISTINCT id)::int AS n FROM "SmtInterval" WHERE esiid = $1', [esiid]);
  assert.equal(ids[0].n, n);
});

test('usage empty, SmtInterval not: the normaliser updates the stale row and leaves a row without raw data alone', async () => {
  const esiid = '10443720000000202';
  const f = intervalFile({ esiid, days: ['2025-06-01'] });
  await stack.sql('master', `INSERT INTO "SmtInterval" (esiid, meter, ts, kwh, flow, source) VALUES
    ($1, 'unknown', '2025-06-01 05:00:00', 42, 'C', 'old'), ($1, 'other', '2025-06-01 06:00:00', 1, 'C', 'old')`, [esiid]);
  const r = await upload('filename=b.csv', f.buf);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(counts(r), { intervals: 96, inserted: 96, updated: 0, unchanged: 0, raw: 96, nInserted: 95, nUpdated: 1, nUnchanged: 0 });
  const master = await all('master', 'SmtInterval', esiid);
  assert.equal(master.length, 97);
  assert.deepEqual(bare(master.filter((x) => x.meter === 'unknown')), sorted(f.expected));
  assert.deepEqual(master.filter((x) => x.meter === 'other').map((x) => x.kwh), ['1.00000']);
});

test('usage holds another meter in the window: the general path loads, and normalising covers both meters', async () => {
  const esiid = '10443720000000203';
  const f = intervalFile({ esiid, days: ['2025-07-01'] });
  await stack.sql('usage', `INSERT INTO "UsageIntervalModule" (esiid, meter, ts, kwh, flow, source)
    VALUES ($1, 'm2', '2025-07-01 12:00:00', 3, 'C', 'smt')`, [esiid]);
  const r = await upload('filename=c.csv', f.buf);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(counts(r), { intervals: 96, inserted: 96, updated: 0, unchanged: 0, raw: 97, nInserted: 97, nUpdated: 0, nUnchanged: 0 });
  assert.deepEqual(await all('master', 'SmtInterval', esiid), await all('usage', 'UsageIntervalModule', esiid));
});

test('an overlapping file takes the upsert; an adjacent one the direct load; the tables stay equal', async () => {
  const esiid = '10443720000000204';
  const d1 = intervalFile({ esiid, days: ['2025-08-01'] });
  const d12 = intervalFile({ esiid, days: ['2025-08-01', '2025-08-02'], kwh: (k) => (k % 5) / 100 });
  const d3 = intervalFile({ esiid, days: ['2025-08-03'] });
  let r = await upload('filename=d1.csv', d1.buf);
  assert.equal(r.status, 200, r.text);
  r = await upload('filename=d12.csv', d12.buf);
  assert.equal(r.status, 200, r.text);
  const changed = d12.expected.filter((e, i) => i < 96 && e.kwh !== d1.expected.find((x) => x.ts === e.ts).kwh).length;
  assert.deepEqual(counts(r), { intervals: 192, inserted: 96, updated: changed, unchanged: 96 - changed,
    raw: 192, nInserted: 96, nUpdated: changed, nUnchanged: 96 - changed });
  r = await upload('filename=d3.csv', d3.buf);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(counts(r), { intervals: 96, inserted: 96, updated: 0, unchanged: 0, raw: 96, nInserted: 96, nUpdated: 0, nUnchanged: 0 });
  const usage = await all('usage', 'UsageIntervalModule', esiid);
  assert.equal(usage.length, 288);
  assert.deepEqual(await all('master', 'SmtInterval', esiid), usage);
});

test('two files of one ESIID and window at once (two meters): both land, SmtInterval equals usage', async () => {
  const esiid = '10443720000000205';
  const f = intervalFile({ esiid, days: ['2025-09-01', '2025-09-02'] });
  const g = intervalFile({ esiid, days: ['2025-09-01', '2025-09-02'], kwh: (k) => k / 1000 + 1 });
  const [a, b] = await Promise.all([upload('filename=e1.csv&meter=A', f.buf), upload('filename=e2.csv&meter=B', g.buf)]);
  assert.equal(a.status, 200, a.text);
  assert.equal(b.status, 200, b.text);
  assert.equal(a.json.usageLoaded.insertedCount + b.json.usageLoaded.insertedCount, 2 * f.expected.length);
  const usage = await all('usage', 'UsageIntervalModule', esiid);
  assert.equal(usage.length, 2 * f.expected.length);
  assert.deepEqual(await all('master', 'SmtInterval', esiid), usage);
});
