// Generated ERCOT ESIID index rows for the ESIID lookup (test and bench):
// Texas-like ZIPs with thousands of addresses each, street names, house
// numbers, apartment complexes with units, directionals and FM/CR roads, as
// extract records (tests/fakes/ercot_zip.mjs extractRow, 22 columns); and
// the same addresses written differently, or not in the index at all.
import { extractRow } from '../fakes/ercot_zip.mjs';

// Deterministic PRNG (mulberry32).
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = ['OAK', 'ELM', 'PECAN', 'MESQUITE', 'BLUEBONNET', 'CEDAR', 'WILLOW', 'LIVE OAK', 'MAGNOLIA',
  'CYPRESS', 'SAN JACINTO', 'GUADALUPE', 'LAMAR', 'TRAVIS', 'AUSTIN', 'HOUSTON', 'CROCKETT', 'BOWIE',
  'ALAMO', 'BRAZOS', 'PEDERNALES', 'LLANO', 'COMAL', 'NUECES', 'FANNIN', 'AUSTIN', 'MAIN', 'COMMERCE',
  'BELKNAP', 'HEMPHILL', 'SPRING', 'HICKORY', 'WALNUT', 'CHERRY', 'POST OAK', 'WESTHEIMER', 'BELLAIRE',
  'KIRBY', 'SHEPHERD', 'MONTROSE', 'RICHMOND', 'BISSONNET', 'BUFFALO', 'TIMBER', 'COUNTRY CLUB',
  'LAKEVIEW', 'HILLCREST', 'PRESTON', 'INWOOD', 'MOCKINGBIRD', 'LOVERS', 'GREENVILLE', 'ABRAMS',
  'SKILLMAN', 'BRUTON', 'BUCKNER', 'LOOP', 'RANCH', 'CATTLE', 'PRAIRIE', 'CANYON', 'MUSTANG', 'LONGHORN',
  'ARMADILLO', 'ROADRUNNER', 'CACTUS', 'YUCCA', 'SAGE', 'JUNIPER', 'SYCAMORE', 'RED BUD', 'DOGWOOD',
  'AZALEA', 'ROSE', 'LILAC', 'IRIS', 'PRIMROSE', 'INDIAN PAINTBRUSH', 'SUNFLOWER', 'WINDMILL', 'SADDLE',
  'STIRRUP', 'SPUR', 'RIO GRANDE', 'PALO DURO', 'SAN ANTONIO', 'EL PASO', 'GALVESTON', 'NAVARRO',
  'ROBERTSON', 'WASHINGTON', 'JEFFERSON', 'LINCOLN', 'JACKSON', 'MADISON', 'MONROE', 'HARRISON', 'TYLER',
  'POLK', 'TAYLOR', 'FILLMORE', 'PIERCE', 'BUCHANAN', 'JOHNSON', 'GRANT', 'HAYES', 'GARFIELD', 'ARTHUR',
  'CLEVELAND', 'MCKINLEY', 'ROOSEVELT', 'WILSON', 'HARDING', 'COOLIDGE', 'HOOVER', 'TRUMAN', 'KENNEDY',
  'SAM RAYBURN', 'LADY BIRD', 'BARTON', 'ONION', 'SHOAL', 'BULL', 'WALLER', 'CONGRESS', 'LAVACA'];
const SECOND = ['', '', '', '', 'CREEK', 'HOLLOW', 'RIDGE', 'SPRINGS', 'MEADOW', 'VALLEY', 'HILL', 'PARK',
  'BEND', 'CROSSING', 'TRACE', 'GROVE', 'VISTA', 'GLEN', 'FOREST', 'POINT'];
// [index form, long form]
const SUFFIX = [['ST', 'STREET'], ['AVE', 'AVENUE'], ['DR', 'DRIVE'], ['LN', 'LANE'], ['CT', 'COURT'],
  ['CIR', 'CIRCLE'], ['BLVD', 'BOULEVARD'], ['PKWY', 'PARKWAY'], ['TRL', 'TRAIL'], ['PL', 'PLACE'],
  ['RD', 'ROAD'], ['WAY', 'WAY'], ['DR', 'DRIVE'], ['ST', 'STREET'], ['LN', 'LANE'], ['CV', 'COVE']];
const DIRS = [['N', 'NORTH'], ['S', 'SOUTH'], ['E', 'EAST'], ['W', 'WEST'], ['NE', 'NORTHEAST'],
  ['SW', 'SOUTHWEST']];
const CITIES = ['DALLAS', 'HOUSTON', 'AUSTIN', 'FORT WORTH', 'ARLINGTON', 'PLANO', 'IRVING', 'GARLAND',
  'FRISCO', 'MCKINNEY', 'WACO', 'TYLER', 'ODESSA', 'MIDLAND', 'LUBBOCK', 'ABILENE', 'CORPUS CHRISTI'];
const UNIT_LONG = ['APT', 'APARTMENT', 'UNIT', '#', 'STE', 'SUITE'];

const pick = (r, a) => a[Math.floor(r() * a.length)];

