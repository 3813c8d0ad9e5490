-- hnsw on halfvec: the four opclasses, exact on a tiny table.
SET enable_seqscan = off;

CREATE TABLE t (val halfvec(3));
INSERT INTO t (val) VALUES ('[0,0,0]'), ('[1,2,3]'), ('[1,1,1]'), (NULL);
CREATE INDEX t_l2 ON t USING hnsw (val halfvec_l2_ops);
INSERT INTO t (val) VALUES ('[1,2,4]');
EXPLAIN (COSTS OFF) SELECT * FROM t ORDER BY val <-> '[3,3,3]' LIMIT 3;
SELECT * FROM t ORDER BY val <-> '[3,3,3]';
SELECT COUNT(*) FROM (SELECT * FROM t ORDER BY val <-> (SELECT NULL::halfvec)) t2;
DROP INDEX t_l2;

CREATE INDEX t_ip ON t USING hnsw (val halfvec_ip_ops);
EXPLAIN (COSTS OFF) SELECT * FROM t ORDER BY val <#> '[3,3,3]' LIMIT 3;
SELECT * FROM t ORDER BY val <#> '[3,3,3]';
DROP INDEX t_ip;

CREATE INDEX t_cos ON t USING hnsw (val halfvec_cosine_ops);
EXPLAIN (COSTS OFF) SELECT * FROM t ORDER BY val <=> '[3,3,3]' LIMIT 3;
SELECT * FROM t ORDER BY val <=> '[3,3,3]';
SELECT COUNT(*) FROM (SELECT * FROM t ORDER BY val <=> '[0,0,0]') t2;
DROP INDEX t_cos;

CREATE INDEX t_l1 ON t USING hnsw (val halfvec_l1_ops);
EXPLAIN (COSTS OFF) SELECT * FROM t ORDER BY val <+> '[3,3,3]' LIMIT 3;
SELECT * FROM t ORDER BY val <+> '[3,3,3]';
DROP TABLE t;

-- dimensions: up to 4000 for halfvec
CREATE TABLE t (val halfvec(4000));
CREATE INDEX ON t USING hnsw (val halfvec_l2_ops);
INSERT INTO t (val) SELECT array_fill(i::real / 10, ARRAY[4000])::halfvec FROM generate_series(1, 3) i;
SELECT round(l2_norm(val)::numeric, 2) FROM t ORDER BY val <-> array_fill(0.21::real, ARRAY[4000])::halfvec LIMIT 1;
DROP TABLE t;
CREATE TABLE t (val halfvec(4001));
CREATE INDEX ON t USING hnsw (val halfvec_l2_ops);
DROP TABLE t;
