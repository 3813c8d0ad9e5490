-- quiver's lsh: hash tables over the rows' codes, multi-probe, exact re-ranking. On small data
-- with enough probes every bucket is read, so the answers are exact; fewer probes give a
-- subset, always in exact order.
SET enable_seqscan = off;
SELECT setseed(0.5);
CREATE TABLE t (id int, v vector(8), h halfvec(8), b bit(16), cat int, tags text[]);
INSERT INTO t SELECT i, x::vector, x::halfvec, binary_quantize(x::vector)::bit(8) || binary_quantize(y::vector)::bit(8),
       i % 10, ARRAY['t' || (i % 3)]
FROM (SELECT i, (SELECT array_agg(round(random()::numeric, 3)::real - 0.5) FROM generate_series(1, 8) WHERE i > 0) AS x,
                (SELECT array_agg(random()::real - 0.5) FROM generate_series(1, 8) WHERE i > 0) AS y
      FROM generate_series(1, 2000) i) s;
CREATE TEMP TABLE q AS SELECT '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]'::vector AS v, '1010110001011100'::bit(16) AS b;

-- every opclass builds; the family and the parameters chosen show in the metapage
CREATE INDEX t_l2 ON t USING lsh (v vector_l2_ops) WITH (tables = 4, bits = 3);
CREATE INDEX t_cos ON t USING lsh (v vector_cosine_ops) WITH (tables = 4, bits = 4);
CREATE INDEX t_hcos ON t USING lsh (h halfvec_cosine_ops) WITH (tables = 4, bits = 4);
CREATE INDEX t_hl2 ON t USING lsh (h halfvec_l2_ops) WITH (tables = 4, bits = 3);
CREATE INDEX t_ham ON t USING lsh (b bit_hamming_ops) WITH (tables = 4, bits = 4);
CREATE INDEX t_jac ON t USING lsh (b bit_jaccard_ops) WITH (tables = 4, bits = 1);
SELECT amvalidate(c.oid) AS valid, count(*) FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE a.amname = 'lsh' GROUP BY 1;
SELECT i, m.version, m.family, m.dimensions, m.tables, m.bits, m.probes, round(m.width::numeric, 3) AS width, m.seed, m.slots
FROM unnest(ARRAY['t_l2', 't_cos', 't_hcos', 't_hl2', 't_ham', 't_jac']) i, quiver_lsh_metapage(i::regclass) m;
SELECT i, c.pages > 0 AS pages, c.elements, c.unreachable FROM unnest(ARRAY['t_l2', 't_cos', 't_ham', 't_jac']) i, quiver_index_check(i::regclass) c;

-- all 16 buckets of K = 4 probed: the exact order (distances compared: ties are unordered)
SET lsh.probes = 16;
EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY v <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]' LIMIT 10;
SELECT array_agg(d) = (SELECT array_agg(d) FROM (SELECT t.v <=> q.v AS d FROM t, q ORDER BY 1 LIMIT 10) e) AS cosine_exact
FROM (SELECT v <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]' AS d FROM t ORDER BY v <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]' LIMIT 10) s;
SELECT array_agg(d) = (SELECT array_agg(d) FROM (SELECT t.h <=> q.v::halfvec AS d FROM t, q ORDER BY 1 LIMIT 10) e) AS halfvec_cosine_exact
FROM (SELECT h <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]' AS d FROM t ORDER BY h <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]' LIMIT 10) s;
EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY b <~> '1010110001011100' LIMIT 10;
SELECT array_agg(d) = (SELECT array_agg(d) FROM (SELECT t.b <~> q.b AS d FROM t, q ORDER BY 1 LIMIT 10) e) AS hamming_exact
FROM (SELECT b <~> '1010110001011100' AS d FROM t ORDER BY b <~> '1010110001011100' LIMIT 10) s;
-- a distance is the operator's: rows and distances as a sequential scan gives them
SELECT id, b <~> '1010110001011100' AS d FROM t ORDER BY b <~> '1010110001011100' LIMIT 1 \gset first_
SELECT :first_d = (SELECT min(b <~> '1010110001011100') FROM t) AS closest_first;
-- p-stable slots have no bounded count: iterative probing reaches every row
SET lsh.iterative_scan = relaxed_order;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM t ORDER BY v <-> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]') s;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM t ORDER BY b <%> '1010110001011100') s;
RESET lsh.iterative_scan;

