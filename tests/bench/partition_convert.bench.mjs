// The conversion of a populated, unpartitioned interval table into monthly
// partitions (migration 20261129140000_interval_partitions), timed per
// million rows: builds the old layout on a scratch database, fills ROWS rows
// (default 1 M) with generate_series, deploys the conversion, and checks that
// the row count, a checksum of every column of every row, and the id sequence
// are unchanged. Not part of make test.
//
//   tools/stack.sh pg-start tests/out/pg
//   IW_TEST_PGHOST=$PWD/tests/out/pg/pgrun nice -n 10 node tests/bench/partition_convert.bench.mjs [ROWS] [master|usage]
import assert from 'node:assert/strict';
import { convert, query } from '../lib/partition_convert.mjs';

const host = process.env.IW_TEST_PGHOST;
if (!host) throw new Error('IW_TEST_PGHOST: the socket directory of a cluster (tools/stack.sh pg-start)');
const rows = Number(process.argv[2] || 1_000_000);
const kinds = process.argv[3] ? [process.argv[3]] : ['master', 'usage'];

for (const kind of kinds) {
  const db = `bench_partition_convert_${kind}_test`;
  try {
    const { before, after, ms } = await convert(host, kind, db, rows);
    assert.deepEqual(after, before, 'rows, checksum and sequence unchanged');
    const [{ n }] = await query(host, db, `SELECT count(*)::int AS n FROM pg_inherits
      WHERE inhparent = '"${kind === 'master' ? 'SmtInterval' : 'UsageIntervalModule'}"'::regclass`);
    console.log(JSON.stringify({ kind, rows: before.rows, partitions: n, span: [before.lo, before.hi],
      conversionMs: Math.round(ms), msPerMillionRows: Math.round(ms / (before.rows / 1e6)), checksumEqual: true }));
  } finally {
    await query(host, 'postgres', `DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
  }
}
