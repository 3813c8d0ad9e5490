-- hnsw on bit: Hamming and Jaccard, exact on a tiny table; lengths up to 64000; varbit refused.
SET enable_seqscan = off;

CREATE TABLE t (val bit(3));
INSERT INTO t (val) VALUES (B'000'), (B'100'), (B'111'), (NULL);
CREATE INDEX ON t USING hnsw (val bit_hamming_ops);
INSERT INTO t (val) VALUES (B'110');
EXPLAIN (COSTS OFF) SELECT * FROM t ORDER BY val <~> B'111' LIMIT 3;
SELECT * FROM t ORDER BY val <~> B'111';
SELECT COUNT(*) FROM (SELECT * FROM t ORDER BY val <~> (SELECT NULL::bit)) t2;
SELECT * FROM t ORDER BY val <~> B'1111';
DROP TABLE t;

CREATE TABLE t (val bit(4));
INSERT INTO t (val) VALUES (B'0000'), (B'1100'), (B'1111'), (NULL);
CREATE INDEX ON t USING hnsw (val bit_jaccard_ops);
INSERT INTO t (val) VALUES (B'1110');
EXPLAIN (COSTS OFF) SELECT * FROM t ORDER BY val <%> B'1111' LIMIT 3;
SELECT * FROM t ORDER BY val <%> B'1111';
SELECT COUNT(*) FROM (SELECT * FROM t ORDER BY val <%> (SELECT NULL::bit)) t2;
DROP TABLE t;

-- longer strings, several bytes
CREATE TABLE t (id int, val bit(70));
INSERT INTO t SELECT i, (repeat('1', i) || repeat('0', 70 - i))::bit(70) FROM generate_series(0, 70, 7) i;
CREATE INDEX ON t USING hnsw (val bit_hamming_ops);
SELECT id, val <~> (repeat('1', 30) || repeat('0', 40))::bit(70) AS d FROM t
    ORDER BY val <~> (repeat('1', 30) || repeat('0', 40))::bit(70) LIMIT 4;
DROP TABLE t;

-- varbit
CREATE TABLE t (val varbit(3));
CREATE INDEX ON t USING hnsw (val bit_hamming_ops);
CREATE INDEX ON t USING hnsw ((val::bit(3)) bit_hamming_ops);
CREATE INDEX ON t USING hnsw ((val::bit(64001)) bit_hamming_ops);
DROP TABLE t;

-- dimensions
CREATE TABLE t (val bit(64000));
CREATE INDEX ON t USING hnsw (val bit_hamming_ops);
INSERT INTO t (val) VALUES (repeat('10', 32000)::bit(64000)), (repeat('1', 64000)::bit(64000));
SELECT val <~> repeat('1', 64000)::bit(64000) AS d FROM t ORDER BY val <~> repeat('1', 64000)::bit(64000);
DROP TABLE t;
CREATE TABLE t (val bit(64001));
CREATE INDEX ON t USING hnsw (val bit_hamming_ops);
DROP TABLE t;
