// tools/smt/fetch_and_post.sh (the droplet's SMT ingest) against a real sshd/sftp
// server on loopback, a real gpg key, and the real stack's /api/admin/smt/pull:
// an encrypted zip (interval CSV preferred over the daily CSV beside it) goes
// up as a raw upload, a small CSV goes inline (gzip+base64), rows land in
// UsageIntervalModule; a second run posts nothing (sha256 ledger); a 429 stops
// the run with exit 75; bad settings and a wrong host key have their own codes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT, freePort, startStack } from '../lib/stack.mjs';

const run = promisify(execFile);
const SCRIPT = path.join(ROOT, 'tools/smt/fetch_and_post.sh');
const T = mkdtempSync(path.join(os.tmpdir(), 'iw-smt-ingest-'));
const REMOTE = path.join(T, 'remote');
const GNUPG = path.join(T, 'gnupg');
const ESIID = '10443720000000042';
const SMALL_ESIID = '10443720000000077';
const INLINE_MAX = 4000; // the zip's interval CSV (~7 KB) goes raw, the small CSV inline
let stack, sshd, sshPort;

function intervalCsv(esiid, day, rows) {
  const lines = ['ESIID,USAGE_DATE,REVISION_DATE,USAGE_START_TIME,USAGE_END_TIME,USAGE_KWH,ESTIMATED_ACTUAL,CONSUMPTION_SURPLUSGENERATION'];
  for (let i = 0; i < rows; i++) {
    const h = Math.floor(i / 4), m = (i % 4) * 15;
    const end = m === 45 ? `${(h + 1) % 24}:00` : `${h}:${String(m + 15).padStart(2, '0')}`;
    lines.push(`'${esiid},${day},${day},${h}:${String(m).padStart(2, '0')},${end},${(0.1 + i / 1000).toFixed(3)},A,Consumption`);
  }
  return lines.join('\r\n') + '\r\n';
}

async function sh(cmd, args, opts = {}) {
  return run(cmd, args, { env: { ...process.env, GNUPGHOME: GNUPG }, ...opts });
}

function waitForPort(port) {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 10000;
    const tryOnce = () => {
      const s = net.connect(port, '127.0.0.1');
      s.on('connect', () => { s.destroy(); resolve(); });
      s.on('error', () => (Date.now() > deadline ? reject(new Error('sshd did not listen')) : setTimeout(tryOnce, 50)));
    };
    tryOnce();
  });
}

