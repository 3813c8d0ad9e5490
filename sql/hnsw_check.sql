-- quiver_index_check(regclass): a healthy hnsw index passes (and its counts match the table),
-- through build, inserts, duplicates, deletes + VACUUM, for every indexed type; anything that
-- is not an hnsw index is refused.

CREATE TABLE hnsw_check_t (id int PRIMARY KEY, v vector(3));
-- Deterministic pseudo-random vectors (4 decimals), distinct for distinct ids.
CREATE FUNCTION hnsw_check_vec(i int, dim int) RETURNS vector LANGUAGE sql IMMUTABLE
    AS $$ SELECT array_agg(round(sin(i * 12.9898 + k * 78.233)::numeric, 4))::real[]::vector
          FROM generate_series(1, dim) k $$;
INSERT INTO hnsw_check_t SELECT i, hnsw_check_vec(i, 3) FROM generate_series(1, 300) i;
INSERT INTO hnsw_check_t VALUES (1001, NULL), (1002, '[0,0,0]');
CREATE INDEX hnsw_check_l2 ON hnsw_check_t USING hnsw (v vector_l2_ops) WITH (m = 4, ef_construction = 16);
CREATE INDEX hnsw_check_cos ON hnsw_check_t USING hnsw (v vector_cosine_ops);

-- 301 distinct vectors: one element each under L2 (NULL is not indexed); under cosine the zero
-- vector is not indexed either.
SELECT count(DISTINCT v) FROM hnsw_check_t;
SELECT pages >= 2 AS has_pages, elements, heap_tids, deleted, entry_level >= 0 AS has_entry, unreachable
FROM quiver_index_check('hnsw_check_l2');
SELECT elements, heap_tids, deleted, unreachable FROM quiver_index_check('hnsw_check_cos');

-- Inserts after the build, including duplicates of existing vectors (they share an element).
INSERT INTO hnsw_check_t SELECT i, v FROM hnsw_check_t, generate_series(2001, 2005) i WHERE id = 7;
INSERT INTO hnsw_check_t
    SELECT i, hnsw_check_vec(i, 3) FROM generate_series(3001, 3100) i;
SELECT elements, heap_tids, deleted, unreachable FROM quiver_index_check('hnsw_check_l2');
SELECT elements, heap_tids, deleted, unreachable FROM quiver_index_check('hnsw_check_cos');

-- Deletes + VACUUM: dead heap TIDs leave, elements without rows become deleted slots, and
-- new rows may reuse them.
DELETE FROM hnsw_check_t WHERE id % 3 = 0 OR id BETWEEN 2001 AND 2003;
VACUUM hnsw_check_t;
SELECT count(*) FILTER (WHERE v IS NOT NULL) AS rows FROM hnsw_check_t;
SELECT heap_tids, unreachable FROM quiver_index_check('hnsw_check_l2');
SELECT heap_tids, unreachable FROM quiver_index_check('hnsw_check_cos');
INSERT INTO hnsw_check_t
    SELECT i, hnsw_check_vec(i, 3) FROM generate_series(4001, 4050) i;
SELECT heap_tids, unreachable FROM quiver_index_check('hnsw_check_l2');

-- An empty index: only the metapage, no entry point.
CREATE TABLE hnsw_check_empty (v vector(4));
CREATE INDEX hnsw_check_empty_idx ON hnsw_check_empty USING hnsw (v vector_l2_ops);
SELECT * FROM quiver_index_check('hnsw_check_empty_idx');
INSERT INTO hnsw_check_empty VALUES (NULL);
SELECT elements, entry_level FROM quiver_index_check('hnsw_check_empty_idx');
INSERT INTO hnsw_check_empty VALUES ('[1,2,3,4]');
SELECT elements, heap_tids, entry_level >= 0 AS has_entry FROM quiver_index_check('hnsw_check_empty_idx');

-- The other representations: float16, sparse, bits.
CREATE TABLE hnsw_check_types (id int, h halfvec(3), s sparsevec(1000), b bit(13));
INSERT INTO hnsw_check_types
    SELECT i, hnsw_check_vec(i, 3)::halfvec,
           format('{%s:%s,%s:%s,%s:%s}/1000', i % 10 + 1, sin(i)::real, i % 7 + 20, cos(i)::real,
                  i % 13 + 40, sin(i * 3)::real)::sparsevec,
           (i * 37 % 8192)::bit(13)
    FROM generate_series(1, 120) i;
CREATE INDEX hnsw_check_h_l2 ON hnsw_check_types USING hnsw (h halfvec_l2_ops);
CREATE INDEX hnsw_check_h_cos ON hnsw_check_types USING hnsw (h halfvec_cosine_ops);
CREATE INDEX hnsw_check_s_ip ON hnsw_check_types USING hnsw (s sparsevec_ip_ops);
CREATE INDEX hnsw_check_s_cos ON hnsw_check_types USING hnsw (s sparsevec_cosine_ops);
CREATE INDEX hnsw_check_b_ham ON hnsw_check_types USING hnsw (b bit_hamming_ops);
CREATE INDEX hnsw_check_b_jac ON hnsw_check_types USING hnsw (b bit_jaccard_ops);
SELECT i.relname, c.heap_tids, c.unreachable
FROM pg_class i, quiver_index_check(i.oid) c
WHERE i.relname LIKE 'hnsw_check\__\_%' AND i.relam = (SELECT oid FROM pg_am WHERE amname = 'hnsw')
ORDER BY 1;

-- Refused: a table, a btree index, a sequence, a view; NULL gives NULL.
SELECT * FROM quiver_index_check('hnsw_check_t');
SELECT * FROM quiver_index_check('hnsw_check_t_pkey');
CREATE SEQUENCE hnsw_check_seq;
SELECT * FROM quiver_index_check('hnsw_check_seq');
CREATE VIEW hnsw_check_view AS SELECT 1 AS x;
SELECT * FROM quiver_index_check('hnsw_check_view');
SELECT * FROM quiver_index_check('hnsw_check_missing');
SELECT quiver_index_check(NULL) IS NULL AS is_null;

-- Only the table's owner may check (the check locks the table against writes).
CREATE ROLE hnsw_check_role;
SET ROLE hnsw_check_role;
SELECT * FROM quiver_index_check('hnsw_check_l2');
RESET ROLE;
DROP ROLE hnsw_check_role;

DROP VIEW hnsw_check_view;
DROP SEQUENCE hnsw_check_seq;
DROP TABLE hnsw_check_t, hnsw_check_empty, hnsw_check_types;
DROP FUNCTION hnsw_check_vec(int, int);
