// Starts a real iw-admin stack for one test file: its own databases in the
// shared test Postgres cluster, the FastCGI programs and nginx on a free port.
//
//   const stack = await startStack({ name: 'smt', env: { SMT_PROXY_URL: ... } });
//   const r = await stack.post('/api/admin/smt/agreements/status', { esiid }, { admin: true });
//   const rows = await stack.sql('master', 'SELECT ...', [params]);
//   await stack.stop();   // fails if a sanitizer reported anything
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILD = process.env.IW_BUILD || 'build';
export const BIN = path.join(ROOT, BUILD, 'bin');
const STACK = path.join(ROOT, 'tools/stack.sh');

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// The shared cluster: tests/run.sh starts it and sets IW_TEST_PGHOST; a lone
// `node --test file` starts it here.
async function pgHost() {
  if (process.env.IW_TEST_PGHOST) return process.env.IW_TEST_PGHOST;
  const dir = path.join(ROOT, 'tests/out/pg');
  await run(STACK, ['pg-start', dir]);
  process.env.IW_TEST_PGHOST = path.join(dir, 'pgrun');
  return process.env.IW_TEST_PGHOST;
}

export function parseEnvFile(file) {
  const out = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

// pgHost: the socket directory of a private cluster (tools/stack.sh pg-start),
// for a test file that restarts or kills Postgres; the shared one otherwise.
export async function startStack({ name, env = {}, workers, pgHost: ownHost } = {}) {
  if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`stack name ${name}: lower-case identifier`);
  const host = ownHost || await pgHost();
  const dir = path.join(ROOT, 'tests/out', BUILD, name);
  const sanDir = path.join(dir, 'san');
  const dbs = { master: `${name}_master_test`, usage: `${name}_usage_test` };
  const admin = new pg.Client({ host, user: 'postgres', database: 'postgres' });
  await admin.connect();
  for (const db of Object.values(dbs)) {
    await admin.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${db}"`);
  }
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(sanDir, { recursive: true });

  const port = await freePort();
  const baseEnv = {
    PATH: process.env.PATH, HOME: process.env.HOME || '/root', IW_BUILD: BUILD,
    IW_PGHOST: host, IW_DB_PREFIX: name, IW_DB_SUFFIX: 'test',
    ...(/san/.test(BUILD) ? { IW_SAN_LOG: sanDir } : {}),
    ...(workers ? { IW_WORKERS: String(workers) } : {}),
    // tests/run.sh's pgbouncer pass: every stack behind transaction pooling.
    ...(process.env.IW_TEST_PGBOUNCER === '1' ? { IW_PGBOUNCER: '1' } : {}),
  };
  let currentEnv = { ...env };
  const start = async () => {
    try {
      await run(STACK, ['app-start', dir, String(port)], { env: { ...baseEnv, ...currentEnv } });
    } catch (e) {
      throw new Error(`stack ${name} did not start: ${e.stderr || e.message}`);
    }
  };
  await start();

  const clients = {};
  const stack = {
    name, dir, port, base: `http://127.0.0.1:${port}`,
    get env() { return parseEnvFile(path.join(dir, 'env')); },
    dbs,
    async request(method, route, { body, headers = {}, admin = false, raw } = {}) {
      const h = { ...headers };
      if (admin) h['x-admin-token'] = stack.env.ADMIN_TOKEN;
      let payload;
      if (raw !== undefined) payload = raw;
      else if (body !== undefined) {
        payload = typeof body === 'string' ? body : JSON.stringify(body);
        if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
      }
      const res = await fetch(stack.base + route, { method, headers: h, body: payload });
      const text = await res.text();
      let json;
      try { json = JSON.parse(text); } catch { json = undefined; }
      return { status: res.status, headers: res.headers, text, json };
    },
    post(route, body, opts = {}) { return stack.request('POST', route, { ...opts, body }); },
    get(route, opts = {}) { return stack.request('GET', route, opts); },
    async sql(db, text, params = []) {
      if (!clients[db]) {
        const c = new pg.Client({ host, user: 'postgres', database: dbs[db], application_name: 'iw-test' });
        // A restarted or killed server: the next call connects again.
        c.on('error', () => { if (clients[db] === c) delete clients[db]; });
        clients[db] = c;
        await c.connect();
      }
      return (await clients[db].query(text, params)).rows;
    },
    log(program) {
      const f = path.join(dir, 'log', `${program}.log`);
      return existsSync(f) ? readFileSync(f, 'utf8') : '';
    },
    // The program's log lines, each parsed (every line is one JSON object).
    logEntries(program) {
      return stack.log(program).split('\n').filter(Boolean).map((l) => JSON.parse(l));
    },
    // Restarts programs and nginx with changed settings (same databases).
    async restart(envOverrides = {}) {
      currentEnv = { ...currentEnv, IW_MIGRATE: '1', ...envOverrides };
      rmSync(path.join(dir, 'env'), { force: true });
      await start();
    },
    async stop() {
      for (const c of Object.values(clients)) await c.end().catch(() => {});
      await run(STACK, ['app-stop', dir]).catch(() => {});
      const reports = existsSync(sanDir) ? readdirSync(sanDir) : [];
      if (reports.length) {
        const text = reports.map((f) => readFileSync(path.join(sanDir, f), 'utf8')).join('\n');
        throw new Error(`sanitizer reports in ${sanDir}:\n${text.slice(0, 4000)}`);
      }
    },
  };
  return stack;
}
