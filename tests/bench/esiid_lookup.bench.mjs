// ESIID lookup benchmark (not in make test): an extract of N ESIIDs in the
// real shape (tests/lib/esiid_gen.mjs: Texas-like ZIPs with ~2500 addresses
// each, streets, numbers, complexes with units), made once into
// tests/out/esiid-bench/ and cached, loaded by the real cron through nginx
// (first load of an empty index: rows/s), the lookup indexes built after it
// (time, size), then lookups through nginx: p50/p99 latency, accuracy of the
// top-1 answer on addresses written differently, and match:false on
// addresses not in the index; the score distributions that justify the
// threshold.
//   nice -n 10 node tests/bench/esiid_lookup.bench.mjs        (IW_BUILD=build)
//   ESIID_BENCH_ROWS=8000000   (default 2000000)
//   ESIID_BENCH_BASE=/path/to/a/tree/of/the/previous/commit (built): its
//     stack loads the same file first, for the before/after load rows/s.
//   ESIID_BENCH_SAMPLES=1200  ESIID_BENCH_CONCURRENCY=2
//   ESIID_BENCH_LOAD_ONLY=1: the load(s) and the index build only
//   ESIID_BENCH_INDEX_FIRST=1: also a load with both indexes created before it
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, startStack } from '../lib/stack.mjs';
import { startErcotMis } from '../fakes/ercot_mis.mjs';
import { constructedName } from '../fakes/ercot_zip.mjs';
import { absent, generate, rewrite, rng } from '../lib/esiid_gen.mjs';

const DAY = '2026-11-26';
const FRIENDLY = 'ONCOR_ELEC___FUL';
const ROWS = Number(process.env.ESIID_BENCH_ROWS || 2000000);
const PER_ZIP = 2500;
const SAMPLES = Number(process.env.ESIID_BENCH_SAMPLES || 1200);
const CONC = Number(process.env.ESIID_BENCH_CONCURRENCY || 2);
const OUT = path.join(ROOT, 'tests/out/esiid-bench');
const ZIP = path.join(OUT, `extract-${ROWS}.zip`);
const zips = Math.ceil(ROWS / PER_ZIP);
const KEEP = (z) => z % Math.max(1, Math.floor(zips / 100)) === 0; // ~100 ZIPs sampled

