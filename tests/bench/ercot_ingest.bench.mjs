// ERCOT ingest benchmark: one ~200 MB TDSP extract zip (>= 1.5M rows, made
// once into tests/out/ercot-bench/ and cached) served by the MIS stand-in,
// run through /api/admin/ercot/cron into local storage and ErcotEsiidIndex.
// Prints MB/s, rows/s, the phases, and the peak RSS (VmHWM) of the worker,
// against `curl URL | curl -T - file://STORAGE_DIR/...` (download piped to an
// upload into the same storage) measured in the same run as the ceiling.
// A second ceiling is a durable write of 200 MiB into the storage directory
// (`dd if=/dev/zero bs=1M count=200 conv=fsync`); the transfer step (download
// + store) is compared with the larger of the two.
// Then the steady state: the same extract re-posted the next day with 0.5 %
// of its rows changed (city DALLAS -> PLANO on every 200th line), timed
// against a COPY of the same file (unzip -p | psql \copy, CSV) into an
// unindexed table, with the index's pg_stat_user_tables n_tup_upd /
// n_tup_ins deltas (they must equal the changed and new rows).
//   node tests/bench/ercot_ingest.bench.mjs        (IW_BUILD=build by default)
//   ERCOT_BENCH_ROWS=2100000 to change the size of a fresh extract
//   ERCOT_BENCH_STEADY=0 to skip the steady-state part
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

