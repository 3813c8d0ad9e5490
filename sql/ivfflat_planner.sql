-- The planner chooses the ivfflat index for k-NN on a large table on its own (enable_seqscan
-- on), not without ORDER BY, and weighs filters: a selective one plans a sequential or bitmap
-- scan (all k rows come back), an unselective one keeps the index; with iterative scans the
-- index stays for filters it can serve.
SELECT setseed(0.5);
CREATE TABLE big (id int, c int, val vector(8));
INSERT INTO big SELECT i, i % 100, (SELECT array_agg(random()::real) FROM generate_series(1, 8) WHERE i > 0)::vector
FROM generate_series(1, 20000) i;
CREATE INDEX big_idx ON big USING ivfflat (val vector_l2_ops) WITH (lists = 20);
ANALYZE big;
EXPLAIN (COSTS OFF) SELECT id FROM big ORDER BY val <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10;
SET ivfflat.probes = 5;
EXPLAIN (COSTS OFF) SELECT id FROM big ORDER BY val <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10;
-- probing every list: still the index (it reads what a sequential scan reads and sorts nothing)
SET ivfflat.probes = 20;
EXPLAIN (COSTS OFF) SELECT id FROM big ORDER BY val <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10;
RESET ivfflat.probes;
EXPLAIN (COSTS OFF) SELECT count(*) FROM big WHERE id < 10;
-- a filter half the rows pass: the index
EXPLAIN (COSTS OFF) SELECT id FROM big WHERE c < 50 ORDER BY val <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10;
-- 1%: one probed list holds about 10 matching rows, too few: no index, and 10 rows come back
EXPLAIN (COSTS OFF) SELECT id FROM big WHERE c = 7 ORDER BY val <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10;
SELECT count(*) FROM (SELECT id FROM big WHERE c = 7 ORDER BY val <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10) s;
-- a btree on the filter column: a bitmap scan on it, then the exact sort
CREATE INDEX big_c_idx ON big (c);
ANALYZE big;
EXPLAIN (COSTS OFF) SELECT id FROM big WHERE c = 7 ORDER BY val <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10;
-- with iterative scans the index goes on probing: the index, and 10 rows
DROP INDEX big_c_idx;
SET ivfflat.iterative_scan = relaxed_order;
EXPLAIN (COSTS OFF) SELECT id FROM big WHERE c = 7 ORDER BY val <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10;
SELECT count(*) FROM (SELECT id FROM big WHERE c = 7 ORDER BY val <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10) s;
RESET ivfflat.iterative_scan;
-- ten probes hold about 100 matching rows: the index
SET ivfflat.probes = 10;
EXPLAIN (COSTS OFF) SELECT id FROM big WHERE c = 7 ORDER BY val <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10;
SELECT count(*) FROM (SELECT id FROM big WHERE c = 7 ORDER BY val <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10) s;
RESET ivfflat.probes;
DROP TABLE big;
