-- Filter columns in hnsw indexes: every predicate form and type evaluated inside the index,
-- compared with the exact answer (sequential scan + sort) on data without distance ties.
SET client_min_messages = warning;
SELECT setseed(0.11);
CREATE TABLE ft (
	id int PRIMARY KEY, v vector(8),
	s int2, i int4, l int8, b bool, t text, d date, ts timestamptz, tsl timestamp,
	ia int4[], la int8[], ta text[]);
INSERT INTO ft
SELECT g,
	(SELECT array_agg(random())::real[]::vector FROM generate_series(1, 8) WHERE g > 0),
	(g % 7)::int2,
	CASE WHEN g % 11 = 0 THEN NULL ELSE g % 10 END,
	g::int8 * 1000003,
	g % 3 = 0,
	CASE WHEN g % 13 = 0 THEN NULL ELSE 'cat' || (g % 5) END,
	date '2024-01-01' + (g % 400),
	timestamptz '2024-01-01 00:00+00' + g * interval '1 hour',
	timestamp '2024-01-01 00:00' + g * interval '1 minute',
	CASE WHEN g % 17 = 0 THEN NULL ELSE ARRAY[g % 4, g % 9] END,
	ARRAY[g::int8 % 6, NULL],
	CASE WHEN g % 19 = 0 THEN '{}' ELSE ARRAY['x' || (g % 3), 'y' || (g % 8)] END
FROM generate_series(1, 3000) g;
CREATE INDEX ft_idx ON ft USING hnsw (v vector_l2_ops, s, i, l, b, t, d, ts, tsl, ia, la, ta)
	WITH (m = 16, ef_construction = 100);
ANALYZE ft;
SELECT pages > 0 AS built, elements, heap_tids, unreachable FROM quiver_index_check('ft_idx');

-- The k nearest rows under `cond` by the index (forced) and by an exact sort, compared by
-- their distances (rows at equal distances may come in either order).
-- Returns whether the condition was evaluated in the index ("index" / "filter") and "ok n"
-- with the row count, or both answers when they differ.
CREATE FUNCTION knn_check(cond text, k int DEFAULT 10) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	q text := '[0.5,0.4,0.6,0.5,0.3,0.7,0.5,0.5]';
	sql text := format('SELECT array_agg(d) FROM (SELECT v <-> %L AS d FROM ft WHERE %s ORDER BY v <-> %L LIMIT %s) s',
	                   q, cond, q, k);
	got float8[];
	want float8[];
	plan text := '';
	line text;
BEGIN
	PERFORM set_config('enable_seqscan', 'off', true);
	PERFORM set_config('enable_bitmapscan', 'off', true);
	PERFORM set_config('enable_indexscan', 'on', true);
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || sql LOOP
		plan := plan || line || E'\n';
	END LOOP;
	EXECUTE sql INTO got;
	PERFORM set_config('enable_seqscan', 'on', true);
	PERFORM set_config('enable_indexscan', 'off', true);
	EXECUTE sql INTO want;
	PERFORM set_config('enable_indexscan', 'on', true);
	RETURN CASE WHEN plan LIKE '%Index Cond%' THEN 'index ' ELSE 'filter ' END ||
	       CASE WHEN got IS NOT DISTINCT FROM want THEN 'ok ' || coalesce(cardinality(got), 0)
	            ELSE 'got ' || coalesce(got::text, '{}') || ' want ' || coalesce(want::text, '{}') END;
END
$$;

