// The DB explorer's security hardening, through nginx against a real stack:
// its own read-only role (nothing a query does outlives the request, no
// backend signals, no server files, no writes), no SQL from a GET, CSRF
// tokens, the login rate limit, server-side logout, CSV formula
// neutralising and a byte cap on results.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { startStack } from '../lib/stack.mjs';

const BASE = '/admin/database';
const LIMITED_ADDR = '127.0.0.2'; // loopback too: nginx on 127.0.0.1 sees it as REMOTE_ADDR
const OTHER_ADDR = '127.0.0.3';
let stack;
let session; // { cookie, csrf } of a browser login

// node:http rather than fetch: no Sec-Fetch-* of its own, and a chosen
// source address.
function request(method, route, { headers = {}, body, localAddress } = {}) {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    if (body !== undefined) h['content-length'] = Buffer.byteLength(body);
    const req = http.request({ host: '127.0.0.1', port: stack.port, method, path: route, headers: h, localAddress },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try { json = JSON.parse(text); } catch { json = undefined; }
          resolve({ status: res.statusCode, headers: res.headers, text, json });
        });
      });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const post = (route, fields, { headers = {}, ...opts } = {}) =>
  request('POST', route, { ...opts, headers: { ...FORM, ...headers }, body: new URLSearchParams(fields).toString() });
const q = (params) => `${BASE}?${new URLSearchParams(params)}`;

async function login({ localAddress, token = stack.env.ADMIN_TOKEN } = {}) {
  const r = await post(`${BASE}/login`, { token }, { localAddress });
  if (r.status !== 303) return { status: r.status, r };
  const cookie = r.headers['set-cookie'][0].split(';')[0];
  const page = await request('GET', BASE, { headers: { cookie } });
  assert.equal(page.status, 200);
  // Asserted in the CSRF test (kept soft here so every test can run, and
  // fail on its own defect, against a build without tokens).
  const csrf = /name="csrf" value="([0-9a-f]{64})"/.exec(page.text)?.[1] ?? '';
  return { status: 303, cookie, csrf };
}

// The SELECT box as a browser session posts it.
function runSql(sql, { format = 'json', db = 'master', s = session, headers = {}, csrf } = {}) {
  return post(BASE, { sql, db, format, csrf: csrf ?? s.csrf }, { headers: { cookie: s.cookie, ...headers } });
}

const advisoryHeld = async (key) => (await stack.sql('master',
  `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = $1 AND objsubid = 1`,
  [key]))[0].n;

function workerPids() {
  return readFileSync(path.join(stack.dir, 'run/db_explorer.pid'), 'utf8').split('\n').filter(Boolean).map(Number);
}
function vmHwmKb(pid) {
  return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
}

before(async () => {
  stack = await startStack({ name: 'explsec' });
  // A function that runs SQL handed to it as text, unknown to the text
  // guard: stands for every such way around a list of names.
  await stack.sql('master', `CREATE FUNCTION exec_text(q text) RETURNS text LANGUAGE plpgsql AS
    $$ DECLARE r text; BEGIN EXECUTE q INTO r; RETURN r; END $$`);
  await stack.sql('master', `INSERT INTO "ErcotIngest" (status, note, "createdAt")
    VALUES ('ok', '=HYPERLINK("http://x","y")', now()), ('ok', '-12', now() - interval '1 minute')`);
  session = await login();
});
after(async () => { await stack?.stop(); });

test('the explorer reads as its own read-only role, not DATABASE_URL', async () => {
  const r = await runSql(`SELECT current_user AS u, current_setting('default_transaction_read_only') AS ro,
    current_setting('statement_timeout') AS st, current_setting('lock_timeout') AS lt`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.rows, [['iw_explorer', 'on', '5s', '1s']]);
  const role = await stack.sql('master', `SELECT rolsuper, rolcreaterole, rolcreatedb,
    (SELECT count(*)::int FROM pg_auth_members m WHERE m.member = r.oid) AS memberships
    FROM pg_roles r WHERE rolname = 'iw_explorer'`);
  assert.deepEqual(role, [{ rolsuper: false, rolcreaterole: false, rolcreatedb: false, memberships: 0 }]);
});

