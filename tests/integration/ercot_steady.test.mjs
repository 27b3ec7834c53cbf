// ERCOT steady state through nginx (MIS stand-in, local storage): a full
// extract re-posted with a few rows changed, a few new and one gone writes
// exactly those rows of "ErcotEsiidIndex" (pg_stat_user_tables n_tup_upd /
// n_tup_ins deltas), the unchanged rows keep the post their values came
// from, and the ESIID the new full file lacks is recorded in "ErcotEsiidGone".
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, test } from 'node:test';
import { startStack } from '../lib/stack.mjs';
import { startErcotMis } from '../fakes/ercot_mis.mjs';
import { constructedName, csvLine, extractRow, makeZip } from '../fakes/ercot_zip.mjs';

const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
const FRIENDLY = 'ONCOR_ELEC___FUL';
const N = 400;
const esiid = (i) => `1044372${String(i).padStart(10, '0')}`;
let stack, mis, seq = 7000;

function doc(day, rows) {
  const body = makeZip([{ name: `${FRIENDLY}.csv`, data: rows.map(csvLine).join('') }]);
  return { docId: String(++seq), friendlyName: FRIENDLY, constructedName: constructedName(FRIENDLY, day),
    publishDate: `${day}T05:52:19-06:00`, body };
}

const run = (day, st = stack) => st.get(`/api/admin/ercot/cron?date=${day}`, { admin: true });

