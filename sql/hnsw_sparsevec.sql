-- hnsw on sparsevec: the four opclasses, exact on a tiny table; pgvector's limit of 1000
-- non-zero elements per indexed value.
SET enable_seqscan = off;

CREATE TABLE t (val sparsevec(3));
INSERT INTO t (val) VALUES ('{}/3'), ('{1:1,2:2,3:3}/3'), ('{1:1,2:1,3:1}/3'), (NULL);
CREATE INDEX t_l2 ON t USING hnsw (val sparsevec_l2_ops);
INSERT INTO t (val) VALUES ('{1:1,2:2,3:4}/3');
EXPLAIN (COSTS OFF) SELECT * FROM t ORDER BY val <-> '{1:3,2:3,3:3}/3' LIMIT 3;
SELECT * FROM t ORDER BY val <-> '{1:3,2:3,3:3}/3';
SELECT COUNT(*) FROM (SELECT * FROM t ORDER BY val <-> (SELECT NULL::sparsevec)) t2;
DROP INDEX t_l2;

CREATE INDEX t_ip ON t USING hnsw (val sparsevec_ip_ops);
EXPLAIN (COSTS OFF) SELECT * FROM t ORDER BY val <#> '{1:3,2:3,3:3}/3' LIMIT 3;
SELECT * FROM t ORDER BY val <#> '{1:3,2:3,3:3}/3';
DROP INDEX t_ip;

CREATE INDEX t_cos ON t USING hnsw (val sparsevec_cosine_ops);
EXPLAIN (COSTS OFF) SELECT * FROM t ORDER BY val <=> '{1:3,2:3,3:3}/3' LIMIT 3;
SELECT * FROM t ORDER BY val <=> '{1:3,2:3,3:3}/3';
SELECT COUNT(*) FROM (SELECT * FROM t ORDER BY val <=> '{}/3') t2;
DROP INDEX t_cos;

CREATE INDEX t_l1 ON t USING hnsw (val sparsevec_l1_ops);
EXPLAIN (COSTS OFF) SELECT * FROM t ORDER BY val <+> '{1:3,2:3,3:3}/3' LIMIT 3;
SELECT * FROM t ORDER BY val <+> '{1:3,2:3,3:3}/3';
DROP TABLE t;

-- sparse values with different supports
CREATE TABLE t (id int, val sparsevec(100000));
INSERT INTO t VALUES (1, '{1:1,50000:2}/100000'), (2, '{2:1,99999:3}/100000'),
    (3, '{50000:2}/100000'), (4, '{1:5}/100000');
CREATE INDEX ON t USING hnsw (val sparsevec_l2_ops);
SELECT id FROM t ORDER BY val <-> '{50000:2}/100000';
DROP TABLE t;

-- non-zero elements
CREATE TABLE t (val sparsevec(1001));
INSERT INTO t (val) VALUES ((array_fill(1, ARRAY[1000]) || 0)::vector::sparsevec);
CREATE INDEX ON t USING hnsw (val sparsevec_l2_ops);
INSERT INTO t (val) VALUES (array_fill(1, ARRAY[1001])::vector::sparsevec);
TRUNCATE t;
INSERT INTO t (val) VALUES (array_fill(1, ARRAY[1001])::vector::sparsevec);
DROP TABLE t;
CREATE TABLE t (val sparsevec(1001));
INSERT INTO t (val) VALUES (array_fill(1, ARRAY[1001])::vector::sparsevec);
CREATE INDEX ON t USING hnsw (val sparsevec_l2_ops);
DROP TABLE t;
