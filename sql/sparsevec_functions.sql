-- sparsevec distances, norms, l2_normalize, comparison operators and the btree opclass.

-- L2: a = (1,0,2,0,3,0), b = (0,1,4,0,0,2); squared differences 1+1+4+9+4 = 19.
SELECT l2_distance('{1:3,2:4}/2'::sparsevec, '{}/2');
SELECT '{}/2'::sparsevec <-> '{1:3,2:4}/2';
SELECT '{1:3}/2'::sparsevec <-> '{2:4}/2';
SELECT sparsevec_l2_squared_distance('{1:1,3:2,5:3}/6', '{2:1,3:4,6:2}/6');
SELECT sparsevec_l2_squared_distance('{2:1,3:4,6:2}/6', '{1:1,3:2,5:3}/6');
SELECT l2_distance('{1:1,3:2,5:3}/6'::sparsevec, '{1:1,3:2,5:3}/6');
SELECT l2_distance('{}/4'::sparsevec, '{}/4');
SELECT l2_distance('{1:3e38}/2'::sparsevec, '{2:3e38}/2');

-- Inner product: only index 3 is shared, 2 * 4 = 8.
SELECT inner_product('{1:1,3:2,5:3}/6'::sparsevec, '{2:1,3:4,6:2}/6');
SELECT '{1:1,3:2,5:3}/6'::sparsevec <#> '{2:1,3:4,6:2}/6';
SELECT sparsevec_negative_inner_product('{1:1,3:2,5:3}/6', '{2:1,3:4,6:2}/6');
SELECT inner_product('{1:1,3:1}/4'::sparsevec, '{2:1,4:1}/4');
SELECT inner_product('{}/4'::sparsevec, '{1:1,2:2}/4');
SELECT inner_product('{1:-2,2:3}/2'::sparsevec, '{1:5,2:7}/2');

-- Cosine: parallel 0, orthogonal 1, opposite 2; (3,4).(4,3) = 24/25; zero vector NaN.
SELECT cosine_distance('{1:1,2:2}/2'::sparsevec, '{1:2,2:4}/2');
SELECT cosine_distance('{1:5}/3'::sparsevec, '{3:2}/3');
SELECT cosine_distance('{1:1,3:1}/3'::sparsevec, '{1:-2,3:-2}/3');
SELECT '{1:3,2:4}/2'::sparsevec <=> '{1:4,2:3}/2';
SELECT cosine_distance('{1:1}/2'::sparsevec, '{}/2');
SELECT cosine_distance('{}/2'::sparsevec, '{}/2');
SELECT cosine_distance('{1:3e38}/1'::sparsevec, '{1:3e38}/1');

-- L1: |1|+|-1|+|2-4|+|3|+|-2| = 9.
SELECT l1_distance('{1:1,3:2,5:3}/6'::sparsevec, '{2:1,3:4,6:2}/6');
SELECT '{}/2'::sparsevec <+> '{1:3,2:-4}/2';
SELECT '{1:1.5}/1'::sparsevec <+> '{1:1.5}/1';

-- Operands of different dimensions.
SELECT l2_distance('{1:1}/2'::sparsevec, '{1:1}/3');
SELECT '{1:1}/2'::sparsevec <-> '{1:1}/3';
SELECT sparsevec_l2_squared_distance('{}/3', '{}/2');
SELECT inner_product('{1:1}/2'::sparsevec, '{1:1}/3');
SELECT '{1:1}/2'::sparsevec <#> '{1:1}/3';
SELECT sparsevec_negative_inner_product('{1:1}/2', '{1:1}/3');
SELECT cosine_distance('{1:1}/2'::sparsevec, '{1:1}/3');
SELECT '{1:1}/2'::sparsevec <=> '{1:1}/3';
SELECT l1_distance('{1:1}/2'::sparsevec, '{1:1}/3');
SELECT '{1:1}/2'::sparsevec <+> '{1:1}/3';

