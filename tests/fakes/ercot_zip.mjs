// Test material for the ERCOT ingest: a small zip writer (deflate via zlib or
// stored, CRC-32, local headers + central directory + end record, as PKZIP's
// APPNOTE describes) and realistic TDSP ESIID extract rows (headerless CSV,
// 22 columns; older files 19).
import zlib from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf) {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// entries: [{ name, data: Buffer|string, store?: true }]
export function makeZip(entries) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  const dosTime = (10 << 11) | (30 << 5);             // 10:30:00
  const dosDate = ((2026 - 1980) << 9) | (11 << 5) | 26; // 2026-11-26
  for (const e of entries) {
    const data = Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data);
    const name = Buffer.from(e.name);
    const method = e.store ? 0 : 8;
    const packed = e.store ? data : zlib.deflateRawSync(data, { level: 6 });
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(dosTime, 12);
    central.writeUInt16LE(dosDate, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, packed);
    centrals.push(central, name);
    offset += local.length + name.length + packed.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

export const DUNS = { ONCOR: '1039940674000', CENTERPOINT: '957877905', TNMP: '007924772', LUBBOCK: '007930480' };

// One extract record as field values (22, or 19 for old files).
export function extractRow(esiid, { tdsp = 'ONCOR', n = 0, city = 'DALLAS', columns = 22, address } = {}) {
  const row = [
    esiid, address ?? `${100 + (n % 9000)} MAIN ST`, n % 7 === 0 ? `APT ${n % 300}` : '', city, 'TX',
    `75${String(200 + (n % 800)).padStart(3, '0')}`, 'DALLAS', DUNS[tdsp] || '000000000',
    String(1 + (n % 20)).padStart(2, '0'), 'Active', n % 5 ? 'Residential' : 'Small Non-Residential',
    'NORTH', `ST${n % 50}`, `STATION, ${n % 50}`, 'Y', 'N', 'RES', 'AMSR', 'AMSR', 'N',
    n % 3 ? 'SFH' : '', '',
  ];
  return row.slice(0, columns);
}

const quote = (f) => (/[",\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f);
export const csvLine = (fields) => `${fields.map(quote).join(',')}\r\n`;

// The ERCOT MIS constructed name of a report 203 post.
export function constructedName(friendly, day, time = '055219164') {
  return `ext.00000203.0000000000000000.${day.replace(/-/g, '')}.${time}.${friendly}.zip`;
}
