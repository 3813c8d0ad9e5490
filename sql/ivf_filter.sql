-- Filter columns in ivfflat and ivf indexes: each predicate form evaluated on the entries'
-- payloads, compared with the exact answer (sequential scan + sort) by distances; a filtered
-- scan probes further lists until it has the rows (k rows whenever k rows match).
SET client_min_messages = warning;
SELECT setseed(0.23);
CREATE TABLE fv (id int PRIMARY KEY, v vector(8), i int4, l int8, t text, d date, ta text[], ia int4[]);
INSERT INTO fv
SELECT g, (SELECT array_agg(random())::real[]::vector FROM generate_series(1, 8) WHERE g > 0),
	CASE WHEN g % 11 = 0 THEN NULL ELSE g % 10 END, g::int8 * 7, 'cat' || (g % 5),
	date '2024-01-01' + (g % 300),
	ARRAY['x' || (g % 3), 'y' || (g % 8)], ARRAY[g % 4, g % 9]
FROM generate_series(1, 2000) g;
ANALYZE fv;

-- The k nearest rows under `cond` through index `idx` (forced) and by an exact sort.
CREATE FUNCTION ivf_check(cond text, k int DEFAULT 10) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	q text := '[0.5,0.4,0.6,0.5,0.3,0.7,0.5,0.5]';
	sql text := format('SELECT array_agg(round(d::numeric, 6)) FROM (SELECT v <-> %L AS d FROM fv WHERE %s ORDER BY v <-> %L LIMIT %s) s',
	                   q, cond, q, k);
	got numeric[];
	want numeric[];
	plan text := '';
	line text;
BEGIN
	PERFORM set_config('enable_seqscan', 'off', true);
	PERFORM set_config('enable_bitmapscan', 'off', true);
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
-- With few probes: k rows whenever k rows match, in distance order.
CREATE FUNCTION ivf_rows(cond text, k int DEFAULT 10) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	q text := '[0.5,0.4,0.6,0.5,0.3,0.7,0.5,0.5]';
	got float8[];
	matching bigint;
BEGIN
	PERFORM set_config('enable_seqscan', 'off', true);
	PERFORM set_config('enable_bitmapscan', 'off', true);
	EXECUTE format('SELECT array_agg(d) FROM (SELECT v <-> %L AS d FROM fv WHERE %s ORDER BY v <-> %L LIMIT %s) s',
	               q, cond, q, k) INTO got;
	PERFORM set_config('enable_seqscan', 'on', true);
	EXECUTE format('SELECT count(*) FROM fv WHERE %s', cond) INTO matching;
	RETURN CASE WHEN coalesce(cardinality(got), 0) <> least(k, matching)
	            THEN format('%s rows, want %s', coalesce(cardinality(got), 0), least(k, matching))
	            WHEN got IS NOT NULL AND got <> (SELECT array_agg(x ORDER BY x) FROM unnest(got) x)
	            THEN 'ok, relaxed order'
	            ELSE 'ok' END;
END
$$;
CREATE TABLE conds (n serial, cond text);
INSERT INTO conds (cond) VALUES
	('i = 4'), ('i <> 4'), ('i < 3'), ('i IS NULL'), ('i IS NOT NULL'), ('i = 4::int8'),
	('l = 7000'), ('l > 13000'), ('t = ''cat2'''), ('t <> ''cat2'''), ('t = ''nope'''),
	('d = date ''2024-01-05'''), ('d >= date ''2024-10-01'''),
	('ta && ''{x1,y7}'''), ('ta @> ''{x2,y5}'''), ('ia && ''{3}'''), ('ia @> ''{}'''),
	('i = 4 AND t = ''cat4'''), ('i = 1 AND i = 2'), ('i < NULL');

-- ivfflat: probing every list the answer is exact; with one probe the scan moves on to further
-- lists until it has k rows (here: all of them, in order within each batch of lists).
CREATE INDEX fv_flat ON fv USING ivfflat (v vector_l2_ops, i, l, t, d, ta, ia) WITH (lists = 8);
SELECT * FROM quiver_index_check('fv_flat');
SET ivfflat.probes = 8;
SELECT n, cond, ivf_check(cond) FROM conds ORDER BY n;
SET ivfflat.probes = 1;
SELECT n, cond, ivf_rows(cond) FROM conds WHERE ivf_rows(cond) <> 'ok' ORDER BY n;
-- A filtered batch holds as many matching rows as `probes` lists hold rows (here 250); past
-- them further lists come in later batches (relaxed order across them, as iterative scans).
SELECT ivf_rows('i <> 4', 240), ivf_rows('t = ''cat2''', 150), ivf_rows('i <> 4', 1500);
SELECT count(*) FROM (SELECT id FROM fv WHERE l = 7000 OR i = 3 ORDER BY v <-> '[0.5,0.4,0.6,0.5,0.3,0.7,0.5,0.5]' LIMIT 10) x;
SELECT count(*) FROM (SELECT id FROM fv WHERE l < 700 ORDER BY v <-> '[0.5,0.4,0.6,0.5,0.3,0.7,0.5,0.5]' LIMIT 50) x;
RESET ivfflat.probes;
DROP INDEX fv_flat;

-- ivf with sq8 codes, every candidate re-ranked: exact again.
CREATE INDEX fv_sq8 ON fv USING ivf (v vector_l2_ops, i, l, t, d, ta, ia)
	WITH (lists = 8, quantizer = 'sq8', rerank = 2000);
SELECT * FROM quiver_index_check('fv_sq8');
SET ivf.probes = 8;
SELECT n, cond, ivf_check(cond) FROM conds WHERE ivf_check(cond) !~ 'ok' ORDER BY n;
SELECT count(*) AS sq8_checked FROM conds;
RESET ivf.probes;
DROP INDEX fv_sq8;

-- ivf with 4-bit PQ: no fast-scan blocks with filter columns (entries of their own).
CREATE INDEX fv_pq ON fv USING ivf (v vector_l2_ops, i, t) WITH (lists = 4, pq_m = 4, pq_nbits = 4, rerank = 2000);
SELECT layout FROM quiver_ivf_metapage('fv_pq');
SET ivf.probes = 4;
SELECT ivf_check('i = 4'), ivf_check('t = ''cat1'' AND i IS NULL');
RESET ivf.probes;

-- Inserts and VACUUM keep the payloads.
INSERT INTO fv SELECT 5000 + g, '[0.5,0.4,0.6,0.5,0.3,0.7,0.5,0.5]', g % 3, 0, 'new', NULL, NULL, NULL
FROM generate_series(1, 20) g;
DELETE FROM fv WHERE id % 4 = 0;
VACUUM fv;
SELECT elements, heap_tids FROM quiver_index_check('fv_pq');
SET ivf.probes = 4;
SELECT ivf_check('t = ''new'' AND i = 1', 20), ivf_check('i = 4');
RESET ivf.probes;
SET enable_seqscan = off;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM fv WHERE t = 'new' ORDER BY v <-> '[0.5,0.4,0.6,0.5,0.3,0.7,0.5,0.5]' LIMIT 3;
RESET enable_seqscan;

-- Errors.
CREATE TABLE bad (v vector(2), f float8, c int);
CREATE INDEX ON bad USING ivfflat (v vector_l2_ops, f);
CREATE INDEX ON bad USING ivf (c, v vector_l2_ops);
DROP TABLE bad, conds, fv;
DROP FUNCTION ivf_check, ivf_rows;
