// pgvector's binary wire formats through real clients, decoded by hand:
//   vector:    int16 dim, int16 unused (0), dim big-endian float4
//   halfvec:   int16 dim, int16 unused (0), dim big-endian binary16
//   sparsevec: int32 dim, int32 nnz, int32 unused (0), nnz int32 0-based indices, nnz float4
//
// Three ways in and out:
// 1. pg query results requested in binary (query config `binary: true`). A limitation of the pg
//    driver (pg-protocol decodes every DataRow field as UTF-8 before a binary type parser sees
//    it) corrupts bytes that are not valid UTF-8, so these tests use values whose encodings are
//    plain ASCII bytes (e.g. 2 = 40000000, 3 = 40400000, 0.5 = 3f000000).
// 2. Binary COPY through pg-copy-streams, which hands over the raw bytes: arbitrary float32
//    values, compared exactly with what was sent and with the text results.
// 3. Buffer parameters, which pg sends with the binary format code: the types' recv functions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { toSql, SparseVector } from 'pgvector';
import {
  createDatabase, assertServerError, decodeVector, encodeVector, decodeHalfvec, encodeHalfvec,
  decodeSparsevec, encodeSparsevec, randomFloat32Vector, parseBinaryCopy, buildBinaryCopy, int4Bytes,
} from './helpers.mjs';

const { to: copyTo, from: copyFrom } = copyStreams;

let db;
let client; // text results, pgvector's parsers registered
let bin; // binary results: vector, halfvec and sparsevec arrive as Buffers
before(async () => {
  db = await createDatabase('binary');
  client = db.client;
  bin = new pg.Client({ database: db.name });
  await bin.connect();
  const { rows } = await bin.query(
    "SELECT typname, oid FROM pg_type WHERE typname IN ('vector', 'halfvec', 'sparsevec')");
  assert.equal(rows.length, 3);
  for (const { oid } of rows) bin.setTypeParser(oid, 'binary', (buf) => buf);
});
after(async () => {
  await bin?.end();
  await db?.drop();
});