CREATE TABLE conds (n serial, cond text);
INSERT INTO conds (cond) VALUES
	('s = 3'), ('s <> 3'), ('s < 2'), ('s <= 2'), ('s > 5'), ('s >= 5'),
	('i = 4'), ('i <> 4'), ('i < 3'), ('i >= 8'), ('i IS NULL'), ('i IS NOT NULL'),
	('i = 4::int8'), ('i < 3::int2'), ('l = 7000021'), ('l > 2999000000'), ('l <= 5000015::int4'),
	('b = true'), ('b <> true'), ('b IS TRUE'),
	('t = ''cat2'''), ('t <> ''cat2'''), ('t IS NULL'), ('t = ''nope'''),
	('d = date ''2024-01-05'''), ('d < date ''2024-01-10'''), ('d >= date ''2025-01-30'''),
	('ts < timestamptz ''2024-01-02 00:00+00'''), ('ts > timestamptz ''2024-05-01 00:00+00'''),
	('tsl <= timestamp ''2024-01-01 02:00'''),
	('ia && ''{3}'''), ('ia @> ''{1,1}'''), ('ia @> ''{}'''), ('ia && ''{}'''), ('ia IS NULL'),
	('la && ''{5}'''), ('la @> ''{2}'''),
	('ta && ''{x1,y7}'''), ('ta @> ''{x2,y5}'''), ('ta @> ''{}'''),
	('s = 3 AND i = 4'), ('s = 3 AND t = ''cat3'' AND ia && ''{1}'''),
	('i = 1 AND i = 2'), ('i > 2 AND i < 5 AND b'), ('s = NULL'), ('i < NULL'),
	('id = 77'), ('i = 4 AND id % 2 = 0'),
	-- PostgreSQL 15's planner never combines = ANY on a later index column, nor a boolean
	-- column outside btree/hash, with ORDER BY: those stay executor filters.
	('i = ANY(''{1,2}'')'), ('t IN (''cat1'', ''cat4'')');

-- walk and exact, with ef_search above k so the walk is exact on this small graph.
SET hnsw.ef_search = 200;
SET quiver.filter_strategy = walk;
SELECT n, cond, knn_check(cond) FROM conds ORDER BY n;
SET quiver.filter_strategy = exact;
SELECT n, cond, knn_check(cond) FROM conds WHERE knn_check(cond) NOT LIKE '% ok %' ORDER BY n;
SELECT count(*) AS exact_checked FROM conds;
SET quiver.filter_strategy = auto;
SELECT n, cond, knn_check(cond) FROM conds WHERE knn_check(cond) NOT LIKE '% ok %' ORDER BY n;

-- Under exact every row comes back in order, whatever the limit (several batches).
SET quiver.filter_strategy = exact;
SET work_mem = '64kB';
SELECT left(knn_check('s <> 3', 2000), 40);
RESET work_mem;

-- Iterative scans with a filter: more rows than ef_search.
SET quiver.filter_strategy = walk;
SET hnsw.ef_search = 20;
SET hnsw.iterative_scan = relaxed_order;
SELECT count(*) FROM (SELECT id FROM ft WHERE s = 3 ORDER BY v <-> '[0.5,0.4,0.6,0.5,0.3,0.7,0.5,0.5]' LIMIT 300) x;
SELECT count(*) FROM ft WHERE s = 3;
RESET hnsw.iterative_scan;
-- Without it a walk still returns k <= ef_search rows when k rows match, however few match.
SELECT knn_check('i = 4 AND t = ''cat4''', 10);
SELECT knn_check('l = 7000021', 10);
-- and more rows than ef_search go on as an iterative scan (relaxed order): all 429 of s = 3.
SELECT count(*) FROM (SELECT id FROM ft WHERE s = 3 ORDER BY v <-> '[0.5,0.4,0.6,0.5,0.3,0.7,0.5,0.5]' LIMIT 1000) x;
RESET hnsw.ef_search;
RESET quiver.filter_strategy;

-- Inserts after the build: rows with one vector and different filter values stay apart.
INSERT INTO ft (id, v, s, i, t) SELECT 10000 + g, '[0.5,0.4,0.6,0.5,0.3,0.7,0.5,0.5]', g % 2, g, 'dup' FROM generate_series(1, 30) g;
SET enable_seqscan = off;
SELECT id, s, i FROM ft WHERE t = 'dup' AND s = 1 AND i < 8 ORDER BY v <-> '[0.5,0.4,0.6,0.5,0.3,0.7,0.5,0.5]', id LIMIT 10;
SELECT count(*) FROM (SELECT id FROM ft WHERE t = 'dup' AND s = 0 ORDER BY v <-> '[0.5,0.4,0.6,0.5,0.3,0.7,0.5,0.5]' LIMIT 20) x;
RESET enable_seqscan;
SELECT elements, heap_tids, unreachable FROM quiver_index_check('ft_idx');
DELETE FROM ft WHERE id > 10000 AND s = 0;
VACUUM ft;
SELECT elements, heap_tids, unreachable FROM quiver_index_check('ft_idx');
SELECT knn_check('t = ''dup''', 20);

