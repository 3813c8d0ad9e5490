-- The pq type: training a codebook, pq(N) columns through the assignment cast, text and binary
-- round trips, decode, distances equal to those of the decoded vector, and the errors.
SELECT setseed(0.7);
CREATE TABLE src (id int, v vector(8));
INSERT INTO src SELECT i, (SELECT array_agg(round(random()::numeric, 2)::real) FROM generate_series(1, 8) WHERE i > 0)::vector
FROM generate_series(1, 2000) i;
SELECT quiver_pq_train('src', 'v', 4) AS cb \gset
SELECT id = :cb AS same_id, dimensions, m, nbits, source, trained_rows FROM quiver_pq_codebook;

CREATE TABLE items (id int, code pq(:cb));
\d items
INSERT INTO items SELECT id, v FROM src;
SELECT count(*), count(DISTINCT code::text) > 100 AS varied FROM items;
-- 4 sub-spaces of 8 bits: 4 bytes, 8 hex digits after "ID:"
SELECT code::text ~ ('^' || :cb || ':[0-9a-f]{8}$') AS text_form FROM items LIMIT 1;
-- text and binary round trips
SELECT count(*) AS text_mismatches FROM items WHERE (code::text::pq(:cb))::text <> code::text;
\copy items TO 'results/pq_binary.dat' WITH (FORMAT binary)
CREATE TABLE items2 (id int, code pq(:cb));
\copy items2 FROM 'results/pq_binary.dat' WITH (FORMAT binary)
SELECT count(*) AS binary_mismatches FROM items JOIN items2 USING (id) WHERE items.code::text <> items2.code::text;
SELECT count(*) FROM items2;
DROP TABLE items2;
-- distances are those of the decoded vector
SELECT count(*) AS l2_mismatches FROM items
WHERE abs((code <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]') - (quiver_pq_decode(code) <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]')) > 1e-6;
SELECT count(*) AS ip_mismatches FROM items
WHERE abs((code <#> '[1,2,3,4,5,6,7,8]') - (quiver_pq_decode(code) <#> '[1,2,3,4,5,6,7,8]')) > 1e-5;
SELECT count(*) AS cos_mismatches FROM items
WHERE abs((code <=> '[1,2,3,4,5,6,7,8]') - (quiver_pq_decode(code) <=> '[1,2,3,4,5,6,7,8]')) > 1e-6;
-- decode is close to the original (PQ error), and encoding the decoded vector is stable
SELECT avg(quiver_pq_decode(i.code) <-> s.v) < 0.25 AS close FROM items i JOIN src s USING (id);
SELECT count(*) AS reencode_mismatches FROM items WHERE quiver_pq_encode(quiver_pq_decode(code), :cb)::text <> code::text;
-- nearest neighbours by the codes: most of the exact top 10
SELECT count(*) >= 6 AS mostly FROM
  (SELECT id FROM items ORDER BY code <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10) a
  JOIN (SELECT id FROM src ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10) b USING (id);
SELECT quiver_pq_codebook_of(code) = :cb AS cb_ok FROM items LIMIT 1;

-- errors
SELECT '[1,2,3]'::vector::pq;
SELECT quiver_pq_encode('[1,2,3]', :cb);
SELECT quiver_pq_encode('[1,2,3,4,5,6,7,8]', 99999);
SELECT quiver_pq_decode('99999:00112233');
SELECT quiver_pq_decode((:cb || ':0011')::pq);
SELECT (code <-> '[1,2,3]') FROM items LIMIT 1;
SELECT 'abc'::pq;
SELECT '3:0g'::pq;
SELECT '3:'::pq;
SELECT '0:00'::pq;
SELECT '7:00112233'::pq(8);
CREATE TABLE bad (c pq(1, 2));
SELECT quiver_pq_train('src', 'v', 3);
SELECT quiver_pq_train('src', 'v', 4, 6);
SELECT quiver_pq_train('src', 'nope', 4);
CREATE TABLE empty (v vector(8));
SELECT quiver_pq_train('empty', 'v', 4);
-- a codebook in use cannot be deleted
DELETE FROM quiver_pq_codebook WHERE id = :cb;
DROP TABLE items;
DELETE FROM quiver_pq_codebook WHERE id = :cb;
SELECT quiver_pq_decode((:cb || ':00112233')::pq);
DROP TABLE src, empty;
