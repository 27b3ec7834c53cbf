// ESIID lookup by service address (GET /api/admin/ercot/lookup-esiid) through
// nginx: an extract in the real shape loaded by the real cron (MIS stand-in),
// older rows without the normalised columns filled by the cron's backfill,
// the lookup's indexes built after the load, then lookups of addresses
// written five ways (right top-1, match:true), addresses not in the index
// (match:false), bad input (400) and no token (401).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startStack } from '../lib/stack.mjs';
import { startErcotMis } from '../fakes/ercot_mis.mjs';
import { constructedName, csvLine, extractRow, makeZip } from '../fakes/ercot_zip.mjs';
import { absent, generate, rewrite, rng } from '../lib/esiid_gen.mjs';

const ROUTE = '/api/admin/ercot/lookup-esiid';
const DAY = '2026-11-26';
let stack, mis;
const loaded = [], old = [];
let zips, oldZips;

const lookup = (q, opts = { admin: true }) =>
  stack.get(`${ROUTE}?${new URLSearchParams(q)}`, opts);

before(async () => {
  zips = generate({ seed: 11, zips: 3, perZip: 150 }, (a) => loaded.push(a));
  oldZips = generate({ seed: 12, zips: 1, perZip: 40, esiidBase: 10443729000000000n, zip0: 77002 }, (a) => old.push(a));
  // An address without a house number (the trigram index within the ZIP).
  const hwy = extractRow('10443720099999999', { n: 1 });
  hwy[1] = 'HWY 290 W'; hwy[2] = ''; hwy[5] = zips[0].zip;
  const body = makeZip([{ name: 'ONCOR_ELEC___FUL.csv', data: [...loaded.map((a) => a.row), hwy].map(csvLine).join('') }]);
  mis = await startErcotMis({ docs: [{ docId: '77', friendlyName: 'ONCOR_ELEC___FUL',
    constructedName: constructedName('ONCOR_ELEC___FUL', DAY), publishDate: `${DAY}T05:52:19-06:00`, body }] });
  stack = await startStack({ name: 'ercot_lookup', env: { ERCOT_MIS_BASE: mis.base } });
  // Rows from before the migration: no addressNumber / addressNorm.
  for (const a of old)
    await stack.sql('master', `INSERT INTO "ErcotEsiidIndex" (id, esiid, "tdspCode", "serviceAddress1",
      "serviceAddress2", "serviceCity", "serviceZip", "premiseType", status) VALUES ($1, $1, 'ONCOR', $2, $3, $4, $5, 'Residential', 'Active')`,
    [a.esiid, a.line1, a.line2 || null, a.city, a.zip]);
});
after(async () => {
  await stack?.stop();
  await mis?.close();
});

test('the cron loads the extract, fills old rows, then builds the lookup indexes once', async () => {
  const idx = async () => (await stack.sql('master',
    `SELECT indexname FROM pg_indexes WHERE tablename = 'ErcotEsiidIndex' ORDER BY 1`)).map((x) => x.indexname);
  assert.ok(!(await idx()).includes('ErcotEsiidIndex_addressNorm_trgm_idx'), 'not there before the first load');
  const r = await stack.get(`/api/admin/ercot/cron?date=${DAY}&token=${encodeURIComponent(stack.env.CRON_SECRET)}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.results[0].rows, loaded.length + 1);
  assert.deepEqual((await idx()).filter((n) => /zip5|trgm/.test(n)),
    ['ErcotEsiidIndex_addressNorm_trgm_idx', 'ErcotEsiidIndex_zip5_number_idx']);
  const [ext] = await stack.sql('master', `SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'`);
  assert.equal(ext?.extname, 'pg_trgm');
  // The loader's columns: the same rules as the query's.
  const apt = loaded.find((a) => a.unit && a.line2);
  const [row] = await stack.sql('master', `SELECT "addressNumber", "addressNorm" FROM "ErcotEsiidIndex" WHERE esiid = $1`, [apt.esiid]);
  assert.equal(row.addressNumber, apt.number);
  assert.match(row.addressNorm, new RegExp(` UNIT ${apt.unit}$`));
  const [{ n }] = await stack.sql('master', `SELECT count(*)::int AS n FROM "ErcotEsiidIndex" WHERE "addressNorm" IS NULL`);
  assert.equal(n, 0, 'the old rows were normalised by the backfill');
  assert.match(stack.log('ercot_cron'), /ercot lookup: indexes built in [\d.]+ s \(40 old rows normalised\)/);
});

test('addresses written five ways find their ESIID (top 1, match:true)', async () => {
  const r0 = rng(5);
  const sample = [...loaded.filter((a) => a.unit).slice(0, 6), ...loaded.filter((a) => a.street.dir).slice(0, 6),
    ...Array.from({ length: 8 }, () => loaded[Math.floor(r0() * loaded.length)]), ...old.slice(0, 5)];
  let right = 0, total = 0;
  const wrong = [];
  for (const a of sample) {
    for (let k = 0; k < 5; k++) {
      const w = rewrite(a, k);
      const r = await lookup({ line1: w.line1, line2: w.line2, city: a.city.toLowerCase(), state: 'TX', zip: k === 2 ? `${a.zip}-1234` : a.zip });
      assert.equal(r.status, 200, r.text);
      total++;
      if (r.json.matches[0]?.esiid === a.esiid && r.json.match) right++;
      else wrong.push({ want: a.esiid, line: w, got: r.json });
    }
  }
  // Missing directionals are only ambiguous when the ZIP has the same number
  // on the opposite street; none of these samples is.
  assert.equal(right, total, JSON.stringify(wrong.slice(0, 3), null, 1));
  const a = loaded.find((x) => x.unit);
  const r = await lookup({ line1: rewrite(a, 0).line1, zip: a.zip });
  const best = r.json.best;
  assert.equal(best.esiid, a.esiid);
  assert.equal(best.tdsp, 'ONCOR');
  assert.equal(best.zip, a.zip);
  assert.equal(best.city, a.city);
  assert.equal(best.status, 'Active');
  assert.ok(['Residential', 'Small Non-Residential'].includes(best.premiseType));
  assert.equal(best.score, 1);
  assert.ok(r.json.matches.length <= 5);
});

test('an address without a house number is found through the trigram index', async () => {
  const r = await lookup({ line1: 'Highway 290 West', zip: zips[0].zip });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.query.number, null);
  assert.equal(r.json.query.normalized, 'HWY 290 W');
  assert.equal(r.json.match, true);
  assert.equal(r.json.best.esiid, '10443720099999999');
  const e = await lookup({ line1: 'Highway 290 East', zip: zips[0].zip });
  assert.equal(e.json.match, false, 'the opposite directional');
});