-- A build with duplicates: one vector, two filter values.
CREATE TABLE dups (id int, v vector(2), c int);
INSERT INTO dups SELECT g, '[1,1]', g % 2 FROM generate_series(1, 25) g;
INSERT INTO dups SELECT 100 + g, ARRAY[g, g]::vector, g % 2 FROM generate_series(1, 50) g;
CREATE INDEX dups_idx ON dups USING hnsw (v vector_l2_ops, c);
SELECT elements, heap_tids, unreachable FROM quiver_index_check('dups_idx');
SET enable_seqscan = off;
SELECT count(*), min(id), max(id) FROM (SELECT id FROM dups WHERE c = 1 ORDER BY v <-> '[1,1]' LIMIT 13) x;
RESET enable_seqscan;

-- EXPLAIN ANALYZE names the strategy that ran and counts what it visited.
CREATE FUNCTION quiver_lines(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
		IF line LIKE 'Quiver%' OR line LIKE '  %(hnsw)%' THEN
			RETURN NEXT regexp_replace(line, '\d+ elements visited', 'N elements visited');
		END IF;
	END LOOP;
END
$$;
SET enable_seqscan = off;
SET quiver.filter_strategy = exact;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM ft WHERE s = 3 ORDER BY v <-> '[0.5,0.4,0.6,0.5,0.3,0.7,0.5,0.5]' LIMIT 5;
SET quiver.filter_strategy = walk;
SELECT quiver_lines('SELECT id FROM ft WHERE s = 3 ORDER BY v <-> ''[0.5,0.4,0.6,0.5,0.3,0.7,0.5,0.5]'' LIMIT 5');
SELECT quiver_lines('SELECT id FROM ft ORDER BY v <-> ''[0.5,0.4,0.6,0.5,0.3,0.7,0.5,0.5]'' LIMIT 5');
-- auto on a filter that almost nothing matches: a short walk, then the exact strategy.
SET quiver.filter_strategy = auto;
SELECT quiver_lines('SELECT id FROM ft WHERE l = 7000021 ORDER BY v <-> ''[0.5,0.4,0.6,0.5,0.3,0.7,0.5,0.5]'' LIMIT 5');
-- Each execution of a rescanned scan counts (a nested loop: one scan per outer row).
SELECT quiver_lines('SELECT x.g, y.id FROM generate_series(1, 3) x(g), LATERAL (SELECT id FROM ft WHERE s = x.g ORDER BY v <-> ''[0.5,0.4,0.6,0.5,0.3,0.7,0.5,0.5]'' LIMIT 2) y');
RESET quiver.filter_strategy;
RESET enable_seqscan;
DROP FUNCTION quiver_lines;

-- The planner: without ORDER BY the index is useless; a selective btree predicate prefers
-- the btree and an exact sort.
EXPLAIN (COSTS OFF) SELECT id FROM ft WHERE i = 4;
CREATE INDEX ft_l ON ft (l);
EXPLAIN (COSTS OFF) SELECT id FROM ft WHERE l = 7000021 ORDER BY v <-> '[0.5,0.4,0.6,0.5,0.3,0.7,0.5,0.5]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM ft WHERE b ORDER BY v <-> '[0.5,0.4,0.6,0.5,0.3,0.7,0.5,0.5]' LIMIT 5;
DROP INDEX ft_l;

-- Errors.
CREATE TABLE bad (v vector(2), f float8, c int);
CREATE INDEX ON bad USING hnsw (v vector_l2_ops, f);
CREATE INDEX ON bad USING hnsw (c, v vector_l2_ops);
CREATE INDEX ON bad USING hnsw (v vector_l2_ops, v vector_l2_ops);
SELECT amvalidate(c.oid) AS valid, count(*) FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
	WHERE a.amname = 'hnsw' GROUP BY 1;
DROP TABLE bad, dups, conds, ft;
DROP FUNCTION knn_check;
