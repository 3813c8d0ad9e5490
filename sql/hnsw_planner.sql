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
