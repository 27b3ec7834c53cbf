// ERCOT ingest benchmark: one ~200 MB TDSP extract zip (>= 1.5M rows, made
// once into tests/out/ercot-bench/ and cached) served by the MIS stand-in,
// run through /api/admin/ercot/cron into local storage and ErcotEsiidIndex.
// Prints MB/s, rows/s, the phases, and the peak RSS (VmHWM) of the worker,
// against `curl URL | curl -T - file://STORAGE_DIR/...` (download piped to an
// upload into the same storage) measured in the same run as the ceiling.
//   node tests/bench/ercot_ingest.bench.mjs        (IW_BUILD=build by default)
//   ERCOT_BENCH_ROWS=2100000 to change the size of a fresh extract
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, startStack } from '../lib/stack.mjs';
import { startErcotMis } from '../fakes/ercot_mis.mjs';
import { constructedName, extractRow } from '../fakes/ercot_zip.mjs';

const DAY = '2026-11-26';
const FRIENDLY = 'ONCOR_ELEC___FUL';
const ROWS = Number(process.env.ERCOT_BENCH_ROWS || 2100000);
const OUT = path.join(ROOT, 'tests/out/ercot-bench');
const ZIP = path.join(OUT, `extract-${ROWS}.zip`);
const MB = 1e6;

// Rows with a random stretch (station names, meter ids) so deflate leaves
// about 100 bytes a row, as ERCOT's full files are: ~200 MB for ~2M rows.
async function makeExtract() {
  if (fs.existsSync(ZIP)) return;
  fs.mkdirSync(OUT, { recursive: true });
  const csv = path.join(OUT, `${FRIENDLY}.csv`);
  const out = fs.createWriteStream(csv);
  const t0 = Date.now();
  for (let i = 0; i < ROWS; i++) {
    const f = extractRow(`1044372${String(i).padStart(10, '0')}`, { n: i });
    f[13] = crypto.randomBytes(66).toString('base64');
    f[1] = `${i % 9999} ${crypto.randomBytes(9).toString('hex').toUpperCase()} ST`;
    if (!out.write(`${f.map((x) => (x.includes(',') ? `"${x}"` : x)).join(',')}\r\n`))
      await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r) => out.end(r));
  execFileSync('zip', ['-q', '-j', ZIP, csv]);
  fs.rmSync(csv);
  console.log(`generated ${ZIP} (${(fs.statSync(ZIP).size / MB).toFixed(1)} MB, ${ROWS} rows) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

const hwm = (pid) => Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

function sh(cmd) {
  return new Promise((resolve, reject) => {
    const p = spawn('bash', ['-c', cmd], { stdio: ['ignore', 'inherit', 'inherit'] });
    p.on('exit', (code) => (code ? reject(new Error(`${cmd}: exit ${code}`)) : resolve()));
  });
}

await makeExtract();
const body = fs.readFileSync(ZIP);
const doc = { docId: '4242', friendlyName: FRIENDLY, constructedName: constructedName(FRIENDLY, DAY),
  publishDate: `${DAY}T05:52:19-06:00`, body };
const mis = await startErcotMis({ docs: [doc] });
const stack = await startStack({ name: 'ercot_bench', env: { ERCOT_MIS_BASE: mis.base } });
try {
  const url = `${mis.base}/misdownload/servlets/mirDownload?doclookupId=${doc.docId}`;
  const storage = stack.env.STORAGE_DIR;
  // Ceiling: the same bytes downloaded and written to the same storage by curl.
  let t = process.hrtime.bigint();
  await sh(`curl -sSf '${url}' | curl -sSf -T - 'file://${storage}/curl-baseline.zip'`);
  const curlS = Number(process.hrtime.bigint() - t) / 1e9;

  const pids = fs.readFileSync(path.join(stack.dir, 'run/ercot_cron.pid'), 'utf8').trim().split(/\s+/).map(Number);
  const before = pids.map(hwm);
  t = process.hrtime.bigint();
  const r = await stack.get(`/api/admin/ercot/cron?date=${DAY}`, { admin: true });
  const runS = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 200 || !r.json.results[0]?.key) throw new Error(`run failed: ${r.status} ${r.text}`);
  const res = r.json.results[0];
  const peak = Math.max(...pids.map(hwm));
  const same = fs.readFileSync(path.join(storage, res.key)).equals(body);

  // Phases from the progress lines of this file.
  const lines = stack.log('ercot_cron').trim().split('\n').map((l) => JSON.parse(l))
    .filter((l) => l.msg === 'ercot progress');
  const at = (phase) => Date.parse(lines.find((l) => l.phase === phase && (l.done || phase === 'start'))?.ts);
  const span = (a, b) => (at(b) - at(a)) / 1000;
  const mb = body.length / MB;
  const transfer = span('start', 'download') + span('indexed', 'stored');
  console.log(`file: ${mb.toFixed(1)} MB zip, ${res.rows} rows, stored copy identical: ${same}`);
  console.log(`curl | curl -T - (ceiling): ${curlS.toFixed(2)} s  ${(mb / curlS).toFixed(1)} MB/s`);
  console.log(`route run:                  ${runS.toFixed(2)} s  ${(mb / runS).toFixed(1)} MB/s  ${Math.round(res.rows / runS)} rows/s`);
  console.log(`  phases: download+sha256 ${span('start', 'download').toFixed(2)} s, unzip+parse+COPY ${span('download', 'load').toFixed(2)} s` +
    ` (${Math.round(res.rows / span('download', 'load'))} rows/s), index upsert ${span('load', 'indexed').toFixed(2)} s,` +
    ` store ${span('indexed', 'stored').toFixed(2)} s`);
  console.log(`  transfer alone (download + store): ${transfer.toFixed(2)} s  ${(mb / transfer).toFixed(1)} MB/s` +
    ` = ${(curlS / transfer * 100).toFixed(0)}% of the curl ceiling's speed`);
  console.log(`worker peak RSS (VmHWM): ${(peak / 1024).toFixed(1)} MiB (before the run ${(Math.max(...before) / 1024).toFixed(1)} MiB; goal < 32 MiB)`);
} finally {
  await stack.stop();
  await mis.close();
}
