-- VACUUM removes dead rows from an hnsw index, repairs the links around them, moves the entry
-- point if needed, and lets later inserts reuse the space; answers stay exact.
CREATE TABLE t (id int, val vector(2)) WITH (autovacuum_enabled = off);  -- no auto-ANALYZE snapshot may keep VACUUM from removing rows
INSERT INTO t SELECT i, ARRAY[i % 30, i / 30]::vector FROM generate_series(0, 899) i;
CREATE INDEX t_idx ON t USING hnsw (val vector_l2_ops);
SELECT elements, heap_tids, deleted, unreachable FROM quiver_index_check('t_idx');
SET enable_seqscan = off;

DELETE FROM t WHERE id % 3 <> 0;
VACUUM t;
SELECT elements, heap_tids, deleted, unreachable FROM quiver_index_check('t_idx');
SELECT id FROM t ORDER BY val <-> '[10.2,10.1]' LIMIT 5;
SELECT count(*) FROM (SELECT id FROM t ORDER BY val <-> '[15,15]' LIMIT 40) s WHERE id % 3 = 0;

-- inserts reuse the deleted slots: the index grows by a page at most (an element of a higher
-- level than any free slot needs new space)
SELECT pg_relation_size('t_idx') AS size_before \gset
INSERT INTO t SELECT i + 1000, ARRAY[i % 30 + 0.5, i / 30 + 0.5]::vector FROM generate_series(0, 299) i;
SELECT pg_relation_size('t_idx') - :size_before <= 8192 AS reused;
SELECT elements, heap_tids, unreachable FROM quiver_index_check('t_idx');
SELECT id FROM t ORDER BY val <-> '[10.4,10.4]' LIMIT 3;

-- updates (new row versions) and a second VACUUM
UPDATE t SET val = val + '[100,100]' WHERE id >= 1000 AND id < 1100;
VACUUM t;
SELECT elements, heap_tids, unreachable FROM quiver_index_check('t_idx');
SELECT id FROM t ORDER BY val <-> '[110.6,100.7]' LIMIT 3;
SELECT id FROM t ORDER BY val <-> '[10.4,10.4]' LIMIT 3;

-- deleting nearly everything (the entry point with it), then everything
DELETE FROM t WHERE id NOT IN (3, 450, 897);
VACUUM t;
SELECT elements, heap_tids, unreachable FROM quiver_index_check('t_idx');
SELECT id FROM t ORDER BY val <-> '[0,0]';
DELETE FROM t;
VACUUM t;
SELECT elements, heap_tids, unreachable FROM quiver_index_check('t_idx');
SELECT id FROM t ORDER BY val <-> '[0,0]';
INSERT INTO t VALUES (1, '[1,1]'), (2, '[2,2]');
SELECT id FROM t ORDER BY val <-> '[0,0]';
DROP TABLE t;
