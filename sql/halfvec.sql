-- halfvec: text I/O with float16 rounding, typmods, functions, operators, casts (to and from
-- arrays and vector), btree ordering and aggregates (errors: halfvec_errors).

-- Text input rounds each element to the nearest binary16 (ties to even).
SELECT '[1,2,3]'::halfvec, ' [ -1 , 2.5 ,3e2 ] '::halfvec, '[1.,.5,0x10]'::halfvec;
SELECT '[1.23456]'::halfvec, '[0.1]'::halfvec, '[2049]'::halfvec, '[2051]'::halfvec;
SELECT '[65504,-65504]'::halfvec, '[65519,-65519]'::halfvec;
-- Subnormals, underflow to (signed) zero; input beyond float range underflows too.
SELECT '[6e-8,-6e-8,2.9e-8,3e-8]'::halfvec, '[1e-8,-1e-8,1e-46]'::halfvec;
SELECT '[0.00006103515625, 0.000060975552]'::halfvec;
-- Output: the shortest text that reads back to the same float32 as the half widens to.
SELECT '[0.1, 0.2, 0.3333]'::halfvec::vector = '[0.099975586, 0.19995117, 0.33325195]'::vector;

-- Typmods and the halfvec(halfvec, n, bool) coercion.
CREATE TABLE halfvec_typmod_t (v halfvec(3));
INSERT INTO halfvec_typmod_t VALUES ('[1,2,3]'), (NULL);
SELECT v, vector_dims(v) FROM halfvec_typmod_t ORDER BY v;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'halfvec_typmod_t'::regclass AND attname = 'v';
DROP TABLE halfvec_typmod_t;
SELECT '[1,2,3]'::halfvec::halfvec(3), halfvec('[1,2]'::halfvec, 2, true);
SELECT unnest('{"[1,2,3]","[4,5,6]"}'::halfvec(3)[]);
SELECT vector_dims(('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::halfvec);

-- Distances (float16 inputs, float32 sums).
SELECT '[1,2,3]'::halfvec <-> '[4,5,6]', l2_distance('[1.5,2.5]'::halfvec, '[0.5,0.5]'), halfvec_l2_squared_distance('[1,2,3]', '[4,5,6]');
SELECT inner_product('[1,2,3]'::halfvec, '[4,5,6]'), '[1,2,3]'::halfvec <#> '[4,5,6]', halfvec_negative_inner_product('[1,2,3]', '[-4,5,-6]');
SELECT '[1,2,3]'::halfvec <=> '[4,5,6]', cosine_distance('[1,2]'::halfvec, '[2,4]'), '[1,0]'::halfvec <=> '[0,1]', '[1,1]'::halfvec <=> '[-1,-1]';
SELECT cosine_distance('[0,0]'::halfvec, '[1,1]');
SELECT l1_distance('[1,2,3]'::halfvec, '[4,5,6]'), '[1,-2]'::halfvec <+> '[-1,2]';
SELECT halfvec_spherical_distance('[1,0]', '[0,1]'), halfvec_spherical_distance('[1,0]', '[1,0]'), halfvec_spherical_distance('[2,0]', '[-3,0]');

-- Norms and normalisation (results rounded to float16).
SELECT vector_dims('[1,2,3]'::halfvec), l2_norm('[3,4]'::halfvec), l2_norm('[0,0]'::halfvec), l2_norm('[1,1,1,1]'::halfvec);
SELECT l2_normalize('[3,4]'::halfvec), l2_normalize('[0,0]'::halfvec), l2_normalize('[-2,0]'::halfvec);

-- Element-wise arithmetic (rounded to float16), concatenation, subvector.
SELECT '[1,2,3]'::halfvec + '[4,5,6]', '[1,2,3]'::halfvec - '[4,5,6]', '[1,2,3]'::halfvec * '[4,5,6]';
SELECT '[2048]'::halfvec + '[1]', '[0.1]'::halfvec * '[3]';
SELECT '[1,2]'::halfvec || '[3]', subvector('[1,2,3,4,5]'::halfvec, 2, 3), subvector('[1,2,3,4,5]'::halfvec, -1, 3), subvector('[1,2,3,4,5]'::halfvec, 4, 5);

-- binary_quantize.
SELECT binary_quantize('[1,-2,3,0,5,6,7,8,-1]'::halfvec), binary_quantize('[-0,0,6e-8]'::halfvec), pg_typeof(binary_quantize('[1]'::halfvec));

-- Comparison.
SELECT '[1,2,3]'::halfvec < '[1,2,4]', '[1,2]'::halfvec < '[1,2,3]', '[2]'::halfvec > '[1,9]', '[1,2,3]'::halfvec = '[1,2,3]';
SELECT '[1,2,3]'::halfvec <= '[1,2,3]', '[1,2,3]'::halfvec >= '[1,2,4]', '[1,2,3]'::halfvec <> '[1,2,3]', '[-0]'::halfvec = '[0]';
-- Equal after rounding to float16.
SELECT '[1.0001]'::halfvec = '[1]'::halfvec;
SELECT halfvec_cmp('[1,2]', '[1,3]'), halfvec_cmp('[1,3]', '[1,2]'), halfvec_cmp('[1,2]', '[1,2]'), halfvec_cmp('[1,2,0]', '[1,2]');

-- Casts between vector and halfvec.
SELECT '[1,2,3]'::vector::halfvec, '[1,2,3]'::vector::halfvec(3), '[1.23456,1e-8,-1e-8]'::vector::halfvec;
SELECT '[1,2.5,3]'::halfvec::vector, '[1,2,3]'::halfvec::vector(3), '[0.1]'::halfvec::vector;
-- vector converts implicitly to halfvec, so mixed operands resolve to the halfvec operators.
SELECT pg_typeof('[1,2]'::halfvec + '[3,4]'::vector), '[1,2]'::halfvec <-> '[4,6]'::vector;
CREATE TABLE halfvec_assign_t (h halfvec, v vector);
INSERT INTO halfvec_assign_t VALUES ('[1,2]'::vector, '[3,4]'::halfvec);
SELECT h, v FROM halfvec_assign_t;
DROP TABLE halfvec_assign_t;

-- Casts to and from arrays.
SELECT ARRAY[1,2,3]::halfvec, ARRAY[1.5,2.5]::halfvec, ARRAY[1,2]::real[]::halfvec, ARRAY[0.1]::float8[]::halfvec;
SELECT '{1,2,3}'::real[]::halfvec(3), '{1e-8,-1e-8}'::real[]::halfvec, '{0.5}'::numeric[]::halfvec;
SELECT '[1,2.5,3]'::halfvec::real[], pg_typeof('[1]'::halfvec::real[]), '[0.1]'::halfvec::real[];
CREATE TABLE halfvec_assign_t (h halfvec);
INSERT INTO halfvec_assign_t VALUES (ARRAY[1,2,3]), (ARRAY[1.5]::real[]), (ARRAY[0.25]::float8[]), (ARRAY[4.5]::numeric[]);
SELECT h FROM halfvec_assign_t ORDER BY h;
DROP TABLE halfvec_assign_t;
SELECT castsource::regtype, casttarget::regtype, castcontext, castfunc::regproc
FROM pg_cast WHERE (castsource = 'halfvec'::regtype OR casttarget = 'halfvec'::regtype)
  AND castsource::regtype::text <> 'sparsevec' AND casttarget::regtype::text <> 'sparsevec'
ORDER BY castsource::regtype::text, casttarget::regtype::text;

-- Binary output: int16 dim, int16 unused, then the float16 bit patterns.
SELECT halfvec_send('[1,2,3]'), halfvec_send('[-0.5,65504,6e-8]');

-- Strict functions return NULL for NULL input.
SELECT l2_distance(NULL, '[1]'::halfvec) IS NULL, l2_norm(NULL::halfvec) IS NULL, ('[1]'::halfvec || NULL) IS NULL,
       NULL::halfvec::vector IS NULL, NULL::vector::halfvec IS NULL;

-- Tables: ordering, DISTINCT, GROUP BY, a unique btree index, avg and sum.
CREATE TABLE halfvec_table_t (id int, v halfvec(2));
INSERT INTO halfvec_table_t VALUES (1, '[1,2]'), (2, '[0,5]'), (3, '[1,2]'), (4, NULL), (5, '[1,1.5]');
SELECT id, v FROM halfvec_table_t ORDER BY v, id;
SELECT DISTINCT v FROM halfvec_table_t ORDER BY v;
SELECT v, count(*) FROM halfvec_table_t GROUP BY v ORDER BY v;
CREATE UNIQUE INDEX halfvec_table_u ON halfvec_table_t (v);
DELETE FROM halfvec_table_t WHERE id = 3;
CREATE UNIQUE INDEX halfvec_table_u ON halfvec_table_t (v);
INSERT INTO halfvec_table_t VALUES (6, '[1.0001,2]');
SET enable_seqscan = off;
SELECT id FROM halfvec_table_t WHERE v = '[0,5]';
RESET enable_seqscan;
SELECT avg(v), sum(v) FROM halfvec_table_t;
SELECT avg(v), sum(v) FROM halfvec_table_t WHERE false;
SELECT avg(v) FROM (VALUES ('[1,2]'::halfvec), ('[2,4]'), ('[4,8]')) t(v);
DROP TABLE halfvec_table_t;

-- Parallel aggregation (halfvec_combine / halfvec_add); integer sums stay exact in float16 up
-- to 2048, and the avg state is float8.
CREATE TABLE halfvec_parallel_t (v halfvec(2));
INSERT INTO halfvec_parallel_t SELECT ARRAY[1, n % 4] FROM generate_series(1, 1000) n;
ANALYZE halfvec_parallel_t;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v) FROM halfvec_parallel_t;
SELECT avg(v), sum(v) FROM halfvec_parallel_t;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
SELECT avg(v), sum(v) FROM halfvec_parallel_t;
DROP TABLE halfvec_parallel_t;

-- Every SIMD target this machine supports gives the scalar answers, at awkward lengths. The
-- elements are small integers, so every sum is exact whatever the order of additions; the bulk
-- float16 conversions (arithmetic, casts) must round identically on every target.
DO $$
DECLARE
    target text;
    reference text;
    got text;
    distances text := $q$
        SELECT string_agg(concat_ws(' ', n, a <-> b, a <#> b, a <=> b, a <+> b, l2_norm(a),
                                    halfvec_l2_squared_distance(a, b), a + b, a * b, a::vector,
                                    c::halfvec), ';' ORDER BY n)
        FROM (SELECT n, array_agg(i % 7 - 3)::TYPE AS a, array_agg(i % 5 - 2)::TYPE AS b,
                     array_agg(i * 0.37 + 2040)::vector AS c
              FROM unnest(ARRAY[1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1000, 16000]) n,
                   generate_series(1, n) i
              GROUP BY n) t$q$;
BEGIN
    distances := replace(distances, 'TYPE', 'halfvec');
    PERFORM set_config('quiver.simd', 'scalar', true);
    EXECUTE distances INTO reference;
    FOREACH target IN ARRAY ARRAY['sse4.2', 'avx2', 'avx512'] LOOP
        BEGIN
            PERFORM set_config('quiver.simd', target, true);
        EXCEPTION WHEN invalid_parameter_value THEN
            CONTINUE;  -- not supported here
        END;
        EXECUTE distances INTO got;
        IF got IS DISTINCT FROM reference THEN
            RAISE EXCEPTION 'target % differs from scalar: % vs %', target, got, reference;
        END IF;
    END LOOP;
END
$$;
RESET quiver.simd;