async function copyOut(sql) {
  const chunks = [];
  for await (const chunk of client.query(copyTo(sql))) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function copyIn(sql, data) {
  await pipeline(Readable.from([data]), client.query(copyFrom(sql)));
}

test('binary result: vector_send bytes for [2, 3, 0.5]', async () => {
  const { rows, fields } = await bin.query({ text: 'SELECT $1::vector AS v', values: [toSql([2, 3, 0.5])], binary: true });
  assert.equal(fields[0].format, 'binary');
  assert.ok(Buffer.isBuffer(rows[0].v));
  assert.equal(rows[0].v.toString('hex'), '0003' + '0000' + '40000000' + '40400000' + '3f000000');
  const d = decodeVector(rows[0].v);
  assert.deepEqual(d, { dim: 3, unused: 0, values: [2, 3, 0.5] });
  const text = await client.query('SELECT $1::vector AS v', [toSql([2, 3, 0.5])]);
  assert.deepEqual(text.rows[0].v, d.values);
});

test('binary result: halfvec_send bytes', async () => {
  const { rows } = await bin.query({
    text: 'SELECT $1::halfvec AS h', values: [toSql([1.5, 2, 0.5, 0.1, 48])], binary: true,
  });
  assert.equal(rows[0].h.toString('hex'), '0005' + '0000' + '3e00' + '4000' + '3800' + '2e66' + '5200');
  const d = decodeHalfvec(rows[0].h);
  assert.deepEqual(d.values, [1.5, 2, 0.5, 0.0999755859375, 48]);
  const text = await client.query('SELECT $1::halfvec AS h', [toSql([1.5, 2, 0.5, 0.1, 48])]);
  assert.deepEqual(text.rows[0].h.map(Math.fround), d.values);
});

test('binary result: sparsevec_send bytes with 0-based indices', async () => {
  const s = new SparseVector({ 0: 2, 2: 0.5 }, 5);
  const { rows } = await bin.query({ text: 'SELECT $1::sparsevec AS s', values: [toSql(s)], binary: true });
  assert.equal(rows[0].s.toString('hex'),
    '00000005' + '00000002' + '00000000' + '00000000' + '00000002' + '40000000' + '3f000000');
  assert.deepEqual(decodeSparsevec(rows[0].s), { dim: 5, nnz: 2, unused: 0, indices: [0, 2], values: [2, 0.5] });
});

test('binary result of a k-NN query equals the text result', async () => {
  await client.query('CREATE TABLE bin_knn (id int PRIMARY KEY, embedding vector(3))');
  for (const [id, v] of [[1, [2, 2, 2]], [2, [3, 3, 3]], [3, [2, 2, 3]]]) {
    await client.query('INSERT INTO bin_knn VALUES ($1, $2)', [id, toSql(v)]);
  }
  const sql = 'SELECT id, embedding FROM bin_knn ORDER BY embedding <-> $1 LIMIT 3';
  const b = await bin.query({ text: sql, values: [toSql([2, 2, 2])], binary: true });
  const t = await client.query(sql, [toSql([2, 2, 2])]);
  assert.deepEqual(b.rows.map((r) => [r.id, decodeVector(r.embedding).values]), [[1, [2, 2, 2]], [3, [2, 2, 3]], [2, [3, 3, 3]]]);
  assert.deepEqual(t.rows.map((r) => [r.id, r.embedding]), b.rows.map((r) => [r.id, decodeVector(r.embedding).values]));
});

test('binary COPY TO: 384-dim float32 vectors equal what was sent and the text results', async () => {
  await client.query('CREATE TABLE copy_vec (id int PRIMARY KEY, embedding vector(384))');
  const vs = [randomFloat32Vector(384, 1), randomFloat32Vector(384, 2), [...Array(384).keys()].map((i) => i / 4 - 48)];
  for (const [i, v] of vs.entries()) {
    await client.query('INSERT INTO copy_vec VALUES ($1, $2)', [i, toSql(v)]);
  }
  const rows = parseBinaryCopy(await copyOut('COPY (SELECT id, embedding FROM copy_vec ORDER BY id) TO STDOUT (FORMAT binary)'));
  const text = await client.query('SELECT id, embedding FROM copy_vec ORDER BY id');
  assert.equal(rows.length, 3);
  for (const [i, [id, embedding]] of rows.entries()) {
    assert.equal(id.readInt32BE(0), i);
    const d = decodeVector(embedding);
    assert.deepEqual({ dim: d.dim, unused: d.unused }, { dim: 384, unused: 0 });
    assert.deepEqual(d.values, vs[i]); // exactly the float32 values sent
    // The text result (shortest decimal) names exactly the same float32 values.
    assert.deepEqual(text.rows[i].embedding.map(Math.fround), d.values);
  }
  // Short decimal values compare equal without rounding.
  assert.deepEqual(text.rows[2].embedding, decodeVector(rows[2][1]).values);
});

test('binary COPY TO: halfvec and sparsevec equal the text results', async () => {
  await client.query('CREATE TABLE copy_other (id int PRIMARY KEY, h halfvec(16), s sparsevec(100000))');
  const h = Array.from({ length: 16 }, (_, i) => (i - 8) * 0.3);
  const s = new SparseVector(new Map([[99999, 0.1], [0, -3], [500, 1 / 3], [7, 2.5]]), 100000);
  await client.query('INSERT INTO copy_other VALUES (1, $1, $2), (2, NULL, NULL)', [toSql(h), toSql(s)]);
  const rows = parseBinaryCopy(await copyOut('COPY (SELECT h, s FROM copy_other ORDER BY id) TO STDOUT (FORMAT binary)'));
  assert.deepEqual(rows[1], [null, null]);
  const text = (await client.query('SELECT h, s FROM copy_other WHERE id = 1')).rows[0];
  const dh = decodeHalfvec(rows[0][0]);
  assert.equal(dh.dim, 16);
  assert.deepEqual(text.h.map(Math.fround), dh.values);
  assert.equal(dh.bits[9], 0x34cd); // 0.3 in half
  const ds = decodeSparsevec(rows[0][1]);
  assert.deepEqual(ds, {
    dim: 100000, nnz: 4, unused: 0, indices: [0, 7, 500, 99999],
    values: [-3, 2.5, Math.fround(1 / 3), Math.fround(0.1)],
  });
  assert.equal(text.s.dimensions, ds.dim);
  assert.deepEqual(text.s.indices, ds.indices);
  assert.deepEqual(text.s.values.map(Math.fround), ds.values);
});

test('binary COPY FROM: vector_recv, halfvec_recv, sparsevec_recv', async () => {
  await client.query('CREATE TABLE copy_in (id int PRIMARY KEY, v vector(3), h halfvec(2), s sparsevec(4))');
  const v = [Math.fround(0.1), -2, 1e-45];
  await copyIn('COPY copy_in FROM STDIN (FORMAT binary)', buildBinaryCopy([
    [int4Bytes(1), encodeVector(v), encodeHalfvec([0x3c00, 0xbe00]), encodeSparsevec(4, [3], [Math.fround(0.7)])],
    [int4Bytes(2), null, null, null],
  ]));
  const { rows } = await client.query('SELECT id, v::text, h::text, s::text FROM copy_in ORDER BY id');
  assert.deepEqual(rows, [
    { id: 1, v: '[0.1,-2,1e-45]', h: '[1,-1.5]', s: '{4:0.7}/4' },
    { id: 2, v: null, h: null, s: null },
  ]);
  // And back out, byte for byte.
  const out = parseBinaryCopy(await copyOut('COPY (SELECT v FROM copy_in WHERE id = 1) TO STDOUT (FORMAT binary)'));
  assert.ok(out[0][0].equals(encodeVector(v)));
  // A dimension mismatch inside binary COPY.
  await assert.rejects(
    copyIn('COPY copy_in FROM STDIN (FORMAT binary)', buildBinaryCopy([[int4Bytes(3), encodeVector([1, 2]), null, null]])),
    (err) => err.code === '22000' && err.message === 'expected 3 dimensions, not 2');
});

test('text COPY FROM with pgvector toSql lines (pgvector bulk loading example)', async () => {
  await client.query('CREATE TABLE copy_text (id bigserial PRIMARY KEY, embedding vector(3))');
  const lines = [[1, 2, 3], [1.5, -0.25, 1e-3], [0, 0, 1]].map((e) => `${toSql(e)}\n`).join('');
  await copyIn('COPY copy_text (embedding) FROM STDIN', Buffer.from(lines));
  const { rows } = await client.query('SELECT embedding FROM copy_text ORDER BY id');
  assert.deepEqual(rows.map((r) => r.embedding), [[1, 2, 3], [1.5, -0.25, 0.001], [0, 0, 1]]);
});

test('vector_send / halfvec_send / sparsevec_send are SQL-callable and return the same bytes', async () => {
  const v = randomFloat32Vector(5, 7);
  const { rows } = await client.query(
    'SELECT vector_send($1::vector) AS v, halfvec_send($2::halfvec) AS h, sparsevec_send($3::sparsevec) AS s',
    [toSql(v), toSql([1, 0.1]), toSql(new SparseVector({ 2: 1.5 }, 3))]);
  assert.ok(rows[0].v.equals(encodeVector(v)));
  assert.equal(rows[0].h.toString('hex'), '0002' + '0000' + '3c00' + '2e66');
  assert.ok(rows[0].s.equals(encodeSparsevec(3, [2], [1.5])));
});

test('Buffer parameters are sent in binary: vector_recv', async () => {
  const { rows } = await client.query('SELECT $1::vector::text AS t, vector_dims($1::vector) AS d',
    [encodeVector([1.5, -2, 0.1])]);
  assert.deepEqual(rows[0], { t: '[1.5,-2,0.1]', d: 3 });
  await client.query('CREATE TABLE recv_vec (id int PRIMARY KEY, embedding vector(2))');
  await client.query('INSERT INTO recv_vec VALUES (1, $1)', [encodeVector([0.5, 8])]);
  const back = await bin.query({ text: 'SELECT embedding FROM recv_vec', binary: true, queryMode: 'extended' });
  assert.deepEqual(decodeVector(back.rows[0].embedding), { dim: 2, unused: 0, values: [0.5, 8] });
});

test('vector_recv errors', async () => {
  await assertServerError(client.query('SELECT $1::vector', [encodeVector([1, 2], { unused: 1 })]),
    '22000', 'expected unused to be 0, not 1');
  await assertServerError(client.query('SELECT $1::vector', [encodeVector([])]),
    '22000', 'vector must have at least 1 dimension');
  await assertServerError(client.query('SELECT $1::vector', [encodeVector([1, NaN])]),
    '22000', 'NaN not allowed in vector');
  await assertServerError(client.query('SELECT $1::vector', [encodeVector([Infinity])]),
    '22000', 'infinite value not allowed in vector');
  await assertServerError(client.query('INSERT INTO recv_vec VALUES (2, $1)', [encodeVector([1, 2, 3])]),
    '22000', 'expected 2 dimensions, not 3');
  // Extra bytes after the last element: PostgreSQL's own check after vector_recv returns.
  await assertServerError(client.query('SELECT $1::vector', [Buffer.concat([encodeVector([1]), Buffer.from([0])])]),
    '22P03', 'incorrect binary data format in bind parameter 1');
  // Fewer bytes than the dimension says.
  await assertServerError(client.query('SELECT $1::vector', [encodeVector([1, 2], { dim: 3 })]),
    '08P01', 'insufficient data left in message');
  // The connection is still usable.
  assert.equal((await client.query('SELECT 1 AS one')).rows[0].one, 1);
});

test('halfvec_recv', async () => {
  const { rows } = await client.query('SELECT $1::halfvec::text AS t', [encodeHalfvec([0x3e00, 0x8000, 0x7bff, 0x0001])]);
  assert.equal(rows[0].t, '[1.5,-0,65504,5.9604645e-08]');
  await assertServerError(client.query('SELECT $1::halfvec', [encodeHalfvec([0x7c00])]),
    '22000', 'infinite value not allowed in halfvec');
  await assertServerError(client.query('SELECT $1::halfvec', [encodeHalfvec([0x7e00])]),
    '22000', 'NaN not allowed in halfvec');
  await assertServerError(client.query('SELECT $1::halfvec', [encodeHalfvec([0x3c00], { unused: 2 })]),
    '22000', 'expected unused to be 0, not 2');
  await assertServerError(client.query('SELECT $1::halfvec(2)', [encodeHalfvec([0x3c00])]),
    '22000', 'expected 2 dimensions, not 1');
});

test('sparsevec_recv', async () => {
  const { rows } = await client.query('SELECT $1::sparsevec::text AS t', [encodeSparsevec(10, [1, 9], [0.5, -1])]);
  assert.equal(rows[0].t, '{2:0.5,10:-1}/10');
  await assertServerError(client.query('SELECT $1::sparsevec', [encodeSparsevec(3, [0], [0])]),
    '22000', 'binary representation of sparsevec cannot contain zero values');
  await assertServerError(client.query('SELECT $1::sparsevec', [encodeSparsevec(3, [3], [1])]),
    '22000', 'sparsevec index out of bounds');
  await assertServerError(client.query('SELECT $1::sparsevec', [encodeSparsevec(3, [2, 1], [1, 1])]),
    '22000', 'sparsevec indices must be in ascending order');
  await assertServerError(client.query('SELECT $1::sparsevec', [encodeSparsevec(3, [1, 1], [1, 1])]),
    '22000', 'sparsevec indices must not contain duplicates');
  await assertServerError(client.query('SELECT $1::sparsevec', [encodeSparsevec(3, [0], [1], { unused: 5 })]),
    '22000', 'expected unused to be 0, not 5');
  await assertServerError(client.query('SELECT $1::sparsevec(4)', [encodeSparsevec(3, [0], [1])]),
    '22000', 'expected 4 dimensions, not 3');
});