// Runs the script with a settings file; resolves {code, out}.
function ingest(settings, envOverrides = {}) {
  const file = path.join(T, `env-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, Object.entries(settings).map(([k, v]) => `${k}=${v}`).join('\n') + '\n', { mode: 0o600 });
  return new Promise((resolve) => {
    const child = spawn('bash', [SCRIPT], {
      env: { PATH: process.env.PATH, HOME: T, IW_SMT_ENV_FILE: file, ...envOverrides },
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('close', (code) => resolve({ code, out }));
  });
}

function settings(localDir, base, extra = {}) {
  return {
    ADMIN_TOKEN: stack.env.ADMIN_TOKEN,
    INTELLIWATT_BASE_URL: base,
    SMT_HOST: '127.0.0.1',
    SMT_PORT: sshPort,
    SMT_USER: os.userInfo().username,
    SMT_KEY: path.join(T, 'client_key'),
    SMT_KNOWN_HOSTS: path.join(T, 'known_hosts'),
    SMT_REMOTE_DIR: REMOTE,
    SMT_LOCAL_DIR: localDir,
    SMT_GNUPGHOME: GNUPG,
    SMT_INLINE_MAX_BYTES: INLINE_MAX,
    ESIID_DEFAULT: '',
    ...extra,
  };
}

before(async () => {
  mkdirSync(REMOTE, { recursive: true });
  mkdirSync(GNUPG, { recursive: true, mode: 0o700 });
  // sshd: host key, the client's key, a config of our own on a spare loopback port.
  await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(T, 'host_key')]);
  await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(T, 'client_key')]);
  writeFileSync(path.join(T, 'authorized_keys'), readFileSync(path.join(T, 'client_key.pub')));
  sshPort = await freePort();
  writeFileSync(path.join(T, 'sshd_config'), [
    `HostKey ${path.join(T, 'host_key')}`,
    `PidFile ${path.join(T, 'sshd.pid')}`,
    `AuthorizedKeysFile ${path.join(T, 'authorized_keys')}`,
    'StrictModes no', 'UsePAM no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes', 'PermitRootLogin prohibit-password', 'Subsystem sftp internal-sftp',
    'LogLevel ERROR',
  ].join('\n') + '\n');
  writeFileSync(path.join(T, 'known_hosts'),
    `[127.0.0.1]:${sshPort} ${readFileSync(path.join(T, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
  mkdirSync('/run/sshd', { recursive: true });
  sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', path.join(T, 'sshd_config'), '-p', String(sshPort),
    '-o', 'ListenAddress=127.0.0.1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  sshd.stderr.on('data', () => {});
  await waitForPort(sshPort);

  // SMT's files: a gpg-encrypted zip with an interval CSV and a daily CSV, and a small plain CSV.
  await sh('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'SMT Test <smt@example.test>', 'default', 'default', 'never']);
  const zdir = path.join(T, 'zip');
  mkdirSync(zdir);
  writeFileSync(path.join(zdir, `IntervalMeterUsage_${ESIID}_20250115.csv`), intervalCsv(ESIID, '1/15/2025', 96));
  writeFileSync(path.join(zdir, `DailyMeterUsage_${ESIID}_20250115.csv`), 'ESIID,USAGE_DATE,KWH\n1,1/15/2025,9\n');
  await sh('zip', ['-q', '-j', path.join(T, 'smt.zip'), ...['IntervalMeterUsage', 'DailyMeterUsage'].map((n) => path.join(zdir, `${n}_${ESIID}_20250115.csv`))]);
  await sh('gpg', ['--batch', '--yes', '--trust-model', 'always', '--armor', '-r', 'smt@example.test',
    '-o', path.join(REMOTE, `SMT_Report_${ESIID}_20250115.zip.asc`), '--encrypt', path.join(T, 'smt.zip')]);
  writeFileSync(path.join(REMOTE, `IntervalSmall_${SMALL_ESIID}.csv`), intervalCsv(SMALL_ESIID, '1/16/2025', 4));
  mkdirSync(path.join(REMOTE, 'archive')); // a directory: not a file to fetch

  stack = await startStack({ name: 'ops_ingest' });
});

after(async () => {
  if (sshd) sshd.kill('SIGTERM');
  if (stack) await stack.stop();
  rmSync(T, { recursive: true, force: true });
});

test('first run: SFTP, gpg, unzip, raw upload and inline post; the rows land in UsageIntervalModule', async () => {
  const local = path.join(T, 'local');
  const r = await ingest(settings(local, stack.base));
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /event=listed remote=2 downloaded=2/, r.out);
  assert.match(r.out, new RegExp(`event=posted file=IntervalMeterUsage_${ESIID}_20250115\\.csv mode=upload .*http=200 rows=96`), r.out);
  assert.match(r.out, new RegExp(`event=posted file=IntervalSmall_${SMALL_ESIID}\\.csv mode=inline .*http=200 rows=4`), r.out);
  assert.doesNotMatch(r.out, /DailyMeterUsage/, 'the interval CSV of the zip is preferred');
  assert.match(r.out, /event=done posted=2 already_posted=0 failed=0/);

  const rows = await stack.sql('usage', 'SELECT esiid, count(*)::int AS n, min(ts) AS first FROM "UsageIntervalModule" GROUP BY esiid ORDER BY esiid');
  assert.deepEqual(rows.map((x) => [x.esiid, x.n]), [[ESIID, 96], [SMALL_ESIID, 4]]);
  // 1/15/2025 0:00 in America/Chicago (CST) is 06:00 UTC.
  assert.equal(new Date(rows[0].first).toISOString(), '2025-01-15T06:00:00.000Z');
  const files = await stack.sql('master', 'SELECT filename FROM raw_smt_files ORDER BY filename');
  assert.deepEqual(files.map((f) => f.filename), [`IntervalMeterUsage_${ESIID}_20250115.csv`, `IntervalSmall_${SMALL_ESIID}.csv`]);
  const ledger = readFileSync(path.join(local, '.posted-sha256'), 'utf8');
  assert.equal(ledger.trim().split('\n').length, 3, 'the two CSVs and the encrypted zip');

  // Second run: nothing new reaches the server.
  const again = await ingest(settings(local, stack.base));
  assert.equal(again.code, 0, again.out);
  assert.match(again.out, /event=listed remote=2 downloaded=0/);
  assert.match(again.out, /event=done posted=0 already_posted=0 failed=0/);
  assert.equal((await stack.sql('master', 'SELECT count(*)::int AS n FROM raw_smt_files'))[0].n, 2);

  // A new file on the server: only it is fetched and posted.
  writeFileSync(path.join(REMOTE, `IntervalSmall_${SMALL_ESIID}_b.csv`), intervalCsv(SMALL_ESIID, '1/17/2025', 8));
  const third = await ingest(settings(local, stack.base));
  assert.equal(third.code, 0, third.out);
  assert.match(third.out, /event=listed remote=3 downloaded=1/);
  assert.match(third.out, /event=done posted=1 already_posted=0 failed=0/);
  const n = await stack.sql('usage', 'SELECT count(*)::int AS n FROM "UsageIntervalModule" WHERE esiid = $1', [SMALL_ESIID]);
  assert.equal(n[0].n, 12);
  rmSync(path.join(REMOTE, `IntervalSmall_${SMALL_ESIID}_b.csv`));
});

test('a file already in the ledger is not posted again even under a new name', async () => {
  const local = path.join(T, 'local-ledger');
  mkdirSync(local, { recursive: true });
  const csv = intervalCsv(SMALL_ESIID, '1/16/2025', 4);
  const sha = (await run('sh', ['-c', 'printf %s "$0" | sha256sum | cut -c1-64', csv])).stdout.trim();
  writeFileSync(path.join(local, '.posted-sha256'), `${sha} 2025-01-01T00:00:00Z earlier.csv\n`);
  const r = await ingest(settings(local, stack.base), {});
  assert.equal(r.code, 0, r.out);
  assert.doesNotMatch(r.out, /event=posted file=IntervalSmall/, r.out);
  assert.match(r.out, new RegExp(`event=posted file=IntervalMeterUsage_${ESIID}_20250115\\.csv .*rows=0 duplicate=true`), r.out);
});

test('HTTP 429 stops the run with exit 75 and records nothing', async () => {
  let hits = 0;
  const srv = http.createServer((req, res) => {
    hits++;
    req.resume();
    req.on('end', () => { res.writeHead(429, { 'content-type': 'application/json' }); res.end('{"ok":false,"error":"rate_limited"}'); });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const local = path.join(T, 'local-429');
  try {
    const r = await ingest(settings(local, `http://127.0.0.1:${srv.address().port}`));
    assert.equal(r.code, 75, r.out);
    assert.match(r.out, /level=warn event=throttled .*http=429 posted=0/);
    assert.equal(hits, 1, 'the run stops at the first 429');
    assert.equal(readFileSync(path.join(local, '.posted-sha256'), 'utf8'), '');
  } finally {
    srv.close();
  }
});

test('a refused token exits 5; a missing setting exits 2; a wrong host key exits 3', async () => {
  const bad = await ingest(settings(path.join(T, 'local-401'), stack.base, { ADMIN_TOKEN: 'not-the-admin-token-0000' }));
  assert.equal(bad.code, 5, bad.out);
  assert.match(bad.out, /event=token_refused .*http=401/);

  const missing = await ingest(settings(path.join(T, 'local-cfg'), stack.base, { SMT_KEY: '' }));
  assert.equal(missing.code, 2, missing.out);
  assert.match(missing.out, /event=setting_missing name=SMT_KEY/);

  await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(T, 'other_host_key')]);
  const kh = path.join(T, 'known_hosts_wrong');
  writeFileSync(kh, `[127.0.0.1]:${sshPort} ${readFileSync(path.join(T, 'other_host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
  const wrong = await ingest(settings(path.join(T, 'local-hk'), stack.base, { SMT_KNOWN_HOSTS: kh }));
  assert.equal(wrong.code, 3, wrong.out);
  assert.match(wrong.out, /event=sftp_failed/);
  assert.ok(!existsSync(path.join(T, 'local-hk', 'inbox', `IntervalSmall_${SMALL_ESIID}.csv`)));
});
