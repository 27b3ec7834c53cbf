// Bench: /api/admin/usage/normalize over 1,000,000 raw rows (100 ESIIDs x
// 10,000 intervals) through nginx, against baselines measured in the same run
// on the same rows and the same cluster:
//   fresh window (empty SmtInterval)      vs a plain COPY usage -> SmtInterval (with its keys)
//   fresh window, general path            (temp table + upsert; forced by one unrelated row)
//   rerun with nothing changed            vs a COPY usage -> an unindexed table
//   any of them                           vs one INSERT ... ON CONFLICT per row (20,000-row sample)
// Prints numbers; asserts nothing but the counts. Usage: node tests/bench/normalize.bench.mjs
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startStack } from '../lib/stack.mjs';

const run = promisify(execFile);
const ESIIDS = 100, PER = 10000, ROWS = ESIIDS * PER, SAMPLE = 20000;
const stack = await startStack({ name: 'bench_norm' });
const host = process.env.IW_TEST_PGHOST;
const psqlArgs = (db) => ['-h', host, '-U', 'postgres', '-d', stack.dbs[db], '-v', 'ON_ERROR_STOP=1', '-qAt'];
const secs = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;
const fmt = (n) => Math.round(n).toLocaleString('en-US');

function pipeCopy(sqlOut, sqlIn) { // psql COPY OUT | psql COPY IN, like the route's stream
  return new Promise((resolve, reject) => {
    const a = spawn('psql', [...psqlArgs('usage'), '-c', sqlOut]);
    const b = spawn('psql', [...psqlArgs('master'), '-c', sqlIn]);
    a.stdout.pipe(b.stdin);
    let err = '';
    a.stderr.on('data', (d) => { err += d; });
    b.stderr.on('data', (d) => { err += d; });
    b.on('close', (code) => (code === 0 ? resolve() : reject(new Error(err))));
  });
}

async function normalize() {
  const t0 = process.hrtime.bigint();
  const r = await stack.post('/api/admin/usage/normalize', { houseId: 'bench-house', source: 'smt' }, { admin: true });
  const t = secs(t0);
  if (r.status !== 200) throw new Error(r.text);
  return { t, s: r.json.summary };
}

