// Growth bench (issue 15): does the operators' daily work cost the same
// whatever the history stored? Fills SmtInterval (master) and
// UsageIntervalModule (usage) to each size in turn (default 1 M, 10 M, 50 M
// rows per table) and, at each size, measures through nginx:
//   pull       POST /api/admin/smt/pull of a meter-year CSV of a NEW ESIID
//   repost     the same file again (answers duplicate:true)
//   normalize  POST /api/admin/usage/normalize of the measured meter's year
//              (all rows unchanged: snapshot COPY out, temp table, compare)
//   explorer   /admin/database SmtInterval page, col=esiid exact=1 (the
//              measured meter)
//   coverage   GET /api/admin/smt/interval-coverage of the measured meter
// The measured meter (10443720000000001, calendar 2025, 35,040 intervals in
// both tables) is seeded once, before any history, and is the same job at
// every size: each figure measures the cost of the history around it.
//
// History: 1,095 days of 15-minute intervals from 2023-01-01 06:00 UTC
// of ambient ESIIDs that join over time (ESIID k starts at the golden-ratio
// fraction k·φ mod 1 of the 3 years and reads until the end), so the number
// of active meters grows over the history, ~52,500 rows per ESIID. Rows are
// written server-side (INSERT … SELECT generate_series) in chunks of about
// GROWTH_CHUNK rows, one meter's span at a time (like per-meter file loads),
// createdAt = ts + 1 day; then VACUUM (ANALYZE). Only INSERTs of rows and the
// routes are used, so the bench runs on a plain or a partitioned layout.
//
// Not in make test; in make bench only with GROWTH=1 (tests/bench/run.sh).
//   nice -n 10 tools/stack.sh pg-start tests/out/pg
//   IW_TEST_PGHOST=$PWD/tests/out/pg/pgrun GROWTH_SIZES=1000000,10000000 \
//     nice -n 10 node tests/bench/growth.bench.mjs
// Settings: GROWTH_SIZES (rows per table, ascending), GROWTH_ROUNDS (samples
// per figure, default 7), GROWTH_BUDGET_GB (disk budget of the two databases,
// default 40), GROWTH_FILL_LIMIT_S (longest projected fill of a size, default
// 2400), GROWTH_CHUNK (rows per INSERT, default 2000000), GROWTH_EXPLAIN=1
// (print EXPLAIN ANALYZE of the queries behind the figures at each size).
import { statfsSync } from 'node:fs';
import { startStack } from '../lib/stack.mjs';
import { migrate } from '../lib/partition_convert.mjs';
import { intervalFile, yearDays } from '../fakes/smt_files.mjs';

const SIZES = (process.env.GROWTH_SIZES || '1000000,10000000,50000000').split(',').map(Number);
const ROUNDS = Number(process.env.GROWTH_ROUNDS || 7);
const BUDGET = Number(process.env.GROWTH_BUDGET_GB || 40) * 1e9;
const FILL_LIMIT_S = Number(process.env.GROWTH_FILL_LIMIT_S || 2400);
const CHUNK = Number(process.env.GROWTH_CHUNK || 2000000);
const EXPLAIN = process.env.GROWTH_EXPLAIN === '1';
if (SIZES.some((s, i) => !(s > 0) || (i && s <= SIZES[i - 1]))) throw new Error('GROWTH_SIZES: ascending row counts');

const MEASURED = '10443720000000001';
const YEAR_START = '2025-01-01T06:00:00.000Z', YEAR_END = '2026-01-01T05:45:00.000Z'; // Chicago 2025
const SLOTS = 3 * 365 * 96; // 2023-01-01 06:00 UTC .. 2026-01-01 06:00 UTC
const PHI = (Math.sqrt(5) - 1) / 2;
const ambient = (k) => String(10443720010000000n + BigInt(k));
const startSlot = (k) => Math.floor(((k * PHI) % 1) * SLOTS);

const secs = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const q = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]; };
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

const stack = await startStack({ name: 'bench_growth' });

// Interval rows of ESIIDs ks, each from its start slot (or `from`) to the end.
function fillSql(table) {
  return `INSERT INTO "${table}" (esiid, meter, ts, kwh, estimated, flow, source, filled, "createdAt", "updatedAt")
    SELECT (10443720010000000 + g.k)::text, 'unknown', t.ts, ((g.k * 7 + t.i) % 5000) / 1000.0, t.i % 97 = 0, 'C', 'smt', false,
           t.ts + interval '1 day', t.ts + interval '1 day'
    FROM unnest($1::int[], $2::int[]) AS g(k, s)
    CROSS JOIN LATERAL (SELECT i, timestamp '2023-01-01 06:00' + i * interval '15 min' AS ts
                        FROM generate_series(g.s, ${SLOTS - 1}) i) t`;
}
const MEASURED_SQL = (table) => `INSERT INTO "${table}" (esiid, meter, ts, kwh, estimated, flow, source, filled, "createdAt", "updatedAt")
  SELECT '${MEASURED}', 'unknown', ts, (i % 4000 + 1) / 1000.0, false, 'C', 'smt', false, ts + interval '1 day', ts + interval '1 day'
  FROM (SELECT i, timestamp '2025-01-01 06:00' + i * interval '15 min' AS ts FROM generate_series(0, 35039) i) t`;

