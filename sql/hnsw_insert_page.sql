-- Where inserts look for room: the metapage's insert_page, lowered by VACUUM to the first page
-- with reusable (deleted) slots, must move past pages whose slots the insert could not use.
-- Otherwise every later insert of a large sparsevec reads and locks every page from there to the
-- end of the index (seen before the fix: insert_page stayed at 1).
SET enable_seqscan = off;
CREATE TABLE sp (id int, v sparsevec(2000));
CREATE INDEX sp_idx ON sp USING hnsw (v sparsevec_l2_ops) WITH (m = 4, ef_construction = 8);
-- 600 small elements (one non-zero element each), about 13 pages
INSERT INTO sp SELECT i, format('{%s:1}/2000', i)::sparsevec FROM generate_series(1, 600) i;
SELECT insert_page > 10 AS filled, deleted_count FROM quiver_hnsw_metapage('sp_idx');
DELETE FROM sp WHERE id % 2 = 0;
VACUUM sp;
-- VACUUM points inserts at the first page with deleted slots
SELECT insert_page, deleted_count FROM quiver_hnsw_metapage('sp_idx');
-- a large element (300 non-zero elements, 2.5 kB) fits none of those slots
INSERT INTO sp SELECT 1000, ('{' || string_agg(format('%s:%s', j, j), ',') || '}/2000')::sparsevec
FROM generate_series(1, 300) j;
SELECT insert_page > 10 AS moved_past_small_slots FROM quiver_hnsw_metapage('sp_idx');
-- Every one-hot element is almost equally far from the large one, so the walk picks among them
-- nearly at random: at the default ef_search 2 of 100 builds missed it. Search wide.
SET hnsw.ef_search = 400;
SELECT id FROM sp ORDER BY v <-> (SELECT v FROM sp WHERE id = 1000) LIMIT 1;
RESET hnsw.ef_search;
-- the small slots are used again after the next VACUUM
VACUUM sp;
SELECT insert_page FROM quiver_hnsw_metapage('sp_idx');
INSERT INTO sp VALUES (2000, '{1999:5}/2000');
SELECT insert_page FROM quiver_hnsw_metapage('sp_idx');
-- Every one-hot element is equally far from this query, so a walk with the default ef_search
-- may stop among them before reaching the new one (the random levels decide): search wide.
SET hnsw.ef_search = 400;
SELECT id FROM sp ORDER BY v <-> '{1999:5}/2000' LIMIT 1;
RESET hnsw.ef_search;
SELECT heap_tids, unreachable FROM quiver_index_check('sp_idx');
DROP TABLE sp;

-- the function is for hnsw indexes, and their owners
CREATE TABLE notvec (i int PRIMARY KEY);
SELECT * FROM quiver_hnsw_metapage('notvec_pkey');
SELECT * FROM quiver_hnsw_metapage('notvec');
DROP TABLE notvec;
