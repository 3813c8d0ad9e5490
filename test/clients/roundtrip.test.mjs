// Round trips of vector, halfvec and sparsevec values through the pg driver with pgvector's
// Node.js helpers: parameters built by pgvector's toSql / SparseVector, results parsed by the
// text type parsers that pgvector's registerTypes installs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import pgvector from 'pgvector/pg';
import { toSql, fromSql, SparseVector } from 'pgvector';
import { createDatabase, halfToNumber, randomFloat32Vector } from './helpers.mjs';

let db;
let client;
before(async () => {
  db = await createDatabase('roundtrip');
  client = db.client;
});
after(async () => {
  await db?.drop();
});

test('vector(3) [1.5, 2, 3] round trip with toSql and registerTypes', async () => {
  await client.query('CREATE TABLE rt_vec (id int PRIMARY KEY, embedding vector(3))');
  await client.query('INSERT INTO rt_vec VALUES ($1, $2), ($3, $4)', [1, toSql([1.5, 2, 3]), 2, toSql(null)]);
  const { rows } = await client.query('SELECT id, embedding, embedding::text AS t FROM rt_vec ORDER BY id');
  assert.deepEqual(rows, [
    { id: 1, embedding: [1.5, 2, 3], t: '[1.5,2,3]' },
    { id: 2, embedding: null, t: null },
  ]);
  const types = await client.query(
    "SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'rt_vec'::regclass AND attname = 'embedding'");
  assert.equal(types.rows[0].t, 'vector(3)');
});

test('384-dimensional vector of float32-representable values round-trips exactly', async () => {
  // Multiples of 1/64 in [-4, 4): exact in float32 and printed exactly in shortest form.
  const v = Array.from({ length: 384 }, (_, i) => (((i * 37) % 512) - 256) / 64);
  await client.query('CREATE TABLE rt_vec384 (id int PRIMARY KEY, embedding vector(384))');
  await client.query('INSERT INTO rt_vec384 VALUES (1, $1)', [toSql(v)]);
  const { rows } = await client.query('SELECT embedding, vector_dims(embedding) AS d FROM rt_vec384');
  assert.equal(rows[0].d, 384);
  assert.deepEqual(rows[0].embedding, v);
  assert.equal(toSql(rows[0].embedding), toSql(v));
});

test('384-dimensional pseudo-random float32 vector: shortest text parses back to the same float32', async () => {
  const v = randomFloat32Vector(384, 42);
  const { rows } = await client.query('SELECT $1::vector(384) AS embedding', [toSql(v)]);
  const back = rows[0].embedding;
  assert.equal(back.length, 384);
  assert.deepEqual(back.map(Math.fround), v);
  // Parsing the server's text with pgvector's fromSql gives the same numbers.
  const text = await client.query('SELECT $1::vector::text AS t', [toSql(v)]);
  assert.deepEqual(fromSql(text.rows[0].t), back);
});

test('vector text output is the shortest float4 text, like PostgreSQL float4out', async () => {
  const lit = '[0.1,0.3333333333,123456789,1e-7,-0,3.4028234e38,1.4e-45,-1.5e-10,100000,1000000]';
  const expected = '[0.1,0.33333334,1.2345679e+08,1e-07,-0,3.4028235e+38,1e-45,-1.5e-10,100000,1e+06]';
  const { rows } = await client.query(
    'SELECT $1::vector::text AS v, $2::real[]::text AS a', [lit, '{' + lit.slice(1, -1) + '}']);
  assert.equal(rows[0].v, expected);
  assert.equal(rows[0].v.slice(1, -1), rows[0].a.slice(1, -1));
  // pgvector always prints the shortest form, whatever extra_float_digits says.
  await client.query('SET extra_float_digits = 0');
  try {
    const again = await client.query('SELECT $1::vector::text AS v', [lit]);
    assert.equal(again.rows[0].v, expected);
  } finally {
    await client.query('RESET extra_float_digits');
  }
});

test('vector from real[] / numbers parsed by registerTypes', async () => {
  const { rows } = await client.query(
    "SELECT ARRAY[1.5, -2.25, 1e-3]::real[]::vector AS a, '[ 1 , 2 ,3 ]'::vector AS b, '[1,2,3]'::vector::real[] AS c");
  assert.deepEqual(rows[0].a, [1.5, -2.25, 0.001]);
  assert.deepEqual(rows[0].b, [1, 2, 3]);
  assert.deepEqual(rows[0].c, [1, 2, 3]);
});

test('pg.Pool with onConnect: registerTypes (pgvector README pattern)', async () => {
  const pool = new pg.Pool({ database: db.name, max: 2, onConnect: async (c) => await pgvector.registerTypes(c) });
  try {
    const { rows } = await pool.query(
      'SELECT $1::vector AS v, $2::halfvec AS h, $3::sparsevec AS s',
      [toSql([1, 2, 3]), toSql([0.5, 4]), toSql(new SparseVector([0, 7, 0]))]);
    assert.deepEqual(rows[0].v, [1, 2, 3]);
    assert.deepEqual(rows[0].h, [0.5, 4]);
    assert.ok(rows[0].s instanceof SparseVector);
    assert.deepEqual({ ...rows[0].s }, { dimensions: 3, indices: [1], values: [7] });
  } finally {
    await pool.end();
  }
});

test('registerType (deprecated alias) still registers the parsers', async () => {
  const c = new pg.Client({ database: db.name });
  await c.connect();
  try {
    // Without registration the driver returns the raw text.
    const raw = await c.query("SELECT '[1,2]'::vector AS v");
    assert.equal(raw.rows[0].v, '[1,2]');
    await pgvector.registerType(c);
    const parsed = await c.query("SELECT '[1,2]'::vector AS v, '[3]'::halfvec AS h, '{1:1}/1'::sparsevec AS s");
    assert.deepEqual(parsed.rows[0].v, [1, 2]);
    assert.deepEqual(parsed.rows[0].h, [3]);
    assert.deepEqual(parsed.rows[0].s.toArray(), [1]);
  } finally {
    await c.end();
  }
});

