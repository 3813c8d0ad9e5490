-- hnsw options, settings and limits: pgvector's ranges and messages; amvalidate.
CREATE TABLE t (val vector(3));
CREATE INDEX ON t USING hnsw (val vector_l2_ops) WITH (m = 1);
CREATE INDEX ON t USING hnsw (val vector_l2_ops) WITH (m = 101);
CREATE INDEX ON t USING hnsw (val vector_l2_ops) WITH (ef_construction = 3);
CREATE INDEX ON t USING hnsw (val vector_l2_ops) WITH (ef_construction = 1001);
CREATE INDEX ON t USING hnsw (val vector_l2_ops) WITH (m = 16, ef_construction = 31);
CREATE INDEX ON t USING hnsw (val vector_l2_ops) WITH (lists = 10);
CREATE INDEX t_idx ON t USING hnsw (val vector_l2_ops) WITH (m = 16, ef_construction = 32);
SELECT reloptions FROM pg_class WHERE relname = 't_idx';
ALTER INDEX t_idx SET (m = 2, ef_construction = 4);
SELECT reloptions FROM pg_class WHERE relname = 't_idx';
DROP TABLE t;

-- extreme settings still give exact answers on a small table
CREATE TABLE t (id int, val vector(2));
INSERT INTO t SELECT i, ARRAY[i % 10, i / 10]::vector FROM generate_series(0, 99) i;
CREATE INDEX ON t USING hnsw (val vector_l2_ops) WITH (m = 2, ef_construction = 4);
SET enable_seqscan = off;
SET hnsw.ef_search = 100;
SELECT id FROM t ORDER BY val <-> '[4.1,5.2]' LIMIT 3;
RESET hnsw.ef_search;
RESET enable_seqscan;
DROP TABLE t;

SHOW hnsw.ef_search;
SET hnsw.ef_search = 0;
SET hnsw.ef_search = 1001;
SHOW hnsw.iterative_scan;
SET hnsw.iterative_scan = on;
SHOW hnsw.max_scan_tuples;
SET hnsw.max_scan_tuples = 0;
SHOW hnsw.scan_mem_multiplier;
SET hnsw.scan_mem_multiplier = 0;
SET hnsw.scan_mem_multiplier = 1001;
SET hnsw.nonexistent = 1;

-- dimensions
CREATE TABLE t (val vector(2000));
CREATE INDEX ON t USING hnsw (val vector_l2_ops);
INSERT INTO t (val) SELECT array_fill(i, ARRAY[2000])::vector FROM generate_series(1, 3) i;
SET enable_seqscan = off;
SELECT vector_norm(val)::int FROM t ORDER BY val <-> array_fill(2.2, ARRAY[2000])::vector;
RESET enable_seqscan;
DROP TABLE t;
CREATE TABLE t (val vector(2001));
CREATE INDEX ON t USING hnsw (val vector_l2_ops);
DROP TABLE t;
CREATE TABLE t (val vector);
CREATE INDEX ON t USING hnsw (val vector_l2_ops);
DROP TABLE t;
CREATE TABLE t (val int4);
CREATE INDEX ON t USING hnsw (val);
DROP TABLE t;

-- every operator class validates, and names the right pieces
SELECT opcname FROM pg_opclass WHERE NOT amvalidate(oid);
SELECT c.opcname, t.typname, o.oprname, array_agg(p.amprocnum ORDER BY p.amprocnum) AS procs
FROM pg_opclass c
JOIN pg_am a ON a.oid = c.opcmethod AND a.amname = 'hnsw'
JOIN pg_type t ON t.oid = c.opcintype
JOIN pg_amop ao ON ao.amopfamily = c.opcfamily
JOIN pg_operator o ON o.oid = ao.amopopr
JOIN pg_amproc p ON p.amprocfamily = c.opcfamily
GROUP BY c.opcname, t.typname, o.oprname ORDER BY c.opcname;
-- a broken opclass is caught
CREATE OPERATOR CLASS broken_ops FOR TYPE vector USING hnsw AS
    OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
    FUNCTION 1 vector_l2_squared_distance(vector, vector),
    FUNCTION 3 quiver_hnsw_vector_cosine_info(internal);
SELECT amvalidate(oid) FROM pg_opclass WHERE opcname = 'broken_ops';
DROP OPERATOR CLASS broken_ops USING hnsw;
CREATE OPERATOR CLASS broken_ops FOR TYPE vector USING hnsw AS
    OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
    FUNCTION 1 vector_l2_squared_distance(vector, vector);
SELECT amvalidate(oid) FROM pg_opclass WHERE opcname = 'broken_ops';
DROP OPERATOR CLASS broken_ops USING hnsw;
SELECT amname, amtype FROM pg_am WHERE amname = 'hnsw';
