// The DB explorer (/admin/database) through nginx: login and sessions,
// escaping, catalog-checked names, the read-only SELECT box, CSV and JSON.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startStack } from '../lib/stack.mjs';

const BASE = '/admin/database';
let stack;
let cookie; // "iw_session=..." from a real login
let csrf;   // that session's CSRF token, from its page

async function req(method, route, { headers = {}, body, session = true } = {}) {
  const h = { ...headers };
  if (session && cookie) h.cookie = cookie;
  const res = await fetch(stack.base + route, { method, headers: h, body, redirect: 'manual' });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}
const get = (route, opts) => req('GET', route, opts);
const form = (route, fields, opts = {}) => req('POST', route, {
  ...opts,
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...(opts.headers || {}) },
  body: new URLSearchParams(fields).toString(),
});
const q = (params) => `${BASE}?${new URLSearchParams(params)}`;
// The SELECT box runs only from a POST carrying the session's CSRF token.
const sqlPost = (fields, opts) => form(BASE, { csrf, ...fields }, opts);
const csrfOf = (html) => /name="csrf" value="([0-9a-f]{64})"/.exec(html)?.[1];
const bodyRows = (html) => (html.split('<tbody>')[1] || '').split('</tbody>')[0].split('<tr>').length - 1;

// RFC 4180 records (CRLF between records, quoted fields may hold anything).
function parseCsv(text) {
  const records = [];
  let rec = [], field = '', i = 0, quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      field += c; i++; continue;
    }
    if (c === '"') { quoted = true; i++; continue; }
    if (c === ',') { rec.push(field); field = ''; i++; continue; }
    if (c === '\r' && text[i + 1] === '\n') { rec.push(field); records.push(rec); rec = []; field = ''; i += 2; continue; }
    field += c; i++;
  }
  assert.equal(field, '');
  assert.equal(rec.length, 0, 'the last record ends with CRLF');
  return records;
}

// A session value signed like the server does (IW_SESSION_SECRET is known here).
function signSession(expiry) {
  const label = 'iw-admin explorer session key v1 (IW_SESSION_SECRET)';
  const key = createHmac('sha256', stack.env.IW_SESSION_SECRET).update(label).digest();
  const signed = `v1.${expiry}.0123456789abcdef`;
  return `${signed}.${createHmac('sha256', key).update(signed).digest('hex')}`;
}

before(async () => {
  stack = await startStack({ name: 'explorer' });
  await stack.sql('master', `INSERT INTO "ErcotIngest" (status, note, filename, "createdAt", "fileSha256")
    SELECT 'ok', 'file ' || g, 'f' || g || '.zip', now() - g * interval '1 hour', md5(g::text)
    FROM generate_series(1, 120) g`);
  await stack.sql('master', `INSERT INTO "ErcotIngest" (status, note, "createdAt")
    VALUES ('error', '<script>alert(1)</script>', now() + interval '1 minute'),
           ('skipped', E'a,b "quoted"\\nsecond line', now() - interval '1000 hours')`);
  await stack.sql('master', `INSERT INTO "SmtInterval" (esiid, meter, ts, kwh)
    SELECT e, 'M1', timestamp '2026-11-26 00:00' + g * interval '15 min', g / 100.0
    FROM generate_series(0, 95) g, (VALUES ('10443720000000001'), ('10443720000000002')) v(e)`);
  await stack.sql('usage', `INSERT INTO "UsageIntervalModule" (esiid, meter, ts, kwh)
    VALUES ('10443720000000001', 'M1', '2026-11-26 00:00', 0.25)`);
  await stack.sql('master', 'CREATE SCHEMA IF NOT EXISTS other');
  await stack.sql('master', "CREATE TABLE other.secret (x text); INSERT INTO other.secret VALUES ('hidden')");
  await stack.sql('master', `CREATE FUNCTION evil() RETURNS int LANGUAGE sql VOLATILE AS
    'INSERT INTO "SmtAdminAction"(action, ok) VALUES (''x'', true) RETURNING 1'`);
  await stack.sql('master', `INSERT INTO "SmtAdminAction"(action, ok) VALUES ('seed', true)`);
});
after(async () => { await stack?.stop(); });

