// PostgreSQL's bit type with quiver's Hamming (<~>) and Jaccard (<%>) distances through the
// driver: k-NN ordering, exact distances, binary_quantize, and the length-mismatch error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { toSql } from 'pgvector';
import { createDatabase, assertServerError } from './helpers.mjs';

let db;
let client;
before(async () => {
  db = await createDatabase('bit');
  client = db.client;
  await client.query('CREATE TABLE bits (id int PRIMARY KEY, b bit(4))');
  for (const [id, b] of [[1, '1111'], [2, '1100'], [3, '0000'], [4, '1000'], [5, '0011']]) {
    await client.query('INSERT INTO bits VALUES ($1, $2)', [id, b]);
  }
});
after(async () => {
  await db?.drop();
});

// Reference distances on '0'/'1' strings, as pgvector defines them.
function hamming(a, b) {
  let d = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) d++;
  return d;
}
function jaccard(a, b) {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '1' && b[i] === '1') ab++;
    if (a[i] === '1') aa++;
    if (b[i] === '1') bb++;
  }
  return ab === 0 ? 1 : 1 - ab / (aa + bb - ab);
}

test('Hamming distance <~> k-NN', async () => {
  const { rows } = await client.query(
    'SELECT id, b, b <~> $1 AS d FROM bits ORDER BY b <~> $1, id LIMIT 5', ['1100']);
  assert.deepEqual(rows, [
    { id: 2, b: '1100', d: 0 },
    { id: 4, b: '1000', d: 1 },
    { id: 1, b: '1111', d: 2 },
    { id: 3, b: '0000', d: 2 },
    { id: 5, b: '0011', d: 4 },
  ]);
});

test('Jaccard distance <%> k-NN', async () => {
  const { rows } = await client.query(
    'SELECT id, b <%> $1 AS d FROM bits ORDER BY b <%> $1, id LIMIT 5', ['1100']);
  assert.deepEqual(rows, [
    { id: 2, d: 0 }, { id: 1, d: 0.5 }, { id: 4, d: 0.5 }, { id: 3, d: 1 }, { id: 5, d: 1 },
  ]);
});

test('hamming_distance / jaccard_distance functions', async () => {
  const { rows } = await client.query(
    "SELECT hamming_distance($1::bit(3), $2::bit(3)) AS h, jaccard_distance($1::bit(3), $2::bit(3)) AS j, " +
    "jaccard_distance(B'000', B'000') AS j0", ['101', '111']);
  assert.deepEqual(rows[0], { h: 1, j: 1 - 2 / 3, j0: 1 });
  assert.equal(1 - 2 / 3, 0.33333333333333337);
});

test('long bit strings (crossing 64-bit words) against a reference', async () => {
  await client.query('CREATE TABLE long_bits (id int PRIMARY KEY, b bit varying(1000))');
  let s = 12345;
  const next = () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s; };
  const strings = [];
  for (let id = 0; id < 6; id++) {
    let str = '';
    for (let i = 0; i < 517; i++) str += (next() >>> 16) & 1 ? '1' : '0';
    strings.push(str);
    await client.query('INSERT INTO long_bits VALUES ($1, $2)', [id, str]);
  }
  const q = strings[0].split('').map((c, i) => (i % 7 === 0 ? (c === '1' ? '0' : '1') : c)).join('');
  const { rows } = await client.query(
    'SELECT id, b <~> $1::varbit AS h, b <%> $1::varbit AS j FROM long_bits ORDER BY id', [q]);
  assert.deepEqual(rows, strings.map((b, id) => ({ id, h: hamming(b, q), j: jaccard(b, q) })));
  assert.equal(rows[0].h, 74); // every 7th of 517 bits flipped
  const knn = await client.query('SELECT id FROM long_bits ORDER BY b <~> $1::varbit, id LIMIT 1', [q]);
  assert.equal(knn.rows[0].id, 0);
});

test('binary_quantize of a vector gives a bit string the client reads as text', async () => {
  const { rows } = await client.query(
    'SELECT binary_quantize($1::vector) AS b, binary_quantize($1::vector) <~> $2 AS d',
    [toSql([1, -2, 0, 3.5, -0.25]), '10011']);
  assert.deepEqual(rows[0], { b: '10010', d: 1 });
});

test('different bit lengths', async () => {
  await assertServerError(client.query('SELECT $1::bit(4) <~> $2::bit(3)', ['1100', '110']),
    '22000', 'different bit lengths 4 and 3');
  await assertServerError(client.query('SELECT $1::varbit <%> $2::varbit', ['1', '10']),
    '22000', 'different bit lengths 1 and 2');
});