-- one probe: a subset of the rows, but never a wrong distance or order
SET lsh.probes = 1;
SELECT bool_and(d >= prev) AS ordered, count(*) <= 2000 AS subset FROM (
    SELECT v <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]' AS d,
           lag(v <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]', 1, 0::float8) OVER () AS prev
    FROM (SELECT v FROM t ORDER BY v <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]') o) s;
-- without iterative scans the probed buckets are all there is; with them, every row comes back
SELECT count(*) < 2000 AS probed_only FROM (SELECT id FROM t ORDER BY v <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]') s;
SET lsh.iterative_scan = relaxed_order;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM t ORDER BY v <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]') s;
SET lsh.max_probes = 1;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM t ORDER BY v <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]') s;
RESET lsh.max_probes;
RESET lsh.iterative_scan;
RESET lsh.probes;
DROP INDEX t_l2, t_hcos, t_hl2, t_jac;

-- NULL and the zero vector under cosine are not indexed; a NULL or zero query returns rows in
-- no order (as pgvector)
INSERT INTO t (id, v, b, cat) VALUES (2001, NULL, NULL, 1), (2002, '[0,0,0,0,0,0,0,0]', '0000000000000000', 1);
SELECT count(*) FROM (SELECT id FROM t ORDER BY v <=> NULL) s;
SELECT count(*) FROM (SELECT id FROM t ORDER BY v <=> '[0,0,0,0,0,0,0,0]') s;
SELECT id FROM t ORDER BY b <~> '0000000000000000' LIMIT 1;

-- inserts after the build are found (all buckets probed: exact)
SET lsh.probes = 16;
INSERT INTO t (id, v, b, cat) SELECT 3000 + i, ('[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,' || (0.1 + i / 1000.0) || ']')::vector,
       '1010110001011100', 7 FROM generate_series(1, 300) i;
SELECT id, round((v <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]')::numeric, 6) AS d
FROM t ORDER BY v <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]' LIMIT 3;
SELECT count(*) FROM (SELECT id FROM t ORDER BY b <~> '1010110001011100' LIMIT 400) s WHERE id > 3000;

-- VACUUM: deleted rows leave the index, survivors stay exact, freed entries are reused
DELETE FROM t WHERE id % 3 = 0;
VACUUM t;
SELECT count(*) AS deleted_found FROM (SELECT id FROM t ORDER BY v <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]' LIMIT 500) s WHERE id % 3 = 0;
SELECT array_agg(d) = (SELECT array_agg(d) FROM (SELECT t.v <=> q.v AS d FROM t, q WHERE t.v IS NOT NULL ORDER BY 1 LIMIT 10) e) AS cosine_exact_after_vacuum
FROM (SELECT v <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]' AS d FROM t ORDER BY v <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]' LIMIT 10) s;
SELECT pg_relation_size('t_cos') AS size_before \gset
INSERT INTO t (id, v, b, cat) SELECT 5000 + id, v, b, cat FROM t WHERE id % 3 = 1 AND id < 2000;
SELECT pg_relation_size('t_cos') - :size_before < 8192 * 20 AS space_reused;
SELECT elements, unreachable FROM quiver_index_check('t_cos');
RESET lsh.probes;
DROP INDEX t_cos, t_ham;