-- STRICT: NULL in, NULL out.
SELECT l2_distance(NULL::sparsevec, '{}/1') IS NULL AS l2,
       inner_product('{}/1'::sparsevec, NULL) IS NULL AS ip,
       (NULL::sparsevec <=> '{}/1') IS NULL AS cosine,
       l2_norm(NULL::sparsevec) IS NULL AS norm,
       l2_normalize(NULL::sparsevec) IS NULL AS normalize;

-- Norms, accumulated in double precision.
SELECT l2_norm('{1:3,4:4}/5'::sparsevec);
SELECT l2_norm('{}/5'::sparsevec);
SELECT l2_norm('{2:-2}/2'::sparsevec);
SELECT l2_norm('{1:3e37,2:4e37}/2'::sparsevec)::real;

SELECT l2_normalize('{1:3,2:4}/2'::sparsevec);
SELECT l2_normalize('{2:-5}/3'::sparsevec);
SELECT l2_normalize('{}/3'::sparsevec);
SELECT l2_normalize('{1:3e38,2:1e-40}/2'::sparsevec);
SELECT l2_norm(l2_normalize('{1:1,2:1,3:1,4:1}/4'::sparsevec));

-- Comparison: as the dense vectors, element by element, then by dimension.
SELECT '{1:1,2:2}/3'::sparsevec = '{2:2,1:1}/3' AS eq,
       '{1:1,2:2}/3'::sparsevec = '{1:1,2:2}/4' AS eq_other_dim,
       '{1:1}/3'::sparsevec <> '{1:2}/3' AS ne,
       '{1:1}/3'::sparsevec < '{1:2}/3' AS lt,
       '{1:1}/3'::sparsevec <= '{1:1}/3' AS le,
       '{2:1}/3'::sparsevec > '{1:1}/3' AS gt,
       '{1:1}/3'::sparsevec >= '{1:1}/2' AS ge;
SELECT sparsevec_cmp('{1:1}/2', '{1:1}/2') AS same,
       sparsevec_cmp('{1:-1}/2', '{}/2') AS negative_first,
       sparsevec_cmp('{}/2', '{2:1}/2') AS zero_vs_positive,
       sparsevec_cmp('{2:1}/2', '{1:1}/2') AS later_index,
       sparsevec_cmp('{1:1}/2', '{1:1}/3') AS shorter,
       sparsevec_cmp('{1:5}/1', '{1:1,2:1}/2') AS value_before_dim;

CREATE TABLE quiver_sv_order (id int, v sparsevec);
INSERT INTO quiver_sv_order VALUES
    (1, '{1:1}/2'), (2, '{2:1}/2'), (3, '{}/2'), (4, '{1:-1}/2'), (5, '{1:1,2:1}/2'),
    (6, '{}/1'), (7, '{1:5}/1'), (8, '{1:1}/3'), (9, '{2:1}/2'), (10, NULL), (11, '{1:1}/2');
SELECT id, v FROM quiver_sv_order ORDER BY v, id;
SELECT DISTINCT v FROM quiver_sv_order ORDER BY v;
SELECT v, count(*) FROM quiver_sv_order GROUP BY v ORDER BY v;
SELECT id, v <-> '{1:1,2:1}/2' AS distance FROM quiver_sv_order
WHERE id NOT IN (6, 7, 8, 10) ORDER BY distance, id;

-- The default btree opclass serves lookups and ordered scans.
CREATE INDEX quiver_sv_order_idx ON quiver_sv_order (v);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT v FROM quiver_sv_order WHERE v = '{2:1}/2';
SELECT id FROM quiver_sv_order WHERE v = '{2:1}/2' ORDER BY id;
SELECT id FROM quiver_sv_order WHERE v > '{1:1}/2' ORDER BY v, id;
SELECT v FROM quiver_sv_order ORDER BY v DESC NULLS LAST LIMIT 3;
RESET enable_seqscan;
SELECT opcname, opcdefault FROM pg_opclass
WHERE opcintype = 'sparsevec'::regtype AND opcmethod = (SELECT oid FROM pg_am WHERE amname = 'btree');
DROP TABLE quiver_sv_order;
