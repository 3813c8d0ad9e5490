-- The planner chooses the hnsw index for k-NN on a large table on its own (enable_seqscan on),
-- also when the table keeps its vectors out of line in TOAST, which a sequential scan reads
-- without the planner charging for it; and it does not choose the index without ORDER BY.
SELECT setseed(0.5);
CREATE TABLE big (id int, val vector(8));
INSERT INTO big SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 8) WHERE i > 0)::vector
FROM generate_series(1, 20000) i;
CREATE INDEX big_idx ON big USING hnsw (val vector_l2_ops);
ANALYZE big;
EXPLAIN (COSTS OFF) SELECT id FROM big ORDER BY val <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10;
SET hnsw.ef_search = 400;
EXPLAIN (COSTS OFF) SELECT id FROM big ORDER BY val <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10;
RESET hnsw.ef_search;
EXPLAIN (COSTS OFF) SELECT count(*) FROM big WHERE id < 10;
DROP TABLE big;

-- 600 dimensions: 2.4 kB per vector, stored in TOAST
CREATE TABLE wide (id int, val vector(600));
INSERT INTO wide SELECT i, array_fill((i * 0.001)::real, ARRAY[600])::vector FROM generate_series(1, 20000) i;
CREATE INDEX wide_idx ON wide USING hnsw (val vector_l2_ops);
ANALYZE wide;
SELECT pg_relation_size('wide_idx') > pg_relation_size('wide') AS index_larger_than_heap;
EXPLAIN (COSTS OFF) SELECT id FROM wide ORDER BY val <-> (SELECT val FROM wide WHERE id = 1500) LIMIT 10;
DROP TABLE wide;

-- Filters: the planner weighs the index scan by how much of the index a LIMIT k under the
-- filter would walk (k over the filter's share of the rows, as pgvector costs it), so a
-- selective filter gets a sequential scan, a btree on the filter column, or a partial index.
-- 10,000 random 3-d rows, c = i % 50 (every value 2% of the rows).
SELECT setseed(0.25);
CREATE TABLE f (id int, c int, val vector(3));
INSERT INTO f SELECT i, i % 50, ARRAY[random(), random(), random()] FROM generate_series(1, 10000) i;
CREATE INDEX f_idx ON f USING hnsw (val vector_l2_ops);
ANALYZE f;
-- no filter: the index
EXPLAIN (COSTS OFF) SELECT id FROM f ORDER BY val <-> '[0.5,0.5,0.5]' LIMIT 20;
-- a filter half the rows pass: still the index
EXPLAIN (COSTS OFF) SELECT id FROM f WHERE c < 25 ORDER BY val <-> '[0.5,0.5,0.5]' LIMIT 20;
-- selective equality (2%): not the index, and all 20 rows come back
EXPLAIN (COSTS OFF) SELECT id FROM f WHERE c = 20 ORDER BY val <-> '[0.5,0.5,0.5]' LIMIT 20;
SELECT count(*) FROM (SELECT id FROM f WHERE c = 20 ORDER BY val <-> '[0.5,0.5,0.5]' LIMIT 20) s;
-- selective range (4%)
EXPLAIN (COSTS OFF) SELECT id FROM f WHERE c BETWEEN 20 AND 21 ORDER BY val <-> '[0.5,0.5,0.5]' LIMIT 20;
-- a btree on the filter column: a bitmap scan on it, then the exact sort
CREATE INDEX f_c_idx ON f (c);
ANALYZE f;
EXPLAIN (COSTS OFF) SELECT id FROM f WHERE c = 20 ORDER BY val <-> '[0.5,0.5,0.5]' LIMIT 20;
SELECT count(*) FROM (SELECT id FROM f WHERE c = 20 ORDER BY val <-> '[0.5,0.5,0.5]' LIMIT 20) s;
DROP INDEX f_c_idx;
-- a partial hnsw index for that filter value: the index again
CREATE INDEX f_c20_idx ON f USING hnsw (val vector_l2_ops) WHERE c = 20;
ANALYZE f;
EXPLAIN (COSTS OFF) SELECT id FROM f WHERE c = 20 ORDER BY val <-> '[0.5,0.5,0.5]' LIMIT 20;
SELECT count(*) FROM (SELECT id FROM f WHERE c = 20 ORDER BY val <-> '[0.5,0.5,0.5]' LIMIT 20) s;
DROP INDEX f_c20_idx;
-- a distance threshold in WHERE: still the index
EXPLAIN (COSTS OFF) SELECT id FROM f WHERE val <-> '[0.5,0.5,0.5]' < 0.3 ORDER BY val <-> '[0.5,0.5,0.5]' LIMIT 20;
-- with iterative scans, moderately selective filters keep the index (it returns the 20 rows)
SET hnsw.iterative_scan = relaxed_order;
EXPLAIN (COSTS OFF) SELECT id FROM f WHERE c < 10 ORDER BY val <-> '[0.5,0.5,0.5]' LIMIT 20;
SELECT count(*) FROM (SELECT id FROM f WHERE c < 10 ORDER BY val <-> '[0.5,0.5,0.5]' LIMIT 20) s;
RESET hnsw.iterative_scan;
DROP TABLE f;
