// The SMT pull is all or nothing (SPEC §5): any file name fits storage, and a
// failure at any step (storage, usage DB, master DB, the final commit) leaves
// nothing, or a state that posting the same bytes again completes exactly;
// never a duplicate:true while rows are missing. Also: the stored content
// type comes from an allow-list; non-UTF-8 bytes do not make a 500; a
// request that cannot get the per-ESIID lock answers 409 busy quickly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { startStack } from '../lib/stack.mjs';
import { intervalFile, billingFile, sha256 } from '../fakes/smt_files.mjs';

const PULL = '/api/admin/smt/pull';
const LOCK_MS = 400;
let stack;

// Faults: a row in ingsafe_fault naming an ESIID makes the trigger of a
// table raise for that ESIID (both databases have the table). On the
// partitioned interval tables the trigger fires on a month (or the default):
// it is named after the parent.
const FAULT_SQL = `
  CREATE TABLE IF NOT EXISTS ingsafe_fault (tbl text, esiid text);
  CREATE TABLE IF NOT EXISTS ingsafe_seen (tbl text, lock_timeout text, statement_timeout text);
  CREATE OR REPLACE FUNCTION ingsafe_fail() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE
    parent text := regexp_replace(TG_TABLE_NAME, '_(p[0-9]{6}|default)$', '');
  BEGIN
    IF EXISTS (SELECT 1 FROM ingsafe_fault f WHERE f.tbl = 'seen' AND f.esiid = NEW.esiid) THEN
      INSERT INTO ingsafe_seen VALUES (parent, current_setting('lock_timeout'),
        current_setting('statement_timeout'));
    END IF;
    IF EXISTS (SELECT 1 FROM ingsafe_fault f WHERE f.tbl = 'slow' AND f.esiid = NEW.esiid) THEN
      PERFORM pg_sleep(1);
    END IF;
    IF EXISTS (SELECT 1 FROM ingsafe_fault f WHERE f.tbl = parent AND f.esiid = NEW.esiid) THEN
      RAISE EXCEPTION 'ingsafe: injected fault on % for %', parent, NEW.esiid;
    END IF;
    RETURN NEW;
  END $$;`;

before(async () => {
  stack = await startStack({ name: 'ingsafe', env: { IW_DB_LOCK_TIMEOUT_MS: String(LOCK_MS) } });
  await stack.sql('usage', FAULT_SQL);
  await stack.sql('usage', `CREATE TRIGGER ingsafe_uim BEFORE INSERT OR UPDATE ON "UsageIntervalModule"
    FOR EACH ROW EXECUTE FUNCTION ingsafe_fail()`);
  await stack.sql('master', FAULT_SQL);
  await stack.sql('master', `CREATE TRIGGER ingsafe_si BEFORE INSERT OR UPDATE ON "SmtInterval"
    FOR EACH ROW EXECUTE FUNCTION ingsafe_fail()`);
  // Deferred: it fires at COMMIT, the very last step of a pull.
  await stack.sql('master', `CREATE CONSTRAINT TRIGGER ingsafe_raw AFTER INSERT OR UPDATE ON raw_smt_files
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ingsafe_fail()`);
});
after(async () => { await stack?.stop(); });

const upload = (query, buf, contentType = 'text/csv') => stack.request('POST', `${PULL}?${query}`, {
  raw: buf, headers: { 'content-type': contentType, 'x-admin-token': stack.env.ADMIN_TOKEN },
});
const inline = (body) => stack.post(PULL, { mode: 'inline', encoding: 'base64', ...body }, { admin: true });

const today = () => new Date().toISOString().slice(0, 10);
const rawDir = () => path.join(stack.env.STORAGE_DIR, 'smt/raw');
// Stored objects whose name starts with SHA (any date directory).
function objects(sha) {
  if (!fs.existsSync(rawDir())) return [];
  return fs.readdirSync(rawDir(), { recursive: true })
    .filter((f) => path.basename(f).startsWith(sha) && fs.statSync(path.join(rawDir(), f)).isFile());
}
async function counts(esiid, sha) {
  const n = async (db, sql, p) => (await stack.sql(db, sql, p))[0].n;
  return {
    usage: await n('usage', 'SELECT count(*)::int AS n FROM "UsageIntervalModule" WHERE esiid = $1', [esiid]),
    master: await n('master', 'SELECT count(*)::int AS n FROM "SmtInterval" WHERE esiid = $1', [esiid]),
    raw: await n('master', 'SELECT count(*)::int AS n FROM raw_smt_files WHERE sha256 = $1', [sha]),
  };
}
const fault = (db, tbl, esiid) => stack.sql(db, 'INSERT INTO ingsafe_fault VALUES ($1, $2)', [tbl, esiid]);
const clearFaults = async () => {
  await stack.sql('usage', 'DELETE FROM ingsafe_fault');
  await stack.sql('master', 'DELETE FROM ingsafe_fault');
};