-- filter columns: evaluated in the index, k rows whenever k rows match
CREATE INDEX t_f ON t USING lsh (v vector_cosine_ops, cat, tags) WITH (tables = 4, bits = 4, probes = 1);
EXPLAIN (COSTS OFF) SELECT id FROM t WHERE cat = 3 ORDER BY v <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]' LIMIT 5;
SELECT count(*) FROM (SELECT id FROM t WHERE cat = 3 ORDER BY v <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]' LIMIT 150) s;
SELECT count(*) FROM t WHERE cat = 3 AND v IS NOT NULL;
SELECT count(*) FROM (SELECT id FROM t WHERE cat = 3 AND tags && ARRAY['t1'] ORDER BY v <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]' LIMIT 1000) s;
SELECT count(*) FROM t WHERE cat = 3 AND tags && ARRAY['t1'] AND v IS NOT NULL;
SET quiver.filter_strategy = exact;
SELECT array_agg(d) = (SELECT array_agg(d) FROM (SELECT t.v <=> q.v AS d FROM t, q WHERE cat = 3 AND t.v IS NOT NULL ORDER BY 1 LIMIT 5) e) AS exact_strategy
FROM (SELECT v <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]' AS d FROM t WHERE cat = 3 ORDER BY v <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]' LIMIT 5) s;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT id FROM t WHERE cat = 3 ORDER BY v <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]' LIMIT 5;
RESET quiver.filter_strategy;
SELECT count(*) FROM (SELECT id FROM t WHERE cat = 42 ORDER BY v <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]' LIMIT 5) s;
SELECT count(*) FROM (SELECT id FROM t WHERE cat = NULL ORDER BY v <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]' LIMIT 5) s;
DROP INDEX t_f;

-- options and errors
CREATE INDEX t_default ON t USING lsh (v vector_l2_ops) WITH (tables = 0, bits = 0, probes = 0, width = 0);
SELECT family, tables, bits, probes, width > 0 AS width_chosen, slots FROM quiver_lsh_metapage('t_default');
SELECT * FROM quiver_lsh_metapage('t');
CREATE INDEX t_btree ON t (id);
SELECT * FROM quiver_lsh_metapage('t_btree');
DROP INDEX t_btree;
CREATE INDEX ON t USING lsh (v vector_l2_ops) WITH (tables = 65);
CREATE INDEX ON t USING lsh (v vector_l2_ops) WITH (bits = 65);
CREATE INDEX ON t USING lsh (v vector_l2_ops) WITH (width = -1);
CREATE INDEX ON t USING lsh (v vector_l2_ops) WITH (lists = 4);
CREATE INDEX ON t USING lsh (v vector_ip_ops);
CREATE TABLE wide (v vector(2000));
SET maintenance_work_mem = '1MB';
CREATE INDEX ON wide USING lsh (v vector_cosine_ops) WITH (tables = 64, bits = 64);
RESET maintenance_work_mem;
DROP TABLE wide;
CREATE TABLE nodim (v vector);
CREATE INDEX ON nodim USING lsh (v vector_l2_ops);
CREATE TABLE big (v vector(2001));
CREATE INDEX ON big USING lsh (v vector_l2_ops);
CREATE INDEX t_lsh ON t USING lsh (v vector_l2_ops);
SELECT id FROM t ORDER BY v <-> '[1,2,3]' LIMIT 1;
SET lsh.probes = 100001;
SET lsh.iterative_scan = sometimes;
-- a plain WHERE without ORDER BY cannot use it
SET enable_seqscan = on;
EXPLAIN (COSTS OFF) SELECT id FROM t WHERE v = '[1,2,3,4,5,6,7,8]';
DROP TABLE nodim, big;

-- unlogged and temporary tables
CREATE UNLOGGED TABLE u (id int, b bit(16));
INSERT INTO u SELECT id, b FROM t WHERE b IS NOT NULL;
CREATE INDEX ON u USING lsh (b) WITH (tables = 2, bits = 4, probes = 16);
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM u ORDER BY b <~> '1010110001011100' LIMIT 20) s;
CREATE TEMP TABLE tt AS SELECT id, v FROM t WHERE v IS NOT NULL;
CREATE INDEX ON tt USING lsh (v vector_cosine_ops) WITH (tables = 2, bits = 4, probes = 16);
SELECT array_agg(d) = (SELECT array_agg(d) FROM (SELECT tt.v <=> q.v AS d FROM tt, q ORDER BY 1 LIMIT 10) e) AS temp_exact
FROM (SELECT v <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]' AS d FROM tt ORDER BY v <=> '[0.1,-0.2,0.3,-0.1,0.2,0.05,-0.3,0.1]' LIMIT 10) s;
DROP TABLE u, tt, t;