test('an advisory lock taken inside a SELECT-box query does not outlive the request', async () => {
  // The guard still answers the obvious spelling first, with a clear message.
  const guarded = await runSql(`SELECT query_to_xml('select pg_advisory_lock(42)', true, true, '')`);
  assert.equal(guarded.status, 400);
  assert.match(guarded.json.message, /query_to_xml\(\) is not allowed/);
  for (const format of ['json', 'html']) {
    const r = await runSql(`SELECT exec_text('select pg_advisory_lock(42)::text') AS locked`, { format });
    assert.equal(r.status, 200, r.text); // it ran, as a read ...
    assert.equal(await advisoryHeld(42), 0, `${format}: lock 42 still held after the request`);
  }
  // ... and another session gets the lock at once.
  const other = new pg.Client({ host: process.env.IW_TEST_PGHOST, user: 'postgres', database: stack.dbs.master });
  await other.connect();
  try {
    assert.deepEqual((await other.query('SELECT pg_try_advisory_lock(42) AS ok')).rows, [{ ok: true }]);
    await other.query('SELECT pg_advisory_unlock(42)');
  } finally { await other.end(); }
  // A session setting changed by a query is gone too.
  await runSql(`SELECT exec_text('select set_config(''lock_timeout'', ''0'', false)')`);
  const st = await runSql(`SELECT current_setting('lock_timeout') AS lt`);
  assert.deepEqual(st.json.rows, [['1s']]);
});

