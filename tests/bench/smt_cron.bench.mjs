// The SMT status cron over 1,000 authorizations through the real stack and
// the SMT proxy stand-in: milliseconds per run and proxy calls per run,
// against baselines measured in the same run (the stack's /healthz round
// trip, and one route that makes a single proxy call). Numbers, not asserts.
//
//   IW_BUILD=build node tests/bench/smt_cron.bench.mjs
import { performance } from 'node:perf_hooks';
import { startStack } from '../lib/stack.mjs';
import { startSmtProxy } from '../fakes/smt_proxy.mjs';

const ROWS = 1000;
const RUNS = 5;
const TOKEN = 'smt-proxy-token-bench-0123456789';
const CODES = ['ACT', 'PEN', 'COM', 'NACOM'];
const esiidOf = (i) => `1044372${String(i).padStart(10, '0')}`;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function timed(fn) {
  const t = performance.now();
  const r = await fn();
  return [performance.now() - t, r];
}

const agreements = [];
for (let i = 0; i < ROWS; i++) {
  if (i % 20 !== 19) agreements.push({ agreementNumber: 30000 + i, esiid: esiidOf(i), status: CODES[i % CODES.length] });
}
const smt = await startSmtProxy({ token: TOKEN, agreements });
const stack = await startStack({ name: 'smt_bench', env: { SMT_PROXY_URL: smt.url, SMT_PROXY_TOKEN: TOKEN } });
try {
  await stack.sql('master', `INSERT INTO "SmtAuthorization" ("id","esiid","createdAt")
    SELECT 'bench-' || g, '1044372' || lpad(g::text, 10, '0'), now() - g * interval '1 second'
    FROM generate_series(0, $1::int - 1) g`, [ROWS]);

  const health = [];
  for (let i = 0; i < 50; i++) health.push((await timed(() => stack.get('/healthz')))[0]);
  const single = [];
  for (let i = 0; i < 20; i++) {
    const [ms, r] = await timed(() => stack.post('/api/admin/smt/agreements/esiids', { agreementNumber: 30000 }, { admin: true }));
    if (r.status !== 200) throw new Error(`esiids: ${r.status} ${r.text}`);
    single.push(ms);
  }

  const runs = [];
  let calls = 0;
  let last;
  for (let i = 0; i < RUNS; i++) {
    await stack.sql('master', 'UPDATE "SmtAuthorization" SET "smtLastSyncAt" = NULL, "smtStatus" = NULL');
    smt.calls.length = 0;
    const [ms, r] = await timed(() => stack.post('/api/admin/smt/cron/status', { status: 'ALL', limit: ROWS }, { admin: true }));
    if (r.status !== 200) throw new Error(`cron: ${r.status} ${r.text}`);
    runs.push(ms);
    calls = smt.calls.length;
    last = r.json;
  }
  const h = median(health);
  const s = median(single);
  const c = median(runs);
  console.log(`smt_cron: build ${process.env.IW_BUILD || 'build'}, ${ROWS} rows, ${RUNS} runs`);
  console.log(`  baseline /healthz round trip        median ${h.toFixed(2)} ms (50 requests)`);
  console.log(`  baseline one proxy call (esiids)    median ${s.toFixed(2)} ms (20 requests)`);
  console.log(`  cron over ${ROWS} rows                median ${c.toFixed(1)} ms, runs ${runs.map((x) => x.toFixed(0)).join('/')} ms`);
  console.log(`  proxy calls per cron run            ${calls}`);
  console.log(`  last run                            ${JSON.stringify(last)}`);
  console.log(`  ratio cron / one proxy call         ${(c / s).toFixed(1)}x;  cron / healthz ${(c / h).toFixed(1)}x;  ${(ROWS / (c / 1000)).toFixed(0)} rows/s`);
} finally {
  await stack.stop();
  await smt.close();
}