// Sizes of a table and its partitions (pg_partition_tree also lists a plain table).
async function relSize(db, table) {
  const [r] = await stack.sql(db, `WITH rels AS (
      SELECT relid FROM pg_partition_tree('"${table}"') WHERE isleaf
      UNION SELECT c.oid FROM pg_class c WHERE c.oid = '"${table}"'::regclass AND c.relkind = 'r')
    SELECT coalesce(sum(pg_table_size(relid)), 0)::bigint AS heap,
      coalesce(sum(pg_indexes_size(relid)), 0)::bigint AS idx, count(*)::int AS parts FROM rels`);
  return { heap: Number(r.heap), idx: Number(r.idx), parts: r.parts };
}
async function dbBytes() {
  const [a] = await stack.sql('master', 'SELECT pg_database_size(current_database())::bigint AS b');
  const [b] = await stack.sql('usage', 'SELECT pg_database_size(current_database())::bigint AS b');
  return Number(a.b) + Number(b.b);
}
const freeBytes = () => { const s = statfsSync(stack.dir); return s.bavail * s.bsize; };

let nextK = 0, rows = 0; // rows per table (both hold the same rows)

// Top both tables up to `target` rows, a chunk of whole meter spans at a time.
async function fill(target) {
  while (rows < target) {
    const ks = [], ss = [];
    let n = 0;
    while (n < CHUNK && rows + n < target) {
      let s = startSlot(nextK);
      const want = target - rows - n;
      if (SLOTS - s > want) s = SLOTS - want; // the last meter of a size joins later
      ks.push(nextK++); ss.push(s); n += SLOTS - s;
    }
    for (const [db, table] of [['usage', 'UsageIntervalModule'], ['master', 'SmtInterval']]) {
      await stack.sql(db, fillSql(table), [ks, ss]);
    }
    rows += n;
  }
  for (const [db, table] of [['usage', 'UsageIntervalModule'], ['master', 'SmtInterval']]) {
    await stack.sql(db, `VACUUM (ANALYZE) "${table}"`);
    await stack.sql(db, 'CHECKPOINT'); // measure from clean buffers, not the fill's dirty ones
  }
}

async function timed(fn) { const t0 = process.hrtime.bigint(); await fn(); return ms(t0); }
const ok = (r, what) => { if (r.status !== 200) throw new Error(`${what}: ${r.status} ${r.text.slice(0, 400)}`); return r; };

async function explain(label) {
  const plans = [
    // the page's SQL as explorer/browse.c iw_xbrowse_rows_sql() writes it (exact search of an indexed text column)
    ['master', 'explorer', `EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM (SELECT * FROM "SmtInterval" WHERE esiid::text = $1 OFFSET 0) AS m ORDER BY "createdAt" DESC, id DESC LIMIT 51 OFFSET 0`, [MEASURED]],
    ['master', 'coverage', `EXPLAIN (ANALYZE, BUFFERS) SELECT (ts AT TIME ZONE 'UTC' AT TIME ZONE 'America/Chicago')::date, count(DISTINCT ts)
       FROM "SmtInterval" WHERE esiid = $1 AND ts >= $2::timestamp AND ts < $3::timestamp GROUP BY 1`, [MEASURED, '2025-01-01 06:00', '2026-01-01 06:00']],
    ['usage', 'normalize read', `EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM "UsageIntervalModule" WHERE esiid IN ($1) AND ts >= $2 AND ts <= $3`, [MEASURED, '2025-01-01 06:00', '2026-01-01 05:45']],
  ];
  for (const [db, name, sql, p] of plans) {
    const r = await stack.sql(db, sql, p);
    const text = r.map((x) => x['QUERY PLAN']).join('\n');
    console.log(`--- EXPLAIN ${name} @ ${label}\n${text}`);
    // pages the query touched (the top node's buffers): free of the machine's load
    const m = /Buffers: shared((?: \w+=\d+)+)/.exec(text);
    const pages = m ? [...m[1].matchAll(/(hit|read)=(\d+)/g)].reduce((a, x) => a + Number(x[2]), 0) : NaN;
    (bufs[label] ||= {})[name] = pages;
  }
}
const bufs = {};

