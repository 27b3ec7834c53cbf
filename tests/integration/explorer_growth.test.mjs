// The explorer's SmtInterval page of one ESIID (col=esiid, exact) reads that
// ESIID's rows through its index, not every row loaded after the ESIID's
// newest one (a walk of the createdAt index backwards, filtering: a cost that
// grew with the history of the other meters; docs/ingest.md, Growth).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startStack } from '../lib/stack.mjs';

const OLD = '10443720000000007';
let stack;

before(async () => {
  stack = await startStack({ name: 'explorer_growth' });
  // The ESIID searched: 2,000 rows loaded in 2024; then 40 other meters x
  // 2,500 rows loaded later (newer createdAt).
  await stack.sql('master', `INSERT INTO "SmtInterval" (esiid, meter, ts, kwh, "createdAt")
    SELECT $1, 'm', timestamp '2024-01-01' + i * interval '15 min', 1, timestamp '2024-02-01' + i * interval '1 s'
    FROM generate_series(0, 1999) i`, [OLD]);
  await stack.sql('master', `INSERT INTO "SmtInterval" (esiid, meter, ts, kwh, "createdAt")
    SELECT (10443720000001000 + e)::text, 'm', timestamp '2024-01-01' + i * interval '15 min', 1,
           timestamp '2025-02-01' + (e * 2500 + i) * interval '1 s'
    FROM generate_series(1, 40) e, generate_series(0, 2499) i`);
  await stack.sql('master', 'VACUUM ANALYZE "SmtInterval"');
});
after(async () => { await stack?.stop(); });

const idxStats = async () => Object.fromEntries((await stack.sql('master',
  `SELECT indexrelname AS name, idx_tup_read::bigint AS n FROM pg_stat_user_indexes WHERE relname = 'SmtInterval'`))
  .map((r) => [r.name, Number(r.n)]));

test('an exact ESIID search reads its rows by the esiid key, newest first', async () => {
  // The data does trip the planner: without the fence, the page walks createdAt.
  const plain = await stack.sql('master', `EXPLAIN SELECT * FROM "SmtInterval" WHERE esiid::text = $1
    ORDER BY "createdAt" DESC, id DESC LIMIT 51`, [OLD]);
  assert.match(plain.map((r) => r['QUERY PLAN']).join('\n'), /Index Scan Backward using "SmtInterval_createdAt_idx"/);

  const before = await idxStats();
  const r = await stack.get(`/admin/database?db=master&table=SmtInterval&col=esiid&q=${OLD}&exact=1&format=json`,
    { headers: { 'x-admin-token': stack.env.ADMIN_TOKEN } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.rows.length, 50);
  assert.ok(r.json.rows.every((x) => x.esiid === OLD));
  assert.equal(r.json.rows[0].ts, '2024-01-21 19:45:00'); // the newest of its 2,000 (i = 1999)
  // The explorer's backend flushes its statistics once idle (Postgres 15:
  // after up to 10 s).
  let after;
  for (const end = Date.now() + 20000; Date.now() < end;) {
    after = await idxStats();
    if (Object.keys(after).some((k) => after[k] !== before[k])) break;
    await new Promise((res) => setTimeout(res, 250));
  }
  const read = (name) => after[name] - before[name];
  assert.equal(read('SmtInterval_esiid_meter_ts_flow_key'), 2000);
  assert.equal(read('SmtInterval_createdAt_idx'), 0); // was ~100,000 (every newer row)
});

test('an exact search of a column that leads no index keeps the plain plan', async () => {
  const r = await stack.get('/admin/database?db=master&table=SmtInterval&col=meter&q=m&exact=1&format=json',
    { headers: { 'x-admin-token': stack.env.ADMIN_TOKEN } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.rows.length, 50);
  assert.ok(r.json.rows.every((x) => x.esiid !== OLD)); // newest first: the later meters
});
