// Generators of Smart Meter Texas export files in their real format, with the
// UTC interval starts every row must land on computed independently of the
// rows (consecutive 15-minute slots between two local midnights), for the
// ingest tests and benchmarks.
//
//   const f = intervalFile({ esiid, days: ['2025-03-09'], kwh: (i) => ... });
//   f.csv          the CSV text (SMT header, 'ESIID, M/D/YYYY, H:MM wall time)
//   f.expected     [{ ts: '2025-03-09T06:00:00.000Z', kwh: '0.00100', flow, estimated }]
import crypto from 'node:crypto';

export const HEADER = 'ESIID,USAGE_DATE,REVISION_DATE,USAGE_START_TIME,USAGE_END_TIME,USAGE_KWH,ESTIMATED_ACTUAL,CONSUMPTION_SURPLUSGENERATION';

const DAY_MS = 86400000;

function nthSunday(y, m, nth) { // m 1-12 -> day of month
  const first = new Date(Date.UTC(y, m - 1, 1)).getUTCDay();
  return 1 + ((7 - first) % 7) + (nth - 1) * 7;
}

// US rules since 2007: DST from the 2nd Sunday of March to the 1st Sunday of November.
export function dayKind(date) {
  const [y, m, d] = date.split('-').map(Number);
  const spring = nthSunday(y, 3, 2), fall = nthSunday(y, 11, 1);
  if (m === 3 && d === spring) return 'spring';
  if (m === 11 && d === fall) return 'fall';
  const t = Date.UTC(y, m - 1, d);
  return t > Date.UTC(y, 2, spring) && t < Date.UTC(y, 10, fall) ? 'cdt' : 'cst';
}

// UTC ms of local midnight starting DATE (00:00 is never inside a transition).
function midnightUtc(date) {
  const [y, m, d] = date.split('-').map(Number);
  const k = dayKind(date);
  const offH = k === 'cdt' || k === 'fall' ? 5 : 6;
  return Date.UTC(y, m - 1, d) + offH * 3600000;
}

export function addDays(date, n) {
  return new Date(Date.parse(date + 'T00:00:00Z') + n * DAY_MS).toISOString().slice(0, 10);
}

const hm = (min) => `${Math.floor(min / 60) % 24}:${String(min % 60).padStart(2, '0')}`;
const mdy = (date) => { const [y, m, d] = date.split('-'); return `${m}/${d}/${y}`; };

// The rows SMT writes for one day and flow, as [start, end, blank].
export function wallRows(date) {
  const k = dayKind(date);
  const rows = [];
  for (let min = 0; min < 1440; min += 15) {
    if (k === 'spring' && min >= 120 && min < 180) { rows.push([hm(min), hm(min + 15), true]); continue; }
    if (k === 'fall' && min === 120) {
      // After 1:00-1:45 CDT: "2:00,1:15" is the 1:00 CST interval, then 1:15-1:45 CST.
      rows.push(['2:00', '1:15', false]);
      for (const m2 of [75, 90, 105]) rows.push([hm(m2), hm(m2 + 15), false]);
    }
    rows.push([hm(min), hm(min + 15), false]);
  }
  return rows;
}

export function slots(date) {
  const a = midnightUtc(date), b = midnightUtc(addDays(date, 1));
  const out = [];
  for (let t = a; t < b; t += 900000) out.push(t);
  return out;
}

export const fmtKwh = (v) => v.toFixed(5);

/**
 * esiid: 17-22 digits; days: ['YYYY-MM-DD', ...]; kwh(n, flow) -> Number
 * (three decimals are written); estimated(n) -> bool; generation: also write
 * surplus-generation rows; quote: write the ESIID as '<digits>; eol: '\n' or '\r\n'.
 */
export function intervalFile({ esiid, days, kwh = (n, flow) => ((n % 40000) + 1) / 1000 + (flow === 'G' ? 0.5 : 0),
  estimated = () => false, generation = false, quote = true, eol = '\r\n', bom = false, revision = '' } = {}) {
  const lines = [HEADER];
  const expected = [];
  let n = 0;
  for (const date of days) {
    const slotList = slots(date);
    for (const flow of generation ? ['C', 'G'] : ['C']) {
      let i = 0;
      for (const [start, end, blank] of wallRows(date)) {
        const id = quote ? `'${esiid}` : esiid;
        if (blank) {
          lines.push([id, mdy(date), revision || mdy(date), start, end, '', '', flow === 'G' ? 'Surplus Generation' : 'Consumption'].join(','));
          continue;
        }
        const v = kwh(n, flow), est = estimated(n);
        lines.push([id, mdy(date), revision || mdy(date), start, end, v.toFixed(3), est ? 'E' : 'A',
          flow === 'G' ? 'Surplus Generation' : 'Consumption'].join(','));
        expected.push({ ts: new Date(slotList[i]).toISOString(), kwh: fmtKwh(Number(v.toFixed(3))), flow, estimated: est });
        i++;
        n++;
      }
      if (i !== slotList.length) throw new Error(`generator: ${date} ${i} rows for ${slotList.length} slots`);
    }
  }
  const csv = (bom ? '\uFEFF' : '') + lines.join(eol) + eol;
  return { csv, buf: Buffer.from(csv), expected };
}

export function yearDays(year) {
  const out = [];
  for (let d = `${year}-01-01`; d.startsWith(String(year)); d = addDays(d, 1)) out.push(d);
  return out;
}

// A monthly billing export as SMT's "MonthlyBilling" report lays it out
// (the layout docs/ingest.md documents).
export const BILLING_HEADER = 'ESIID,METER_NUMBER,TDSP_DUNS,TDSP_NAME,READ_START_DATE,READ_END_DATE,BILL_DATE,KWH,BILLED_KWH,REVISION_DATE';
export function billingFile({ esiid, months = [['01/02/2025', '01/31/2025', '1234.567']], meter = '123456789' }) {
  const lines = [BILLING_HEADER];
  for (const [a, b, k] of months)
    lines.push([`'${esiid}`, meter, '957877905', 'CenterPoint Energy', a, b, b, k, k, b]
      .map((v) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)).join(','));
  return lines.join('\r\n') + '\r\n';
}

export const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