// The history's months, made the way an installation that has run for
// three years has them: one marker row per month from 2023-01 in the DEFAULT
// partition, then `iw-migrate partitions` (the monthly timer's step) creates
// each month and moves its row in; the markers are then deleted. Without
// this every history row would land in the DEFAULT partition.
async function historyMonths() {
  for (const [db, table] of [['usage', 'UsageIntervalModule'], ['master', 'SmtInterval']]) {
    const [{ part }] = await stack.sql(db, `SELECT count(*) > 0 AS part FROM pg_partitioned_table
      WHERE partrelid = '"${table}"'::regclass`);
    if (!part) continue; // the unpartitioned layout: nothing to do
    await stack.sql(db, `INSERT INTO "${table}" (esiid, meter, ts, kwh, estimated, flow, source, filled, "createdAt", "updatedAt")
      SELECT 'growth-month-marker', 'unknown', m, 0, false, 'C', 'smt', false, now(), now()
      FROM generate_series(timestamp '2023-01-01', date_trunc('month', now()), interval '1 month') m`);
    const r = await migrate(process.env.IW_TEST_PGHOST, db, stack.dbs[db], ['partitions']);
    if (r.code !== 0) throw new Error(`iw-migrate partitions (${db}): ${r.out}`);
    await stack.sql(db, `DELETE FROM "${table}" WHERE esiid = 'growth-month-marker'`);
  }
}

