// The x-vercel-cron rule (SPEC §2): nginx passes the header on only when the
// client is the local scheduler (loopback). The stack listens on the host side
// of a veth pair made by this test (10.200.N.1/30, inside this machine only);
// a client in a network namespace at 10.200.N.2 is refused, the host's own
// veth address is refused, and a client bound to 127.0.0.1 is accepted.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { startStack } from '../lib/stack.mjs';

const run = promisify(execFile);
const ROUTE = '/api/admin/ercot/cron/health';
const id = process.pid % 10000;
const NS = `iwtest${id}`;
const HOST_IF = `iwv${id}h`;
const NS_IF = `iwv${id}n`;
const SUBNET = 100 + (process.pid % 150); // 10.200.<100..249>.0/30
const HOST_ADDR = `10.200.${SUBNET}.1`;
const NS_ADDR = `10.200.${SUBNET}.2`;

function ip(...args) {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

let netnsReason = null;
{
  const probe = `iwprobe${id}`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0) netnsReason = `ip netns is not permitted here: ${r.stderr.trim()}`;
  else spawnSync('ip', ['netns', 'del', probe]);
}

let stack;

before(async () => {
  if (netnsReason) return;
  ip('netns', 'add', NS);
  ip('link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF);
  ip('link', 'set', NS_IF, 'netns', NS);
  ip('addr', 'add', `${HOST_ADDR}/30`, 'dev', HOST_IF);
  ip('link', 'set', HOST_IF, 'up');
  ip('netns', 'exec', NS, 'ip', 'addr', 'add', `${NS_ADDR}/30`, 'dev', NS_IF);
  ip('netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'up');
  ip('netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up');
  // CRON_SECRET set, so the route is otherwise healthy; no admin token is sent.
  stack = await startStack({ name: 'ops_vercel', env: { IW_LISTEN: HOST_ADDR } });
});

after(async () => {
  try {
    if (stack) await stack.stop();
  } finally {
    spawnSync('ip', ['link', 'del', HOST_IF]);
    spawnSync('ip', ['netns', 'del', NS]);
  }
});

// curl from a chosen place; resolves {status, body}.
async function curl({ inNamespace = false, iface, headers = {}, query = '' } = {}) {
  const args = ['-s', '-m', '5', '-w', '\n%{http_code}'];
  if (iface) args.push('--interface', iface);
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  args.push(`http://${HOST_ADDR}:${stack.port}${ROUTE}${query}`);
  const [cmd, argv] = inNamespace ? ['ip', ['netns', 'exec', NS, 'curl', ...args]] : ['curl', args];
  const { stdout } = await run(cmd, argv);
  const i = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(i + 1)), body: stdout.slice(0, i) };
}

test('x-vercel-cron from a client outside this host is cleared: 401', { skip: netnsReason || false }, async () => {
  const r = await curl({ inNamespace: true, headers: { 'x-vercel-cron': '1' } });
  assert.equal(r.status, 401, r.body);
  assert.equal(JSON.parse(r.body).error, 'unauthorized');
  // The route itself is reachable from there: the cron secret works.
  const ok = await curl({ inNamespace: true, query: `?token=${stack.env.CRON_SECRET}` });
  assert.equal(ok.status, 200, ok.body);
});

test('x-vercel-cron from this host but not loopback (its veth address) is cleared: 401', { skip: netnsReason || false }, async () => {
  const r = await curl({ headers: { 'x-vercel-cron': '1' } });
  assert.equal(r.status, 401, r.body);
});

test('x-vercel-cron from loopback (the local scheduler) is accepted', { skip: netnsReason || false }, async () => {
  const r = await curl({ iface: '127.0.0.1', headers: { 'x-vercel-cron': '1' } });
  assert.equal(r.status, 200, r.body);
  assert.equal(typeof JSON.parse(r.body).method, 'string');
  const none = await curl({ iface: '127.0.0.1' });
  assert.equal(none.status, 401, 'without the header, loopback is not trusted by itself');
  // The access log shows where each request came from.
  const log = await run('cat', [`${stack.dir}/log/nginx-access.log`]).then((x) => x.stdout);
  assert.match(log, new RegExp(`"remote":"${NS_ADDR.replaceAll('.', '\\.')}"`));
  assert.match(log, /"remote":"127\.0\.0\.1"/);
});
