// k-NN and filtered k-NN through every index kind, from node-postgres with pgvector's toSql
// parameters: hnsw (every type and distance, and with filter columns), ivfflat and ivf (flat,
// sq8, pq, bit lists). On this small data, with ef_search / probes covering everything, each
// index returns the exact answer, which the same query gives with index scans disabled
// (compared as distances, so ties may come in any order).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { toSql, SparseVector } from 'pgvector';
import { createDatabase } from './helpers.mjs';

let db;
let client;
before(async () => {
  db = await createDatabase('indexes');
  client = db.client;
  await client.query(`CREATE TABLE items (id int PRIMARY KEY, v vector(8), h halfvec(8), s sparsevec(8),
                                          b bit(16), cat int, tags int4[])`);
  for (let i = 1; i <= 400; i++) {
    const v = Array.from({ length: 8 }, (_, j) => ((i * (j + 3)) % 17) / 4 - 2);
    const bits = Array.from({ length: 16 }, (_, j) => ((i >> (j % 9)) ^ j) & 1).join('');
    await client.query('INSERT INTO items VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [i, toSql(v), toSql(v), toSql(new SparseVector(v.map((x) => (Math.abs(x) < 1 ? 0 : x)))), bits,
        i % 5, [i % 3, i % 7]]);
  }
  // ivf re-ranks its best candidates by exact distance: all of them here, so quantized lists
  // (bit codes above all) return exact answers too.
  await client.query('SET hnsw.ef_search = 400; SET ivfflat.probes = 8; SET ivf.probes = 8; SET ivf.rerank = 400');
});
after(async () => {
  await db?.drop();
});

const q = {
  v: toSql([1, -1, 0.5, 2, 0, -0.5, 1.5, -2]),
  s: toSql(new SparseVector([1, 0, 0, 2, 0, -1.5, 0, 1])),
  b: '1011001110001111',
};

async function distances(sql, params, indexes) {
  await client.query(indexes ? 'SET enable_seqscan = off; SET enable_indexscan = on'
    : 'SET enable_seqscan = on; SET enable_indexscan = off; SET enable_bitmapscan = off');
  const { rows } = await client.query(sql, params);
  return rows.map((r) => Number(r.d).toFixed(5));
}

async function checkIndex(definition, column, op, query, filter = 'cat = 2') {
  const name = 'idx_under_test';
  await client.query(`DROP INDEX IF EXISTS ${name}`);
  await client.query(`CREATE INDEX ${name} ON items ${definition}`);
  const knn = `SELECT ${column} ${op} $1 AS d FROM items ORDER BY ${column} ${op} $1 LIMIT 10`;
  const filtered = `SELECT ${column} ${op} $1 AS d FROM items WHERE ${filter} ORDER BY ${column} ${op} $1 LIMIT 10`;
  await client.query('SET enable_seqscan = off');
  const plan = (await client.query(`EXPLAIN ${knn}`, [query])).rows.map((r) => r['QUERY PLAN']).join('\n');
  assert.match(plan, new RegExp(name), `${definition}: the index is used`);
  assert.deepEqual(await distances(knn, [query], true), await distances(knn, [query], false), `${definition}: k-NN`);
  const got = await distances(filtered, [query], true);
  assert.equal(got.length, 10, `${definition}: 10 rows with a filter`);
  assert.deepEqual(got, await distances(filtered, [query], false), `${definition}: filtered k-NN`);
}

const cases = [
  ['USING hnsw (v vector_l2_ops)', 'v', '<->', q.v],
  ['USING hnsw (v vector_ip_ops)', 'v', '<#>', q.v],
  ['USING hnsw (v vector_cosine_ops)', 'v', '<=>', q.v],
  ['USING hnsw (v vector_l1_ops)', 'v', '<+>', q.v],
  ['USING hnsw (h halfvec_l2_ops)', 'h', '<->', q.v],
  ['USING hnsw (s sparsevec_l2_ops)', 's', '<->', q.s],
  ['USING hnsw (b bit_hamming_ops)', 'b', '<~>', q.b],
  ['USING hnsw (b bit_jaccard_ops)', 'b', '<%>', q.b],
  ['USING hnsw (v vector_l2_ops, cat, tags)', 'v', '<->', q.v],
  ['USING ivfflat (v vector_l2_ops) WITH (lists = 8)', 'v', '<->', q.v],
  ['USING ivfflat (h halfvec_cosine_ops) WITH (lists = 8)', 'h', '<=>', q.v],
  ['USING ivfflat (b bit_hamming_ops) WITH (lists = 8)', 'b', '<~>', q.b],
  ['USING ivfflat (v vector_l2_ops, cat) WITH (lists = 8)', 'v', '<->', q.v],
  ['USING ivf (v vector_l2_ops) WITH (lists = 8)', 'v', '<->', q.v],
  ["USING ivf (v vector_l2_ops) WITH (lists = 8, quantizer = 'sq8')", 'v', '<->', q.v],
  ["USING ivf (v vector_ip_ops) WITH (lists = 8, quantizer = 'pq', pq_m = 4)", 'v', '<#>', q.v],
  ["USING ivf (v vector_cosine_ops) WITH (lists = 8, quantizer = 'bit')", 'v', '<=>', q.v],
  ["USING ivf (v vector_l2_ops, cat, tags) WITH (lists = 8, quantizer = 'sq8')", 'v', '<->', q.v],
];

for (const [definition, column, op, query] of cases) {
  test(`k-NN and filtered k-NN through ${definition}`, async () => {
    await checkIndex(definition, column, op, query);
    if (definition.includes('tags')) {
      await checkIndex(definition, column, op, query, "cat < 3 AND tags && '{1}'");
    }
  });
}
