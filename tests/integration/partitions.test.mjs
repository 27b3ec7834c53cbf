// Monthly range partitions of SmtInterval (master) and UsageIntervalModule
// (usage) (docs/ingest.md, "Partitions"): the months ahead exist, the DEFAULT
// partition catches a row outside them and is reported (iw-migrate status,
// /metrics), `iw-migrate partitions` moves it into its month, retention drops
// whole months and refuses what it must, the conversion of a populated old
// table keeps every row, and the coverage and normalise queries of one month
// read only that month's partitions (EXPLAIN).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack, BUILD } from '../lib/stack.mjs';
import { convert, migrate, query, recreateDb, TABLES } from '../lib/partition_convert.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ESIID = '10443720000000777';
let stack, host;

before(async () => {
  stack = await startStack({ name: 'partitions' });
  host = process.env.IW_TEST_PGHOST;
});
after(async () => {
  await stack?.stop();
});

const ym = (d) => `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
const monthsFromNow = (k) => { const d = new Date(); d.setUTCDate(1); d.setUTCMonth(d.getUTCMonth() + k); return d; };

async function parts(db, table) {
  return (await stack.sql(db, `SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass ORDER BY 1`,
  [`"${table}"`]));
}

async function gauges() {
  const r = await stack.get('/metrics');
  assert.equal(r.status, 200, r.text);
  const g = {};
  for (const m of r.text.matchAll(/^iw_interval_default_partition_rows\{table="(\w+)"\} (\d+)$/gm)) g[m[1]] = Number(m[2]);
  assert.match(r.text, /^iw_metrics_source_up\{source="partitions"\} 1$/m);
  return g;
}

const mig = (kind, args) => migrate(host, kind, stack.dbs[kind], args, BUILD);

test('the months from last month to 3 ahead exist, (id, ts) is the key, the default is empty', async () => {
  for (const [db, table] of Object.entries(TABLES)) {
    const names = (await parts(db, table)).map((p) => p.relname);
    for (let k = -1; k <= 3; k++) assert.ok(names.includes(`${table}_p${ym(monthsFromNow(k))}`), `${table} ${k}`);
    assert.ok(names.includes(`${table}_default`));
    const [{ kind }] = await stack.sql(db, `SELECT relkind AS kind FROM pg_class WHERE oid = $1::regclass`, [`"${table}"`]);
    assert.equal(kind, 'p');
    const [pk] = await stack.sql(db, `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint
      WHERE conrelid = $1::regclass AND contype = 'p'`, [`"${table}"`]);
    assert.equal(pk.def, 'PRIMARY KEY (id, ts)');
    // The ON CONFLICT target of smt/load.c and usage/normalize.c.
    const uniq = await stack.sql(db, `SELECT pg_get_indexdef(indexrelid) AS def FROM pg_index
      WHERE indrelid = $1::regclass AND indisunique AND NOT indisprimary`, [`"${table}"`]);
    assert.deepEqual(uniq.map((u) => u.def.replace(/.* USING btree /, '')), ['(esiid, meter, ts, flow)']);
  }
  assert.deepEqual(await gauges(), { SmtInterval: 0, UsageIntervalModule: 0 });
});

test('a pulled row outside the months lands in the default, is reported, and the partitions step moves it', async () => {
  const csv = 'ESIID,USAGE_DATE,REVISION_DATE,USAGE_START_TIME,USAGE_END_TIME,USAGE_KWH,ESTIMATED_ACTUAL,CONSUMPTION_SURPLUSGENERATION\n' +
    `${ESIID},01/05/2015,01/06/2015,0:00,0:15,1.250,A,Consumption\n` +
    `${ESIID},01/05/2015,01/06/2015,0:15,0:30,2.500,A,Consumption\n` +
    `${ESIID},03/05/2015,03/06/2015,0:00,0:15,3.750,A,Consumption\n`;
  const r = await stack.post('/api/admin/smt/pull', { mode: 'inline', filename: 'IntervalData_2015.csv',
    content_b64: Buffer.from(csv).toString('base64'), esiid: ESIID }, { admin: true });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.intervalNormalized.insertedCount, 3);
  for (const [db, table] of Object.entries(TABLES)) {
    const [{ n }] = await stack.sql(db, `SELECT count(*)::int AS n FROM "${table}_default"`);
    assert.equal(n, 3, table);
  }
  assert.deepEqual(await gauges(), { SmtInterval: 3, UsageIntervalModule: 3 });

  const st = await mig('master', ['status']);
  assert.equal(st.code, 0, st.out);
  assert.match(st.out, /"SmtInterval_default" holds 3 rows outside the months: 2015-01 \(2\), 2015-03 \(1\)/);
  const su = await mig('usage', ['status']);
  assert.match(su.out, /"UsageIntervalModule_default" holds 3 rows outside the months: 2015-01 \(2\), 2015-03 \(1\)/);

  for (const [db, table] of Object.entries(TABLES)) {
    const p = await mig(db, ['partitions']);
    assert.equal(p.code, 0, p.out);
    assert.match(p.out, new RegExp(`Created ${table}_p201501 \\(2 rows moved from the default\\)`));
    assert.match(p.out, new RegExp(`Created ${table}_p201503 \\(1 row moved from the default\\)`));
    assert.doesNotMatch(p.out, /p201502/, 'old months are not filled in');
    assert.match(p.out, /default partition empty/);
    const [{ n }] = await stack.sql(db, `SELECT count(*)::int AS n FROM "${table}_p201501"`);
    assert.equal(n, 2);
    const [{ d }] = await stack.sql(db, `SELECT count(*)::int AS d FROM "${table}_default"`);
    assert.equal(d, 0);
    // A second run has nothing to do.
    const again = await mig(db, ['partitions']);
    assert.match(again.out, /Every month up to 3 ahead exists/);
  }
  assert.deepEqual(await gauges(), { SmtInterval: 0, UsageIntervalModule: 0 });
  // The rows still answer through the routes (coverage of that month).
  const cov = await stack.get(`/api/admin/smt/interval-coverage?esiid=${ESIID}&start=2015-01-05&end=2015-01-05`, { admin: true });
  assert.equal(cov.status, 200, cov.text);
  assert.equal(cov.json.totals.present, 2);
});

test('retention drops whole months before --before, refuses the last two months and production names', async () => {
  const prev = monthsFromNow(-1), cur = monthsFromNow(0);
  const fmt = (d) => `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
  let r = await mig('master', ['retention', '--before', fmt(cur)]);
  assert.equal(r.code, 2, r.out);
  assert.match(r.out, new RegExp(`latest allowed is --before ${fmt(prev)}`));
  r = await mig('master', ['retention', '--before', '2015-13']);
  assert.equal(r.code, 2);
  r = await mig('master', ['retention', '--before', '2015-02', '--table', 'UsageIntervalModule']);
  assert.equal(r.code, 2);

  // Options go with their command only.
  for (const args of [['retention'], ['partitions', '--months', '121'], ['partitions', '--force'],
    ['partitions', '--before', '2015-02'], ['status', '--dry-run'], ['retention', '--before', '2015-02', '--months', '2']]) {
    r = await mig('master', args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.out}`);
  }

  r = await mig('master', ['retention', '--before', '2015-02', '--dry-run']);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /Would drop SmtInterval_p201501 \(2015-01\): 2 rows, \d+ bytes/);
  assert.equal((await parts('master', 'SmtInterval')).filter((p) => p.relname === 'SmtInterval_p201501').length, 1);

  r = await mig('master', ['retention', '--before', '2015-02']);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /Dropped SmtInterval_p201501 \(2015-01\): 2 rows, [1-9]\d* bytes/);
  assert.match(r.out, /Dropped 1 month of SmtInterval before 2015-02: 2 rows/);
  const names = (await parts('master', 'SmtInterval')).map((p) => p.relname);
  assert.ok(!names.includes('SmtInterval_p201501'));
  assert.ok(names.includes('SmtInterval_p201503'));
  const [{ n }] = await stack.sql('master', `SELECT count(*)::int AS n FROM "SmtInterval" WHERE esiid = $1`, [ESIID]);
  assert.equal(n, 1);
  // The usage table is untouched by a master run.
  const [{ u }] = await stack.sql('usage', `SELECT count(*)::int AS u FROM "UsageIntervalModule" WHERE esiid = $1`, [ESIID]);
  assert.equal(u, 3);

  // A database whose name is not dev/test may be production: --force needed.
  const prod = 'partitions_prodlike';
  await recreateDb(host, prod);
  try {
    assert.equal((await migrate(host, 'master', prod, ['deploy'], BUILD)).code, 0);
    await query(host, prod, `INSERT INTO "SmtInterval" (esiid, meter, ts, kwh) VALUES ('1', 'm', '2016-06-01', 1)`);
    assert.equal((await migrate(host, 'master', prod, ['partitions'], BUILD)).code, 0);
    r = await migrate(host, 'master', prod, ['retention', '--before', '2016-07'], BUILD);
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /refusing to drop months of database "partitions_prodlike"/);
    assert.equal((await query(host, prod, `SELECT count(*)::int AS n FROM "SmtInterval"`))[0].n, 1);
    r = await migrate(host, 'master', prod, ['retention', '--before', '2016-07', '--force'], BUILD);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /Dropped SmtInterval_p201606 \(2016-06\): 1 rows/);
    assert.equal((await query(host, prod, `SELECT count(*)::int AS n FROM "SmtInterval"`))[0].n, 0);
  } finally {
    await query(host, 'postgres', `DROP DATABASE IF EXISTS "${prod}" WITH (FORCE)`);
  }
});

test('the conversion of a populated unpartitioned table keeps every row and the sequence, and is idempotent', async () => {
  for (const kind of ['master', 'usage']) {
    const db = `partitions_convert_${kind}_test`;
    try {
      const { before, after } = await convert(host, kind, db, 20000);
      assert.equal(before.rows, 20000);
      assert.deepEqual(after, before);
      const table = TABLES[kind];
      const [{ k }] = await query(host, db, `SELECT relkind AS k FROM pg_class WHERE oid = '"${table}"'::regclass`);
      assert.equal(k, 'p');
      const [{ n }] = await query(host, db, `SELECT count(*)::int AS n FROM "${table}_default"`);
      assert.equal(n, 0, 'every row in its month');
      // New rows take ids after the old ones; a re-run changes nothing.
      await query(host, db, `INSERT INTO "${table}" (esiid, meter, ts, kwh) VALUES ('9', 'm', now(), 1)`);
      const [{ id }] = await query(host, db, `SELECT id FROM "${table}" WHERE esiid = '9'`);
      assert.equal(id, String(20001).padStart(20, '0'));
      const re = await migrate(host, kind, db, ['apply', '20261129140000_interval_partitions'], BUILD);
      assert.equal(re.code, 0, re.out);
      const [{ c }] = await query(host, db, `SELECT count(*)::int AS c FROM "${table}"`);
      assert.equal(c, 20001);
    } finally {
      await query(host, 'postgres', `DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
    }
  }
});