function assertServerError(r) {
  assert.ok(r.status >= 500 && r.status < 600, `${r.status} ${r.text}`);
  assert.equal(r.json?.ok, false, r.text);
  assert.equal(typeof r.json.error, 'string');
  assert.equal(typeof r.json.message, 'string');
}

// The resend after the fault is gone: 200, not a duplicate, exact rows, one
// raw_smt_files row, one object with the bytes.
async function assertResendCompletes(esiid, f, send) {
  const sha = sha256(f.buf);
  const r = await send();
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.duplicate, false, 'no marker was left by the failed attempt');
  assert.deepEqual(await counts(esiid, sha), { usage: f.expected.length, master: f.expected.length, raw: 1 });
  const objs = objects(sha);
  assert.equal(objs.length, 1, objs.join(','));
  assert.deepEqual(fs.readFileSync(path.join(rawDir(), objs[0])), f.buf);
  assert.equal(r.json.storagePath, `smt/raw/${objs[0]}`);
  const again = await send();
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json.duplicate, true);
  return r;
}

test('a 250-character file name is stored under a bounded key; raw_smt_files keeps the name', async () => {
  const esiid = '10443720000000301';
  const f = intervalFile({ esiid, days: ['2025-04-01'] });
  const name = 'IntervalMeterUsage_' + 'x'.repeat(227) + '.csv';
  assert.equal(name.length, 250);
  const r = await upload(`filename=${name}&esiid=${esiid}`, f.buf);
  assert.equal(r.status, 200, r.text);
  const last = r.json.storagePath.split('/').pop();
  assert.ok(last.startsWith(`${sha256(f.buf)}-IntervalMeterUsage_xxx`), last);
  assert.ok(last.endsWith('.csv'), 'the extension is kept');
  assert.ok(Buffer.byteLength(last) <= 65 + 120, `${Buffer.byteLength(last)} bytes`);
  assert.deepEqual(fs.readFileSync(path.join(stack.env.STORAGE_DIR, r.json.storagePath)), f.buf);
  const raw = await stack.sql('master', 'SELECT filename, storage_path FROM raw_smt_files WHERE sha256 = $1', [sha256(f.buf)]);
  assert.equal(raw.length, 1);
  assert.equal(raw[0].storage_path, r.json.storagePath);
  assert.ok(raw[0].filename.startsWith('IntervalMeterUsage_xxx') && raw[0].filename.endsWith('.csv'), raw[0].filename);
  assert.equal(raw[0].filename.length, 200, 'the sanitised name, up to 200 characters, extension kept');
  assert.equal(r.json.filename, raw[0].filename);
  assert.deepEqual(await counts(esiid, sha256(f.buf)), { usage: 96, master: 96, raw: 1 });

  // Inline names are bounded the same way (1000 characters, no extension).
  const g = intervalFile({ esiid, days: ['2025-04-02'] });
  const r2 = await inline({ filename: 'n'.repeat(1000), content_b64: g.buf.toString('base64') });
  assert.equal(r2.status, 200, r2.text);
  assert.ok(fs.existsSync(path.join(stack.env.STORAGE_DIR, r2.json.storagePath)));
});

