-- ivfflat options, GUCs, build messages and errors, as pgvector has them.
CREATE TABLE t (val vector(3));
CREATE INDEX ON t USING ivfflat (val vector_l2_ops) WITH (lists = 0);
CREATE INDEX ON t USING ivfflat (val vector_l2_ops) WITH (lists = 32769);
CREATE INDEX ON t USING ivfflat (val vector_l2_ops) WITH (lists = 'many');
CREATE INDEX ON t USING ivfflat (val vector_l2_ops) WITH (probes = 1);
-- an empty table: a NOTICE, and the index still works
CREATE INDEX idx ON t USING ivfflat (val vector_l2_ops) WITH (lists = 5);
INSERT INTO t SELECT ARRAY[i, i, i] FROM generate_series(1, 10) i;
SET enable_seqscan = off;
SET ivfflat.probes = 5;
SELECT val FROM t ORDER BY val <-> '[3,3,3]' LIMIT 3;
RESET ivfflat.probes;
DROP INDEX idx;
-- fewer rows than lists
CREATE INDEX ON t USING ivfflat (val vector_l2_ops) WITH (lists = 20);
DROP TABLE t;

SHOW ivfflat.probes;
SHOW ivfflat.iterative_scan;
SHOW ivfflat.max_probes;
SET ivfflat.probes = 0;
SET ivfflat.probes = 32769;
SET ivfflat.iterative_scan = strict_order;
SET ivfflat.max_probes = 0;
SET ivfflat.unknown = 1;

-- columns the index cannot take
CREATE TABLE t (val vector);
CREATE INDEX ON t USING ivfflat (val vector_l2_ops);
DROP TABLE t;
CREATE TABLE t (val vector(2001));
CREATE INDEX ON t USING ivfflat (val vector_l2_ops);
DROP TABLE t;
CREATE TABLE t (val halfvec(4001));
CREATE INDEX ON t USING ivfflat (val halfvec_l2_ops);
DROP TABLE t;
CREATE TABLE t (val sparsevec(3));
CREATE INDEX ON t USING ivfflat (val);
DROP TABLE t;
CREATE TABLE t (val vector(3), other int);
CREATE INDEX ON t USING ivfflat (val, other);
DROP TABLE t;
-- 2,000 dimensions are fine
CREATE TABLE t (val vector(2000));
INSERT INTO t SELECT array_fill(i::real, ARRAY[2000]) FROM generate_series(1, 3) i;
CREATE INDEX ON t USING ivfflat (val vector_l2_ops) WITH (lists = 1);
SET enable_seqscan = off;
SELECT val <-> array_fill(2::real, ARRAY[2000])::vector AS d FROM t ORDER BY val <-> array_fill(2::real, ARRAY[2000])::vector LIMIT 2;
DROP TABLE t;

-- maintenance_work_mem too small for the lists' centroids
CREATE TABLE t (val vector(2000));
SET maintenance_work_mem = '1MB';
DO $$
BEGIN
    CREATE INDEX ON t USING ivfflat (val vector_l2_ops) WITH (lists = 1000);
EXCEPTION WHEN program_limit_exceeded THEN
    RAISE NOTICE 'refused: %', regexp_replace(SQLERRM, '[0-9]+ MB,', 'N MB,');
END $$;
RESET maintenance_work_mem;
DROP TABLE t;

-- every opclass passes amvalidate
SELECT opcname, amvalidate(c.oid) FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE a.amname = 'ivfflat' ORDER BY opcname;
-- progress phase names
SELECT p, pg_indexam_progress_phasename((SELECT oid FROM pg_am WHERE amname = 'ivfflat'), p) FROM generate_series(1, 5) p;