test('a SELECT-box query cannot end another backend, read a server file or write', async () => {
  const victim = new pg.Client({ host: process.env.IW_TEST_PGHOST, user: 'postgres', database: stack.dbs.master });
  await victim.connect();
  try {
    const pid = (await victim.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const direct = await runSql(`SELECT pg_terminate_backend(${pid})`);
    assert.equal(direct.status, 400);
    assert.match(direct.json.message, /pg_terminate_backend\(\) is not allowed/);
    const viaText = await runSql(`SELECT exec_text('select pg_terminate_backend(${pid})::text')`);
    assert.equal(viaText.status, 400, viaText.text);
    assert.match(viaText.json.message, /superuser|permission denied/);
    assert.deepEqual((await victim.query('SELECT 1 AS alive')).rows, [{ alive: 1 }]);
    const alive = await stack.sql('master', 'SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [pid]);
    assert.equal(alive[0].n, 1);
  } finally { await victim.end(); }

  for (const sql of [`SELECT pg_read_file('/etc/passwd')`,
    `SELECT query_to_xml('select pg_read_file(''/etc/passwd'')', true, true, '')`,
    `SELECT exec_text('select pg_read_file(''/etc/passwd'')')`,
    `SELECT exec_text('select pg_catalog.pg_read_binary_file(''/etc/passwd'')::text')`]) {
    for (const format of ['json', 'csv', 'html']) {
      const r = await runSql(sql, { format });
      assert.equal(r.status, 400, `${sql} ${format}: ${r.text.slice(0, 200)}`);
      assert.doesNotMatch(r.text, /root:/);
    }
  }
  const write = await runSql(`SELECT exec_text('insert into "SmtAdminAction"(action, ok) values (''x'', true) returning 1')`);
  assert.equal(write.status, 400);
  assert.match(write.json.message, /read-only|permission denied/);
  assert.equal((await stack.sql('master', `SELECT count(*)::int AS n FROM "SmtAdminAction" WHERE action = 'x'`))[0].n, 0);
});

test('a GET with sql= runs nothing: the form only (HTML) or 405 (JSON/CSV)', async () => {
  const sql = `SELECT exec_text('select pg_advisory_lock(7)::text')`;
  const page = await request('GET', q({ sql }), { headers: { cookie: session.cookie } });
  assert.equal(page.status, 200);
  assert.match(page.text, /<textarea name="sql"/);
  assert.ok(!page.text.includes('exec_text'), 'the text is not even echoed back');
  for (const format of ['json', 'csv']) {
    for (const headers of [{ cookie: session.cookie }, { 'x-admin-token': stack.env.ADMIN_TOKEN }]) {
      const r = await request('GET', q({ sql, format }), { headers });
      assert.equal(r.status, 405, r.text);
      assert.equal(r.headers.allow, 'POST');
    }
  }
  assert.equal(await advisoryHeld(7), 0);
  // Nothing ran: no explorer backend ever executed the text.
  const seen = await stack.sql('master', `SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE usename = 'iw_explorer' AND query LIKE '%pg_advisory_lock(7)%'`);
  assert.equal(seen[0].n, 0);
});

test('POSTs need the session CSRF token and a same-site origin; x-admin-token needs none', async () => {
  assert.match(session.csrf, /^[0-9a-f]{64}$/, 'the page carries a CSRF token');
  const ok = await runSql('SELECT 1 AS one');
  assert.equal(ok.status, 200);
  const missing = await post(BASE, { sql: 'SELECT 1', format: 'json' }, { headers: { cookie: session.cookie } });
  assert.equal(missing.status, 403);
  assert.match(missing.json.message, /CSRF token/);
  const wrong = await runSql('SELECT 1', { csrf: 'a'.repeat(64) });
  assert.equal(wrong.status, 403);
  const other = await login();
  assert.notEqual(other.csrf, session.csrf, 'one token per session');
  assert.equal((await runSql('SELECT 1', { csrf: other.csrf })).status, 403);
  const crossSite = await runSql('SELECT 1', { headers: { 'sec-fetch-site': 'cross-site' } });
  assert.equal(crossSite.status, 403);
  const sameSite = await runSql('SELECT 1', { headers: { 'sec-fetch-site': 'same-site' } });
  assert.equal(sameSite.status, 403);
  const foreign = await runSql('SELECT 1', { headers: { origin: 'http://evil.example' } });
  assert.equal(foreign.status, 403);
  const same = await runSql('SELECT 1', { headers: { origin: stack.base, 'sec-fetch-site': 'same-origin' } });
  assert.equal(same.status, 200);
  const api = await post(BASE, { sql: 'SELECT 1 AS one', format: 'json' }, { headers: { 'x-admin-token': stack.env.ADMIN_TOKEN } });
  assert.equal(api.status, 200);
  assert.deepEqual(api.json.rows, [[1]]);
  // Logout is a POST with the token too: without it the session lives on.
  const noTokenLogout = await post(`${BASE}/logout`, {}, { headers: { cookie: other.cookie } });
  assert.equal(noTokenLogout.status, 403);
  assert.equal((await request('GET', q({ format: 'json' }), { headers: { cookie: other.cookie } })).status, 200);
});

test('logout ends the session on the server: the old cookie replayed is not logged in', async () => {
  const s = await login();
  const sid = /\.([0-9a-f]{16})\./.exec(s.cookie)[1];
  assert.equal((await request('GET', q({ format: 'json' }), { headers: { cookie: s.cookie } })).status, 200);
  const out = await post(`${BASE}/logout`, { csrf: s.csrf }, { headers: { cookie: s.cookie } });
  assert.equal(out.status, 303);
  assert.match(out.headers['set-cookie'][0], /^iw_session=; Path=\/admin; Max-Age=0;/);
  const replay = await request('GET', q({ format: 'json' }), { headers: { cookie: s.cookie } });
  assert.equal(replay.status, 401);
  const html = await request('GET', BASE, { headers: { cookie: s.cookie } });
  assert.equal(html.status, 401);
  assert.match(html.text, /name="token"/);
  assert.equal((await runSql('SELECT 1', { s })).status, 401);
  const row = await stack.sql('master', 'SELECT "revokedAt" IS NOT NULL AS revoked FROM "ExplorerSession" WHERE id = $1', [sid]);
  assert.deepEqual(row, [{ revoked: true }]);
  // Other sessions are untouched.
  assert.equal((await runSql('SELECT 1')).status, 200);
});

test('5 failed logins from one address: then 429 with Retry-After, even for the right token', async () => {
  const wrong = 'wrong-token-wrong-token';
  for (let i = 0; i < 5; i++) {
    const r = await post(`${BASE}/login`, { token: wrong }, { localAddress: LIMITED_ADDR });
    assert.equal(r.status, 401, `attempt ${i + 1}`);
  }
  const sixth = await post(`${BASE}/login`, { token: wrong }, { localAddress: LIMITED_ADDR });
  assert.equal(sixth.status, 429);
  const retry = Number(sixth.headers['retry-after']);
  assert.ok(retry > 880 && retry <= 900, `Retry-After ${retry}`);
  assert.match(sixth.text, /Too many failed logins/);
  const right = await post(`${BASE}/login`, { token: stack.env.ADMIN_TOKEN }, { localAddress: LIMITED_ADDR });
  assert.equal(right.status, 429);
  assert.equal(right.headers['set-cookie'], undefined);
  // Another address is not limited.
  const elsewhere = await login({ localAddress: OTHER_ADDR });
  assert.equal(elsewhere.status, 303);
  const rows = await stack.sql('master', `SELECT addr, count(*)::int AS n FROM "ExplorerLoginFailure" GROUP BY addr`);
  assert.deepEqual(rows, [{ addr: LIMITED_ADDR, n: 5 }]);
  // When the window has passed, the address may log in again; its failures go.
  await stack.sql('master', `UPDATE "ExplorerLoginFailure" SET at = at - interval '15 minutes'`);
  const later = await login({ localAddress: LIMITED_ADDR });
  assert.equal(later.status, 303);
  assert.equal((await stack.sql('master', 'SELECT count(*)::int AS n FROM "ExplorerLoginFailure"'))[0].n, 0);
});

test('CSV exports neutralise formula cells with a leading quote', async () => {
  const table = await request('GET', q({ table: 'ErcotIngest', format: 'csv' }), { headers: { cookie: session.cookie } });
  assert.equal(table.status, 200);
  assert.ok(table.text.includes(`"'=HYPERLINK(""http://x"",""y"")"`), table.text.slice(0, 400));
  assert.ok(table.text.includes(',-12,'), 'a plain negative number keeps its sign');
  const box = await runSql(`SELECT note FROM "ErcotIngest" WHERE note LIKE '=%'`, { format: 'csv' });
  assert.equal(box.text, `note\r\n"'=HYPERLINK(""http://x"",""y"")"\r\n`);
  const json = await runSql(`SELECT note FROM "ErcotIngest" WHERE note LIKE '=%'`);
  assert.deepEqual(json.json.rows, [['=HYPERLINK("http://x","y")']], 'JSON carries the value as stored');
});

test('a huge SELECT-box result is cut at 8 MiB and the workers stay small', async () => {
  const one = await runSql(`SELECT repeat('x', 50000000) AS big`);
  assert.equal(one.status, 200);
  assert.equal(one.json.rows[0][0].length, 65536); // one cell is capped
  // 500 rows of 16 cells of 64 KiB: 512 MiB if read whole.
  const cols = Array.from({ length: 16 }, (_, i) => `repeat(md5((g + ${i})::text), 2048) AS c${i}`).join(', ');
  const wide = `SELECT g, ${cols} FROM generate_series(1, 500) g`;
  const t0 = Date.now();
  const csv = await runSql(wide, { format: 'csv' });
  assert.equal(csv.status, 200);
  const cut = Number(csv.headers['x-truncated-at-bytes']);
  assert.ok(cut > 0 && cut <= 8 * 1024 * 1024, `cut at ${cut}`);
  assert.ok(csv.text.length < 9 * 1024 * 1024);
  const json = await runSql(wide);
  assert.equal(json.json.truncated, true);
  assert.ok(json.json.truncatedAtBytes <= 8 * 1024 * 1024);
  assert.ok(json.json.rows.length > 0 && json.json.rows.length < 10);
  // The page shows 200 characters a cell, so it stays under its 2 MiB budget.
  const html = await runSql(wide, { format: 'html' });
  assert.equal(html.status, 200);
  assert.ok(html.text.length < 4 * 1024 * 1024, `page of ${html.text.length} bytes`);
  const widePage = await runSql(`SELECT g, ${Array.from({ length: 40 }, (_, i) => `repeat('y', 300) AS c${i}`).join(', ')}
    FROM generate_series(1, 500) g`, { format: 'html' });
  assert.ok(/truncated at \d+ bytes/.test(widePage.text), 'a wider page says where it was cut');
  assert.ok(Date.now() - t0 < 5000, 'the rest is cancelled, not read');
  for (const pid of workerPids()) {
    const mb = vmHwmKb(pid) / 1024;
    assert.ok(mb < 200, `db_explorer ${pid} peaked at ${mb.toFixed(0)} MiB`);
  }
});

test('without its own settings the explorer is 503 and never falls back to DATABASE_URL', async () => {
  await stack.restart({ IW_MIGRATE: '0', EXPLORER_USAGE_DATABASE_URL: '' });
  const h = { 'x-admin-token': stack.env.ADMIN_TOKEN };
  const r = await request('GET', q({ format: 'json' }), { headers: h });
  assert.equal(r.status, 503);
  assert.equal(r.json.error, 'server_misconfigured');
  assert.match(r.json.message, /EXPLORER_USAGE_DATABASE_URL is not set/);
  const page = await request('GET', BASE, { headers: h });
  assert.equal(page.status, 503);
  assert.match(page.text, /EXPLORER_USAGE_DATABASE_URL/);
  // Pointed at a privileged role (here the superuser), it refuses too.
  await stack.restart({
    IW_MIGRATE: '0',
    EXPLORER_USAGE_DATABASE_URL: `postgresql://iw_explorer@/${stack.dbs.usage}?host=${process.env.IW_TEST_PGHOST}`,
    EXPLORER_DATABASE_URL: `postgresql://postgres@/${stack.dbs.master}?host=${process.env.IW_TEST_PGHOST}`,
  });
  const su = await post(BASE, { sql: 'SELECT 1', format: 'json' }, { headers: { 'x-admin-token': stack.env.ADMIN_TOKEN } });
  assert.equal(su.status, 503);
  assert.equal(su.json.error, 'server_misconfigured');
  assert.match(su.json.message, /EXPLORER_DATABASE_URL names a privileged role/);
  const usage = await post(BASE, { sql: 'SELECT 1 AS one', db: 'usage', format: 'json' }, { headers: { 'x-admin-token': stack.env.ADMIN_TOKEN } });
  assert.equal(usage.status, 200);
});