test('storage failing first leaves no rows anywhere; the resend completes', async () => {
  const esiid = '10443720000000302';
  const f = intervalFile({ esiid, days: ['2025-04-03', '2025-04-04'] });
  const send = () => upload(`filename=storage-fault.csv&esiid=${esiid}`, f.buf);
  // A regular file where the date directory goes: mkdir fails, even as root.
  const dateDir = path.join(rawDir(), today());
  const aside = dateDir + '.aside';
  fs.mkdirSync(rawDir(), { recursive: true });
  if (fs.existsSync(dateDir)) fs.renameSync(dateDir, aside);
  fs.writeFileSync(dateDir, 'not a directory');
  let r;
  try {
    r = await send();
  } finally {
    fs.rmSync(dateDir);
    if (fs.existsSync(aside)) fs.renameSync(aside, dateDir);
  }
  assertServerError(r);
  assert.match(r.json.message, /storing the file failed/);
  assert.deepEqual(await counts(esiid, sha256(f.buf)), { usage: 0, master: 0, raw: 0 },
    'nothing loaded when the bytes could not be kept');
  assert.equal(objects(sha256(f.buf)).length, 0);
  await assertResendCompletes(esiid, f, send);
});

test('the usage database failing leaves no rows; the resend completes', async () => {
  const esiid = '10443720000000303';
  const f = intervalFile({ esiid, days: ['2025-05-01'] });
  const send = () => inline({ filename: 'usage-fault.csv', esiid, content_b64: f.buf.toString('base64') });
  await fault('usage', 'UsageIntervalModule', esiid);
  const r = await send();
  await clearFaults();
  assertServerError(r);
  assert.deepEqual(await counts(esiid, sha256(f.buf)), { usage: 0, master: 0, raw: 0 });
  assert.ok(objects(sha256(f.buf)).length <= 1, 'at most the object the resend reuses');
  await assertResendCompletes(esiid, f, send);
});

test('SmtInterval failing on the direct path leaves no rows; the resend completes', async () => {
  const esiid = '10443720000000304';
  const f = intervalFile({ esiid, days: ['2025-06-01'] });
  const send = () => inline({ filename: 'master-fault.csv', esiid, content_b64: f.buf.toString('base64') });
  await fault('master', 'SmtInterval', esiid);
  const r = await send();
  await clearFaults();
  assertServerError(r);
  assert.deepEqual(await counts(esiid, sha256(f.buf)), { usage: 0, master: 0, raw: 0 },
    'both COPYs are undone together');
  await assertResendCompletes(esiid, f, send);
});

test('SmtInterval failing after the usage upsert committed: the resend completes exactly', async () => {
  const esiid = '10443720000000311';
  const days = ['2025-06-05', '2025-06-06'];
  // Rows of another meter in the window: the general path (upsert, then normalise).
  const first = intervalFile({ esiid, days });
  const ok = await upload(`filename=first.csv&esiid=${esiid}&meter=m1`, first.buf);
  assert.equal(ok.status, 200, ok.text);
  const f = intervalFile({ esiid, days, kwh: (n) => n / 100 + 0.25 });
  const send = () => upload(`filename=second.csv&esiid=${esiid}&meter=m2`, f.buf);
  const n = f.expected.length;
  await fault('master', 'SmtInterval', esiid);
  const r = await send();
  await clearFaults();
  assertServerError(r);
  const c = await counts(esiid, sha256(f.buf));
  assert.equal(c.raw, 0, 'no marker, so the resend is not a duplicate');
  assert.equal(c.master, n, 'SmtInterval holds only the first meter');
  assert.equal(c.usage, 2 * n, 'the usage rows of m2 are committed: the resend upserts them unchanged');
  const again = await send();
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json.duplicate, false);
  assert.deepEqual(again.json.usageLoaded, { intervals: n, supersededInFile: 0, insertedCount: 0, updatedCount: 0, unchangedCount: n });
  // The ESIID's window is normalised: m2's rows are new, m1's unchanged.
  assert.deepEqual(again.json.intervalNormalized, { rawCount: 2 * n, insertedCount: n, updatedCount: 0, unchangedCount: n });
  assert.deepEqual(await counts(esiid, sha256(f.buf)), { usage: 2 * n, master: 2 * n, raw: 1 });
  assert.equal(objects(sha256(f.buf)).length, 1);
});

