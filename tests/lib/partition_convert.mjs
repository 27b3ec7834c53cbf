// The conversion of an unpartitioned interval table (the layout before
// 20261129140000_interval_partitions) into monthly partitions, on a scratch
// database: used by tests/integration/partitions.test.mjs (a small count)
// and tests/bench/partition_convert.bench.mjs (1 M rows).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CONVERSION = '20261129140000_interval_partitions';
export const TABLES = { master: 'SmtInterval', usage: 'UsageIntervalModule' };
const URL_VAR = { master: 'DATABASE_URL', usage: 'USAGE_DATABASE_URL' };

export async function query(host, db, sql, params = []) {
  const c = new pg.Client({ host, user: 'postgres', database: db });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows;
  } finally {
    await c.end();
  }
}

// Runs iw-migrate ARGS against DBNAME (kind master|usage). {code, out}.
export async function migrate(host, kind, dbname, args, build = process.env.IW_BUILD || 'build') {
  const env = { PATH: process.env.PATH, [URL_VAR[kind]]: `postgresql://postgres@/${dbname}?host=${host}` };
  let res;
  try {
    const r = await promisify(execFile)(path.join(ROOT, build, 'bin/iw-migrate'), ['--db', kind, ...args],
      { env, maxBuffer: 16 << 20 });
    res = { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    res = { code: e.code, out: (e.stdout || '') + (e.stderr || '') };
  }
  // The sanitizer build's iw-migrate reports on stderr: any report fails.
  if (/Sanitizer|runtime error:/.test(res.out)) throw new Error(`iw-migrate ${args.join(' ')}:\n${res.out}`);
  return res;
}

export async function recreateDb(host, db) {
  await query(host, 'postgres', `DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
  await query(host, 'postgres', `CREATE DATABASE "${db}"`);
}

// Every column of every row, order-independent, plus the sequence.
export async function fingerprint(host, db, table) {
  const [r] = await query(host, db, `SELECT count(*)::bigint AS n,
      sum(hashtextextended(concat_ws('|', id, esiid, meter, ts, kwh, filled, source,
        "createdAt", "updatedAt", flow, estimated), 0)::numeric)::text AS sum,
      min(ts)::text AS lo, max(ts)::text AS hi FROM "${table}"`);
  const [s] = await query(host, db, `SELECT last_value::text AS v FROM "${table}_id_seq"`);
  return { rows: Number(r.n), sum: r.sum, lo: r.lo, hi: r.hi, seq: s.v };
}

// Builds the old layout in DB (every migration before the conversion), fills
// ROWS rows over 3 years with generate_series, then deploys the conversion.
// Returns { before, after, ms } (fingerprints, and the conversion's time).
export async function convert(host, kind, db, rows) {
  const table = TABLES[kind];
  const src = path.join(ROOT, 'sql', kind, 'migrations');
  const old = fs.mkdtempSync(path.join(os.tmpdir(), 'iw-old-layout-'));
  try {
    for (const m of fs.readdirSync(src)) {
      if (m >= CONVERSION) continue;
      fs.cpSync(path.join(src, m), path.join(old, m), { recursive: true });
    }
    await recreateDb(host, db);
    let r = await migrate(host, kind, db, ['--dir', old, 'deploy']);
    if (r.code !== 0) throw new Error(`old layout: ${r.out}`);
    const [{ relkind }] = await query(host, db, `SELECT relkind FROM pg_class WHERE oid = '"${table}"'::regclass`);
    if (relkind !== 'r') throw new Error(`old layout is not a plain table: ${relkind}`);
    // 20 meters x 15-minute intervals from 2023-01-01: 1 M rows span ~1.4 years.
    await query(host, db, `INSERT INTO "${table}" (esiid, meter, ts, kwh, estimated, flow, source, filled)
      SELECT '1044372' || lpad((g % 20)::text, 10, '0'), 'unknown',
        timestamp '2023-01-01' + (g / 20) * interval '15 minutes', (g % 997) / 100.0,
        g % 13 = 0, CASE WHEN g % 17 = 0 THEN 'G' ELSE 'C' END, 'smt', false
      FROM generate_series(0, $1::int - 1) g`, [rows]);
    await query(host, db, `VACUUM ANALYZE "${table}"`);
    const before = await fingerprint(host, db, table);
    const t0 = process.hrtime.bigint();
    r = await migrate(host, kind, db, ['deploy']);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.code !== 0) throw new Error(`conversion: ${r.out}`);
    const after = await fingerprint(host, db, table);
    return { before, after, ms };
  } finally {
    fs.rmSync(old, { recursive: true, force: true });
  }
}