// One ZIP's streets: {dir, name, suffix: [short, long], road?}.
function streets(r, count) {
  const out = [], seen = new Set();
  while (out.length < count) {
    let s;
    if (r() < 0.04) {
      const type = pick(r, ['FM', 'CR', 'HWY']);
      s = { dir: '', name: `${type} ${100 + Math.floor(r() * 3900)}`, suffix: null, road: type };
    } else {
      const second = pick(r, SECOND);
      s = { dir: r() < 0.2 ? pick(r, DIRS) : '', name: second ? `${pick(r, NAMES)} ${second}` : pick(r, NAMES),
        suffix: pick(r, SUFFIX) };
    }
    const key = `${s.dir ? s.dir[0] : ''} ${s.name} ${s.suffix ? s.suffix[0] : ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    s.key = key;
    out.push(s);
  }
  return out;
}

const line = (s, num) => [num, s.dir && s.dir[0], s.name, s.suffix && s.suffix[0]].filter(Boolean).join(' ');

// Addresses of ZIPS ZIPs, PERZIP each (houses, and complexes of units).
// Calls EMIT(address) for each: {esiid, zip, city, street, number, unit,
// line1, line2, row (the 22 extract fields)}.
export function generate({ seed = 7, zips = 4, perZip = 200, esiidBase = 10443720000000000n, zip0 = 75001,
  complexRate = 0.06, keep = () => true }, emit) {
  const r = rng(seed);
  let id = 0n;
  const zipList = [];
  for (let z = 0; z < zips; z++) {
    const zip = String(zip0 + ((z * 37) % 4998)).padStart(5, '0');
    const city = pick(r, CITIES);
    const st = streets(r, Math.max(8, Math.min(400, Math.round(perZip / 40))));
    const used = new Set();
    const kept = keep(z);
    let made = 0;
    while (made < perZip) {
      const s = pick(r, st);
      const num = String(100 + Math.floor(r() * 9800));
      if (used.has(`${num} ${s.key}`)) continue;
      used.add(`${num} ${s.key}`);
      const units = r() < complexRate ? 8 + Math.floor(r() * 120) : 0;
      const inOverflow = r() < 0.5;
      for (let u = 0; u < Math.max(1, units) && made < perZip; u++, made++) {
        const unit = units ? `${1 + Math.floor(u / 24)}${String(1 + (u % 24)).padStart(2, '0')}` : '';
        const l1 = line(s, num) + (unit && !inOverflow ? ` APT ${unit}` : '');
        const l2 = unit && inOverflow ? `APT ${unit}` : '';
        const esiid = String(esiidBase + id++);
        const row = extractRow(esiid, { n: Number(id % 100000n) });
        row[1] = l1; row[2] = l2; row[3] = city; row[5] = zip;
        emit({ esiid, zip, city, street: s, number: num, unit, line1: l1, line2: l2, row, kept });
      }
    }
    // Only the kept ZIPs keep their numbers (absent() needs them): memory.
    zipList.push({ zip, streets: st, used: kept ? used : null });
  }
  return zipList;
}

// The same address written in way K (0..4): long forms, case and
// punctuation, extra spaces, no directional, the unit on line 2 as '#'.
export function rewrite(a, k) {
  const s = a.street;
  const sfx = s.suffix ? s.suffix : null;
  const dir = s.dir;
  const unitWord = (i) => UNIT_LONG[i % UNIT_LONG.length];
  switch (k % 5) {
  case 0: { // long forms
    const l = [a.number, dir && dir[1], s.name, sfx && sfx[1]].filter(Boolean).join(' ');
    return { line1: l + (a.unit ? ` ${unitWord(a.number.length)} ${a.unit}` : ''), line2: '' };
  }
  case 1: { // lower case, punctuation
    const l = [a.number, dir && `${dir[0]}.`, s.name, sfx && `${sfx[0]}.`].filter(Boolean).join(' ');
    return { line1: (l + (a.unit ? `, Apt. ${a.unit}` : '')).toLowerCase(), line2: '' };
  }
  case 2: // extra spaces
    return { line1: `  ${[a.number, dir && dir[0], s.name, sfx && sfx[0]].filter(Boolean).join('   ')}  `,
      line2: a.unit ? `  UNIT   ${a.unit} ` : '' };
  case 3: // no directional (or, without one, the long suffix)
    return { line1: [a.number, s.name, sfx && (dir ? sfx[0] : sfx[1])].filter(Boolean).join(' ') +
      (a.unit ? ` STE ${a.unit}` : ''), line2: '' };
  default: // the unit on line 2 as '#', mixed case
    return { line1: [a.number, dir && dir[1][0] + dir[1].slice(1).toLowerCase(), s.name,
      sfx && sfx[1][0] + sfx[1].slice(1).toLowerCase()].filter(Boolean).join(' '), line2: a.unit ? `#${a.unit}` : '' };
  }
}

// An address of ZIP Z that is not in the index (way K): a street the ZIP does
// not have at a number it has, a unit the complex does not have, the
// opposite directional, a number the street does not have.
export function absent(a, z, k, r) {
  const s = a.street;
  switch (k % 4) {
  case 0: {
    for (;;) {
      const name = `${pick(r, NAMES)} ${pick(r, SECOND)}`.trim();
      const sfx = pick(r, SUFFIX);
      if (!z.streets.some((x) => x.name === name)) return { line1: `${a.number} ${name} ${sfx[1]}`, line2: a.unit ? `APT ${a.unit}` : '' };
    }
  }
  case 1:
    return { line1: a.line1.replace(/ APT .*/, ''), line2: `APT ${a.unit ? '9' + a.unit : '9A'}` };
  case 2: {
    const flip = { N: 'S', S: 'N', E: 'W', W: 'E', NE: 'SW', SW: 'NE' };
    if (!s.dir) return absent(a, z, 0, r);
    const other = `${flip[s.dir[0]]} ${s.name} ${s.suffix ? s.suffix[0] : ''}`;
    if (z.streets.some((x) => x.key === other)) return absent(a, z, 0, r);
    return { line1: line({ ...s, dir: [flip[s.dir[0]]] }, a.number), line2: a.unit ? `APT ${a.unit}` : '' };
  }
  default: {
    for (let n = Number(a.number) + 1; ; n++)
      if (!z.used.has(`${n} ${s.key}`)) return { line1: line(s, String(n)), line2: '' };
  }
  }
}
