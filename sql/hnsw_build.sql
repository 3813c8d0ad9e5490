-- hnsw builds: empty tables, duplicates beyond one element's heap TIDs, unlogged tables, and a
-- build that outgrows maintenance_work_mem (NOTICE, then on-disk inserts) still answering
-- exactly like a sequential scan.
SET enable_seqscan = off;

-- empty table, then inserts
CREATE TABLE t (id int, val vector(3));
CREATE INDEX t_idx ON t USING hnsw (val vector_l2_ops);
SELECT * FROM t ORDER BY val <-> '[1,1,1]';
INSERT INTO t SELECT i, ARRAY[i, i, i]::vector FROM generate_series(1, 50) i;
SELECT id FROM t ORDER BY val <-> '[10.2,10.2,10.2]' LIMIT 3;
SELECT elements, heap_tids, unreachable FROM quiver_index_check('t_idx');
DROP TABLE t;

-- identical vectors share elements (10 heap TIDs each); all rows come back
CREATE TABLE t (id int, val vector(3));
INSERT INTO t SELECT i, '[1,1,1]' FROM generate_series(1, 25) i;
INSERT INTO t VALUES (100, '[5,5,5]');
CREATE INDEX t_idx ON t USING hnsw (val vector_l2_ops);
INSERT INTO t SELECT i, '[1,1,1]' FROM generate_series(26, 40) i;
SELECT elements, heap_tids, unreachable FROM quiver_index_check('t_idx');
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM t ORDER BY val <-> '[1,1,1]') s;
SELECT id FROM t ORDER BY val <-> '[5,5,5]' LIMIT 1;
DROP TABLE t;

-- many more duplicates than one element holds, at build and after it: a build writes them as
-- a group of elements, an insert links its element in place of a full twin; every element
-- stays reachable (quiver_index_check would fail otherwise) and every row comes back
CREATE TABLE t (id int, val vector(3));
INSERT INTO t SELECT i, '[1,1,1]' FROM generate_series(1, 2000) i;
INSERT INTO t SELECT 10000 + i, ARRAY[i, i, i] FROM generate_series(2, 60) i;
CREATE INDEX t_idx ON t USING hnsw (val vector_l2_ops) WITH (m = 4, ef_construction = 8);
INSERT INTO t SELECT i, '[1,1,1]' FROM generate_series(2001, 5000) i;
INSERT INTO t SELECT 20000 + i, ARRAY[i, i, i] FROM generate_series(2, 60) i;
-- (at least 500 elements of 10 rows for [1,1,1]; more when an insert's walk did not come by
-- the one element with room left)
SELECT elements BETWEEN 559 AND 1000 AS elements, heap_tids, unreachable
FROM quiver_index_check('t_idx');
SET hnsw.iterative_scan = relaxed_order;
SET hnsw.max_scan_tuples = 100000;
SELECT count(*), count(DISTINCT id) FROM
(SELECT id FROM t ORDER BY val <-> '[1,1,1]' LIMIT 5000) s WHERE id <= 5000;
RESET hnsw.iterative_scan;
RESET hnsw.max_scan_tuples;
SELECT id FROM t ORDER BY val <-> '[30,30,30]', id LIMIT 2;
DROP TABLE t;

-- unlogged
CREATE UNLOGGED TABLE t (val vector(3));
INSERT INTO t (val) VALUES ('[0,0,0]'), ('[1,2,3]'), ('[1,1,1]'), (NULL);
CREATE INDEX ON t USING hnsw (val vector_l2_ops);
SELECT * FROM t ORDER BY val <-> '[3,3,3]';
INSERT INTO t (val) VALUES ('[1,2,4]');
SELECT * FROM t ORDER BY val <-> '[3,3,3]';
SELECT relpersistence, pg_relation_size(oid, 'init') > 0 AS has_init_fork
FROM pg_class WHERE relname = 't_val_idx';
DROP TABLE t;

-- a build larger than maintenance_work_mem
CREATE TABLE t (id int, val vector(1000));
INSERT INTO t SELECT i, array_agg(sin(i * 7 + j) * 10)::vector
FROM generate_series(1, 1000) i, generate_series(1, 1000) j GROUP BY i;
SET maintenance_work_mem = '1MB';
CREATE INDEX t_idx ON t USING hnsw (val vector_l2_ops);
RESET maintenance_work_mem;
SELECT elements, heap_tids, unreachable FROM quiver_index_check('t_idx');
-- same answers as an exact scan for a few queries
CREATE TABLE answers (q int, approx int[], exact int[]);
INSERT INTO answers (q, approx)
SELECT q.id, ARRAY(SELECT id FROM t ORDER BY val <-> q.val LIMIT 5)
FROM t q WHERE q.id % 97 = 0;
SET enable_indexscan = off;
SET enable_seqscan = on;
UPDATE answers a SET exact = ARRAY(SELECT id FROM t ORDER BY val <-> (SELECT val FROM t WHERE id = a.q) LIMIT 5);
SELECT q, approx = exact AS same FROM answers ORDER BY q;
DROP TABLE answers;
DROP TABLE t;
