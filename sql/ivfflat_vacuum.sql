-- ivfflat VACUUM removes dead entries; the index keeps answering exactly; inserts reuse lists.
CREATE TABLE t (id int, val vector(2)) WITH (autovacuum_enabled = off);  -- no auto-ANALYZE snapshot may keep VACUUM from removing rows
INSERT INTO t SELECT i, ARRAY[i % 50, i / 50]::vector FROM generate_series(1, 5000) i;
CREATE INDEX t_idx ON t USING ivfflat (val vector_l2_ops) WITH (lists = 8);
DELETE FROM t WHERE id % 3 <> 0;
VACUUM t;
-- the index counted what it kept
SELECT reltuples FROM pg_class WHERE relname = 't_idx';
SET enable_seqscan = off;
SET ivfflat.probes = 8;
SELECT count(*), count(DISTINCT id), min(id % 3), max(id % 3) FROM (SELECT id FROM t ORDER BY val <-> '[10,10]') s;
SELECT id FROM t ORDER BY val <-> '[10,10]', id LIMIT 3;
SELECT id FROM t ORDER BY val <-> '[10,10]' LIMIT 3;
-- everything deleted: nothing comes back
DELETE FROM t;
VACUUM t;
SELECT count(*) FROM (SELECT id FROM t ORDER BY val <-> '[10,10]') s;
INSERT INTO t SELECT i, ARRAY[i, i]::vector FROM generate_series(1, 100) i;
SELECT id FROM t ORDER BY val <-> '[10,10]' LIMIT 3;
SELECT count(*) FROM (SELECT id FROM t ORDER BY val <-> '[10,10]') s;
DROP TABLE t;

-- quiver_index_check reads ivfflat indexes too
CREATE TABLE t (id int, val vector(3)) WITH (autovacuum_enabled = off);  -- no auto-ANALYZE snapshot may keep VACUUM from removing rows
INSERT INTO t SELECT i, ARRAY[i % 7, i % 11, i % 13] FROM generate_series(1, 3000) i;
CREATE INDEX t_l2 ON t USING ivfflat (val vector_l2_ops) WITH (lists = 10);
CREATE INDEX t_cos ON t USING ivfflat (val vector_cosine_ops) WITH (lists = 3);
CREATE INDEX t_half ON t USING ivfflat ((val::halfvec(3)) halfvec_l2_ops) WITH (lists = 4);
INSERT INTO t SELECT i, ARRAY[i % 5, i % 3, 1] FROM generate_series(3001, 4000) i;
DELETE FROM t WHERE id % 4 = 0;
VACUUM t;
SELECT pages > 0 AS has_pages, elements, heap_tids, deleted, entry_level, unreachable
FROM quiver_index_check('t_l2');
SELECT elements FROM quiver_index_check('t_cos');
SELECT elements FROM quiver_index_check('t_half');
SELECT count(*) FROM t;
DROP TABLE t;
