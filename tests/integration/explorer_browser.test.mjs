// The DB explorer in a real browser (headless Chromium): log in, find
// yesterday's ErcotIngest rows and one ESIID's SmtInterval rows, page, sort,
// search, run a SELECT, log out (for good: the old cookie no longer works). Screenshots: tests/out/screenshots/explorer-*.png.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, startStack } from '../lib/stack.mjs';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'tests/out/screenshots');
const haveChromium = existsSync(CHROMIUM);
let stack, browser, page;

before(async () => {
  if (!haveChromium) return;
  const { chromium } = await import('playwright-core');
  [stack, browser] = await Promise.all([
    startStack({ name: 'explorer_browser' }),
    chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    }),
  ]);
  await stack.sql('master', `INSERT INTO "ErcotIngest" (status, note, filename, tdsp, "rowCount", "createdAt", "fileSha256")
    SELECT CASE WHEN g % 7 = 0 THEN 'skipped' ELSE 'ok' END, 'daily file ' || g, 'TDSP_ESIID_' || g || '.zip',
           (ARRAY['ONCOR','CENTERPOINT','AEP_CENTRAL'])[1 + g % 3], 1000 + g,
           date_trunc('day', now()) - interval '1 day' + g * interval '10 min', md5(g::text)
    FROM generate_series(1, 80) g`);
  await stack.sql('master', `INSERT INTO "ErcotIngest" (status, note, "createdAt", error)
    VALUES ('error', '<script>alert(1)</script>', now(), 'upstream 503')`);
  await stack.sql('master', `INSERT INTO "SmtInterval" (esiid, meter, ts, kwh, source)
    SELECT e, 'M1', timestamp '2026-11-25 00:00' + g * interval '15 min', round((g % 40) / 10.0, 2), 'smt'
    FROM generate_series(0, 95) g, (VALUES ('10443720001234567'), ('10443720007654321')) v(e)`);
  // Most of 2026 for one ESIID (its coverage calendar): every 17th day
  // missing, every 29th estimated, June's afternoons absent.
  await stack.sql('master', `INSERT INTO "SmtInterval" (esiid, meter, ts, kwh, source, estimated)
    SELECT '10443720007654321', 'M1', g AT TIME ZONE 'UTC', 0.5, 'smt',
           extract(doy FROM g AT TIME ZONE 'America/Chicago')::int % 29 = 0
    FROM generate_series(timestamptz '2026-01-01 00:00 America/Chicago',
                         timestamptz '2026-11-24 23:45 America/Chicago', interval '15 min') g
    WHERE extract(doy FROM g AT TIME ZONE 'America/Chicago')::int % 17 <> 0
      AND NOT (extract(month FROM g AT TIME ZONE 'America/Chicago') = 6
               AND extract(hour FROM g AT TIME ZONE 'America/Chicago') >= 12)
    ON CONFLICT DO NOTHING`);
  mkdirSync(SHOTS, { recursive: true });
  page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
  page.setDefaultTimeout(5000);
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('an operator logs in, pages, sorts and searches in Chromium', { skip: !haveChromium && `${CHROMIUM} is absent` }, async () => {
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });

  const first = await page.goto(`${stack.base}/admin/database`);
  assert.equal(first.status(), 401);
  await page.screenshot({ path: path.join(SHOTS, 'explorer-login.png') });
  await page.fill('input[name=token]', 'wrong-token-wrong-token');
  await page.click('button[type=submit]');
  assert.match(await page.textContent('.err'), /not the admin token/);
  await page.fill('input[name=token]', stack.env.ADMIN_TOKEN);
  await Promise.all([page.waitForURL(/\/admin\/database$/), page.click('button[type=submit]')]);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'iw_session');
  assert.ok(session, 'session cookie set');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');
  assert.ok(session.expires > Date.now() / 1000 + 7 * 3600);
  // The stylesheet applied (CSP allows 'self' styles only).
  assert.equal(await page.$eval('header', (e) => getComputedStyle(e).backgroundColor), 'rgb(29, 35, 39)');
  assert.match(await page.textContent('nav'), /ErcotIngest\s*81/);

  // Yesterday's ingests: newest first, 50 a page.
  await page.click('nav a:text-is("ErcotIngest")');
  await page.waitForSelector('table tbody tr');
  assert.equal(await page.locator('tbody tr').count(), 50);
  assert.equal(await page.locator('tbody tr').first().locator('td').nth(3).textContent(), '<script>alert(1)</script>');
  await page.screenshot({ path: path.join(SHOTS, 'explorer-table.png'), fullPage: false });
  await page.click('a[rel=next]');
  await page.waitForURL(/page=2/);
  assert.equal(await page.locator('tbody tr').count(), 31);
  assert.match(await page.textContent('.pager'), /page 2 · rows 51–81/);

  // Sort by rowCount, ascending then descending.
  await page.click('th a:has-text("rowCount")');
  await page.waitForURL(/sort=rowCount&dir=asc/);
  assert.equal(await page.locator('tbody tr').first().locator('td').nth(7).textContent(), '1001');
  await page.click('th a:has-text("rowCount")');
  await page.waitForURL(/sort=rowCount&dir=desc/);
  assert.equal(await page.locator('tbody tr').first().locator('td').nth(7).textContent(), '1080');

  // Search: text anywhere, then one column exactly.
  await page.fill('input[name=q]', 'centerpoint');
  await page.click('form.bar button');
  await page.waitForURL(/q=centerpoint/);
  const tdsps = await page.locator('tbody tr td:nth-child(7)').allTextContents();
  assert.equal(tdsps.length, 27);
  assert.ok(tdsps.every((t) => t === 'CENTERPOINT'));
  await page.screenshot({ path: path.join(SHOTS, 'explorer-search.png') });

  // One ESIID's intervals: column + exact match.
  await page.click('nav a:text-is("SmtInterval")');
  await page.fill('input[name=q]', '10443720007654321');
  await page.selectOption('select[name=col]', 'esiid');
  await page.check('input[name=exact]');
  await page.click('form.bar button');
  await page.waitForURL(/exact=1/);
  const esiids = await page.locator('tbody tr td:nth-child(2)').allTextContents();
  assert.equal(esiids.length, 50);
  assert.ok(esiids.every((e) => e === '10443720007654321'));
  await page.screenshot({ path: path.join(SHOTS, 'explorer-smtinterval.png') });

  // Its coverage calendar, from the link on that page: an SVG drawn by the
  // server, a cell per day of 2026, the missing days listed, no script.
  await Promise.all([page.waitForURL(/\/admin\/coverage\?esiid=10443720007654321$/),
    page.click('a.coverage')]);
  await page.waitForSelector('svg.coverage');
  assert.equal(await page.locator('svg.coverage rect.day').count(), 365);
  const box = await page.locator('svg.coverage').boundingBox();
  assert.ok(box.width > 700 && box.height > 100, `the calendar is drawn (${box.width}x${box.height})`);
  assert.equal(await page.locator('rect.day[data-date="2026-01-17"]').getAttribute('fill'), '#e5e5e5');
  assert.equal(await page.locator('rect.day[data-date="2026-06-03"]').getAttribute('fill'), '#8fd19e');
  assert.equal(await page.locator('rect.day[data-date="2026-03-08"]').getAttribute('fill'), '#1a7f37');
  assert.ok(await page.locator('rect.est').count() >= 10);
  const missing = await page.locator('ul.missing li').allTextContents();
  assert.ok(missing.includes('2026-01-17'));
  assert.equal(missing.at(-1), '2026-11-26 – 2026-12-31 (36 days)');
  await page.screenshot({ path: path.join(SHOTS, 'explorer-coverage.png'), fullPage: true });
  await page.goBack();

  // The SELECT box.
  await page.click('nav a:text-is("SELECT box")');
  await page.fill('textarea[name=sql]', 'SELECT tdsp, count(*) AS files FROM "ErcotIngest" WHERE tdsp IS NOT NULL GROUP BY tdsp ORDER BY tdsp');
  await page.click('section form[method=post] button[type=submit]');
  await page.waitForSelector('.grid table').catch(async (e) => {
    console.log(await page.content());
    throw e;
  });
  assert.deepEqual(await page.locator('.grid tbody tr td:first-child').allTextContents(),
    ['AEP_CENTRAL', 'CENTERPOINT', 'ONCOR']);
  await page.screenshot({ path: path.join(SHOTS, 'explorer-select.png') });
  await page.fill('textarea[name=sql]', 'DELETE FROM "ErcotIngest"');
  await page.click('section form[method=post] button[type=submit]');
  assert.match(await page.textContent('.err'), /read-only/);

  // The SELECT box form and the log-out form carry the session's CSRF token.
  assert.match(await page.getAttribute('section form[method=post] input[name=csrf]', 'value'), /^[0-9a-f]{64}$/);
  assert.match(await page.getAttribute('header form input[name=csrf]', 'value'), /^[0-9a-f]{64}$/);

  // Log out: back to the login form; the old cookie, put back, is dead.
  const before = (await page.context().cookies()).find((c) => c.name === 'iw_session');
  await Promise.all([page.waitForURL(/\/admin\/database$/), page.click('header button')]);
  assert.equal(await page.locator('input[name=token]').count(), 1);
  await page.context().addCookies([before]);
  const replay = await page.goto(`${stack.base}/admin/database`);
  assert.equal(replay.status(), 401);
  assert.equal(await page.locator('input[name=token]').count(), 1);
  assert.deepEqual(dialogs, [], 'no script ran');
  assert.equal((await stack.sql('master', 'SELECT count(*)::int AS n FROM "ErcotIngest"'))[0].n, 81);
});