// The SQL text of a C string constant NAME in FILE (adjacent literals joined).
function cString(file, name) {
  const s = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const i = s.indexOf(`${name}[] =`);
  assert.ok(i >= 0, `${name} in ${file}`);
  const body = s.slice(i, s.indexOf(';', i));
  return [...body.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\\"/g, '"')).join('');
}
const scanned = (plan, table) => [...new Set([...plan.matchAll(new RegExp(`on "?(${table}_\\w+)"?`, 'g'))].map((m) => m[1]))].sort();

test('EXPLAIN: the coverage and normalise queries of one month read only its partitions', async () => {
  for (const m of ['2025-02-01', '2025-03-01', '2025-04-01', '2025-05-01']) {
    await stack.sql('master', `SELECT iw_interval_month_ensure('SmtInterval', $1)`, [m]);
  }
  for (const m of ['2025-05-01', '2025-06-01', '2025-07-01']) {
    await stack.sql('usage', `SELECT iw_interval_month_ensure('UsageIntervalModule', $1)`, [m]);
  }
  // The coverage statement of usage/coverage.c, Chicago days of March 2025:
  // UTC 2025-03-01 06:00 .. 2025-04-01 05:00, so March and April.
  const cov = cString('common/usage/coverage.c', 'SQL_COVERAGE');
  await stack.sql('master', `PREPARE iw_cov(text, date, date) AS ${cov}`);
  const plan = (await stack.sql('master', `EXPLAIN (COSTS OFF) EXECUTE iw_cov($1, '2025-03-01', '2025-03-31')`
    .replace('$1', `'${ESIID}'`))).map((r) => r['QUERY PLAN']).join('\n');
  assert.deepEqual(scanned(plan, 'SmtInterval'), ['SmtInterval_p202503', 'SmtInterval_p202504'], plan);

  // The normaliser's window read (usage/normalize.c), bounds as the route sets them.
  const copy = cString('common/usage/normalize.c', 'SQL_USAGE_COPY_OUT');
  const select = copy.replace(/^COPY \(/, '').replace(/\) TO STDOUT$/, '');
  await stack.sql('usage', 'BEGIN');
  try {
    await stack.sql('usage', `SELECT set_config('iw.norm_esiids', $1, true), set_config('iw.norm_start', $2, true),
      set_config('iw.norm_end', $3, true)`, [ESIID, '2025-06-01 00:00:00', '2025-06-30 23:59:59.999']);
    const rows = await stack.sql('usage', `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ${select}`);
    const nplan = rows.map((r) => r['QUERY PLAN']).join('\n');
    // Pruned at run time (the bounds are init-plan values): the others never run.
    const ran = nplan.split('\n').filter((l) => /UsageIntervalModule_/.test(l) && !/never executed/.test(l));
    assert.deepEqual(scanned(ran.join('\n'), 'UsageIntervalModule'), ['UsageIntervalModule_p202506'], nplan);
  } finally {
    await stack.sql('usage', 'ROLLBACK');
  }
});

test('the explorer estimates a large partitioned table from its months', async () => {
  // > IW_CATALOG_EXACT_MAX (8 MiB) in the current month, analyzed as
  // autovacuum does it: the partition, never the parent.
  const part = `SmtInterval_p${ym(monthsFromNow(0))}`;
  const start = `${ym(monthsFromNow(0)).slice(0, 4)}-${ym(monthsFromNow(0)).slice(4)}-01`;
  await stack.sql('master', `INSERT INTO "SmtInterval" (esiid, meter, ts, kwh, source)
    SELECT '1044372' || lpad((g % 50)::text, 10, '0'), 'unknown', $1::timestamp + (g / 50) * interval '15 minutes',
      1, 'explorer-estimate-padding-to-make-rows-wider' FROM generate_series(0, 119999) g`, [start]);
  await stack.sql('master', `ANALYZE "${part}"`);
  const login = await fetch(`${stack.base}/admin/database/login`, { method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: stack.env.ADMIN_TOKEN }).toString() });
  assert.equal(login.status, 303);
  const cookie = login.headers.get('set-cookie').split(';')[0];
  const r = await fetch(`${stack.base}/admin/database?format=json`, { headers: { cookie } });
  assert.equal(r.status, 200);
  const t = (await r.json()).master.find((x) => x.name === 'SmtInterval');
  assert.equal(t.estimated, true);
  assert.ok(t.rows > 100000 && t.rows < 140000, JSON.stringify(t));
  await stack.sql('master', `DELETE FROM "SmtInterval" WHERE source = 'explorer-estimate-padding-to-make-rows-wider'`);
});
