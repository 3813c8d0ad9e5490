// Query builders and another driver, used the way pgvector-node's README shows for pgvector:
// Knex (a migration through knex.migrate with pgvector/knex's column types, hnsw and ivfflat
// indexes as `table.index(knex.raw('embedding vector_l2_ops'), name, 'hnsw')`, queries ordered by
// knex.l2Distance / cosineDistance), Kysely (Migrator, createIndex().using('hnsw' / 'ivfflat'),
// pgvector/kysely's l2Distance / cosineDistance) and postgres.js (porsager's `postgres`, tagged
// templates with toSql / fromSql for vector, halfvec, sparsevec and bit; filtered k-NN through
// hnsw, ivfflat and ivf with a filter column). Every answer is compared with the exact one
// computed here from the float32 values.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import knexFactory from 'knex';
import pgvectorKnex from 'pgvector/knex';
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import { l2Distance as kyselyL2, cosineDistance as kyselyCosine } from 'pgvector/kysely';
import postgres from 'postgres';
import pg from 'pg';
import pgvector, { SparseVector } from 'pgvector';
import { createDatabase } from './helpers.mjs';

let db;
before(async () => {
  db = await createDatabase('orm');
});
after(async () => {
  await db?.drop();
});

// 60 rows of 3-d vectors with small integer components (exact in float32), category id % 3.
const rows = Array.from({ length: 60 }, (_, i) => ({
  id: i + 1,
  category: (i + 1) % 3,
  embedding: [((i * 7) % 11) - 5, ((i * 5) % 13) - 6, ((i * 3) % 7) - 3],
}));
const query = [1, -2, 0.5];
const l2 = (v) => Math.sqrt(v.reduce((s, x, j) => s + (x - query[j]) ** 2, 0));
const cosine = (v) => {
  const dot = v.reduce((s, x, j) => s + x * query[j], 0);
  const nv = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const nq = Math.sqrt(query.reduce((s, x) => s + x * x, 0));
  return nv === 0 ? Infinity : 1 - dot / (nv * nq);
};
function exact(distance, category, k) {
  return rows
    .filter((r) => category === undefined || r.category === category)
    .map((r) => ({ id: r.id, d: distance(r.embedding) }))
    .sort((a, b) => a.d - b.d || a.id - b.id)
    .slice(0, k)
    .map((r) => r.id);
}
// Ties among equal distances may come in any order: compare the distances, then the id sets.
function assertSameNeighbours(got, want, distance) {
  const byId = new Map(rows.map((r) => [r.id, r.embedding]));
  assert.deepEqual(got.map((id) => distance(byId.get(id))), want.map((id) => distance(byId.get(id))));
}

function connection() {
  const host = process.env.PGHOST || 'localhost';
  return { host, port: Number(process.env.PGPORT || 5432), user: process.env.PGUSER, database: db.name };
}

test('knex: a migration creates the table and indexes; filtered k-NN is exact', async () => {
  const knex = knexFactory({ client: 'pg', connection: connection(), pool: { min: 1, max: 1 } });
  try {
    const migrations = {
      async getMigrations() { return ['001_items']; },
      getMigrationName(name) { return name; },
      async getMigration() {
        return {
          async up(k) {
            await k.schema.createTable('knex_items', (table) => {
              table.integer('id').primary();
              table.integer('category');
              table.vector('embedding', { dimensions: 3 });
            });
            await k.schema.alterTable('knex_items', (table) => {
              table.index(k.raw('embedding vector_l2_ops'), 'knex_items_hnsw', 'hnsw');
              table.index(k.raw('embedding vector_cosine_ops'), 'knex_items_ivfflat', 'ivfflat');
            });
          },
          async down(k) { await k.schema.dropTable('knex_items'); },
        };
      },
    };
    await knex.migrate.latest({ migrationSource: migrations });
    await knex('knex_items').insert(rows.map((r) => ({ ...r, embedding: pgvectorKnex.toSql(r.embedding) })));

    const back = await knex('knex_items').where('id', 7).first();
    assert.deepEqual(pgvectorKnex.fromSql(back.embedding), rows[6].embedding);

    await knex.raw('SET enable_seqscan = off');
    const plan = await knex.raw("EXPLAIN SELECT id FROM knex_items ORDER BY embedding <-> '[1,2,3]' LIMIT 5");
    assert.match(plan.rows.map((r) => r['QUERY PLAN']).join('\n'), /knex_items_hnsw/);
    await knex.raw('SET hnsw.ef_search = 100; SET ivfflat.probes = 100');
    const near = await knex('knex_items').select('id').where('category', 1)
      .orderBy(knex.l2Distance('embedding', query)).limit(5);
    assertSameNeighbours(near.map((r) => r.id), exact(l2, 1, 5), l2);
    const cos = await knex('knex_items').select('id')
      .orderBy(knex.cosineDistance('embedding', query)).limit(5);
    assertSameNeighbours(cos.map((r) => r.id), exact(cosine, undefined, 5), cosine);
  } finally {
    await knex.destroy();
  }
});

