// The operator smoke tests (tools/smoke/) against a real stack: the inline
// post lands rows and exits 0; the webhook secret is accepted; a wrong token
// or secret makes them fail (exit 1), so they can tell an operator the truth.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT, startStack } from '../lib/stack.mjs';

let stack;
before(async () => { stack = await startStack({ name: 'ops_smoke' }); });
after(async () => { if (stack) await stack.stop(); });

function smoke(script, env = {}, args = []) {
  return new Promise((resolve) => {
    const child = spawn('bash', [path.join(ROOT, 'tools/smoke', script), ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, INTELLIWATT_BASE_URL: stack.base,
        IW_ENV_FILE: path.join(stack.dir, 'env'), ...env },
    });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('smt_inline_post_test.sh posts a generated interval CSV inline and reports ok', async () => {
  const r = await smoke('smt_inline_post_test.sh', { SMOKE_ESIID: '10443720000000501', SMOKE_DAY: '2/3/2025' });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const answer = JSON.parse(r.stdout);
  assert.equal(answer.ok, true);
  assert.equal(answer.mode, 'inline');
  assert.equal(answer.rows, 96);
  const rows = await stack.sql('usage', 'SELECT count(*)::int AS n, min(ts) AS first FROM "UsageIntervalModule" WHERE esiid = $1', ['10443720000000501']);
  assert.equal(rows[0].n, 96);
  assert.equal(new Date(rows[0].first).toISOString(), '2025-02-03T06:00:00.000Z');
  assert.doesNotMatch(r.stdout + r.stderr, new RegExp(stack.env.ADMIN_TOKEN), 'the token is never printed');
});

test('smt_inline_post_test.sh fails on a wrong token', async () => {
  const r = await smoke('smt_inline_post_test.sh', { ADMIN_TOKEN: 'wrong-token-wrong-token-0000' });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /FAILED \(HTTP 401\)/);
});

test('test_webhook.sh: the webhook secret is accepted under each header name', async () => {
  for (const header of ['x-intelliwatt-secret', 'x-smt-secret', 'x-webhook-secret']) {
    const r = await smoke('test_webhook.sh', { SMOKE_SECRET_HEADER: header, SMOKE_ESIID: '10443720000000502' });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(JSON.parse(r.stdout).ok, true);
    assert.match(r.stderr, new RegExp(`ok: ${header} accepted`));
  }
  const rows = await stack.sql('usage', 'SELECT count(*)::int AS n FROM "UsageIntervalModule" WHERE esiid = $1', ['10443720000000502']);
  assert.equal(rows[0].n, 1, 'the harmless post is one interval');
});

test('test_webhook.sh fails with 401 on a wrong secret', async () => {
  const r = await smoke('test_webhook.sh', { INTELLIWATT_WEBHOOK_SECRET: 'not-the-secret-not-the-secret' });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /refused the secret .*HTTP 401/);
});