test('addresses not in the index answer match:false', async () => {
  const r0 = rng(9);
  let n = 0;
  for (let i = 0; i < 40; i++) {
    const a = loaded[Math.floor(r0() * loaded.length)];
    const z = zips.find((x) => x.zip === a.zip);
    const w = absent(a, z, i, r0);
    const r = await lookup({ line1: w.line1, line2: w.line2, zip: a.zip });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.match, false, `${w.line1} / ${w.line2}: ${JSON.stringify(r.json.matches[0])}`);
    assert.equal(r.json.best, null);
    n++;
  }
  assert.equal(n, 40);
  // The right street in another ZIP is not a match either.
  const a = loaded[0];
  const other = zips.find((x) => x.zip !== a.zip).zip;
  const r = await lookup({ line1: a.line1, line2: a.line2, zip: other });
  assert.equal(r.json.match, false);
});

test('bad input answers 400 with the JSON error shape; no token 401', async () => {
  for (const q of [{ zip: '75001' }, { line1: '', zip: '75001' }, { line1: '1 MAIN ST' },
    { line1: '1 MAIN ST', zip: '7500' }, { line1: '1 MAIN ST', zip: '75O01' }, { line1: '1 MAIN ST', zip: '75001-12' },
    { line1: 'x'.repeat(101), zip: '75001' }, { line1: '1 MAIN ST', line2: 'y'.repeat(101), zip: '75001' },
    { line1: '1 MAIN ST', city: 'c'.repeat(65), zip: '75001' }, { line1: '...', zip: '75001' }]) {
    const r = await lookup(q);
    assert.equal(r.status, 400, JSON.stringify(q));
    assert.equal(r.json.ok, false);
    assert.equal(r.json.error, 'invalid_request');
    assert.equal(typeof r.json.message, 'string');
  }
  const r = await lookup({ line1: '1 MAIN ST', zip: '75001' }, {});
  assert.equal(r.status, 401);
  assert.equal(r.json.ok, false);
  const w = await lookup({ line1: '1 MAIN ST', zip: '75001' }, { headers: { 'x-admin-token': 'wrong' } });
  assert.equal(w.status, 401);
});

test('a run with nothing new still fills rows without the columns and builds missing indexes', async () => {
  // As after deploying the migration on an index loaded by the old code.
  await stack.sql('master', `DROP INDEX "ErcotEsiidIndex_addressNorm_trgm_idx"`);
  await stack.sql('master', `DROP INDEX "ErcotEsiidIndex_zip5_number_idx"`);
  await stack.sql('master', `UPDATE "ErcotEsiidIndex" SET "addressNumber" = NULL, "addressNorm" = NULL`);
  const r = await stack.get(`/api/admin/ercot/cron?date=${DAY}&token=${encodeURIComponent(stack.env.CRON_SECRET)}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.results[0].skipped, true, 'the same file: nothing new');
  const [{ n }] = await stack.sql('master', `SELECT count(*)::int AS n FROM "ErcotEsiidIndex" WHERE "addressNorm" IS NULL`);
  assert.equal(n, 0);
  const ix = await stack.sql('master', `SELECT indexname FROM pg_indexes WHERE indexname IN
    ('ErcotEsiidIndex_addressNorm_trgm_idx', 'ErcotEsiidIndex_zip5_number_idx')`);
  assert.equal(ix.length, 2);
  const a = loaded.find((x) => x.unit);
  const l = await lookup({ line1: rewrite(a, 1).line1, zip: a.zip });
  assert.equal(l.json.match, true);
  assert.equal(l.json.best.esiid, a.esiid);
});