test('the final master commit failing leaves no marker; the resend completes exactly', async () => {
  const esiid = '10443720000000305';
  const f = intervalFile({ esiid, days: ['2025-07-01', '2025-07-02'] });
  const send = () => upload(`filename=commit-fault.csv&esiid=${esiid}`, f.buf);
  await fault('master', 'raw_smt_files', esiid);
  const r = await send();
  await clearFaults();
  assertServerError(r);
  const c = await counts(esiid, sha256(f.buf));
  assert.equal(c.raw, 0, 'no dedupe marker');
  assert.equal(c.master, 0, 'the master rows went with the marker');
  assert.ok(c.usage === 0 || c.usage === f.expected.length, `usage ${c.usage}: none or all`);
  await assertResendCompletes(esiid, f, send);
});

test('the stored content type comes from an allow-list, never from the request', async () => {
  const esiid = '10443720000000306';
  const ct = async (sha) => (await stack.sql('master', 'SELECT content_type FROM raw_smt_files WHERE sha256 = $1', [sha]))[0].content_type;
  const a = intervalFile({ esiid, days: ['2025-08-01'] });
  const r = await inline({ filename: 'a.csv', mime: 'text/html', content_b64: a.buf.toString('base64') });
  assert.equal(r.status, 200, r.text);
  assert.equal(await ct(sha256(a.buf)), 'application/octet-stream');
  const b = intervalFile({ esiid, days: ['2025-08-02'] });
  const r2 = await inline({ filename: 'b.csv', mime: 'text/csv; charset=utf-8', content_b64: b.buf.toString('base64') });
  assert.equal(r2.status, 200, r2.text);
  assert.equal(await ct(sha256(b.buf)), 'text/csv');
  const c = intervalFile({ esiid, days: ['2025-08-03'] });
  const r3 = await upload('filename=c.csv', c.buf, 'application/octet-stream');
  assert.equal(r3.status, 200, r3.text);
  assert.equal(await ct(sha256(c.buf)), 'application/octet-stream');
  const html = await upload('filename=d.csv', Buffer.from('<html>'), 'text/html');
  assert.equal(html.status, 415, 'an upload body of another type is refused');
});

test('Latin-1 bytes in a billing CSV are read as Latin-1, not a 500', async () => {
  const esiid = '10443720000000307';
  const text = billingFile({ esiid }).replace('CenterPoint Energy', 'Caf\u00e9 \u00c9nergie');
  const buf = Buffer.from(text, 'latin1');
  assert.ok(buf.includes(0xe9) && !buf.includes(Buffer.from('\u00e9')), 'the file is Latin-1');
  const r = await inline({ filename: 'MonthlyBilling_latin1.csv', content_b64: buf.toString('base64') });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.billingInserted, 1);
  assert.equal(r.json.latin1Lines, 1);
  const rows = await stack.sql('master', `SELECT "tdspName", "rawRow"->>'TDSP_NAME' AS raw FROM "SmtBillingRead" WHERE esiid = $1`, [esiid]);
  assert.deepEqual(rows, [{ tdspName: 'Caf\u00e9 \u00c9nergie', raw: 'Caf\u00e9 \u00c9nergie' }]);

  // Valid UTF-8 stays as it is, a stray byte on the same line is Latin-1.
  const mixed = Buffer.concat([Buffer.from(billingFile({ esiid: '10443720000000308' })
    .replace('CenterPoint Energy', 'Z\u00fcrich \u00ff'), 'utf8'), Buffer.from([])]);
  const i = mixed.indexOf(Buffer.from('\u00ff', 'utf8'));
  mixed[i] = 0xff; mixed[i + 1] = 0x20; // a lone 0xFF then a space
  const r2 = await inline({ filename: 'billing_mixed.csv', content_b64: mixed.toString('base64') });
  assert.equal(r2.status, 200, r2.text);
  const rows2 = await stack.sql('master', 'SELECT "tdspName" FROM "SmtBillingRead" WHERE esiid = $1', ['10443720000000308']);
  assert.deepEqual(rows2, [{ tdspName: 'Z\u00fcrich \u00ff' }]);
});