test('kysely: a Migrator creates the table, hnsw and ivfflat indexes; filtered k-NN is exact', async () => {
  const pool = new pg.Pool({ ...connection(), max: 1 });
  const kdb = new Kysely({ dialect: new PostgresDialect({ pool }) });
  try {
    const migrator = new Migrator({
      db: kdb,
      provider: {
        async getMigrations() {
          return {
            '001_items': {
              async up(k) {
                await k.schema.createTable('kysely_items')
                  .addColumn('id', 'integer', (c) => c.primaryKey())
                  .addColumn('category', 'integer')
                  .addColumn('embedding', sql`vector(3)`)
                  .execute();
                await k.schema.createIndex('kysely_items_hnsw').on('kysely_items').using('hnsw')
                  .expression(sql`embedding vector_l2_ops`).execute();
                await k.schema.createIndex('kysely_items_ivfflat').on('kysely_items').using('ivfflat')
                  .expression(sql`embedding vector_cosine_ops`).execute();
              },
            },
          };
        },
      },
    });
    const { error } = await migrator.migrateToLatest();
    assert.equal(error, undefined);
    await kdb.insertInto('kysely_items')
      .values(rows.map((r) => ({ ...r, embedding: pgvector.toSql(r.embedding) })))
      .execute();
    await sql`SET enable_seqscan = off`.execute(kdb);
    await sql`SET hnsw.ef_search = 100`.execute(kdb);
    const near = await kdb.selectFrom('kysely_items').select('id').where('category', '=', 2)
      .orderBy(kyselyL2('embedding', query)).limit(5).execute();
    assertSameNeighbours(near.map((r) => r.id), exact(l2, 2, 5), l2);
    const plan = await sql`EXPLAIN SELECT id FROM kysely_items WHERE category = 2 ORDER BY embedding <-> ${pgvector.toSql(query)} LIMIT 5`.execute(kdb);
    assert.match(plan.rows.map((r) => r['QUERY PLAN']).join('\n'), /kysely_items_hnsw/);
    await sql`SET ivfflat.probes = 100`.execute(kdb);
    const cos = await kdb.selectFrom('kysely_items').select('id').where('category', '=', 1)
      .orderBy(kyselyCosine('embedding', query)).limit(5).execute();
    assertSameNeighbours(cos.map((r) => r.id), exact(cosine, 1, 5), cosine);
    const cplan = await sql`EXPLAIN SELECT id FROM kysely_items ORDER BY embedding <=> ${pgvector.toSql(query)} LIMIT 5`.execute(kdb);
    assert.match(cplan.rows.map((r) => r['QUERY PLAN']).join('\n'), /kysely_items_ivfflat/);
  } finally {
    await kdb.destroy();
  }
});

test('postgres.js: tagged templates round-trip vectors and return exact neighbours', async () => {
  const c = connection();
  const opts = { port: c.port, user: c.user, database: c.database, max: 1, onnotice: () => {} };
  // A PGHOST that is a directory is a Unix socket directory.
  if (c.host.startsWith('/')) opts.path = `${c.host}/.s.PGSQL.${c.port}`;
  else opts.host = c.host;
  const psql = postgres(opts);
  try {
    await psql`CREATE TABLE pjs_items (id int PRIMARY KEY, category int, embedding vector(3), half halfvec(3),
                                       sparse sparsevec(3), bits bit(3))`;
    for (const r of rows) {
      const bits = r.embedding.map((x) => (x > 0 ? '1' : '0')).join('');
      await psql`INSERT INTO pjs_items VALUES (${r.id}, ${r.category}, ${pgvector.toSql(r.embedding)},
                 ${pgvector.toSql(r.embedding)}, ${pgvector.toSql(new SparseVector(r.embedding))}, ${bits}::bit(3))`;
    }
    const [one] = await psql`SELECT embedding::text AS e, half::text AS h, sparse::text AS s, bits::text AS b FROM pjs_items WHERE id = 7`;
    assert.deepEqual(pgvector.fromSql(one.e), rows[6].embedding);
    assert.deepEqual(pgvector.fromSql(one.h), rows[6].embedding);
    assert.deepEqual(pgvector.fromSql(one.s).toArray(), rows[6].embedding);
    assert.equal(one.b, rows[6].embedding.map((x) => (x > 0 ? '1' : '0')).join(''));
    await psql`SET enable_seqscan = off`;
    await psql`SET ivfflat.probes = 100`;
    await psql`SET ivf.probes = 100`;
    await psql`SET ivf.rerank = 100`;
    for (const index of ['hnsw (embedding vector_l2_ops, category)',
      'ivfflat (embedding vector_l2_ops, category) WITH (lists = 4)',
      "ivf (embedding vector_l2_ops, category) WITH (lists = 4, quantizer = 'sq8')"]) {
      await psql.unsafe(`DROP INDEX IF EXISTS pjs_idx; CREATE INDEX pjs_idx ON pjs_items USING ${index}`);
      const near = await psql`SELECT id FROM pjs_items WHERE category = ${0} ORDER BY embedding <-> ${pgvector.toSql(query)} LIMIT 5`;
      assertSameNeighbours(near.map((r) => r.id), exact(l2, 0, 5), l2);
      const plan = await psql`EXPLAIN SELECT id FROM pjs_items WHERE category = ${0} ORDER BY embedding <-> ${pgvector.toSql(query)} LIMIT 5`;
      assert.match(plan.map((r) => r['QUERY PLAN']).join('\n'), /pjs_idx/, index);
    }
  } finally {
    await psql.end();
  }
});
