// Bench: POST /api/admin/smt/pull through nginx with a meter-year SMT interval
// file (35,040 intervals, 2025, real export format), until the rows are in
// UsageIntervalModule and normalised into SmtInterval (goal < 300 ms). Each
// round uses a fresh ESIID, so nothing is a duplicate. Baselines measured in
// the same run: the duplicate answer (hash + one lookup) and a plain COPY of
// the same 35,040 rows into SmtInterval with psql.
// Usage: node tests/bench/ingest_pull.bench.mjs [rounds]
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { startStack } from '../lib/stack.mjs';
import { intervalFile, yearDays } from '../fakes/smt_files.mjs';

const run = promisify(execFile);
const ROUNDS = Number(process.argv[2] || 7);
const stack = await startStack({ name: 'bench_pull' });
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

try {
  const days = yearDays(2025);
  const files = [];
  for (let i = 0; i < ROUNDS; i++) files.push(intervalFile({ esiid: `104437200001${String(i).padStart(5, "0")}`, days }));
  if (files[0].expected.length !== 35040) throw new Error('not a meter-year');
  const inline = [], upload = [], dup = [];
  for (let i = 0; i < ROUNDS; i++) {
    let t0 = process.hrtime.bigint();
    const r = await stack.post('/api/admin/smt/pull', { mode: 'inline', filename: `year-${i}.csv`, content_b64: files[i].buf.toString('base64') }, { admin: true });
    inline.push(ms(t0));
    if (process.env.IW_BENCH_VERBOSE) console.log(JSON.stringify(r.json?.timingsMs));
    if (r.status !== 200 || r.json.intervalNormalized.insertedCount !== 35040) throw new Error(r.status + " " + r.text.slice(0, 500));
    t0 = process.hrtime.bigint();
    const d = await stack.post('/api/admin/smt/pull', { mode: 'inline', filename: `year-${i}.csv`, content_b64: files[i].buf.toString('base64') }, { admin: true });
    dup.push(ms(t0));
    if (!d.json.duplicate) throw new Error(d.text);
  }
  for (let i = 0; i < ROUNDS; i++) {
    const f = intervalFile({ esiid: `104437200002${String(i).padStart(5, "0")}`, days });
    const gz = zlib.gzipSync(f.buf);
    const t0 = process.hrtime.bigint();
    const r = await stack.request('POST', `/api/admin/smt/pull?filename=year-${i}.csv.gz`, {
      raw: gz, headers: { 'content-type': 'application/gzip', 'x-admin-token': stack.env.ADMIN_TOKEN } });
    upload.push(ms(t0));
    if (r.status !== 200 || r.json.rows !== 35040) throw new Error(r.text);
  }
  // Baseline: psql COPY of the same rows into SmtInterval (with its keys).
  const copy = [];
  const host = process.env.IW_TEST_PGHOST;
  for (let i = 0; i < ROUNDS; i++) {
    const esiid = `104437200003${String(i).padStart(5, "0")}`;
    const rows = files[i].expected.map((e) => `${esiid}\tm\t${e.ts.replace('T', ' ').replace('Z', '')}\t${e.kwh}\t${e.estimated ? 't' : 'f'}\t${e.flow}\tsmt`).join('\n') + '\n';
    const t0 = process.hrtime.bigint();
    const p = run('psql', ['-h', host, '-U', 'postgres', '-d', stack.dbs.master, '-qAt', '-c',
      'COPY "SmtInterval" (esiid, meter, ts, kwh, estimated, flow, source) FROM STDIN']);
    p.child.stdin.end(rows);
    await p;
    copy.push(ms(t0));
  }
  const log = stack.log('smt_pull').split('\n').filter((l) => l.includes('"rows":35040')).map((l) => JSON.parse(l).duration_ms);
  console.log(`pull of a meter-year (35,040 intervals, ${(files[0].buf.length / 1e6).toFixed(2)} MB CSV), ${ROUNDS} rounds, median:`);
  console.log(`  inline base64, through nginx (client view)   ${median(inline).toFixed(0).padStart(6)} ms   [goal < 300 ms]`);
  console.log(`  upload gzip, through nginx (client view)     ${median(upload).toFixed(0).padStart(6)} ms`);
  console.log(`  program time (access log duration_ms)        ${median(log).toFixed(0).padStart(6)} ms`);
  console.log(`  baseline: duplicate answer (hash + lookup)   ${median(dup).toFixed(0).padStart(6)} ms`);
  console.log(`  baseline: psql COPY into SmtInterval         ${median(copy).toFixed(0).padStart(6)} ms`);
  console.log(`  rows/s end to end (inline)                   ${Math.round(35040 / (median(inline) / 1000)).toLocaleString('en-US')}`);
} finally {
  await stack.stop();
}
