// Interval coverage of one ESIID (issue 13): the JSON route
// /api/admin/smt/interval-coverage and the explorer's SVG calendar
// /admin/coverage, on 2024 (a leap year with both America/Chicago DST days),
// a missing day, a half day, estimated and generation rows.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startStack } from '../lib/stack.mjs';

const ESIID = '10443720000000001';
const OTHER = '10443720000000002';
const API = '/api/admin/smt/interval-coverage';
let stack;

// Every 15-minute slot of the Chicago days FROM..TO (inclusive), stored as
// the loader stores them: UTC wall time in "ts".
const slots = (from, to, where = 'true') => `
  SELECT g AT TIME ZONE 'UTC' AS ts FROM generate_series(
    timestamptz '${from} 00:00 America/Chicago',
    timestamptz '${to} 00:00 America/Chicago' + interval '1 day' - interval '15 min',
    interval '15 min') g
  WHERE ${where}`;
const chicagoDay = `(g AT TIME ZONE 'America/Chicago')::date`;

before(async () => {
  stack = await startStack({ name: 'cover' });
  // The whole year but 2024-06-15; 2024-07-04 only until noon.
  await stack.sql('master', `INSERT INTO "SmtInterval" (esiid, meter, ts, kwh, flow, estimated)
    SELECT '${ESIID}', 'M1', ts, 0.25, 'C', false FROM (${slots('2024-01-01', '2024-12-31',
      `${chicagoDay} <> date '2024-06-15' AND NOT (${chicagoDay} = date '2024-07-04'
        AND (g AT TIME ZONE 'America/Chicago')::time >= time '12:00')`)}) s`);
  // 10 estimated rows on 2024-08-01; a whole day of generation on 2024-09-01.
  await stack.sql('master', `UPDATE "SmtInterval" SET estimated = true WHERE esiid = $1 AND id IN (
    SELECT id FROM "SmtInterval" WHERE esiid = $1
      AND ts >= timestamp '2024-08-01 05:00' ORDER BY ts LIMIT 10)`, [ESIID]);
  await stack.sql('master', `INSERT INTO "SmtInterval" (esiid, meter, ts, kwh, flow)
    SELECT '${ESIID}', 'M1', ts, 0.1, 'G' FROM (${slots('2024-09-01', '2024-09-01')}) s`);
  // A second meter on 2024-02-01: the same slots count once.
  await stack.sql('master', `INSERT INTO "SmtInterval" (esiid, meter, ts, kwh)
    SELECT '${ESIID}', 'M2', ts, 0.3 FROM (${slots('2024-02-01', '2024-02-01')}) s`);
  // Another ESIID's rows never count.
  await stack.sql('master', `INSERT INTO "SmtInterval" (esiid, meter, ts, kwh)
    SELECT '${OTHER}', 'M1', ts, 0.3 FROM (${slots('2024-06-15', '2024-06-15')}) s`);
});
after(async () => { await stack?.stop(); });

const cov = (q, opts = { admin: true }) => stack.get(`${API}?${new URLSearchParams(q)}`, opts);

test('a year: exact per-day counts, both DST days, the missing day, estimated and generation', async () => {
  const r = await cov({ esiid: ESIID, start: '2024-01-01', end: '2024-12-31' });
  assert.equal(r.status, 200, r.text);
  const j = r.json;
  assert.equal(j.ok, true);
  assert.equal(j.days.length, 366);
  const day = Object.fromEntries(j.days.map((d) => [d.date, d]));
  const strip = ({ date, ...c }) => c;
  assert.deepEqual(strip(day['2024-01-01']), { expected: 96, present: 96, estimated: 0, generation: 0 });
  assert.deepEqual(strip(day['2024-03-10']), { expected: 92, present: 92, estimated: 0, generation: 0 });
  assert.deepEqual(strip(day['2024-11-03']), { expected: 100, present: 100, estimated: 0, generation: 0 });
  assert.deepEqual(strip(day['2024-06-15']), { expected: 96, present: 0, estimated: 0, generation: 0 });
  assert.deepEqual(strip(day['2024-07-04']), { expected: 96, present: 48, estimated: 0, generation: 0 });
  assert.deepEqual(strip(day['2024-08-01']), { expected: 96, present: 96, estimated: 10, generation: 0 });
  assert.deepEqual(strip(day['2024-09-01']), { expected: 96, present: 96, estimated: 0, generation: 96 });
  assert.deepEqual(strip(day['2024-02-01']), { expected: 96, present: 96, estimated: 0, generation: 0 });
  assert.deepEqual(j.missingDays, ['2024-06-15']);
  // 366 days of 96, minus 4 on 10 March, plus 4 on 3 November.
  assert.deepEqual(j.totals, {
    expected: 35136, present: 35136 - 96 - 48, estimated: 10, generation: 96,
    days: 366, completeDays: 364, missingDays: 1,
  });
  assert.equal(j.timeZone, 'America/Chicago');
});

