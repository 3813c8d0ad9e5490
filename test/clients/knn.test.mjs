// Exact k-NN through the driver: ORDER BY each distance operator with a pgvector toSql parameter,
// on vector, halfvec and sparsevec columns, plus a filtered k-NN query. Every distance here is
// computed from float32 sums that are exact, so the expected values are exact doubles.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { toSql, SparseVector } from 'pgvector';
import { createDatabase } from './helpers.mjs';

let db;
let client;
before(async () => {
  db = await createDatabase('knn');
  client = db.client;
  await client.query(`CREATE TABLE items (id int PRIMARY KEY, embedding vector(3),
                                          half halfvec(3), sparse sparsevec(3))`);
  const rows = [[1, [1, 1, 1]], [2, [2, 2, 2]], [3, [1, 1, 2]]];
  for (const [id, v] of rows) {
    await client.query('INSERT INTO items VALUES ($1, $2, $3, $4)',
      [id, toSql(v), toSql(v), toSql(new SparseVector(v))]);
  }
});
after(async () => {
  await db?.drop();
});

const query = [1, 1, 1];
// Distances of rows 1 [1,1,1], 2 [2,2,2], 3 [1,1,2] to [1,1,1], in the order the operator gives
// (ties broken by id).
const cosine3 = 1 - 4 / Math.sqrt(6 * 3); // pgvector: 1 - dot / sqrt(|a|^2 * |b|^2)
const expected = {
  '<->': [[1, 0], [3, 1], [2, 1.7320508075688772]],
  '<#>': [[2, -6], [3, -4], [1, -3]],
  '<=>': [[1, 0], [2, 0], [3, cosine3]],
  '<+>': [[1, 0], [3, 1], [2, 3]],
};

test('hand-checked cosine distance constant', () => {
  assert.equal(cosine3, 0.05719095841793653);
});

for (const [column, param] of [
  ['embedding', toSql(query)],
  ['half', toSql(query)],
  ['sparse', toSql(new SparseVector(query))],
]) {
  for (const [op, want] of Object.entries(expected)) {
    test(`${column} ORDER BY ${column} ${op} $1 LIMIT 3`, async () => {
      const { rows } = await client.query(
        `SELECT id, ${column} ${op} $1 AS distance FROM items ORDER BY ${column} ${op} $1, id LIMIT 3`,
        [param]);
      assert.deepEqual(rows.map((r) => [r.id, r.distance]), want);
    });
  }
}

test('distance functions agree with the operators', async () => {
  const { rows } = await client.query(
    `SELECT id, l2_distance(embedding, $1) AS l2, inner_product(embedding, $1) AS ip,
            cosine_distance(embedding, $1) AS cos, l1_distance(embedding, $1) AS l1,
            l2_distance(half, $2) AS hl2, l2_distance(sparse, $3) AS sl2
     FROM items ORDER BY id`,
    [toSql(query), toSql(query), toSql(new SparseVector(query))]);
  assert.deepEqual(rows, [
    { id: 1, l2: 0, ip: 3, cos: 0, l1: 0, hl2: 0, sl2: 0 },
    { id: 2, l2: 1.7320508075688772, ip: 6, cos: 0, l1: 3, hl2: 1.7320508075688772, sl2: 1.7320508075688772 },
    { id: 3, l2: 1, ip: 4, cos: cosine3, l1: 1, hl2: 1, sl2: 1 },
  ]);
});

test('the nearest neighbour is returned as a vector the client parses', async () => {
  const { rows } = await client.query(
    'SELECT id, embedding, half, sparse FROM items ORDER BY embedding <-> $1 LIMIT 1', [toSql([2, 2, 1.75])]);
  assert.equal(rows[0].id, 2);
  assert.deepEqual(rows[0].embedding, [2, 2, 2]);
  assert.deepEqual(rows[0].half, [2, 2, 2]);
  assert.deepEqual(rows[0].sparse.toArray(), [2, 2, 2]);
});

test('filtered k-NN: WHERE category = $1 ORDER BY embedding <-> $2 LIMIT 3', async () => {
  await client.query('CREATE TABLE docs (id int PRIMARY KEY, category int NOT NULL, embedding vector(3))');
  const docs = [
    [1, 1, [0, 0, 0]], [2, 2, [0, 0, 1]], [3, 1, [0, 0, 2]], [4, 2, [0, 0, 3]],
    [5, 1, [0, 0, 4]], [6, 1, [3, 0, 0]], [7, 2, [1, 0, 0]], [8, 1, [0, 0, -1]],
  ];
  for (const [id, category, v] of docs) {
    await client.query('INSERT INTO docs VALUES ($1, $2, $3)', [id, category, toSql(v)]);
  }
  const sql = 'SELECT id, embedding <-> $2 AS distance FROM docs WHERE category = $1 ORDER BY embedding <-> $2 LIMIT 3';
  const q = toSql([0, 0, 0.25]);
  const cat1 = await client.query(sql, [1, q]);
  assert.deepEqual(cat1.rows, [{ id: 1, distance: 0.25 }, { id: 8, distance: 1.25 }, { id: 3, distance: 1.75 }]);
  const cat2 = await client.query(sql, [2, q]);
  assert.deepEqual(cat2.rows, [{ id: 2, distance: 0.75 }, { id: 7, distance: Math.sqrt(1.0625) }, { id: 4, distance: 2.75 }]);
  assert.equal(Math.sqrt(1.0625), 1.0307764064044151);
  const none = await client.query(sql, [3, q]);
  assert.deepEqual(none.rows, []);
});

test('k-NN on 384-dimensional vectors through the driver', async () => {
  // Row i has a single 1 at position i (i < 8); the query is 1/8 * (1..8) padded with zeros.
  await client.query('CREATE TABLE wide (id int PRIMARY KEY, embedding vector(384))');
  for (let i = 0; i < 8; i++) {
    const v = new Array(384).fill(0);
    v[i] = 1;
    await client.query('INSERT INTO wide VALUES ($1, $2)', [i, toSql(v)]);
  }
  const q = new Array(384).fill(0);
  for (let i = 0; i < 8; i++) q[i] = (i + 1) / 8;
  const { rows } = await client.query(
    'SELECT id, embedding <#> $1 AS neg_ip FROM wide ORDER BY embedding <#> $1 LIMIT 3', [toSql(q)]);
  assert.deepEqual(rows, [{ id: 7, neg_ip: -1 }, { id: 6, neg_ip: -0.875 }, { id: 5, neg_ip: -0.75 }]);
});
