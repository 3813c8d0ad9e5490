-- Iterative index scans: a selective filter still gets LIMIT rows when they exist.
CREATE TABLE t (id int, val vector(2));
INSERT INTO t SELECT i, ARRAY[i, (i * 7) % 13]::vector FROM generate_series(1, 1000) i;
CREATE INDEX ON t USING hnsw (val vector_l2_ops);
ANALYZE t;
SET enable_seqscan = off;

EXPLAIN (COSTS OFF) SELECT id FROM t WHERE id % 100 = 0 ORDER BY val <-> '[0,0]' LIMIT 5;
-- off: the scan stops after ef_search candidates, none of which pass the 1% filter
SELECT id FROM t WHERE id % 100 = 0 ORDER BY val <-> '[0,0]' LIMIT 5;
SET hnsw.iterative_scan = strict_order;
SELECT id FROM t WHERE id % 100 = 0 ORDER BY val <-> '[0,0]' LIMIT 5;
SET hnsw.iterative_scan = relaxed_order;
SELECT id FROM (SELECT id, val <-> '[0,0]' AS d FROM t WHERE id % 100 = 0
                ORDER BY val <-> '[0,0]' LIMIT 5) s ORDER BY d;
-- fewer matching rows than LIMIT: all of them, then the scan ends
SELECT id FROM t WHERE id % 250 = 0 ORDER BY val <-> '[0,0]' LIMIT 10;
-- no filter: every row comes out, in order (strict) or as a set (relaxed)
SET hnsw.iterative_scan = strict_order;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM t ORDER BY val <-> '[500,5]') s;
WITH r AS (SELECT id, val <-> '[500,5]' AS d, row_number() OVER () AS n
           FROM (SELECT id, val FROM t ORDER BY val <-> '[500,5]' LIMIT 200) s)
SELECT count(*) FILTER (WHERE d < prev) AS out_of_order
FROM (SELECT d, lag(d) OVER (ORDER BY n) AS prev FROM r) x;
SET hnsw.iterative_scan = relaxed_order;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM t ORDER BY val <-> '[500,5]') s;
-- ef_search = 1 still walks on
SET hnsw.ef_search = 1;
SELECT id FROM (SELECT id, val <-> '[0,0]' AS d FROM t ORDER BY val <-> '[0,0]' LIMIT 3) s ORDER BY d;
RESET hnsw.ef_search;
-- max_scan_tuples bounds the walk: fewer rows than asked for
SET hnsw.max_scan_tuples = 50;
SELECT count(*) < 5 AS bounded FROM (SELECT id FROM t WHERE id % 100 = 0 ORDER BY val <-> '[0,0]' LIMIT 5) s;
RESET hnsw.max_scan_tuples;
-- rescans (a lateral join) restart cleanly
SELECT q.x, s.id FROM (VALUES (0), (500)) q(x)
CROSS JOIN LATERAL (SELECT id FROM t WHERE id % 100 = 0 ORDER BY val <-> ARRAY[q.x, 0]::vector LIMIT 2) s
ORDER BY q.x, s.id;
-- an empty table
TRUNCATE t;
SELECT id FROM t WHERE id % 100 = 0 ORDER BY val <-> '[0,0]' LIMIT 5;
RESET hnsw.iterative_scan;
DROP TABLE t;
