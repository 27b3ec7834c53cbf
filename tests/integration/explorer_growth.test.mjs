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

// Index reads by kind, summed over the table's partitions (each month, and
// the DEFAULT partition these rows of 2024 land in, has its own copy of
// each index: "SmtInterval_default_createdAt_idx", ...).
const idxStats = async () => {
  const rows = await stack.sql('master', `SELECT i.indexrelname AS name, i.idx_tup_read::bigint AS n
    FROM pg_stat_user_indexes i WHERE i.relid IN (SELECT relid FROM pg_partition_tree('"SmtInterval"'))`);
  const sum = (kind) => rows.filter((r) => r.name.includes(kind)).reduce((a, r) => a + Number(r.n), 0);
  return { esiid: sum('esiid_meter_ts_flow_'), createdAt: sum('createdAt_idx') };
};

test('an exact ESIID search reads its rows by the esiid key, newest first', async () => {
  // The data does trip the planner: without the fence, the page walks createdAt.
  const plain = await stack.sql('master', `EXPLAIN SELECT * FROM "SmtInterval" WHERE esiid::text = $1
    ORDER BY "createdAt" DESC, id DESC LIMIT 51`, [OLD]);
  assert.match(plain.map((r) => r['QUERY PLAN']).join('\n'), /Index Scan Backward using "SmtInterval_\w*createdAt_idx"/);

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
  assert.equal(read('esiid'), 2000);
  assert.equal(read('createdAt'), 0); // was ~100,000 (every newer row)
});

test('an exact search of a column that leads no index keeps the plain plan', async () => {
  const r = await stack.get('/admin/database?db=master&table=SmtInterval&col=meter&q=m&exact=1&format=json',
    { headers: { 'x-admin-token': stack.env.ADMIN_TOKEN } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.rows.length, 50);
  assert.ok(r.json.rows.every((x) => x.esiid !== OLD)); // newest first: the later meters
});

test('sessions of both databases run without JIT (a growing table would start paying its compile time)', async () => {
  for (const db of ['master', 'usage']) {
    const [r] = await stack.sql(db, 'SELECT current_setting(\'jit\') AS jit');
    assert.equal(r.jit, 'off', db);
  }
});
