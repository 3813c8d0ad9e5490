-- ivfflat iterative scans: a selective filter gets LIMIT rows when they exist.
CREATE TABLE t (id int, val vector(2));
INSERT INTO t SELECT i, ARRAY[i, (i * 7) % 13]::vector FROM generate_series(1, 1000) i;
CREATE INDEX ON t USING ivfflat (val vector_l2_ops) WITH (lists = 10);
ANALYZE t;
SET enable_seqscan = off;

EXPLAIN (COSTS OFF) SELECT id FROM t WHERE id % 100 = 0 ORDER BY val <-> '[0,0]' LIMIT 5;
-- off: one probed list holds about 100 rows near [0,0], of which one passes the 1% filter
SELECT count(*) < 5 AS fewer FROM (SELECT id FROM t WHERE id % 100 = 0 ORDER BY val <-> '[0,0]' LIMIT 5) s;
SET ivfflat.iterative_scan = relaxed_order;
SELECT id FROM (SELECT id, val <-> '[0,0]' AS d FROM t WHERE id % 100 = 0
                ORDER BY val <-> '[0,0]' LIMIT 5) s ORDER BY d;
-- fewer matching rows than LIMIT: all of them, then the scan ends
SELECT id FROM t WHERE id % 250 = 0 ORDER BY val <-> '[0,0]' LIMIT 10;
-- no filter: every row comes out once
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM t ORDER BY val <-> '[500,5]') s;
-- max_probes bounds the scan: fewer rows than asked for
SET ivfflat.max_probes = 2;
SELECT count(*) < 5 AS bounded FROM (SELECT id FROM t WHERE id % 100 = 0 ORDER BY val <-> '[0,0]' LIMIT 5) s;
RESET ivfflat.max_probes;
-- rescans (a lateral join) restart cleanly
SELECT q.x, s.id FROM (VALUES (0), (500)) q(x)
CROSS JOIN LATERAL (SELECT id FROM t WHERE id % 100 = 0 ORDER BY val <-> ARRAY[q.x, 0]::vector LIMIT 2) s
ORDER BY q.x, s.id;
DROP TABLE t;