test('without a session the page is the login form (401) and JSON/CSV get 401 JSON', async () => {
  const r = await get(BASE, { session: false });
  assert.equal(r.status, 401);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  assert.match(r.text, /<form method="post" action="\/admin\/database\/login">/);
  assert.match(r.text, /name="token" type="password"/);
  assert.doesNotMatch(r.text, /<script/i);
  assert.equal(r.headers.get('content-security-policy'),
    "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  assert.equal(r.headers.get('x-frame-options'), 'DENY');
  assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
  for (const fmt of ['json', 'csv']) {
    const j = await get(q({ table: 'ErcotIngest', format: fmt }), { session: false });
    assert.equal(j.status, 401);
    assert.deepEqual(j.json, { ok: false, error: 'unauthorized', message: 'missing or invalid credentials' });
  }
});

test('a wrong token is refused with 401 and never echoed', async () => {
  const wrong = 'not-the-token-<b>-' + 'x'.repeat(20);
  const r = await form(`${BASE}/login`, { token: wrong }, { session: false });
  assert.equal(r.status, 401);
  assert.equal(r.headers.get('set-cookie'), null);
  assert.ok(!r.text.includes('not-the-token'));
  assert.match(r.text, /not the admin token/);
  assert.doesNotMatch(stack.log('db_explorer'), /not-the-token/);
});

test('the right token sets an HttpOnly, SameSite=Strict, expiring session cookie', async () => {
  const r = await form(`${BASE}/login`, { token: stack.env.ADMIN_TOKEN }, { session: false });
  assert.equal(r.status, 303);
  assert.equal(r.headers.get('location'), BASE);
  const sc = r.headers.get('set-cookie');
  assert.match(sc, /^iw_session=v1\.\d+\.[0-9a-f]{16}\.[0-9a-f]{64}; /);
  assert.match(sc, /; HttpOnly/);
  assert.match(sc, /; SameSite=Strict/);
  assert.match(sc, /; Path=\/admin;/);
  assert.match(sc, /; Max-Age=28800;/);
  assert.match(sc, /; Expires=\w{3}, \d\d \w{3} \d{4} /);
  assert.doesNotMatch(sc, /Secure/); // plain http here
  const expiry = Number(/v1\.(\d+)\./.exec(sc)[1]);
  assert.ok(Math.abs(expiry - (Date.now() / 1000 + 8 * 3600)) < 60);
  cookie = sc.split(';')[0];
  const page = await get(BASE);
  assert.equal(page.status, 200);
  csrf = csrfOf(page.text);
  assert.ok(csrf);
  assert.match(page.text, /ErcotIngest/);
  assert.match(page.text, /UsageIntervalModule/);
  assert.match(page.text, /Log out/);
});

test('tampered, forged-expired and foreign cookies are refused; x-admin-token works', async () => {
  const value = cookie.split('=')[1];
  const flip = (s, i) => s.slice(0, i) + (s[i] === 'a' ? 'b' : 'a') + s.slice(i + 1);
  const [v, exp, nonce, mac] = value.split('.');
  const variants = [
    flip(value, value.length - 1),                    // MAC changed
    `${v}.${Number(exp) + 3600}.${nonce}.${mac}`,      // expiry extended
    signSession(Math.floor(Date.now() / 1000) - 10),   // validly signed, expired
    'v1.99999999999.0123456789abcdef.' + '0'.repeat(64),
    'garbage',
  ];
  for (const bad of variants) {
    const r = await get(`${BASE}?format=json`, { headers: { cookie: `iw_session=${bad}` }, session: false });
    assert.equal(r.status, 401, bad);
  }
  const good = signSession(Math.floor(Date.now() / 1000) + 600);
  // Signed right is not enough: the session must also be live on the server.
  assert.equal((await get(`${BASE}?format=json`, { headers: { cookie: `iw_session=${good}` }, session: false })).status, 401);
  await stack.sql('master', `INSERT INTO "ExplorerSession" (id, "expiresAt") VALUES ('0123456789abcdef', now() + interval '10 minutes')`);
  assert.equal((await get(`${BASE}?format=json`, { headers: { cookie: `a=b; iw_session=${good}` }, session: false })).status, 200);
  const t = await get(`${BASE}?format=json`, { headers: { 'x-admin-token': stack.env.ADMIN_TOKEN }, session: false });
  assert.equal(t.status, 200);
  assert.equal(t.json.ok, true);
  const w = await get(`${BASE}?format=json`, { headers: { 'x-admin-token': stack.env.ADMIN_TOKEN + 'x' }, session: false });
  assert.equal(w.status, 401);
});

test('logout clears the cookie; posts from another origin are refused', async () => {
  // A second session to log out (the first one is used by the tests below).
  const login2 = await form(`${BASE}/login`, { token: stack.env.ADMIN_TOKEN }, { session: false });
  const cookie2 = login2.headers.get('set-cookie').split(';')[0];
  const csrf2 = csrfOf((await get(BASE, { headers: { cookie: cookie2 }, session: false })).text);
  const r = await form(`${BASE}/logout`, { csrf: csrf2 }, { headers: { cookie: cookie2 }, session: false });
  assert.equal(r.status, 303);
  assert.match(r.headers.get('set-cookie'), /^iw_session=; Path=\/admin; Max-Age=0;/);
  const cross = await form(`${BASE}/login`, { token: stack.env.ADMIN_TOKEN },
    { session: false, headers: { origin: 'http://evil.example' } });
  assert.equal(cross.status, 403);
  assert.equal(cross.headers.get('set-cookie'), null);
  const crossSql = await sqlPost({ sql: 'SELECT 1' }, { headers: { referer: 'http://evil.example/x' } });
  assert.equal(crossSql.status, 403);
  const crossSite = await sqlPost({ sql: 'SELECT 1' }, { headers: { 'sec-fetch-site': 'cross-site', origin: 'null' } });
  assert.equal(crossSite.status, 403);
  const same = await sqlPost({ sql: 'SELECT 1' }, { headers: { origin: stack.base } });
  assert.equal(same.status, 200);
  // What a browser sends under Referrer-Policy: no-referrer.
  const nullOrigin = await sqlPost({ sql: 'SELECT 1' }, { headers: { 'sec-fetch-site': 'same-origin', origin: 'null' } });
  assert.equal(nullOrigin.status, 200);
});

test('the index lists both databases with exact counts', async () => {
  const r = await get(`${BASE}?format=json`);
  assert.equal(r.status, 200);
  const ercot = r.json.master.find((t) => t.name === 'ErcotIngest');
  assert.deepEqual(ercot, { name: 'ErcotIngest', rows: 122, estimated: false });
  assert.deepEqual(r.json.usage.find((t) => t.name === 'UsageIntervalModule'),
    { name: 'UsageIntervalModule', rows: 1, estimated: false });
  assert.ok(!r.json.master.some((t) => t.name === 'secret'));
});

test('rows: newest first, 50 a page, a <script> in the data is escaped', async () => {
  const r = await get(q({ table: 'ErcotIngest' }));
  assert.equal(r.status, 200);
  assert.equal(bodyRows(r.text), 50);
  assert.ok(r.text.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(!r.text.includes('<script>alert(1)'));
  assert.ok(r.text.indexOf('&lt;script&gt;') < r.text.indexOf('file 1<'), 'newest row first');
  assert.match(r.text, /rel="next" href="\/admin\/database\?db=master&amp;table=ErcotIngest&amp;page=2"/);
  const j = await get(q({ table: 'ErcotIngest', format: 'json' }));
  assert.equal(j.json.rows.length, 50);
  assert.equal(j.json.rows[0].note, '<script>alert(1)</script>');
  assert.equal(j.json.rows[1].note, 'file 1');
  assert.equal(j.json.sort, 'createdAt');
  assert.equal(j.json.dir, 'desc');
  assert.equal(j.json.hasMore, true);
  assert.ok(j.json.columns.some((c) => c.name === 'rowCount' && /integer/.test(c.type)));
});

test('paging and ?size=', async () => {
  const p3 = await get(q({ table: 'ErcotIngest', page: 3, format: 'json' }));
  assert.equal(p3.json.rows.length, 22);
  assert.equal(p3.json.hasMore, false);
  assert.equal(p3.json.rows[0].note, 'file 100'); // the <script> row is newest
  const big = await get(q({ table: 'ErcotIngest', size: 500, format: 'json' }));
  assert.equal(big.json.rows.length, 122);
  assert.equal((await get(q({ table: 'ErcotIngest', size: 501 }))).status, 400);
  assert.equal((await get(q({ table: 'ErcotIngest', page: 0 }))).status, 400);
  const past = await get(q({ table: 'ErcotIngest', page: 99 }));
  assert.equal(past.status, 200);
  assert.match(past.text, /no rows/);
});

test('sorting by any column in either direction; unknown columns are 400', async () => {
  const asc = await get(q({ table: 'ErcotIngest', sort: 'filename', dir: 'asc', format: 'json' }));
  assert.equal(asc.json.rows[0].filename, 'f1.zip');
  assert.equal(asc.json.rows[1].filename, 'f10.zip');
  const desc = await get(q({ table: 'ErcotIngest', sort: 'filename', dir: 'desc', format: 'json' }));
  assert.equal(desc.json.rows[0].filename, 'f99.zip');
  const html = await get(q({ table: 'ErcotIngest', sort: 'filename' }));
  assert.match(html.text, /filename ▲/);
  for (const sort of ['nope', 'note"; DROP TABLE "ErcotIngest"; --']) {
    assert.equal((await get(q({ table: 'ErcotIngest', sort }))).status, 400);
  }
  assert.equal((await get(q({ table: 'ErcotIngest', sort: 'note', dir: 'sideways' }))).status, 400);
});

test('search: ILIKE over text columns, one column, exact match', async () => {
  const s = await get(q({ table: 'ErcotIngest', q: 'FILE 11', format: 'json' }));
  assert.deepEqual(s.json.rows.map((r) => r.note).sort(),
    ['file 11', 'file 110', 'file 111', 'file 112', 'file 113', 'file 114', 'file 115', 'file 116',
      'file 117', 'file 118', 'file 119']);
  const pct = await get(q({ table: 'ErcotIngest', q: '%', format: 'json' }));
  assert.equal(pct.json.rows.length, 0); // % is literal, not a wildcard
  const exact = await get(q({ table: 'ErcotIngest', col: 'filename', q: 'f7.zip', exact: '1', format: 'json' }));
  assert.deepEqual(exact.json.rows.map((r) => r.filename), ['f7.zip']);
  const esiid = await get(q({ table: 'SmtInterval', col: 'esiid', q: '10443720000000002', exact: 1, size: 500, format: 'json' }));
  assert.equal(esiid.json.rows.length, 96);
  assert.ok(esiid.json.rows.every((r) => r.esiid === '10443720000000002'));
  assert.equal(typeof esiid.json.rows[0].kwh, 'string'); // numeric keeps its digits
  const html = await get(q({ table: 'ErcotIngest', q: '<b>"x\'' }));
  assert.equal(html.status, 200);
  assert.ok(html.text.includes('value="&lt;b&gt;&quot;x&#39;"'));
  const usage = await get(q({ db: 'usage', table: 'UsageIntervalModule', format: 'json' }));
  assert.equal(usage.json.rows.length, 1);
  assert.equal((await get(q({ table: 'ErcotIngest', col: 'nope', q: 'x' }))).status, 400);
});

test('hostile and foreign table names are 404 and change nothing', async () => {
  for (const table of ['ErcotIngest"; DROP TABLE x; --', 'pg_shadow', '../etc', 'secret', 'other.secret',
    'ercotingest', 'pg_catalog.pg_authid', 'x'.repeat(300)]) {
    const r = await get(q({ table }));
    assert.equal(r.status, 404, table);
    const j = await get(q({ table, format: 'json' }));
    assert.equal(j.status, 404, table);
    assert.equal(j.json.error, 'not_found');
  }
  assert.equal((await get(q({ db: 'other', table: 'ErcotIngest' }))).status, 400);
  assert.equal((await stack.sql('master', 'SELECT count(*)::int AS n FROM "ErcotIngest"'))[0].n, 122);
  assert.equal((await stack.sql('master', 'SELECT count(*)::int AS n FROM other.secret'))[0].n, 1);
});

test('CSV export: header, RFC 4180 quoting, row count, attachment', async () => {
  const r = await get(q({ table: 'ErcotIngest', sort: 'createdAt', dir: 'asc', size: 3, format: 'csv' }));
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/csv/);
  assert.equal(r.headers.get('content-disposition'), 'attachment; filename="ErcotIngest-p1.csv"');
  const lines = r.text.split('\r\n');
  assert.equal(lines.at(-1), '');
  assert.equal(lines[0], 'id,createdAt,status,note,fileUrl,fileSha256,tdsp,rowCount,headers,error,errorDetail,filename,storageKey,sizeBytes,sourceUrl');
  // The oldest row holds a comma, quotes and a newline.
  assert.ok(r.text.includes(',"a,b ""quoted""\nsecond line",'));
  const records = parseCsv(r.text);
  assert.equal(records.length, 1 + 3);
  assert.ok(records.every((rec) => rec.length === 15));
  assert.equal(records[1][3], 'a,b "quoted"\nsecond line');
  assert.equal(records[1][2], 'skipped');
  assert.equal(records[1][4], ''); // NULL fileUrl
  assert.deepEqual(records.slice(2).map((rec) => rec[3]), ['file 120', 'file 119']);
});

test('SELECT box: reads run, capped at 500 rows', async () => {
  const c = await sqlPost({ sql: 'SELECT count(*) AS n, \'a;b\' AS s FROM "ErcotIngest" -- trailing ; comment', format: 'json' });
  assert.equal(c.status, 200, c.text);
  assert.deepEqual(c.json.rows, [[122, 'a;b']]);
  assert.deepEqual(c.json.columns, [{ name: 'n' }, { name: 's' }]);
  const many = await sqlPost({ sql: 'SELECT g FROM generate_series(1, 1000) g;', format: 'json' });
  assert.equal(many.json.rows.length, 500);
  assert.equal(many.json.truncated, true);
  const post = await sqlPost({ sql: 'SELECT $$<i>x</i>$$ AS "<th>"', db: 'usage' });
  assert.equal(post.status, 200);
  assert.ok(post.text.includes('<th>&lt;th&gt;</th>'));
  assert.ok(post.text.includes('<td>&lt;i&gt;x&lt;/i&gt;</td>'));
  const csv = await sqlPost({ sql: 'SELECT 1 AS a, \'x,y\' AS b', format: 'csv' });
  assert.equal(csv.text, 'a,b\r\n1,"x,y"\r\n');
});

test('SELECT box: writes, multiple statements and side-effect functions are refused', async () => {
  const before = await stack.sql('master', 'SELECT count(*)::int AS n FROM "SmtAdminAction"');
  const seq = await stack.sql('master', `SELECT last_value::int AS v FROM "SmtAdminAction_id_seq"`);
  const refused = [
    `INSERT INTO "SmtAdminAction"(action, ok) VALUES ('x', true)`,
    `UPDATE "ErcotIngest" SET note = 'x'`,
    `DELETE FROM "ErcotIngest"`,
    `SELECT 1; drop table "ErcotIngest"`,
    `SELECT 1; SELECT 2`,
    `SELECT nextval('"SmtAdminAction_id_seq"')`,
    `SELECT evil()`,
    `SELECT * FROM evil()`,
    `WITH d AS (DELETE FROM "ErcotIngest" RETURNING 1) SELECT * FROM d`,
    `SELECT * FROM "ErcotIngest" FOR UPDATE`,
    `SELECT * FROM "ErcotIngest" FOR SHARE`,
    `SELECT pg_terminate_backend(pg_backend_pid())`,
    `SELECT pg_catalog.pg_cancel_backend(1)`,
    `SELECT "set_config"('default_transaction_read_only', 'off', false)`,
    `SELECT pg_advisory_lock(1)`,
    `SELECT lo_import('/etc/passwd')`,
    `SELECT pg_sleep(30)`,
    `SELECT pg_read_file('/etc/passwd')`,
    `COPY "ErcotIngest" TO '/tmp/x'`,
    `SELECT * INTO newtable FROM "ErcotIngest"`,
    `TRUNCATE "ErcotIngest"`,
    `SELECT 1) AS q; DROP TABLE "ErcotIngest"; SELECT (1`,
    `SELECT 1 /* unterminated`,
    `SELECT U&"pg\\0073leep"(1)`,
    `SET TRANSACTION READ WRITE`,
  ];
  for (const sql of refused) {
    const r = await sqlPost({ sql, format: 'json' });
    assert.equal(r.status, 400, `${sql}: ${r.text}`);
    assert.equal(r.json.ok, false, sql);
    const h = await sqlPost({ sql });
    assert.equal(h.status, 400, sql);
    assert.match(h.text, /class="err"/);
  }
  const evil = await sqlPost({ sql: 'SELECT evil()', format: 'json' });
  assert.match(evil.json.message, /read-only/);
  assert.deepEqual(await stack.sql('master', 'SELECT count(*)::int AS n FROM "SmtAdminAction"'), before);
  assert.deepEqual(await stack.sql('master', `SELECT last_value::int AS v FROM "SmtAdminAction_id_seq"`), seq);
  assert.equal((await stack.sql('master', 'SELECT count(*)::int AS n FROM "ErcotIngest"'))[0].n, 122);
  assert.equal((await stack.sql('master', `SELECT count(*)::int AS n FROM "ErcotIngest" WHERE note = 'x'`))[0].n, 0);
  // The connection the explorer reused is still clean and usable (its role
  // makes every transaction read-only).
  const after = await sqlPost({ sql: 'SELECT current_setting($$default_transaction_read_only$$) AS ro', format: 'json' });
  assert.deepEqual(after.json.rows, [['on']]);
});

test('SELECT box: a statement over the 5 s timeout is cancelled', async () => {
  const t0 = Date.now();
  const r = await sqlPost({ sql: 'SELECT count(*) FROM generate_series(1, 2000000000)', format: 'json' });
  assert.equal(r.status, 400);
  assert.match(r.json.message, /longer than 5s/);
  assert.ok(Date.now() - t0 < 9000);
});

test('the stylesheet is served; other sub-paths are 404', async () => {
  const css = await get(`${BASE}/style.css`, { session: false });
  assert.equal(css.status, 200);
  assert.match(css.headers.get('content-type'), /^text\/css/);
  assert.match(css.text, /table\{/);
  assert.equal((await get(`${BASE}/nope`)).status, 404);
  assert.equal((await get(`${BASE}/login`, { session: false })).status, 200);
});