test('Latin-1 bytes in an interval CSV are not a 500', async () => {
  const esiid = '10443720000000309';
  const f = intervalFile({ esiid, days: ['2025-09-01'] });
  const lines = f.buf.toString('latin1').split('\r\n');
  // A Latin-1 byte in REVISION_DATE (unused) and in the kWh of one row.
  lines[1] = lines[1].split(',').map((v, k) => (k === 2 ? v + ' r\u00e9v' : v)).join(',');
  lines[2] = lines[2].split(',').map((v, k) => (k === 5 ? '0.1\u00e9' : v)).join(',');
  const buf = Buffer.from(lines.join('\r\n'), 'latin1');
  const r = await upload(`filename=interval_latin1.csv&esiid=${esiid}`, buf);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.rows, f.expected.length - 1);
  assert.equal(r.json.malformedRows, 1);
  assert.equal(r.json.malformed[0].line, 3);
  assert.ok(!/[^\x20-\x7e]/.test(r.json.malformed[0].reason), 'reasons quote printable ASCII only');
});

test('the pull and normalize transactions run with their lock and statement timeouts', async () => {
  const esiid = '10443720000000313';
  const f = intervalFile({ esiid, days: ['2025-11-10'] });
  await fault('usage', 'seen', esiid);
  await fault('master', 'seen', esiid);
  const r = await upload(`filename=limits.csv&esiid=${esiid}`, f.buf);
  assert.equal(r.status, 200, r.text);
  const seen = async (db) => stack.sql(db, 'SELECT DISTINCT tbl, lock_timeout, statement_timeout FROM ingsafe_seen ORDER BY 1');
  assert.deepEqual(await seen('usage'), [{ tbl: 'UsageIntervalModule', lock_timeout: `${LOCK_MS}ms`, statement_timeout: '4min' }]);
  assert.deepEqual(await seen('master'), [{ tbl: 'SmtInterval', lock_timeout: `${LOCK_MS}ms`, statement_timeout: '4min' },
    { tbl: 'raw_smt_files', lock_timeout: `${LOCK_MS}ms`, statement_timeout: '4min' }]);
  // normalize: rewrite SmtInterval rows so the upsert touches them.
  await stack.sql('master', 'UPDATE "SmtInterval" SET kwh = kwh + 1 WHERE esiid = $1', [esiid]);
  await stack.sql('master', 'DELETE FROM ingsafe_seen');
  const n = await stack.post('/api/admin/usage/normalize', { esiid }, { admin: true });
  assert.equal(n.status, 200, n.text);
  assert.equal(n.json.summary.updatedCount, 96);
  assert.deepEqual(await seen('master'), [{ tbl: 'SmtInterval', lock_timeout: `${LOCK_MS}ms`, statement_timeout: '9min' }]);
  await clearFaults();
});

// The per-ESIID lock as usage_normalize.c takes it (IW_USAGE_SQL_LOCK_ESIIDS).
async function holdLock(esiid) {
  const c = new pg.Client({ host: process.env.IW_TEST_PGHOST, user: 'postgres', database: stack.dbs.master });
  await c.connect();
  await c.query('BEGIN');
  await c.query("SELECT pg_advisory_xact_lock(hashtextextended('iw.SmtInterval:' || $1, 0))", [esiid]);
  return { release: async () => { await c.query('ROLLBACK'); await c.end(); } };
}

test('a pull or normalisation that cannot get the ESIID lock answers 409 busy, then succeeds', async () => {
  const esiid = '10443720000000310';
  const f = intervalFile({ esiid, days: ['2025-10-01'] });
  const send = () => upload(`filename=locked.csv&esiid=${esiid}`, f.buf);
  const normalize = () => stack.post('/api/admin/usage/normalize', { esiid }, { admin: true });
  const lock = await holdLock(esiid);
  let r, n;
  try {
    // Without a lock timeout they would wait as long as the lock is held.
    const within = (p) => Promise.race([p, new Promise((_, rej) =>
      setTimeout(() => rej(new Error('no answer within 5 s: the request waits for the lock')), 5000).unref())]);
    r = await within(send());
    n = await within(normalize());
  } finally {
    await lock.release();
  }
  for (const x of [r, n]) {
    assert.equal(x.status, 409, x.text);
    assert.equal(x.json.ok, false);
    assert.equal(x.json.error, 'busy');
    assert.match(x.json.message, new RegExp(`lock iw\\.SmtInterval:${esiid} is held by another request`));
    assert.equal(x.headers.get('retry-after'), '5');
  }
  assert.equal((await counts(esiid, sha256(f.buf))).raw, 0);
  // The workers serve the next requests: the same ones now succeed.
  await assertResendCompletes(esiid, f, send);
  const ok = await normalize();
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.json.summary, { rawCount: 96, insertedCount: 0, updatedCount: 0, unchangedCount: 96 });
});