test('a window across the fall-back day only, and a day with no rows at all', async () => {
  const r = await cov({ esiid: ESIID, start: '2024-11-02', end: '2024-11-04' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.days.map((d) => [d.date, d.expected, d.present]),
    [['2024-11-02', 96, 96], ['2024-11-03', 100, 100], ['2024-11-04', 96, 96]]);
  const none = await cov({ esiid: ESIID, start: '2025-03-09', end: '2025-03-09' });
  assert.equal(none.status, 200);
  assert.deepEqual(none.json.days, [{ date: '2025-03-09', expected: 92, present: 0, estimated: 0, generation: 0 }]);
});

test('bad input is 400, no token is 401', async () => {
  for (const q of [
    { esiid: 'abc', start: '2024-01-01', end: '2024-01-02' },
    { esiid: ESIID, start: '2024-02-30', end: '2024-03-01' },
    { esiid: ESIID, start: '2024-03-02', end: '2024-03-01' },
    { esiid: ESIID, start: '2023-01-01', end: '2024-01-02' },
    { esiid: ESIID, start: '2024-01-01' },
    { esiid: ESIID, start: "2024-01-0'", end: '2024-01-02' },
  ]) {
    const r = await cov(q);
    assert.equal(r.status, 400, JSON.stringify(q));
    assert.equal(r.json.error, 'invalid_request');
  }
  const r = await cov({ esiid: ESIID, start: '2024-01-01', end: '2024-01-02' }, {});
  assert.equal(r.status, 401);
});

test('the calendar: an SVG of 366 day cells, the missing day listed, no script, the CSP kept', async () => {
  const r = await stack.get(`/admin/coverage?esiid=${ESIID}&year=2024`, { admin: true });
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  assert.equal(r.headers.get('content-security-policy'),
    "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  assert.doesNotMatch(r.text, /<script|style="/i);
  assert.equal((r.text.match(/<svg /g) || []).length, 1);
  assert.equal((r.text.match(/<rect class="day"/g) || []).length, 366);
  assert.match(r.text, /2024-03-10: 92 of 92 intervals, 0 estimated, 0 generation/);
  assert.match(r.text, /2024-11-03: 100 of 100 intervals/);
  assert.match(r.text, /data-date="2024-06-15"[^>]*fill="#e5e5e5"/);
  assert.match(r.text, /data-date="2024-07-04"[^>]*fill="#8fd19e"/);
  assert.equal((r.text.match(/<rect class="est"/g) || []).length, 1);
  assert.equal((r.text.match(/<rect class="gen"/g) || []).length, 1);
  const missing = r.text.split('<ul class="missing">')[1].split('</ul>')[0];
  assert.equal(missing, '<li>2024-06-15</li>');
  // Without a year: the year of the newest interval.
  const d = await stack.get(`/admin/coverage?esiid=${ESIID}`, { admin: true });
  assert.match(d.text, /Interval coverage of 10443720000000001 in 2024/);
  // 2023: 365 cells, all missing.
  const y = await stack.get(`/admin/coverage?esiid=${ESIID}&year=2023`, { admin: true });
  assert.equal((y.text.match(/<rect class="day"/g) || []).length, 365);
  assert.match(y.text, /Missing days \(365\)/);
  assert.match(y.text, /<ul class="missing"><li>2023-01-01 – 2023-12-31 \(365 days\)<\/li><\/ul>/);
});

test('the calendar needs a login, and refuses a bad ESIID or year', async () => {
  const anon = await stack.get(`/admin/coverage?esiid=${ESIID}`);
  assert.equal(anon.status, 401);
  assert.match(anon.text, /action="\/admin\/database\/login"/);
  for (const q of ['esiid=12', `esiid=${ESIID}&year=20x4`, `esiid=${ESIID}&year=1999`]) {
    const r = await stack.get(`/admin/coverage?${q}`, { admin: true });
    assert.equal(r.status, 400, q);
  }
});

test('the SmtInterval page of an ESIID links its calendar', async () => {
  const r = await stack.get(`/admin/database?table=SmtInterval&col=esiid&exact=1&q=${ESIID}`, { admin: true });
  assert.equal(r.status, 200, r.text.slice(0, 300));
  assert.match(r.text, new RegExp(`<a class="coverage" href="/admin/coverage\\?esiid=${ESIID}">`));
  const plain = await stack.get('/admin/database?table=SmtInterval', { admin: true });
  assert.doesNotMatch(plain.text, /class="coverage"/);
});