// The extract with every 200th line changed (0.5 %), cached beside it.
const ZIP2 = path.join(OUT, `extract-${ROWS}-changed.zip`);
function makeChanged() {
  if (fs.existsSync(ZIP2)) return;
  const csv = path.join(OUT, `${FRIENDLY}.csv`);
  execFileSync('bash', ['-c', `unzip -p '${ZIP}' | awk 'NR % 200 == 0 { sub(/,DALLAS,TX,/, ",PLANO,TX,") } 1' > '${csv}'`]);
  execFileSync('zip', ['-q', '-j', ZIP2, csv]);
  fs.rmSync(csv);
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
  // Ceiling: a durable write of 200 MiB into the same directory.
  t = process.hrtime.bigint();
  await sh(`dd if=/dev/zero of='${storage}/dd-baseline' bs=1M count=200 conv=fsync status=none`);
  const ddS = Number(process.hrtime.bigint() - t) / 1e9;
  fs.rmSync(path.join(storage, 'dd-baseline'));

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
  const entries = stack.logEntries('ercot_cron');
  const lines = entries.filter((l) => l.msg === 'ercot progress');
  const at = (phase) => Date.parse(lines.find((l) => l.phase === phase && (l.done || phase === 'start'))?.ts);
  const span = (a, b) => (at(b) - at(a)) / 1000;
  const mb = body.length / MB;
  // The publish's own split (the "ercot publish" log line): storeMs makes the
  // object durable and visible (fsync, rename), commitMs is the "ok" row and
  // the COMMIT of the whole index load, which belongs to the database load.
  const pub = entries.find((l) => l.msg === 'ercot publish');
  const transfer = span('start', 'download') + pub.storeMs / 1000;
  console.log(`file: ${mb.toFixed(1)} MB zip, ${res.rows} rows, stored copy identical: ${same}`);
  console.log(`curl | curl -T - (ceiling): ${curlS.toFixed(2)} s  ${(mb / curlS).toFixed(1)} MB/s`);
  console.log(`route run:                  ${runS.toFixed(2)} s  ${(mb / runS).toFixed(1)} MB/s  ${Math.round(res.rows / runS)} rows/s`);
  console.log(`  phases: download+sha256 ${span('start', 'download').toFixed(2)} s, unzip+parse+COPY ${span('download', 'load').toFixed(2)} s` +
    ` (${Math.round(res.rows / span('download', 'load'))} rows/s), index upsert ${span('load', 'indexed').toFixed(2)} s,` +
    ` publish ${span('indexed', 'stored').toFixed(2)} s (storage ${(pub.storeMs / 1000).toFixed(2)} s,` +
    ` ok row + COMMIT of the load ${(pub.commitMs / 1000).toFixed(2)} s)`);
  const ceiling = Math.max(curlS, ddS);
  console.log(`dd 200 MiB conv=fsync (ceiling): ${ddS.toFixed(2)} s`);
  console.log(`transfer (download+sha256, then the storage publish): ${transfer.toFixed(2)} s  ${(mb / transfer).toFixed(1)} MB/s;` +
    ` transfer / max(curl, dd) = ${(transfer / ceiling).toFixed(2)} (goal <= 1.2)`);
  console.log(`  with the COMMIT of the load counted in too: ${((transfer + pub.commitMs / 1000) / ceiling).toFixed(2)} x max(curl, dd)`);
  console.log(`worker peak RSS (VmHWM): ${(peak / 1024).toFixed(1)} MiB (before the run ${(Math.max(...before) / 1024).toFixed(1)} MiB; goal < 32 MiB)`);
  // The lookup's indexes (ercot/lookup.c) are built once, after the first
  // load ever, and logged with their time: shown apart from the load.
  const built = entries.find((l) => /^ercot lookup: indexes built in/.test(l.msg || ''));
  console.log(`first load into the empty index: ${Math.round(res.rows / span('start', 'stored'))} rows/s (start to stored);` +
    ` ${Math.round(res.rows / runS)} rows/s for the whole route run` +
    (built ? `, which includes the one-time build of the lookup indexes (${built.msg.replace(/^ercot lookup: /, '')})` : ''));

  if (process.env.ERCOT_BENCH_STEADY !== '0') {
    makeChanged();
    const D2 = '2026-11-27';
    const doc2 = { docId: '4243', friendlyName: FRIENDLY, constructedName: constructedName(FRIENDLY, D2),
      publishDate: `${D2}T05:52:19-06:00`, body: fs.readFileSync(ZIP2) };
    mis.docs = [doc, doc2];
    const changed = Math.floor(res.rows / 200);
    const stat = async () => (await stack.sql('master', `SELECT pg_stat_clear_snapshot(),
      n_tup_ins::bigint AS ins, n_tup_upd::bigint AS upd FROM pg_stat_user_tables WHERE relname = 'ErcotEsiidIndex'`))[0];
    const settle = async (ok) => {
      for (let i = 0; i < 300; i++) {
        const c = await stat();
        if (ok(c)) return c;
        await new Promise((r) => setTimeout(r, 100));
      }
      return stat();
    };
    const base = await settle((c) => Number(c.ins) >= res.rows);
    // The same file's COPY into an unindexed table: the floor of any load.
    await stack.sql('master', `CREATE TABLE bench_copy (${Array.from({ length: 22 }, (_, i) => `c${i} text`).join(', ')})`);
    const dbUrl = stack.env.DATABASE_URL;
    t = process.hrtime.bigint();
    await sh(`unzip -p '${ZIP2}' | psql -q '${dbUrl}' -c "\\copy bench_copy FROM STDIN (FORMAT csv)"`);
    const copyS = Number(process.hrtime.bigint() - t) / 1e9;
    await stack.sql('master', 'DROP TABLE bench_copy');
    t = process.hrtime.bigint();
    const r2 = await stack.get(`/api/admin/ercot/cron?date=${D2}`, { admin: true });
    const reS = Number(process.hrtime.bigint() - t) / 1e9;
    if (r2.status !== 200 || !r2.json.results[0]?.key) throw new Error(`re-post failed: ${r2.status} ${r2.text}`);
    const res2 = r2.json.results[0];
    const after = await settle((c) => Number(c.upd) > Number(base.upd) || Number(c.ins) > Number(base.ins));
    const lines2 = stack.logEntries('ercot_cron')
      .filter((l) => l.msg === 'ercot progress' && l.file === doc2.constructedName);
    const at2 = (phase) => Date.parse(lines2.find((l) => l.phase === phase && (l.done || phase === 'start'))?.ts);
    console.log(`re-post, 0.5 % changed (${changed} rows of ${res2.rows}): route run ${reS.toFixed(2)} s` +
      ` (download ${((at2('download') - at2('start')) / 1000).toFixed(2)} s, load ${((at2('load') - at2('download')) / 1000).toFixed(2)} s,` +
      ` diff + write ${((at2('indexed') - at2('load')) / 1000).toFixed(2)} s, store ${((at2('stored') - at2('indexed')) / 1000).toFixed(2)} s), indexed ${res2.indexed}`);
    console.log(`  pg_stat deltas: n_tup_upd ${Number(after.upd) - Number(base.upd)} (want ${changed}),` +
      ` n_tup_ins ${Number(after.ins) - Number(base.ins)} (want 0)`);
    console.log(`  COPY of the same file into an unindexed table: ${copyS.toFixed(2)} s;` +
      ` speed of the re-post / COPY = ${(copyS / reS).toFixed(2)}x (goal >= 0.5x)`);
  }
} finally {
  await stack.stop();
  await mis.close();
}
