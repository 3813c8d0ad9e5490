-- vector: text input and output, typmods, functions, operators and casts (errors: vector_errors).

-- Text input: whitespace anywhere around elements and brackets, signs, exponents, hex floats.
SELECT '[1,2,3]'::vector;
SELECT ' [ 1 ,	2 ,3 ] '::vector;
SELECT '[-1.5,+2.25,3e2,-4E-1]'::vector;
SELECT '[1.,.5,0x10]'::vector;
SELECT ('[' || chr(10) || '1,' || chr(13) || '2,' || chr(12) || '3' || chr(11) || ']' || chr(9))::vector;
-- Underflow rounds to zero (like float4in); -0 keeps its sign.
SELECT '[1e-50,-1e-50,-0]'::vector;

-- Output: the shortest text that reads back to the same float32.
SELECT '[1.5, 0.1, 1e-7, 3.4028235e38]'::vector;
SELECT '[0.3333333333, 1.23456789, 16777217, 123456789]'::vector;
SELECT '[1e-45, -1.17549435e-38, 100000, 1000000]'::vector;
-- Same text as real's own output, element by element.
SELECT '[0.1, 1e-7, 3.4028235e38, 16777217]'::vector::real[] = ARRAY[0.1::real, 1e-7::real, 3.4028235e38::real, 16777217::real];

-- Typmods: a vector(n) column and the length coercion vector(vector, n, bool).
CREATE TABLE vector_typmod_t (v vector(3));
INSERT INTO vector_typmod_t VALUES ('[1,2,3]'), (NULL);
SELECT v, vector_dims(v) FROM vector_typmod_t ORDER BY v;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'vector_typmod_t'::regclass AND attname = 'v';
SELECT '[1,2,3]'::vector::vector(3);
SELECT vector('[1,2]'::vector, 2, true);
SELECT '{"[1,2,3]","[4,5,6]"}'::vector(3)[];
DROP TABLE vector_typmod_t;