test('a post of bytes another request is still loading answers 409 busy, then completes', async () => {
  const esiid = '10443720000000312';
  const f = intervalFile({ esiid, days: ['2025-10-05'] });
  const sha = sha256(f.buf);
  const send = () => upload(`filename=claimed.csv&esiid=${esiid}`, f.buf);
  // The claim of a concurrent pull: an uncommitted raw_smt_files row with the sha256.
  const c = new pg.Client({ host: process.env.IW_TEST_PGHOST, user: 'postgres', database: stack.dbs.master });
  await c.connect();
  let r;
  try {
    await c.query('BEGIN');
    await c.query("INSERT INTO raw_smt_files (filename, size_bytes, sha256) VALUES ('other.csv', 1, $1)", [sha]);
    r = await Promise.race([send(), new Promise((_, rej) => setTimeout(() => rej(new Error('no answer within 5 s')), 5000).unref())]);
  } finally {
    await c.query('ROLLBACK');
    await c.end();
  }
  assert.equal(r.status, 409, r.text);
  assert.equal(r.json.error, 'busy');
  assert.match(r.json.message, new RegExp(`lock raw_smt_files:${sha} is held by another request`));
  assert.equal(r.headers.get('retry-after'), '5');
  assert.deepEqual(await counts(esiid, sha), { usage: 0, master: 0, raw: 0 });
  await assertResendCompletes(esiid, f, send);
});

test('a billing file whose earlier rows another transaction holds answers 409 busy, then loads', async () => {
  const esiid = '10443720000000314';
  const name = 'MonthlyBilling_busy.csv';
  const v1 = Buffer.from(billingFile({ esiid }));
  const first = await inline({ filename: name, content_b64: v1.toString('base64') });
  assert.equal(first.status, 200, first.text);
  const v2 = Buffer.from(billingFile({ esiid, months: [['01/02/2025', '01/31/2025', '1300']] }));
  const send = () => inline({ filename: name, content_b64: v2.toString('base64') });
  const c = new pg.Client({ host: process.env.IW_TEST_PGHOST, user: 'postgres', database: stack.dbs.master });
  await c.connect();
  let r;
  try {
    await c.query('BEGIN');
    await c.query('SELECT 1 FROM "SmtBillingRead" WHERE esiid = $1 FOR UPDATE', [esiid]);
    r = await Promise.race([send(), new Promise((_, rej) => setTimeout(() => rej(new Error('no answer within 5 s')), 5000).unref())]);
  } finally {
    await c.query('ROLLBACK');
    await c.end();
  }
  assert.equal(r.status, 409, r.text);
  assert.equal(r.json.error, 'busy');
  assert.match(r.json.message, /lock on SmtBillingRead rows is held by another request/);
  assert.equal(r.headers.get('retry-after'), '5');
  const ok = await send();
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.duplicate, false);
  assert.equal(ok.json.billingReplaced, 1);
  const rows = await stack.sql('master', 'SELECT "kwhTotal"::text AS k FROM "SmtBillingRead" WHERE esiid = $1', [esiid]);
  assert.deepEqual(rows, [{ k: '1300.00000' }]);
});

// Last: it restarts the stack with a short statement budget.
test('a statement past the route\'s statement_timeout answers 504, then the resend completes', async () => {
  await stack.restart({ IW_DB_STATEMENT_TIMEOUT_MS: '300' });
  const esiid = '10443720000000315';
  const f = intervalFile({ esiid, days: ['2025-12-01'] });
  const send = () => upload(`filename=slow.csv&esiid=${esiid}`, f.buf);
  await fault('usage', 'slow', esiid); // each row sleeps 1 s
  const t0 = Date.now();
  const r = await send();
  const took = Date.now() - t0;
  await clearFaults();
  assert.equal(r.status, 504, r.text);
  assert.equal(r.json.error, 'upstream_timeout');
  assert.match(r.json.message, /300 ms statement_timeout/);
  assert.ok(took < 3000, `answered after ${took} ms`);
  assert.deepEqual(await counts(esiid, sha256(f.buf)), { usage: 0, master: 0, raw: 0 });
  await assertResendCompletes(esiid, f, send);
});