const results = []; // { size, rows, fillS, fig: {name: [ms...]}, master, usage }
try {
  await historyMonths();
  const days = yearDays(2025);
  await stack.sql('usage', MEASURED_SQL('UsageIntervalModule'));
  await stack.sql('master', MEASURED_SQL('SmtInterval'));
  rows = 35040;
  const token = stack.env.ADMIN_TOKEN;
  const hdr = { 'x-admin-token': token };
  const explorerUrl = `/admin/database?db=master&table=SmtInterval&col=esiid&q=${MEASURED}&exact=1`;
  const coverageUrl = `/api/admin/smt/interval-coverage?esiid=${MEASURED}&start=2025-01-01&end=2025-12-31`;
  const normBody = { esiid: MEASURED, source: 'smt', start: YEAR_START, end: YEAR_END };

  for (let si = 0; si < SIZES.length; si++) {
    const size = SIZES[si];
    // Budget: project this size from the bytes per row so far (both databases).
    if (si > 0) {
      const used = await dbBytes(), perRow = used / rows;
      const need = perRow * size * 1.15, prev = results[results.length - 1];
      const fillEta = prev ? (prev.fillS / Math.max(1, prev.added)) * (size - rows) : 0;
      if (need > BUDGET || need - used > freeBytes() - 5e9) {
        log(`stop: ${fmt(size)} rows would need ~${(need / 1e9).toFixed(1)} GB (budget ${(BUDGET / 1e9).toFixed(0)} GB, free ${(freeBytes() / 1e9).toFixed(1)} GB)`);
        break;
      }
      if (fillEta > FILL_LIMIT_S) {
        log(`stop: filling to ${fmt(size)} rows would take ~${fmt(fillEta)} s (limit ${FILL_LIMIT_S} s)`);
        break;
      }
    }
    const before = rows;
    log(`filling both tables to ${fmt(size)} rows ...`);
    let t0 = process.hrtime.bigint();
    await fill(size);
    const fillS = secs(t0), sized = rows;
    const master = await relSize('master', 'SmtInterval'), usage = await relSize('usage', 'UsageIntervalModule');
    log(`  ${fmt(rows)} rows, ${nextK} ambient ESIIDs, fill ${fillS.toFixed(0)} s; SmtInterval ${((master.heap + master.idx) / 1e9).toFixed(2)} GB, UsageIntervalModule ${((usage.heap + usage.idx) / 1e9).toFixed(2)} GB, free ${(freeBytes() / 1e9).toFixed(1)} GB`);
    if (EXPLAIN) await explain(fmt(size));

    const fig = { pull: [], repost: [], normalize: [], explorer: [], coverage: [] };
    const parts = {}; // the pull's own timingsMs (load, normalize, storeAndCommit)
    // A new meter-year per round (never seen at any size), same calendar year.
    const files = [];
    for (let i = 0; i <= ROUNDS; i++) files.push(intervalFile({ esiid: `1044372009${String(si).padStart(2, '0')}${String(i).padStart(5, '0')}`, days }));
    for (let i = 0; i <= ROUNDS; i++) { // round 0 warms caches and connections, not counted
      const body = { mode: 'inline', filename: `growth-${si}-${i}.csv`, content_b64: files[i].buf.toString('base64') };
      let r;
      const tPull = await timed(async () => { r = ok(await stack.post('/api/admin/smt/pull', body, { admin: true }), 'pull'); });
      if (r.json.duplicate || r.json.intervalNormalized?.insertedCount !== 35040) throw new Error(`pull: ${r.text.slice(0, 400)}`);
      if (i > 0) for (const [k, v] of Object.entries(r.json.timingsMs || {})) (parts[k] ||= []).push(v);
      const tDup = await timed(async () => { r = ok(await stack.post('/api/admin/smt/pull', body, { admin: true }), 'repost'); });
      if (!r.json.duplicate) throw new Error(`repost not a duplicate: ${r.text.slice(0, 400)}`);
      const tNorm = await timed(async () => { r = ok(await stack.post('/api/admin/usage/normalize', normBody, { admin: true }), 'normalize'); });
      if (r.json.summary.rawCount !== 35040 || r.json.summary.unchangedCount !== 35040) throw new Error(`normalize: ${r.text.slice(0, 400)}`);
      const tExp = await timed(async () => { r = ok(await stack.get(explorerUrl, { headers: hdr }), 'explorer'); });
      if (!r.text.includes(MEASURED)) throw new Error('explorer: the measured meter is not on its page');
      const tCov = await timed(async () => { r = ok(await stack.get(coverageUrl, { headers: hdr }), 'coverage'); });
      if (!Array.isArray(r.json?.days) || r.json.days.length !== 365) throw new Error(`coverage: ${r.text.slice(0, 300)}`);
      if (i === 0) continue;
      fig.pull.push(tPull); fig.repost.push(tDup); fig.normalize.push(tNorm); fig.explorer.push(tExp); fig.coverage.push(tCov);
    }
    rows += (ROUNDS + 1) * 35040; // the pulls' rows, in both tables
    results.push({ size, rows, sized, added: rows - before, fillS, fig, master, usage });
    log(`  ${Object.entries(fig).map(([k, v]) => `${k} ${q(v, 0.5).toFixed(0)} ms`).join(', ')}`);
    log(`  pull timingsMs medians: ${Object.entries(parts).map(([k, v]) => `${k} ${q(v, 0.5)}`).join(', ')}`);
  }

  const names = ['pull', 'repost', 'normalize', 'explorer', 'coverage'];
  const base = results[0];
  console.log(`\ngrowth: ${ROUNDS} samples per figure at each size, ms through nginx, median / p95 (ratio of medians to the first size)`);
  console.log('rows/table'.padStart(12) + names.map((n) => n.padStart(24)).join(''));
  for (const r of results) {
    console.log(fmt(r.size).padStart(12) + names.map((n) => {
      const m = q(r.fig[n], 0.5), p = q(r.fig[n], 0.95);
      return `${m.toFixed(0)} / ${p.toFixed(0)} (${(m / q(base.fig[n], 0.5)).toFixed(2)}x)`.padStart(24);
    }).join(''));
  }
  console.log('\ndisk per million rows (heap incl. TOAST/FSM/VM + indexes; sum over partitions):');
  for (const r of results) {
    // bytes per row = MB per million rows
    const per = (s) => `${(s.heap / r.sized).toFixed(0)} + ${(s.idx / r.sized).toFixed(0)} = ${((s.heap + s.idx) / r.sized).toFixed(0)} MB`;
    console.log(`  ${fmt(r.sized).padStart(12)} rows: SmtInterval ${per(r.master)} (${r.master.parts} rel)   UsageIntervalModule ${per(r.usage)} (${r.usage.parts} rel)   fill ${r.fillS.toFixed(0)} s (${fmt(r.added / r.fillS)} rows/s per table pair)`);
  }
  if (EXPLAIN) {
    console.log('\nshared buffers (8 kB pages) each query touched, from EXPLAIN (ANALYZE, BUFFERS), before the pulls:');
    for (const [label, b] of Object.entries(bufs)) console.log(`  ${label.padStart(12)} rows: ${Object.entries(b).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  const last = results[results.length - 1];
  if (results.length > 1) {
    const worst = names.map((n) => [n, q(last.fig[n], 0.5) / q(base.fig[n], 0.5)]).sort((a, b) => b[1] - a[1]);
    console.log(`\ngoal: every figure at ${fmt(last.size)} within 1.3x of ${fmt(base.size)}: ${worst.every(([, v]) => v <= 1.3) ? 'met' : 'NOT met'} (worst: ${worst[0][0]} ${worst[0][1].toFixed(2)}x)`);
  }
  if (results.length < SIZES.length) console.log(`stopped at ${fmt(last.size)} rows: see the stop line above`);
} finally {
  await stack.stop();
}
