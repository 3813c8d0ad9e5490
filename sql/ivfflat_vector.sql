-- ivfflat on vector and halfvec: each opclass returns exact answers when every list is probed,
-- NULLs are not indexed, zero vectors are not indexed under cosine, inserts after the build are
-- found, and the planner uses the index for ORDER BY <op> LIMIT.
SET enable_seqscan = off;

-- L2 (the default opclass)
CREATE TABLE t (val vector(3));
INSERT INTO t (val) VALUES ('[0,0,0]'), ('[1,2,3]'), ('[1,1,1]'), (NULL);
CREATE INDEX ON t USING ivfflat (val) WITH (lists = 1);
INSERT INTO t (val) VALUES ('[1,2,4]');
EXPLAIN (COSTS OFF) SELECT * FROM t ORDER BY val <-> '[3,3,3]' LIMIT 3;
SELECT * FROM t ORDER BY val <-> '[3,3,3]';
SELECT val, round((val <-> '[3,3,3]')::numeric, 4) AS d FROM t ORDER BY val <-> '[3,3,3]' LIMIT 2;
SELECT COUNT(*) FROM (SELECT * FROM t ORDER BY val <-> (SELECT NULL::vector)) t2;
SELECT COUNT(*) FROM t;
TRUNCATE t;
SELECT * FROM t ORDER BY val <-> '[3,3,3]';
DROP TABLE t;

-- inner product
CREATE TABLE t (val vector(3));
INSERT INTO t (val) VALUES ('[0,0,0]'), ('[1,2,3]'), ('[1,1,1]'), (NULL);
CREATE INDEX ON t USING ivfflat (val vector_ip_ops) WITH (lists = 1);
INSERT INTO t (val) VALUES ('[1,2,4]');
SELECT * FROM t ORDER BY val <#> '[3,3,3]';
SELECT COUNT(*) FROM (SELECT * FROM t ORDER BY val <#> (SELECT NULL::vector)) t2;
DROP TABLE t;

-- cosine: the zero vector is not indexed, a zero query gives every indexed row
CREATE TABLE t (val vector(3));
INSERT INTO t (val) VALUES ('[0,0,0]'), ('[1,2,3]'), ('[1,1,1]'), (NULL);
CREATE INDEX ON t USING ivfflat (val vector_cosine_ops) WITH (lists = 1);
INSERT INTO t (val) VALUES ('[1,2,4]');
SELECT * FROM t ORDER BY val <=> '[3,3,3]';
SELECT COUNT(*) FROM (SELECT * FROM t ORDER BY val <=> '[0,0,0]') t2;
SELECT COUNT(*) FROM (SELECT * FROM t ORDER BY val <=> (SELECT NULL::vector)) t2;
DROP TABLE t;

-- halfvec, each opclass
CREATE TABLE t (val halfvec(3));
INSERT INTO t (val) VALUES ('[0,0,0]'), ('[1,2,3]'), ('[1,1,1]'), (NULL);
CREATE INDEX l2 ON t USING ivfflat (val halfvec_l2_ops) WITH (lists = 1);
CREATE INDEX ip ON t USING ivfflat (val halfvec_ip_ops) WITH (lists = 1);
CREATE INDEX cos ON t USING ivfflat (val halfvec_cosine_ops) WITH (lists = 1);
INSERT INTO t (val) VALUES ('[1,2,4]');
EXPLAIN (COSTS OFF) SELECT * FROM t ORDER BY val <-> '[3,3,3]' LIMIT 3;
SELECT * FROM t ORDER BY val <-> '[3,3,3]';
SELECT * FROM t ORDER BY val <#> '[3,3,3]';
SELECT * FROM t ORDER BY val <=> '[3,3,3]';
DROP TABLE t;

-- bit (Hamming)
CREATE TABLE t (val bit(4));
INSERT INTO t (val) VALUES (B'0000'), (B'1100'), (B'1111'), (NULL);
CREATE INDEX ON t USING ivfflat (val bit_hamming_ops) WITH (lists = 1);
INSERT INTO t (val) VALUES (B'1110');
EXPLAIN (COSTS OFF) SELECT * FROM t ORDER BY val <~> B'1111' LIMIT 3;
SELECT val, val <~> B'1111' AS d FROM t ORDER BY val <~> B'1111';
DROP TABLE t;

-- Several lists, every one probed: the exact order of a brute-force sort, ties by row.
CREATE TABLE t (id int, val vector(2));
INSERT INTO t SELECT i, ARRAY[(i * 37) % 101, (i * 53) % 97]::vector FROM generate_series(1, 2000) i;
CREATE INDEX ON t USING ivfflat (val vector_l2_ops) WITH (lists = 20);
SET ivfflat.probes = 20;
CREATE TEMP TABLE exact AS
    SELECT id, row_number() OVER (ORDER BY val <-> '[50,50]', id) AS n FROM t;
SELECT count(*) AS mismatches FROM (
    SELECT id, row_number() OVER () AS n FROM (SELECT id FROM t ORDER BY val <-> '[50,50]' LIMIT 300) s
) got JOIN exact USING (n) WHERE (SELECT val <-> '[50,50]' FROM t WHERE t.id = got.id)
                                 <> (SELECT val <-> '[50,50]' FROM t WHERE t.id = exact.id);
-- one probe returns rows of the nearest list only, closest first
SET ivfflat.probes = 1;
SELECT count(*) > 0 AND count(*) < 2000 AS some_rows FROM (SELECT id FROM t ORDER BY val <-> '[50,50]') s;
WITH r AS (SELECT val <-> '[50,50]' AS d, row_number() OVER () AS n
           FROM (SELECT val FROM t ORDER BY val <-> '[50,50]') s)
SELECT count(*) FILTER (WHERE d < prev) AS out_of_order
FROM (SELECT d, lag(d) OVER (ORDER BY n) AS prev FROM r) x;
-- a tiny work_mem: the scan re-reads its lists and still returns every row once, in order
SET ivfflat.probes = 20;
SET work_mem = 64;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM t ORDER BY val <-> '[50,50]') s;
WITH r AS (SELECT val <-> '[50,50]' AS d, row_number() OVER () AS n
           FROM (SELECT val FROM t ORDER BY val <-> '[50,50]') s)
SELECT count(*) FILTER (WHERE d < prev) AS out_of_order
FROM (SELECT d, lag(d) OVER (ORDER BY n) AS prev FROM r) x;
RESET work_mem;
RESET ivfflat.probes;
DROP TABLE t;

-- a query of other dimensions is an error
CREATE TABLE t (val vector(3));
INSERT INTO t (val) VALUES ('[1,2,3]');
CREATE INDEX ON t USING ivfflat (val vector_l2_ops) WITH (lists = 1);
SELECT * FROM t ORDER BY val <-> '[1,2]';
INSERT INTO t (val) VALUES ('[1,2]');
DROP TABLE t;