// The table's counters as the statistics system has them (flushed by the
// worker's backend some time after its transaction: poll).
async function counters() {
  const [r] = await stack.sql('master', `SELECT pg_stat_clear_snapshot(),
    n_tup_ins::int AS ins, n_tup_upd::int AS upd, n_tup_del::int AS del
    FROM pg_stat_user_tables WHERE relname = 'ErcotEsiidIndex'`);
  return { ins: r.ins, upd: r.upd, del: r.del };
}
// A backend flushes its counters after a transaction once a second has
// passed since its last flush, else within 10 s of idling: a later run (of
// a day without files: only the run lock's statements) hurries it.
async function countersWhen(ok) {
  for (let i = 0; i < 150; i++) {
    const c = await counters();
    if (ok(c)) return c;
    if (i % 20 === 0) {
      await new Promise((r) => setTimeout(r, 1100));
      await run('2026-11-01');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return counters();
}

const D1 = '2026-11-20';
const D2 = '2026-11-21';
const rows1 = Array.from({ length: N }, (_, i) => extractRow(esiid(i), { n: i }));
// The re-post: rows 10, 20, 30 changed; 2 new ESIIDs; the last one gone;
// row 40 listed twice, an earlier changed row then its unchanged last row
// (the last row of a file wins: nothing to write).
const changed = [10, 20, 30];
const rows2 = rows1.slice(0, N - 1).map((r, i) => (changed.includes(i) ? extractRow(esiid(i), { n: i, city: 'PLANO' }) : r));
rows2.splice(40, 0, extractRow(esiid(40), { n: 40, city: 'GARLAND' }));
rows2.push(extractRow(esiid(N + 1), { n: N + 1 }), extractRow(esiid(N + 2), { n: N + 2 }));
// A third post in strict ESIID order (no repeat: the load's shortcut path):
// rows 50 and 60 changed, one more new ESIID.
const D3 = '2026-11-22';
const rows3 = [...rows2.filter((_, i) => i !== 40), extractRow(esiid(N + 3), { n: N + 3 })]
  .map((r) => ([50, 60].includes(Number(r[0].slice(7))) ? extractRow(r[0], { n: Number(r[0].slice(7)), city: 'FRISCO' }) : r));
const first = doc(D1, rows1);
const second = doc(D2, rows2);
const third = doc(D3, rows3);

before(async () => {
  mis = await startErcotMis({ docs: [first, second, third] });
  stack = await startStack({ name: 'ercot_steady', env: { ERCOT_MIS_BASE: mis.base } });
});
after(async () => {
  await stack?.stop();
  await mis?.close();
});


test('a re-posted full extract writes only the changed and new rows', async () => {
  const r1 = await run(D1);
  assert.equal(r1.status, 200, r1.text);
  assert.equal(r1.json.results[0].indexed, N);
  const base = await countersWhen((c) => c.ins >= N);
  assert.deepEqual(base, { ins: N, upd: 0, del: 0 });

  const r2 = await run(D2);
  assert.equal(r2.status, 200, r2.text);
  const res = r2.json.results[0];
  assert.equal(res.rows, N + 2, 'rows read: 399 kept, 1 repeated, 2 new');
  assert.equal(res.indexed, changed.length + 2, 'indexed = changed + new');
  const after2 = await countersWhen((c) => c.ins > base.ins || c.upd > base.upd);
  assert.deepEqual({ ins: after2.ins - base.ins, upd: after2.upd - base.upd, del: after2.del - base.del },
    { ins: 2, upd: changed.length, del: 0 }, 'n_tup_ins / n_tup_upd deltas equal the new and changed rows');

  // Each row names the post its values came from; a reader joins ErcotIngest.
  const src = await stack.sql('master', `SELECT e."esiid", e."serviceCity", i."fileSha256", i."filename"
    FROM "ErcotEsiidIndex" e JOIN "ErcotIngest" i ON i."fileSha256" = e."sourceFileSha256"
    WHERE e."esiid" = ANY($1) ORDER BY 1`, [[esiid(0), esiid(10), esiid(40), esiid(N + 1)]]);
  assert.deepEqual(src.map((x) => [x.serviceCity, x.fileSha256]), [
    ['DALLAS', sha(first.body)], ['PLANO', sha(second.body)], ['DALLAS', sha(first.body)], ['DALLAS', sha(second.body)]]);
  // Still listed by the latest full post: no "ErcotEsiidGone" row for it.
  const gone = await stack.sql('master', `SELECT "fileSha256", "esiid", "tdspCode" FROM "ErcotEsiidGone"`);
  assert.deepEqual(gone, [{ fileSha256: sha(second.body), esiid: esiid(N - 1), tdspCode: 'ONCOR' }]);
  const total = await stack.sql('master', 'SELECT count(*)::int AS n FROM "ErcotEsiidIndex"');
  assert.equal(total[0].n, N + 2, 'a gone ESIID keeps its row');
});

test('a re-post in ESIID order (no repeated ESIID) writes only its changed and new rows', async () => {
  const base = await counters();
  const r = await run(D3);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.results[0].indexed, 3);
  const c = await countersWhen((x) => x.ins > base.ins || x.upd > base.upd);
  assert.deepEqual({ ins: c.ins - base.ins, upd: c.upd - base.upd }, { ins: 1, upd: 2 });
  const rows = await stack.sql('master', `SELECT "serviceCity" FROM "ErcotEsiidIndex" WHERE "esiid" = ANY($1) ORDER BY 1`,
    [[esiid(50), esiid(60), esiid(N + 3)]]);
  assert.deepEqual(rows.map((x) => x.serviceCity), ['DALLAS', 'FRISCO', 'FRISCO']);
  const gone = await stack.sql('master', `SELECT "esiid" FROM "ErcotEsiidGone" WHERE "fileSha256" = $1`, [sha(third.body)]);
  assert.deepEqual(gone.map((x) => x.esiid), [esiid(N - 1)], 'still absent: recorded for this post too');
  // The second post repeats an ESIID: the merge stopped and the SQL diff ran;
  // this one is in order: the merge COPYed only its 3 rows, found 1 gone.
  const log = stack.log('ercot_cron');
  assert.match(log, new RegExp(`${second.constructedName.replace(/\./g, '\\.')}: the steady-state merge stopped \\(the file is not in ESIID order\\)`));
  assert.ok(log.includes(`${third.constructedName}: steady-state merge: 3 of ${rows3.length} rows COPYed`), log.slice(-3000));
  assert.ok(log.includes(`${N + 2} stored rows read, 1 gone`));
  // The rows this path wrote carry the lookup's address columns: each is
  // found by its own address through the lookup route.
  for (const id of [esiid(50), esiid(N + 3)]) {
    const [row] = await stack.sql('master', `SELECT "serviceAddress1", "serviceZip" FROM "ErcotEsiidIndex" WHERE "esiid" = $1`, [id]);
    const q = new URLSearchParams({ line1: row.serviceAddress1, zip: row.serviceZip.slice(0, 5) });
    const l = await stack.get(`/api/admin/ercot/lookup-esiid?${q}`, { headers: { 'x-admin-token': stack.env.ADMIN_TOKEN } });
    assert.equal(l.status, 200, l.text);
    assert.equal(l.json.match, true, `${id}: ${l.text}`);
    assert.equal(l.json.matches[0].esiid, id);
  }
});

// The re-post compares one stored hash of the file's values ("valuesHash",
// ercot/csv.c) instead of the 21 value columns: a change in any one column
// must still be written, a value moved across the tab between two columns
// must not hash alike, and a row written before the hash existed (NULL) is
// rewritten once, then left alone.
test('a change in any one value column is written; a row without a hash is rewritten once', async () => {
  const D4 = '2026-11-23';
  const D5 = '2026-11-24';
  const cols = 21; // fields 1..21 of a row; field 0 is the ESIID
  const prev = rows3.map((r) => [...r]);
  const at = (id) => prev.findIndex((r) => r[0] === id);
  const rows4 = prev.map((r) => [...r]);
  const touched = [];
  for (let k = 1; k <= cols; k++) {
    const i = at(esiid(100 + k));
    rows4[i][k] = rows4[i][k] === '' ? 'X' : `${rows4[i][k]}\\x`; // a backslash: escaped in COPY text
    touched.push(esiid(100 + k));
  }
  // Two adjacent fields trading a character across their boundary keep the
  // same bytes if the separator were not hashed: "AB","C" -> "A","BC".
  const s = at(esiid(150));
  rows4[s][20] = 'AB'; rows4[s][21] = 'C';
  const fourth = doc(D4, rows4);
  const rows5 = rows4.map((r) => [...r]);
  rows5[s][20] = 'A'; rows5[s][21] = 'BC';
  const fifth = doc(D5, rows5);
  mis.docs.push(fourth, fifth);
  const legacy = esiid(200);
  // The counters before this UPDATE (its own update is counted, whenever
  // its backend flushes): the run's writes are the rest.
  let base = await counters();
  await stack.sql('master', `UPDATE "ErcotEsiidIndex" SET "valuesHash" = NULL WHERE "esiid" = $1`, [legacy]);
  const r4 = await run(D4);
  assert.equal(r4.status, 200, r4.text);
  assert.equal(r4.json.results[0].indexed, cols + 2, '21 one-column changes, the AB row, the row without a hash');
  let c = await countersWhen((x) => x.upd >= base.upd + 1 + cols + 2);
  assert.deepEqual({ ins: c.ins - base.ins, upd: c.upd - base.upd - 1 }, { ins: 0, upd: cols + 2 });
  const stored = await stack.sql('master', `SELECT "esiid", "serviceAddress1", "premiseSubType2", "valuesHash" IS NOT NULL AS hashed
    FROM "ErcotEsiidIndex" WHERE "esiid" = ANY($1) ORDER BY 1`, [[esiid(101), esiid(121), legacy]]);
  assert.deepEqual(stored.map((x) => [x.esiid, x.serviceAddress1.endsWith('\\x'), x.premiseSubType2, x.hashed]),
    [[esiid(101), true, '', true], [esiid(121), false, 'X', true], [legacy, false, '', true]].map(([e, a, p, h]) =>
      [e, a, p === '' ? null : p, h]));

  base = await counters();
  const r5 = await run(D5);
  assert.equal(r5.status, 200, r5.text);
  assert.equal(r5.json.results[0].indexed, 1, 'only the row whose bytes moved across the separator');
  await countersWhen((x) => x.upd > base.upd);
  await new Promise((r) => setTimeout(r, 1500)); // any late flush would show
  c = await counters();
  assert.deepEqual({ ins: c.ins - base.ins, upd: c.upd - base.upd }, { ins: 0, upd: 1 });
  const [moved] = await stack.sql('master', `SELECT "premiseSubType1", "premiseSubType2" FROM "ErcotEsiidIndex" WHERE "esiid" = $1`, [esiid(150)]);
  assert.deepEqual(moved, { premiseSubType1: 'A', premiseSubType2: 'BC' });
  // Both re-posts took the worker's merge: only the rows written were COPYed.
  const merged = stack.log('ercot_cron').split('\n').filter((l) => l.includes('steady-state merge:'));
  assert.ok(merged.some((l) => l.includes(fourth.constructedName) && l.includes(`: ${cols + 2} of ${rows4.length} rows COPYed`)), merged.join('\n'));
  assert.ok(merged.some((l) => l.includes(fifth.constructedName) && l.includes(`: 1 of ${rows5.length} rows COPYed`)), merged.join('\n'));
});

// The merge's bound on gone ESIIDs (ERCOT_MERGE_GONE_MAX, lowered to 2):
// past it the merge stops, in the middle of the file or at its end, and the
// load diffs in SQL; the outcome is the same rows, gone rows and counts.
test('past the gone bound the merge gives way to the SQL diff, with the same outcome', async () => {
  const M = 30;
  const ids = (from, to) => Array.from({ length: to - from }, (_, k) => esiid(5000 + from + k));
  const row = (id, o = {}) => extractRow(id, { n: Number(id.slice(-4)), ...o });
  const all = ids(0, M);
  const p1 = doc('2026-10-01', all.map((id) => row(id)));
  // Drops 3 from the middle (over the bound at the third), changes one.
  const kept2 = all.filter((_, k) => ![5, 6, 7].includes(k));
  const p2 = doc('2026-10-02', kept2.map((id) => row(id, id === all[10] ? { city: 'PLANO' } : {})));
  // 5..7 back unchanged, 27..29 dropped: over the bound at the end.
  const kept3 = all.filter((_, k) => k < 27);
  const p3 = doc('2026-10-03', kept3.map((id) => row(id, id === all[10] ? { city: 'PLANO' } : {})));
  const m = await startErcotMis({ docs: [p1, p2, p3] });
  const s = await startStack({ name: 'ercot_steady_cap', env: { ERCOT_MIS_BASE: m.base, ERCOT_MERGE_GONE_MAX: '2' } });
  try {
    let r = await run('2026-10-01', s);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.results[0].indexed, M);
    r = await run('2026-10-02', s);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.results[0].indexed, 1, 'the changed row only');
    r = await run('2026-10-03', s);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.results[0].indexed, 0, 'rows back unchanged are not written');
    const gone = await s.sql('master', `SELECT g."esiid", g."fileSha256" FROM "ErcotEsiidGone" g ORDER BY 2, 1`);
    const want = [...[5, 6, 7].map((k) => ({ esiid: all[k], fileSha256: sha(p2.body) })),
      ...[27, 28, 29].map((k) => ({ esiid: all[k], fileSha256: sha(p3.body) }))]
      .sort((a, b) => (a.fileSha256 + a.esiid).localeCompare(b.fileSha256 + b.esiid));
    assert.deepEqual(gone, want);
    const [city] = await s.sql('master', `SELECT "serviceCity" FROM "ErcotEsiidIndex" WHERE "esiid" = $1`, [all[10]]);
    assert.equal(city.serviceCity, 'PLANO');
    const stopped = s.log('ercot_cron').split('\n').filter((l) => l.includes('the steady-state merge stopped (the file drops too many stored ESIIDs)'));
    assert.equal(stopped.length, 2, 'both re-posts fell back, in the middle and at the end');
  } finally {
    await s.stop();
    await m.close();
  }
});

