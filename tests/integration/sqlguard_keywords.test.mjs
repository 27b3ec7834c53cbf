// The SQL guard's keywords against Postgres's own (issue 11, differential):
// every word common/explorer/sqlguard.c treats specially must be a keyword of
// the server (pg_get_keywords()), and every keyword the server's parser lets
// start a statement, a WITH query's body or a row-locking clause must be
// refused by the guard unless it is one of the read-only starters. The
// server is asked with statements that are syntax errors by construction
// ("K )"), so nothing runs: the error position tells whether K was taken.
// Uses the shared test cluster (no stack); the guard through
// <build>/testtools/sqlguard_accepts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { ROOT, BUILD } from '../lib/stack.mjs';

const READ_ONLY_STARTERS = ['select', 'values', 'table', 'with'];
let client, keywords, dir;

// The words the guard compares tokens with, read from its source.
function guardWords() {
  const src = fs.readFileSync(path.join(ROOT, 'common/explorer/sqlguard.c'), 'utf8');
  const deny = /deny_words\[\]\s*=\s*\{([^}]*)\}/.exec(src);
  assert.ok(deny, 'deny_words[] in sqlguard.c');
  const words = new Set([...deny[1].matchAll(/"([a-z_]+)"/g)].map((m) => m[1]));
  for (const m of src.matchAll(/strcmp\((?:lx\.text|prev), "([a-z_]+)"\)/g)) words.add(m[1]);
  return words;
}

// Which of STATEMENTS the guard accepts (a Set of indexes).
function guardAccepts(statements) {
  const files = statements.map((sql, i) => {
    const f = path.join(dir, `s${i}`);
    fs.writeFileSync(f, sql);
    return f;
  });
  const out = execFileSync(path.join(ROOT, BUILD, 'testtools/sqlguard_accepts'), files, { maxBuffer: 16 << 20 }).toString();
  return new Set(out.split('\n').filter(Boolean).map((l) => Number(path.basename(l.split(' ')[0]).slice(1))));
}

// The keywords the server's parser takes at the end of PREFIX: "PREFIX K )"
// fails after K (at the parenthesis) when K is taken there, at K otherwise.
async function taken(prefix) {
  const out = [];
  for (const { word } of keywords) {
    const text = `${prefix}${word} )`;
    try {
      await client.query(text);
      assert.fail(`"${text}" parsed: expected a syntax error`);
    } catch (e) {
      if (e.code !== '42601') continue; // not a syntax error: K was parsed and more
      if (Number(e.position) > prefix.length + 1) out.push(word);
    }
  }
  return out;
}

before(async () => {
  const host = process.env.IW_TEST_PGHOST || path.join(ROOT, 'tests/out/pg/pgrun');
  client = new pg.Client({ host, user: 'postgres', database: 'postgres' });
  await client.connect();
  keywords = (await client.query('SELECT word, catcode FROM pg_get_keywords() ORDER BY word')).rows;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iw-sqlguard-kw-'));
});
after(async () => {
  await client?.end();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('every word the guard treats specially is a Postgres keyword', (t) => {
  const known = new Map(keywords.map((k) => [k.word, k.catcode]));
  const words = guardWords();
  t.diagnostic([...words].map((w) => `${w}:${known.get(w)}`).join(' '));
  assert.ok(words.size >= 20, `${words.size} words read from sqlguard.c`);
  const unknown = [...words].filter((w) => !known.has(w));
  assert.deepEqual(unknown, [], 'guard words that are not keywords of this server');
});

test('every keyword that starts a statement is refused first, except the read-only starters', async (t) => {
  const starters = await taken('');
  t.diagnostic(`${keywords.length} keywords, ${starters.length} start a statement: ${starters.join(' ')}`);
  for (const w of READ_ONLY_STARTERS) assert.ok(starters.includes(w), `${w} starts a statement`);
  // The parser's own list, so a keyword a new server version adds is checked too.
  assert.ok(starters.includes('insert') && starters.includes('checkpoint') && starters.length > 40, starters.join(' '));
  const writers = starters.filter((w) => !READ_ONLY_STARTERS.includes(w));
  const accepted = guardAccepts(writers.map((w) => `${w} x`));
  assert.deepEqual(writers.filter((_, i) => accepted.has(i)), [], 'statement keywords the guard lets through');
  const ok = guardAccepts(READ_ONLY_STARTERS.map((w) => (w === 'with' ? 'WITH x AS (SELECT 1) SELECT * FROM x' : `${w} (1)`)));
  assert.equal(ok.size, READ_ONLY_STARTERS.length, 'the read-only starters are accepted');
});

test('every keyword that starts a WITH query body other than a query (data-modifying CTE) is refused', async (t) => {
  const bodies = await taken('WITH x AS (');
  t.diagnostic(`WITH bodies: ${bodies.join(' ')}`);
  for (const w of ['select', 'insert', 'update', 'delete']) assert.ok(bodies.includes(w), `${w}: ${bodies.join(' ')}`);
  const writers = bodies.filter((w) => !READ_ONLY_STARTERS.includes(w));
  const accepted = guardAccepts(writers.map((w) => `WITH x AS (${w} t) SELECT 1`));
  assert.deepEqual(writers.filter((_, i) => accepted.has(i)), [], 'data-modifying CTE keywords the guard lets through');
});

test('every keyword that begins a row-locking clause after FOR is refused', async (t) => {
  const after = await taken('SELECT 1 FOR ');
  t.diagnostic(`after FOR: ${after.join(' ')}`);
  // FOR READ ONLY locks nothing (SQL-standard cursor syntax).
  const locks = after.filter((w) => w !== 'read');
  for (const w of ['update', 'share', 'no', 'key']) assert.ok(locks.includes(w), `${w}: ${locks.join(' ')}`);
  const accepted = guardAccepts(locks.map((w) => `SELECT 1 FROM t FOR ${w}`));
  assert.deepEqual(locks.filter((_, i) => accepted.has(i)), [], 'locking keywords the guard lets through');
});
