-- ALTER EXTENSION quiver UPDATE from 0.1.0 (sql/versions): data and indexes made under 0.1.0
-- keep their answers, filter columns become available, and the upgraded extension holds the
-- same objects with the same descriptions as a fresh 0.2.0 install (this database's).
\set regress_db :DBNAME
DROP DATABASE IF EXISTS quiver_upgrade;
CREATE DATABASE quiver_upgrade;
\c quiver_upgrade
CREATE EXTENSION quiver VERSION '0.1.0';
SELECT extversion FROM pg_extension WHERE extname = 'quiver';
CREATE TABLE t (id int PRIMARY KEY, v vector(3), h halfvec(3), cat int);
INSERT INTO t SELECT i, ARRAY[i % 7, i % 11, i % 13], ARRAY[i % 5, i % 3, 1 + i % 2], i % 4
FROM generate_series(1, 500) i;
CREATE INDEX t_hnsw ON t USING hnsw (v vector_l2_ops);
CREATE INDEX t_ivfflat ON t USING ivfflat (h halfvec_l2_ops) WITH (lists = 4);
CREATE INDEX t_ivf ON t USING ivf (v vector_cosine_ops) WITH (lists = 4, quantizer = 'sq8');
-- 0.1.0 has no operator classes for filter columns
CREATE INDEX ON t USING hnsw (v vector_l2_ops, cat);
SET enable_seqscan = off;
SET hnsw.ef_search = 500;
SET ivfflat.probes = 4;
SET ivf.probes = 4;
SELECT string_agg(id::text, ',') AS l2 FROM (SELECT id FROM t ORDER BY v <-> '[1,2,3]' LIMIT 10) s \gset
SELECT string_agg(id::text, ',') AS half FROM (SELECT id FROM t ORDER BY h <-> '[1,2,1]' LIMIT 10) s \gset
SELECT string_agg(id::text, ',') AS cos FROM (SELECT id FROM t ORDER BY v <=> '[1,2,3]' LIMIT 10) s \gset

ALTER EXTENSION quiver UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'quiver';
SELECT (SELECT string_agg(id::text, ',') FROM (SELECT id FROM t ORDER BY v <-> '[1,2,3]' LIMIT 10) s) = :'l2' AS same_l2,
       (SELECT string_agg(id::text, ',') FROM (SELECT id FROM t ORDER BY h <-> '[1,2,1]' LIMIT 10) s) = :'half' AS same_half,
       (SELECT string_agg(id::text, ',') FROM (SELECT id FROM t ORDER BY v <=> '[1,2,3]' LIMIT 10) s) = :'cos' AS same_cos;
-- new in 0.2.0: filter columns
CREATE INDEX t_filter ON t USING hnsw (v vector_l2_ops, cat);
EXPLAIN (COSTS OFF) SELECT id FROM t WHERE cat = 2 ORDER BY v <-> '[1,2,3]' LIMIT 5;
SELECT id, v <-> '[1,2,3]' AS distance FROM t WHERE cat = 2 ORDER BY v <-> '[1,2,3]', id LIMIT 5;
INSERT INTO t VALUES (1000, '[1,2,3]', '[1,1,1]', 2);
SELECT id FROM t WHERE cat = 2 ORDER BY v <-> '[1,2,3]' LIMIT 1;
SELECT * FROM quiver_index_check('t_filter');
-- new in 0.3.0: lsh
CREATE INDEX t_lsh ON t USING lsh (v vector_cosine_ops, cat) WITH (tables = 4, bits = 4, probes = 16);
SELECT id FROM t WHERE cat = 2 ORDER BY v <=> '[1,2,3]', id LIMIT 3;
SELECT elements FROM quiver_index_check('t_lsh');

-- the same members, with the same descriptions, as a fresh install
SELECT md5(string_agg(m, E'\n' ORDER BY m)) AS upgraded FROM (
    SELECT pg_describe_object(classid, objid, 0) || ': ' || coalesce(obj_description(objid, classid::regclass::text), '-') AS m
    FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
      AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'quiver')) s \gset
SELECT count(*) AS members FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
      AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'quiver');
\c :regress_db
SELECT extversion FROM pg_extension WHERE extname = 'quiver';
SELECT md5(string_agg(m, E'\n' ORDER BY m)) = :'upgraded' AS same_as_fresh_install FROM (
    SELECT pg_describe_object(classid, objid, 0) || ': ' || coalesce(obj_description(objid, classid::regclass::text), '-') AS m
    FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
      AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'quiver')) s;
DROP DATABASE quiver_upgrade;