try {
  console.log(`seeding ${fmt(ROWS)} raw rows ...`);
  await stack.sql('usage', `INSERT INTO "UsageIntervalModule" (esiid, meter, ts, kwh, estimated, flow, source)
    SELECT (10443720000000000 + e)::text, 'm1', timestamp '2025-01-01 06:00' + i * interval '15 min',
           ((e * 7 + i) % 5000) / 1000.0, i % 97 = 0, 'C', 'smt'
    FROM generate_series(1, ${ESIIDS}) e, generate_series(0, ${PER - 1}) i`);
  await stack.sql('usage', 'VACUUM ANALYZE "UsageIntervalModule"');
  await stack.sql('master', `INSERT INTO "SmtAuthorization" ("houseId", esiid)
    SELECT 'bench-house', (10443720000000000 + e)::text FROM generate_series(1, ${ESIIDS}) e`);
  const cols = 'esiid, meter, ts, kwh, estimated, flow, source, filled';
  const copyOut = `COPY (SELECT ${cols} FROM "UsageIntervalModule") TO STDOUT`;
  const reset = async () => { await stack.sql('master', 'TRUNCATE "SmtInterval"'); await stack.sql('master', 'VACUUM ANALYZE "SmtInterval"'); };

  // Baseline 1: COPY straight into SmtInterval with its keys.
  await reset();
  let t0 = process.hrtime.bigint();
  await pipeCopy(copyOut, `COPY "SmtInterval" (${cols}) FROM STDIN`);
  const tCopyKeys = secs(t0);

  // Baseline 2: COPY into an unindexed table.
  await stack.sql('master', 'DROP TABLE IF EXISTS bench_plain');
  await stack.sql('master', 'CREATE TABLE bench_plain (esiid text, meter text, ts timestamp(3), kwh numeric(10,5), estimated boolean, flow char(1), source text, filled boolean)');
  t0 = process.hrtime.bigint();
  await pipeCopy(copyOut, `COPY bench_plain (${cols}) FROM STDIN`);
  const tCopyPlain = secs(t0);
  await stack.sql('master', 'DROP TABLE bench_plain');

  // The route: fresh window (fast path), then a rerun.
  await reset();
  const fresh = await normalize();
  if (fresh.s.insertedCount !== ROWS) throw new Error(JSON.stringify(fresh.s));
  await stack.sql('master', 'VACUUM ANALYZE "SmtInterval"');
  const rerun = await normalize();
  if (rerun.s.unchangedCount !== ROWS) throw new Error(JSON.stringify(rerun.s));

  // Fresh window through the general path: one unrelated row makes the window non-empty.
  await reset();
  await stack.sql('master', `INSERT INTO "SmtInterval" (esiid, meter, ts, kwh) VALUES ('10443720000000001', 'other', '1999-01-01', 0)`);
  const general = await normalize();
  if (general.s.insertedCount !== ROWS) throw new Error(JSON.stringify(general.s));

  // A rerun with 1% of the rows changed in the usage DB.
  await stack.sql('master', 'VACUUM ANALYZE "SmtInterval"');
  await stack.sql('usage', `UPDATE "UsageIntervalModule" SET kwh = kwh + 1 WHERE extract(minute from ts) = 15 AND extract(hour from ts) IN (1, 9, 17) AND (substr(esiid, 17)::int % 4) = 0`);
  const partial = await normalize();

  // Baseline 3: one INSERT ... ON CONFLICT per row (autocommit), on a sample, into an empty table.
  await reset();
  const sample = await stack.sql('usage', `SELECT esiid, meter, to_char(ts, 'YYYY-MM-DD HH24:MI:SS.MS') AS ts, kwh::text AS kwh, estimated, flow
    FROM "UsageIntervalModule" ORDER BY esiid, ts LIMIT ${SAMPLE}`);
  const file = path.join(os.tmpdir(), `iw-bench-upserts-${process.pid}.sql`);
  fs.writeFileSync(file, sample.map((r) => `INSERT INTO "SmtInterval" AS t (esiid, meter, ts, kwh, estimated, flow, source) VALUES ('${r.esiid}', '${r.meter}', '${r.ts}', ${r.kwh}, ${r.estimated}, '${r.flow}', 'smt') ON CONFLICT (esiid, meter, ts, flow) DO UPDATE SET kwh = EXCLUDED.kwh, estimated = EXCLUDED.estimated, source = EXCLUDED.source, "updatedAt" = CURRENT_TIMESTAMP WHERE (t.kwh, t.estimated, t.source) IS DISTINCT FROM (EXCLUDED.kwh, EXCLUDED.estimated, EXCLUDED.source);`).join('\n'));
  t0 = process.hrtime.bigint();
  await run('psql', [...psqlArgs('master'), '-f', file], { maxBuffer: 1 << 26 });
  const tPerRow = secs(t0);
  fs.rmSync(file);

  const rps = (t, n = ROWS) => n / t;
  const line = (name, t, n = ROWS) => console.log(`${name.padEnd(58)} ${t.toFixed(2).padStart(7)} s  ${fmt(rps(t, n)).padStart(9)} rows/s`);
  console.log(`\nnormalize ${fmt(ROWS)} rows (${ESIIDS} ESIIDs x ${fmt(PER)} intervals), through nginx:`);
  line('baseline: COPY usage -> SmtInterval (with its keys)', tCopyKeys);
  line('baseline: COPY usage -> unindexed table', tCopyPlain);
  line(`baseline: one upsert statement per row (${fmt(SAMPLE)}-row sample)`, tPerRow, SAMPLE);
  line('route: fresh window (fast path: straight COPY)', fresh.t);
  line('route: fresh window, general path (temp table + upsert)', general.t);
  line('route: rerun, nothing changed', rerun.t);
  line(`route: rerun, ${fmt(partial.s.updatedCount)} rows changed`, partial.t);
  const perRowRps = rps(tPerRow, SAMPLE);
  console.log('\nratios (goal in brackets):');
  console.log(`  fresh window / COPY with keys          ${(rps(fresh.t) / rps(tCopyKeys)).toFixed(2)}  [>= 0.8]`);
  console.log(`  fresh, general path / COPY with keys   ${(rps(general.t) / rps(tCopyKeys)).toFixed(2)}`);
  console.log(`  rerun unchanged / COPY unindexed       ${(rps(rerun.t) / rps(tCopyPlain)).toFixed(2)}  [>= 0.25]`);
  console.log(`  fresh window / per-row upserts         ${(rps(fresh.t) / perRowRps).toFixed(1)}x  [>= 15x]`);
  console.log(`  fresh, general path / per-row upserts  ${(rps(general.t) / perRowRps).toFixed(1)}x`);
  console.log(`  rerun unchanged / per-row upserts      ${(rps(rerun.t) / perRowRps).toFixed(1)}x`);
  console.log(`  summaries: fresh ${JSON.stringify(fresh.s)} rerun ${JSON.stringify(rerun.s)} partial ${JSON.stringify(partial.s)}`);
} finally {
  await stack.stop();
}
