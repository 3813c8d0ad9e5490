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
-- an iterative scan that resumes after walks of five other hnsw indexes (more than a backend
-- keeps buffer hints for, so its hints go to them meanwhile) still returns the right rows
SET hnsw.iterative_scan = strict_order;
CREATE TABLE u1 (id int, val vector(2));
INSERT INTO u1 SELECT i, ARRAY[i + 0.1, (i * 7) % 13]::vector FROM generate_series(1, 1000) i;
CREATE TABLE u2 (LIKE u1);
INSERT INTO u2 SELECT id, val + '[0.1,0]' FROM u1;
CREATE TABLE u3 (LIKE u1);
INSERT INTO u3 SELECT id, val + '[0.2,0]' FROM u1;
CREATE TABLE u4 (LIKE u1);
INSERT INTO u4 SELECT id, val + '[0.3,0]' FROM u1;
CREATE TABLE u5 (LIKE u1);
INSERT INTO u5 SELECT id, val + '[0.4,0]' FROM u1;
CREATE INDEX ON u1 USING hnsw (val vector_l2_ops);
CREATE INDEX ON u2 USING hnsw (val vector_l2_ops);
CREATE INDEX ON u3 USING hnsw (val vector_l2_ops);
CREATE INDEX ON u4 USING hnsw (val vector_l2_ops);
CREATE INDEX ON u5 USING hnsw (val vector_l2_ops);
SELECT array_agg(id ORDER BY id) AS ids,
       bool_and(n1 = id AND n2 = id AND n3 = id AND n4 = id AND n5 = id) AS nearest_found
FROM (SELECT o.id,
             (SELECT id FROM u1 ORDER BY val <-> o.val LIMIT 1) AS n1,
             (SELECT id FROM u2 ORDER BY val <-> o.val LIMIT 1) AS n2,
             (SELECT id FROM u3 ORDER BY val <-> o.val LIMIT 1) AS n3,
             (SELECT id FROM u4 ORDER BY val <-> o.val LIMIT 1) AS n4,
             (SELECT id FROM u5 ORDER BY val <-> o.val LIMIT 1) AS n5
      FROM (SELECT id, val FROM t WHERE id % 100 = 0 ORDER BY val <-> '[0,0]' LIMIT 10) o) s;
DROP TABLE u1, u2, u3, u4, u5;
SET hnsw.iterative_scan = relaxed_order;
-- an empty table
TRUNCATE t;
SELECT id FROM t WHERE id % 100 = 0 ORDER BY val <-> '[0,0]' LIMIT 5;
RESET hnsw.iterative_scan;
DROP TABLE t;