test('registerTypes finds the three type OIDs in pg_type', async () => {
  const { rows } = await client.query(
    "SELECT typname, typlen, typcategory FROM pg_type WHERE typname IN ('vector', 'halfvec', 'sparsevec') ORDER BY typname");
  assert.deepEqual(rows, [
    { typname: 'halfvec', typlen: -1, typcategory: 'U' },
    { typname: 'sparsevec', typlen: -1, typcategory: 'U' },
    { typname: 'vector', typlen: -1, typcategory: 'U' },
  ]);
});

test('halfvec(8) of values exactly representable in half round-trips exactly', async () => {
  const v = [1.5, -2, 0.25, 65504, 0.5, 1023.5, -0.125, 3.140625];
  await client.query('CREATE TABLE rt_half (id int PRIMARY KEY, embedding halfvec(8))');
  await client.query('INSERT INTO rt_half VALUES (1, $1)', [toSql(v)]);
  const { rows } = await client.query('SELECT embedding, embedding::text AS t FROM rt_half');
  assert.deepEqual(rows[0].embedding, v);
  assert.equal(rows[0].t, '[1.5,-2,0.25,65504,0.5,1023.5,-0.125,3.140625]');
});

test('halfvec 384 dims of multiples of 1/8 round-trips exactly', async () => {
  const v = Array.from({ length: 384 }, (_, i) => ((i * 53) % 400 - 200) / 8);
  const { rows } = await client.query('SELECT $1::halfvec(384) AS h', [toSql(v)]);
  assert.deepEqual(rows[0].h, v);
});

test('halfvec rounding to nearest even and subnormals', async () => {
  const { rows } = await client.query('SELECT $1::halfvec AS h, $1::halfvec::text AS t',
    [toSql([0.1, 2049, 2051, 65519, 2 ** -14, 2 ** -24, 2 ** -26])]);
  // 0.1 -> 0x2E66; 2049 and 2051 are ties -> even mantissas 2048 and 2052; 65519 -> 65504;
  // 2^-26 is below half of the smallest subnormal -> 0.
  assert.equal(rows[0].t, '[0.099975586,2048,2052,65504,6.1035156e-05,5.9604645e-08,0]');
  const expected = [halfToNumber(0x2e66), 2048, 2052, 65504, 2 ** -14, 2 ** -24, 0];
  assert.deepEqual(rows[0].h.map(Math.fround), expected);
});

test('sparsevec round trip with SparseVector (map, dense array, Map)', async () => {
  await client.query('CREATE TABLE rt_sparse (id int PRIMARY KEY, embedding sparsevec(5))');
  const fromObject = new SparseVector({ 0: 1.5, 2: 2 }, 5);
  const fromDense = new SparseVector([0, 1.5, 0, -2.25, 0]);
  const fromMap = new SparseVector(new Map([[4, 0.5], [0, 3]]), 5); // unsorted on purpose
  assert.equal(toSql(fromObject), '{1:1.5,3:2}/5');
  assert.equal(toSql(fromDense), '{2:1.5,4:-2.25}/5');
  assert.equal(toSql(fromMap), '{5:0.5,1:3}/5');
  await client.query('INSERT INTO rt_sparse VALUES (1, $1), (2, $2), (3, $3)',
    [toSql(fromObject), toSql(fromDense), toSql(fromMap)]);
  const { rows } = await client.query('SELECT id, embedding, embedding::text AS t FROM rt_sparse ORDER BY id');
  assert.deepEqual(rows.map((r) => r.t), ['{1:1.5,3:2}/5', '{2:1.5,4:-2.25}/5', '{1:3,5:0.5}/5']);
  for (const r of rows) assert.ok(r.embedding instanceof SparseVector);
  assert.deepEqual(rows.map((r) => ({ ...r.embedding })), [
    { dimensions: 5, indices: [0, 2], values: [1.5, 2] },
    { dimensions: 5, indices: [1, 3], values: [1.5, -2.25] },
    { dimensions: 5, indices: [0, 4], values: [3, 0.5] },
  ]);
  assert.deepEqual(rows[1].embedding.toArray(), [0, 1.5, 0, -2.25, 0]);
});

test('sparsevec with a million dimensions and explicit zeros', async () => {
  const big = new SparseVector(new Map([[999999, 0.5], [0, 1]]), 1000000);
  const { rows } = await client.query(
    "SELECT $1::sparsevec AS s, $1::sparsevec::text AS t, '{1:0,2:1,3:0}/3'::sparsevec::text AS z",
    [toSql(big)]);
  assert.equal(rows[0].t, '{1:1,1000000:0.5}/1000000');
  assert.deepEqual({ ...rows[0].s }, { dimensions: 1000000, indices: [0, 999999], values: [1, 0.5] });
  assert.equal(rows[0].z, '{2:1}/3');
});

test('casts between the types keep exact values through the driver', async () => {
  const { rows } = await client.query(
    'SELECT $1::vector::halfvec AS h, $1::vector::sparsevec AS s, $2::sparsevec::vector AS v',
    [toSql([0, 1.5, 0, -4]), toSql(new SparseVector({ 1: 2.5 }, 3))]);
  assert.deepEqual(rows[0].h, [0, 1.5, 0, -4]);
  assert.deepEqual({ ...rows[0].s }, { dimensions: 4, indices: [1, 3], values: [1.5, -4] });
  assert.deepEqual(rows[0].v, [0, 2.5, 0]);
});