-- The largest vector.
SELECT vector_dims(('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::vector);

-- Distances: exact small cases.
SELECT '[1,2,3]'::vector <-> '[4,5,6]', l2_distance('[1,2,3]'::vector, '[4,5,6]');
SELECT '[0,0]'::vector <-> '[3,4]', vector_l2_squared_distance('[1,2,3]', '[4,5,6]');
SELECT inner_product('[1,2,3]'::vector, '[4,5,6]'), '[1,2,3]'::vector <#> '[4,5,6]';
SELECT vector_negative_inner_product('[1,2,3]', '[-4,5,-6]');
SELECT cosine_distance('[1,2]'::vector, '[2,4]'), '[1,0]'::vector <=> '[0,1]', '[1,1]'::vector <=> '[-1,-1]';
SELECT '[1,2,3]'::vector <=> '[4,5,6]';
-- A zero vector has no direction.
SELECT cosine_distance('[0,0]'::vector, '[1,1]'), cosine_distance('[0,0]'::vector, '[0,0]');
SELECT l1_distance('[1,2,3]'::vector, '[4,5,6]'), '[1,-2]'::vector <+> '[-1,2]';
SELECT vector_spherical_distance('[1,0]', '[0,1]'), vector_spherical_distance('[1,0]', '[1,0]'), vector_spherical_distance('[1,0]', '[-1,0]');
SELECT vector_spherical_distance('[2,0]', '[3,0]'), vector_spherical_distance('[2,0]', '[-3,0]');

-- Norms and normalisation.
SELECT vector_dims('[1,2,3]'::vector), vector_norm('[3,4]'), vector_norm('[0,0,0]'), vector_norm('[1,1,1,1]');
SELECT l2_normalize('[3,4]'::vector), l2_normalize('[0,0]'::vector), l2_normalize('[-2,0,0]'::vector);

-- Element-wise arithmetic and concatenation.
SELECT '[1,2,3]'::vector + '[4,5,6]', '[1,2,3]'::vector - '[4,5,6]', '[1,2,3]'::vector * '[4,5,6]';
SELECT '[1,2]'::vector || '[3]', '[1]'::vector || '[2]' || '[3,4]';

-- subvector(v, start, count) counts from 1 and clips like substring.
SELECT subvector('[1,2,3,4,5]'::vector, 1, 3), subvector('[1,2,3,4,5]'::vector, 3, 2), subvector('[1,2,3,4,5]'::vector, 5, 1);
SELECT subvector('[1,2,3,4,5]'::vector, -1, 3), subvector('[1,2,3,4,5]'::vector, 4, 5), subvector('[1,2,3,4,5]'::vector, 2, 2147483647);

-- binary_quantize: one bit per element, set for elements > 0.
SELECT binary_quantize('[1,-2,3,0,5,6,7,8,-1]'::vector), binary_quantize('[0.5]'::vector), binary_quantize('[-0,0,1e-45]'::vector);
SELECT length(binary_quantize('[1,2,3,4,5,6,7,8]'::vector)), pg_typeof(binary_quantize('[1]'::vector));

-- Comparison: element by element, then the shorter vector first.
SELECT '[1,2,3]'::vector < '[1,2,4]', '[1,2]'::vector < '[1,2,3]', '[2]'::vector > '[1,9]', '[1,2,3]'::vector = '[1,2,3]';
SELECT '[1,2,3]'::vector <= '[1,2,3]', '[1,2,3]'::vector >= '[1,2,4]', '[1,2,3]'::vector <> '[1,2,3]', '[-0]'::vector = '[0]';
SELECT vector_cmp('[1,2]', '[1,3]'), vector_cmp('[1,3]', '[1,2]'), vector_cmp('[1,2]', '[1,2]'), vector_cmp('[1,2,0]', '[1,2]');

-- Casts to and from arrays.
SELECT ARRAY[1,2,3]::vector, ARRAY[1.5,2.5]::vector, ARRAY[1,2]::real[]::vector, ARRAY[0.1,0.2]::float8[]::vector;
SELECT '{1,2,3}'::real[]::vector(3), '{1e-46,-1e-46}'::double precision[]::vector, '{0.1}'::numeric[]::vector;
SELECT '[1,2.5,3]'::vector::real[], pg_typeof('[1]'::vector::real[]);
SELECT array_to_vector('{1,2}'::int[], -1, false), vector_to_float4('[1,2]', -1, false);
-- Assignment casts from arrays into vector columns.
CREATE TABLE vector_assign_t (v vector);
INSERT INTO vector_assign_t VALUES (ARRAY[1,2,3]), (ARRAY[1.5,2.5]::real[]), (ARRAY[0.25]::float8[]), (ARRAY[4.5]::numeric[]);
SELECT v FROM vector_assign_t ORDER BY v;
DROP TABLE vector_assign_t;
-- Cast contexts as pgvector declares them (i = implicit, a = assignment).
SELECT castsource::regtype, casttarget::regtype, castcontext, castfunc::regproc
FROM pg_cast WHERE (castsource = 'vector'::regtype OR casttarget = 'vector'::regtype)
  AND castsource::regtype::text <> 'sparsevec' AND casttarget::regtype::text <> 'sparsevec'
ORDER BY castsource::regtype::text, casttarget::regtype::text;

-- Strict functions return NULL for NULL input.
SELECT l2_distance(NULL, '[1]'::vector) IS NULL, '[1]'::vector <=> NULL IS NULL, vector_norm(NULL::vector) IS NULL,
       subvector('[1,2]'::vector, NULL, 1) IS NULL, ('[1]'::vector + NULL) IS NULL, NULL::vector::real[] IS NULL;

-- Every SIMD target this machine supports gives the scalar answers, at awkward lengths. The
-- elements are small integers, so every sum is exact whatever the order of additions.
DO $$
DECLARE
    target text;
    reference text;
    got text;
    distances text := $q$
        SELECT string_agg(concat_ws(' ', n, a <-> b, a <#> b, a <=> b, a <+> b, vector_norm(a),
                                    vector_l2_squared_distance(a, b)), ';' ORDER BY n)
        FROM (SELECT n, array_agg(i % 7 - 3)::TYPE AS a, array_agg(i % 5 - 2)::TYPE AS b
              FROM unnest(ARRAY[1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1000, 16000]) n,
                   generate_series(1, n) i
              GROUP BY n) t$q$;
BEGIN
    distances := replace(distances, 'TYPE', 'vector');
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