// The merge needs the stored ESIIDs in byte order, and reads them with the
// column's collation. A collation that orders them otherwise (ICU numeric:
// 17 digits before 18) must stop the merge, and the SQL diff must give the
// same outcome.
test('stored ESIIDs out of byte order (a numeric collation) stop the merge; the SQL diff writes the change', async () => {
  // Byte order: "...0020" (18 digits) before "...003" (17); numeric: the reverse.
  const ids = ['104437200000000020', '10443720000000003', '10443720000000004'];
  const row = (id, o = {}) => extractRow(id, { n: 1, ...o });
  const p1 = doc('2026-09-01', ids.map((id) => row(id)));
  const p2 = doc('2026-09-02', ids.map((id, k) => row(id, k === 2 ? { city: 'PLANO' } : {})));
  const m = await startErcotMis({ docs: [p1, p2] });
  const s = await startStack({ name: 'ercot_steady_coll', env: { ERCOT_MIS_BASE: m.base } });
  try {
    let r = await run('2026-09-01', s);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.results[0].indexed, 3);
    await s.sql('master', `CREATE COLLATION IF NOT EXISTS iw_test_numeric (provider = icu, locale = 'und-u-kn-true')`);
    await s.sql('master', `ALTER TABLE "ErcotEsiidIndex" ALTER COLUMN "esiid" TYPE text COLLATE iw_test_numeric`);
    const order = await s.sql('master', `SELECT "esiid" FROM "ErcotEsiidIndex" ORDER BY "esiid"`);
    assert.deepEqual(order.map((x) => x.esiid), [ids[1], ids[2], ids[0]], 'the collation orders them numerically');
    r = await run('2026-09-02', s);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.results[0].indexed, 1, 'the changed row only');
    const [city] = await s.sql('master', `SELECT "serviceCity" FROM "ErcotEsiidIndex" WHERE "esiid" = $1`, [ids[2]]);
    assert.equal(city.serviceCity, 'PLANO');
    assert.match(s.log('ercot_cron'), /the steady-state merge stopped \(the stored ESIIDs do not come in byte order\)/);
    // A merge that went on would have taken "...0020" (listed) for gone.
    assert.deepEqual(await s.sql('master', `SELECT "esiid" FROM "ErcotEsiidGone"`), []);
  } finally {
    await s.stop();
    await m.close();
  }
});
