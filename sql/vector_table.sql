-- vector in tables: btree ordering (ORDER BY, DISTINCT, GROUP BY, UNIQUE index), and the avg and
-- sum aggregates, serial and with parallel workers forced on.

CREATE TABLE vector_table_t (id int, v vector(3));
INSERT INTO vector_table_t VALUES
    (1, '[1,2,3]'), (2, '[1,2,4]'), (3, '[0,5,5]'), (4, '[1,2,3]'), (5, NULL), (6, '[-1,0,9]'), (7, '[1,2,4]');

SELECT id, v FROM vector_table_t ORDER BY v, id;
SELECT id, v FROM vector_table_t ORDER BY v DESC NULLS LAST, id;
SELECT DISTINCT v FROM vector_table_t ORDER BY v;
SELECT v, count(*), array_agg(id ORDER BY id) FROM vector_table_t GROUP BY v ORDER BY v;
SELECT count(DISTINCT v) FROM vector_table_t;
SELECT min(id), max(id) FROM vector_table_t WHERE v = '[1,2,4]';
SELECT id FROM vector_table_t WHERE v > '[0,9,9]' AND v <= '[1,2,3]' ORDER BY id;
-- Hash-free paths: sort-based grouping and a merge join on =.
SET enable_hashagg = off;
SELECT v, count(*) FROM vector_table_t GROUP BY v ORDER BY v;
RESET enable_hashagg;
SELECT a.id, b.id FROM vector_table_t a JOIN vector_table_t b ON a.v = b.v AND a.id < b.id ORDER BY a.id, b.id;

-- A btree index on a vector column: uniqueness and index scans.
CREATE UNIQUE INDEX vector_table_u ON vector_table_t (v);
DELETE FROM vector_table_t WHERE id IN (4, 7);
CREATE UNIQUE INDEX vector_table_u ON vector_table_t (v);
INSERT INTO vector_table_t VALUES (8, '[1,2,3]');
INSERT INTO vector_table_t VALUES (8, '[1,2,3.5]');
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM vector_table_t WHERE v = '[1,2,3.5]';
SELECT id FROM vector_table_t WHERE v = '[1,2,3.5]';
SELECT id, v FROM vector_table_t WHERE v >= '[1,2,3]' ORDER BY v;
RESET enable_seqscan;

-- avg and sum: NULLs are skipped; no rows give NULL.
SELECT avg(v), sum(v) FROM vector_table_t;
SELECT avg(v), sum(v) FROM vector_table_t WHERE id = 1;
SELECT avg(v), sum(v) FROM vector_table_t WHERE false;
SELECT avg(v), sum(v) FROM vector_table_t WHERE v IS NULL;
SELECT avg(v) FROM (VALUES ('[1,2]'::vector), ('[2,4]'), ('[4,8]')) t(v);
SELECT avg(v) FROM (VALUES ('[1]'::vector), ('[0]'), ('[0]')) t(v);
SELECT id % 2 AS odd, avg(v), sum(v) FROM vector_table_t GROUP BY 1 ORDER BY 1;
DROP TABLE vector_table_t;

-- Parallel aggregation: partial states combined by vector_combine / vector_add. Integer sums
-- below 2^24 are exact in float32, so the result cannot depend on how rows are split.
CREATE TABLE vector_parallel_t (v vector(2));
INSERT INTO vector_parallel_t SELECT ARRAY[n, 2 * n] FROM generate_series(1, 1000) n;
INSERT INTO vector_parallel_t VALUES (NULL);
ANALYZE vector_parallel_t;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v) FROM vector_parallel_t;
SELECT avg(v), sum(v) FROM vector_parallel_t;
SELECT avg(v) FROM vector_parallel_t WHERE v < '[0,0]';
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
SELECT avg(v), sum(v) FROM vector_parallel_t;
DROP TABLE vector_parallel_t;
