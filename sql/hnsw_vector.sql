-- hnsw on vector: each opclass returns exact answers on a tiny table (the graph reaches every
-- element), NULLs are not indexed, zero vectors are not indexed under cosine, inserts after the
-- build are found, and the planner uses the index for ORDER BY <op> LIMIT.
SET enable_seqscan = off;

-- L2
CREATE TABLE t (val vector(3));
INSERT INTO t (val) VALUES ('[0,0,0]'), ('[1,2,3]'), ('[1,1,1]'), (NULL);
CREATE INDEX ON t USING hnsw (val vector_l2_ops);
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
CREATE INDEX ON t USING hnsw (val vector_ip_ops);
INSERT INTO t (val) VALUES ('[1,2,4]');
EXPLAIN (COSTS OFF) SELECT * FROM t ORDER BY val <#> '[3,3,3]' LIMIT 3;
SELECT * FROM t ORDER BY val <#> '[3,3,3]';
SELECT COUNT(*) FROM (SELECT * FROM t ORDER BY val <#> (SELECT NULL::vector)) t2;
DROP TABLE t;

-- cosine: the zero vector is not indexed, a zero query gives every indexed row
CREATE TABLE t (val vector(3));
INSERT INTO t (val) VALUES ('[0,0,0]'), ('[1,2,3]'), ('[1,1,1]'), (NULL);
CREATE INDEX ON t USING hnsw (val vector_cosine_ops);
INSERT INTO t (val) VALUES ('[1,2,4]');
EXPLAIN (COSTS OFF) SELECT * FROM t ORDER BY val <=> '[3,3,3]' LIMIT 3;
SELECT * FROM t ORDER BY val <=> '[3,3,3]';
SELECT COUNT(*) FROM (SELECT * FROM t ORDER BY val <=> '[0,0,0]') t2;
SELECT COUNT(*) FROM (SELECT * FROM t ORDER BY val <=> (SELECT NULL::vector)) t2;
SELECT * FROM t CROSS JOIN LATERAL (SELECT * FROM t t2 ORDER BY val <=> t.val LIMIT 1) t2
    WHERE t.val != '[0,0,0]' ORDER BY t.val;
DROP TABLE t;

-- L1
CREATE TABLE t (val vector(3));
INSERT INTO t (val) VALUES ('[0,0,0]'), ('[1,2,3]'), ('[1,1,1]'), (NULL);
CREATE INDEX ON t USING hnsw (val vector_l1_ops);
INSERT INTO t (val) VALUES ('[1,2,4]');
EXPLAIN (COSTS OFF) SELECT * FROM t ORDER BY val <+> '[3,3,3]' LIMIT 3;
SELECT * FROM t ORDER BY val <+> '[3,3,3]';
SELECT COUNT(*) FROM (SELECT * FROM t ORDER BY val <+> (SELECT NULL::vector)) t2;
DROP TABLE t;

-- a query of other dimensions is an error once there is something to compare with
CREATE TABLE t (val vector(3));
CREATE INDEX ON t USING hnsw (val vector_l2_ops);
SELECT * FROM t ORDER BY val <-> '[1,2]';
INSERT INTO t (val) VALUES ('[1,2,3]');
SELECT * FROM t ORDER BY val <-> '[1,2]';
DROP TABLE t;

-- an index the query cannot use is not chosen: wrong operator, no ORDER BY, DESC
CREATE TABLE t (id int, val vector(3));
INSERT INTO t SELECT i, ARRAY[i, i % 7, i % 3]::vector FROM generate_series(1, 100) i;
CREATE INDEX t_val_idx ON t USING hnsw (val vector_l2_ops);
EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY val <=> '[1,1,1]' LIMIT 3;
EXPLAIN (COSTS OFF) SELECT id FROM t WHERE val = '[1,1,1]';
EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY val <-> '[1,1,1]' DESC LIMIT 3;
-- and an expression index works like a column index
CREATE INDEX t_expr_idx ON t USING hnsw ((val::vector(3)) vector_cosine_ops);
SELECT id FROM t ORDER BY val::vector(3) <=> '[3,1,0]' LIMIT 3;
DROP TABLE t;