const quote = (f) => (/[",\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f);

// Generates (once) the zip, and always the sampled addresses with their ZIPs.
async function material() {
  const make = !fs.existsSync(ZIP);
  const csv = path.join(OUT, `${FRIENDLY}.csv`);
  fs.mkdirSync(OUT, { recursive: true });
  const out = make ? fs.createWriteStream(csv) : null;
  const r = rng(3);
  const pool = [];
  let seen = 0, buf = [];
  const t0 = Date.now();
  const list = generate({ seed: 2026, zips, perZip: PER_ZIP, keep: KEEP, complexRate: 0.015 }, (a) => {
    if (out) {
      buf.push(a.row.map(quote).join(','));
      if (buf.length >= 5000) { out.write(`${buf.join('\r\n')}\r\n`); buf = []; }
    }
    if (!a.kept) return;
    // Reservoir sample of the addresses of the kept ZIPs.
    seen++;
    const { row, ...keep } = a;
    if (pool.length < SAMPLES) pool.push(keep);
    else { const j = Math.floor(r() * seen); if (j < SAMPLES) pool[j] = keep; }
  });
  if (out) {
    if (buf.length) out.write(`${buf.join('\r\n')}\r\n`);
    await new Promise((res) => out.end(res));
    execFileSync('zip', ['-q', '-j', '-1', ZIP, csv]);
    fs.rmSync(csv);
    console.log(`generated ${ZIP} (${(fs.statSync(ZIP).size / 1e6).toFixed(1)} MB, ${ROWS} rows, ${zips} ZIPs) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  return { pool, list };
}

// One cron run of the file into a fresh stack: rows/s of the first load.
async function load(start, name, body, indexFirst = false) {
  const doc = { docId: '4243', friendlyName: FRIENDLY, constructedName: constructedName(FRIENDLY, DAY),
    publishDate: `${DAY}T05:52:19-06:00`, body };
  const mis = await startErcotMis({ docs: [doc] });
  const stack = await start({ name, env: { ERCOT_MIS_BASE: mis.base } });
  if (indexFirst) { // the alternative not taken: indexes in place during the first load
    await stack.sql('master', `CREATE INDEX "ErcotEsiidIndex_zip5_number_idx" ON "ErcotEsiidIndex" (left("serviceZip", 5), "addressNumber")`);
    await stack.sql('master', `CREATE INDEX "ErcotEsiidIndex_addressNorm_trgm_idx" ON "ErcotEsiidIndex" USING gin ("addressNorm" gin_trgm_ops)`);
  }
  const t = process.hrtime.bigint();
  const r = await stack.get(`/api/admin/ercot/cron?date=${DAY}&token=${encodeURIComponent(stack.env.CRON_SECRET)}`);
  const runS = Number(process.hrtime.bigint() - t) / 1e9;
  await mis.close();
  if (r.status !== 200 || !r.json.results[0]?.key) {
    await stack.stop();
    throw new Error(`run failed: ${r.status} ${r.text.slice(0, 500)}`);
  }
  const rows = r.json.results[0].rows;
  const lines = stack.log('ercot_cron').trim().split('\n').map((l) => { try { return JSON.parse(l); } catch { return {}; } });
  const at = (phase) => Date.parse(lines.find((l) => l.msg === 'ercot progress' && l.phase === phase && l.done)?.ts);
  const loadS = (at('indexed') - at('download')) / 1000;
  const built = lines.find((l) => /indexes built in/.test(l.msg || ''));
  const buildS = built ? Number(/in ([\d.]+) s/.exec(built.msg)[1]) : 0;
  console.log(`${name}: ${rows} rows; run ${runS.toFixed(1)} s; unzip+parse+COPY+index upsert ${loadS.toFixed(1)} s` +
    ` = ${Math.round(rows / loadS)} rows/s` + (built ? `; lookup indexes built after it in ${buildS.toFixed(1)} s` : ''));
  return { stack, rows, loadS, runS, buildS };
}

function pct(a, p) {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))];
}

const { pool, list } = await material();
const body = fs.readFileSync(ZIP);
if (process.env.ESIID_BENCH_BASE) {
  const base = await import(path.join(process.env.ESIID_BENCH_BASE, 'tests/lib/stack.mjs'));
  const b = await load(base.startStack, 'esiid_bench_base', body);
  await b.stack.stop();
}
if (process.env.ESIID_BENCH_INDEX_FIRST) {
  const f = await load(startStack, 'esiid_bench_ixfirst', body, true);
  await f.stack.stop();
}
const { stack, rows } = await load(startStack, 'esiid_bench', body);
if (process.env.ESIID_BENCH_LOAD_ONLY) { await stack.stop(); process.exit(0); }
try {
  const size = await stack.sql('master', `SELECT c.relname, pg_relation_size(c.oid) AS bytes FROM pg_class c
    WHERE c.relname IN ('ErcotEsiidIndex', 'ErcotEsiidIndex_addressNorm_trgm_idx', 'ErcotEsiidIndex_zip5_number_idx')`);
  for (const s of size) console.log(`  size ${s.relname}: ${(Number(s.bytes) / 1048576).toFixed(0)} MiB`);

  // Queries: each sampled address rewritten one way (k = i % 5), and as
  // many addresses not in the index.
  const r = rng(4);
  const byZip = new Map(list.map((z) => [z.zip, z]));
  const qs = pool.map((a, i) => ({ a, k: i % 5, w: rewrite(a, i), present: true }));
  for (let i = 0; i < pool.length / 2; i++) {
    const a = pool[i];
    qs.push({ a, k: i % 4, w: absent(a, byZip.get(a.zip), i, r), present: false });
  }
  // A warm-up pass, then the measured one.
  const lat = [], res = new Array(qs.length);
  for (const pass of [0, 1]) {
    let next = 0;
    await Promise.all(Array.from({ length: CONC }, async () => {
      while (next < qs.length) {
        const qi = next++;
        const q = qs[qi];
        const t = process.hrtime.bigint();
        const x = await stack.get(`/api/admin/ercot/lookup-esiid?${new URLSearchParams({ ...q.w, zip: q.a.zip, state: 'TX' })}`, { admin: true });
        if (pass) lat.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (x.status !== 200) throw new Error(`lookup ${x.status} ${x.text}`);
        res[qi] = x.json;
      }
    }));
  }
  // The latency under wrk (its own percentiles), over the same requests.
  const pathsFile = path.join(OUT, 'paths.txt');
  fs.writeFileSync(pathsFile, qs.map((q) => `/api/admin/ercot/lookup-esiid?${new URLSearchParams({ ...q.w, zip: q.a.zip, state: 'TX' })}`).join('\n') + '\n');
  const wrkOut = execFileSync('wrk', ['-t1', `-c${CONC}`, '-d15s', '--latency', '-s', path.join(ROOT, 'tests/bench/esiid_lookup.lua'), stack.base],
    { env: { ...process.env, ESIID_PATHS: pathsFile, ESIID_TOKEN: stack.env.ADMIN_TOKEN }, encoding: 'utf8' });
  const wp = (p) => /\s(\d+)%\s+([\d.]+)(us|ms|s)/g;
  const lines = wrkOut.split('\n').filter((l) => /^\s+(50|90|99)%|Requests\/sec|Non-2xx/.test(l));
  console.log(`wrk -t1 -c${CONC} -d15s over the ${qs.length} lookups: ${lines.map((l) => l.trim().replace(/\s+/g, ' ')).join('; ')}`);
  void wp;
  // The program's own time per request (its access-log line), all passes.
  const own = stack.log('ercot_lookup_esiid').split('\n').map((l) => { try { return JSON.parse(l); } catch { return {}; } })
    .filter((l) => l.msg === 'request' && l.status === 200).map((l) => l.duration_ms);
  console.log(`the route's own duration_ms (${own.length} requests): p50 ${pct(own, 50).toFixed(2)} ms p99 ${pct(own, 99).toFixed(2)} ms`);
  const way = ['long forms', 'case/punctuation', 'extra spaces', 'no directional', 'unit on line 2'];
  let right = 0, top1 = 0, falseMatch = 0, present = 0, missing = 0;
  const perWay = way.map(() => ({ n: 0, right: 0 }));
  const rightScores = [], absentScores = [];
  const wrongs = [];
  qs.forEach((q, i) => {
    const j = res[i];
    const best = j.matches[0];
    if (q.present) {
      present++;
      perWay[q.k].n++;
      if (best?.esiid === q.a.esiid) { top1++; rightScores.push(best.score); }
      if (best?.esiid === q.a.esiid && j.match) { right++; perWay[q.k].right++; } else if (wrongs.length < 8) wrongs.push({ q: q.w, want: q.a.line1 + ' / ' + q.a.line2, got: best, match: j.match });
    } else {
      missing++;
      const c = j.matches.find((m) => m.compatible);
      if (c) absentScores.push(c.score);
      if (j.match) { falseMatch++; if (wrongs.length < 16) wrongs.push({ absent: q.w, got: best }); }
    }
  });
  console.log(`lookups through nginx (${lat.length}, concurrency ${CONC}, ${rows} rows): p50 ${pct(lat, 50).toFixed(2)} ms` +
    ` p99 ${pct(lat, 99).toFixed(2)} ms max ${Math.max(...lat).toFixed(2)} ms (goal p99 < 20 ms)`);
  console.log(`accuracy: ${right}/${present} = ${(100 * right / present).toFixed(1)} % right top-1 with match:true` +
    ` (top-1 right whatever match: ${(100 * top1 / present).toFixed(1)} %) (goal >= 95 %)`);
  perWay.forEach((w, k) => console.log(`  ${way[k]}: ${w.right}/${w.n}`));
  console.log(`not in the index: ${falseMatch} of ${missing} answered match:true (goal 0)`);
  const q = (a) => a.length ? [0, 1, 5, 50, 95, 99, 100].map((p) => `p${p} ${pct(a, p).toFixed(3)}`).join(' ') : 'none';
  console.log(`scores of the right top-1: ${q(rightScores)}`);
  console.log(`scores of the best compatible candidate (same unit, no opposite directional) of absent addresses (${absentScores.length} had one): ${q(absentScores)}`);
  if (wrongs.length) console.log('examples of misses:', JSON.stringify(wrongs.slice(0, 16)));
} finally {
  await stack.stop();
}
