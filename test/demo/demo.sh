#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine (as root): install dependencies, build and install
# quiver, start a local PostgreSQL 15 cluster, load the bundled fiori-docs-384-small data set
# (678 real sentence embeddings, 384 dims), run a k-NN and a filtered k-NN query, print the rows.
# The cluster keeps running afterwards; the last lines say how to connect and how to stop it.
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
data=$top/test/data/fiori-docs-384-small
demo_dir=${QUIVER_DEMO_DIR:-/var/tmp/quiver-demo}

[ "${QUIVER_SKIP_DEPS:-0}" = 1 ] || bash .ci/install-deps
make -j"$(nproc)" >/dev/null
make install >/dev/null

source test/lib/cluster.sh
cluster_stop "$demo_dir/data"  # a previous demo's cluster, if any
rm -rf "$demo_dir"
mkdir -p "$demo_dir"
cluster_start "$demo_dir/data"

# Vectors as TSV: id, record id, category (docs only), vector literal.
python3 test/lib/vecdata.py tsv "$data/base.fvecs" "$data/ids.txt" "$data/labels.txt" >"$demo_dir/docs.tsv"
python3 test/lib/vecdata.py tsv "$data/query.fvecs" "$data/query_ids.txt" >"$demo_dir/questions.tsv"

psql -X -q -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION quiver;
CREATE TABLE categories (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE docs (id int PRIMARY KEY, record text NOT NULL,
                   category_id int NOT NULL REFERENCES categories, embedding vector(384) NOT NULL);
CREATE TABLE questions (id int PRIMARY KEY, record text NOT NULL, embedding vector(384) NOT NULL);
\copy categories FROM '$data/categories.txt'
\copy docs FROM '$demo_dir/docs.tsv'
\copy questions FROM '$demo_dir/questions.tsv'
-- The vector, then a filter column: WHERE category_id = ... is evaluated inside the index walk.
CREATE INDEX docs_embedding_idx ON docs USING hnsw (embedding vector_cosine_ops, category_id);
ANALYZE;
SQL

psql -X -v ON_ERROR_STOP=1 <<'SQL'
\echo 'quiver SIMD target:'
SELECT quiver_simd();
SELECT count(*) AS docs, (SELECT count(*) FROM questions) AS questions FROM docs;

\echo 'The 5 documents nearest to question 1 (cosine distance, through the hnsw index):'
SET enable_seqscan = off;  -- 678 rows: the planner would rightly scan them all otherwise
SELECT d.id, d.record, c.name AS category,
       round((d.embedding <=> (SELECT embedding FROM questions WHERE id = 1))::numeric, 4) AS cosine_distance
FROM docs d JOIN categories c ON c.id = d.category_id
ORDER BY d.embedding <=> (SELECT embedding FROM questions WHERE id = 1)
LIMIT 5;

\echo 'The same query, filtered to the Fiori Samples category (35 of 678 documents), the filter'
\echo 'evaluated inside the index (filter column category_id):'
SELECT d.id, d.record, c.name AS category,
       round((d.embedding <=> (SELECT embedding FROM questions WHERE id = 1))::numeric, 4) AS cosine_distance
FROM docs d JOIN categories c ON c.id = d.category_id
WHERE d.category_id = (SELECT id FROM categories WHERE name = 'Fiori Samples')
ORDER BY d.embedding <=> (SELECT embedding FROM questions WHERE id = 1)
LIMIT 5;
\echo 'What the index did (EXPLAIN ANALYZE):'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT d.id FROM docs d
WHERE d.category_id = (SELECT id FROM categories WHERE name = 'Fiori Samples')
ORDER BY d.embedding <=> (SELECT embedding FROM questions WHERE id = 1)
LIMIT 5;
SQL

cat <<EOF2

The demo cluster is still running. Connect with:
    psql -h 127.0.0.1 -p $PGPORT -U postgres
Stop it with:
    runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D $demo_dir/data stop
EOF2
