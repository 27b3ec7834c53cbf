// Differential check of the SQL guard against Postgres's own parser: every
// statement iw_sqlguard_check accepts from the fuzz corpus is sent alone
// through the extended protocol (which refuses more than one statement) as
// EXPLAIN in a read-only transaction; Postgres must see one statement, and
// its plan must not modify rows or lock them (ModifyTable, LockRows).
// A syntax error or an unknown table is fine: the guard may let through what
// Postgres refuses, never the reverse direction of harm.
//   node tests/fuzz/sqlguard_diff.mjs BUILD PGHOST
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';

const [build = 'build', hostArg = 'tests/out/pg/pgrun'] = process.argv.slice(2);
const host = path.resolve(hostArg); // a socket directory
const dir = 'tests/fuzz/corpus/fuzz_sqlguard';
const files = readdirSync(dir).map((f) => `${dir}/${f}`);
const out = execFileSync(`${build}/testtools/sqlguard_accepts`, files, { maxBuffer: 64 << 20 }).toString();
const client = new pg.Client({ host, user: 'postgres', database: 'postgres' });
await client.connect();
let accepted = 0, planned = 0, refused = 0;
const states = {};
const bad = [];
for (const line of out.split('\n').filter(Boolean)) {
  const [file, hex] = line.split(' ');
  const sql = Buffer.from(hex, 'hex').toString('utf8');
  accepted++;
  await client.query('BEGIN READ ONLY');
  await client.query("SET LOCAL statement_timeout = '2s'");
  try {
    // A named statement forces the extended protocol: one statement only.
    const r = await client.query({ name: `g${accepted}`, text: `EXPLAIN ${sql}` });
    planned++;
    const plan = r.rows.map((x) => x['QUERY PLAN']).join('\n');
    if (/^\s*(->\s*)?(Insert|Update|Delete|Merge) on|LockRows/m.test(plan)) bad.push({ file, sql, plan });
  } catch (e) {
    refused++;
    states[e.code] = (states[e.code] || 0) + 1;
    if (/multiple commands/.test(e.message)) bad.push({ file, sql, error: e.message });
  } finally {
    await client.query('ROLLBACK');
  }
}
await client.end();
console.log(`sqlguard diff: ${files.length} inputs, ${accepted} accepted by the guard, ` +
  `${planned} planned by Postgres, ${refused} refused by Postgres, ${bad.length} disagreements`);
console.log('Postgres refusals by SQLSTATE:', JSON.stringify(states));
for (const b of bad.slice(0, 10)) console.log(JSON.stringify(b));
process.exit(bad.length ? 1 : 0);
