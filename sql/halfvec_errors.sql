-- halfvec: every error for bad input, with pgvector's messages (casts from vector included).

-- Text input.
SELECT ''::halfvec;
SELECT '1,2,3'::halfvec;
SELECT '['::halfvec;
SELECT '[1,2,3'::halfvec;
SELECT '[1,2,3]x'::halfvec;
SELECT '[]'::halfvec;
SELECT '[ ]'::halfvec;
SELECT '[,]'::halfvec;
SELECT '[1,]'::halfvec;
SELECT '[1,,3]'::halfvec;
SELECT '[1 2]'::halfvec;
SELECT '[hello]'::halfvec;
SELECT '[1a]'::halfvec;
SELECT '[NaN]'::halfvec;
SELECT '[Infinity]'::halfvec;
SELECT '[1,-Infinity]'::halfvec;
-- Finite in float32 but beyond float16 (65504 is the largest; 65520 rounds to infinity).
SELECT '[65520]'::halfvec;
SELECT '[1,-65520]'::halfvec;
SELECT '[1e5]'::halfvec;
-- Beyond float32.
SELECT '[4e38,1]'::halfvec;
SELECT '[1e39]'::halfvec;
SELECT ('[' || array_to_string(array_fill(1, ARRAY[16001]), ',') || ']')::halfvec;

-- Typmods.
SELECT '[1,2,3]'::halfvec(2);
SELECT '[1,2,3]'::halfvec(0);
SELECT '[1,2,3]'::halfvec(16001);
SELECT '[1,2,3]'::halfvec(3, 2);
SELECT '[1,2,3]'::halfvec('a');
SELECT '[1,2,3]'::halfvec::halfvec(2);
SELECT '{"[1,2,3]"}'::halfvec(2)[];
CREATE TABLE halfvec_errors_t (v halfvec(2));
INSERT INTO halfvec_errors_t VALUES ('[1,2,3]');
INSERT INTO halfvec_errors_t VALUES ('[1,2,3]'::vector);
DROP TABLE halfvec_errors_t;

-- Operands of different dimensions.
SELECT '[1,2,3]'::halfvec <-> '[1,2]';
SELECT halfvec_l2_squared_distance('[1,2,3]', '[1,2]');
SELECT inner_product('[1,2,3]'::halfvec, '[1,2]');
SELECT '[1,2,3]'::halfvec <#> '[1,2]';
SELECT '[1,2,3]'::halfvec <=> '[1,2]';
SELECT halfvec_spherical_distance('[1,2,3]', '[1,2]');
SELECT '[1,2]'::halfvec <+> '[1,2,3]';
SELECT '[1,2,3]'::halfvec + '[1,2]';
SELECT '[1,2,3]'::halfvec - '[1,2]';
SELECT '[1,2,3]'::halfvec * '[1,2]';

-- Arithmetic overflow and underflow (in float16).
SELECT '[65504]'::halfvec + '[65504]';
SELECT '[-60000]'::halfvec - '[10000]';
SELECT '[300]'::halfvec * '[300]';
SELECT '[1e-4]'::halfvec * '[1e-4]';
SELECT sum(v) FROM (VALUES ('[60000]'::halfvec), ('[60000]')) t(v);

-- Limits of ||, subvector.
SELECT ('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::halfvec || '[1]';
SELECT subvector('[1,2,3]'::halfvec, 1, 0);
SELECT subvector('[1,2,3]'::halfvec, 4, 1);
SELECT subvector('[1,2,3]'::halfvec, -5, 3);
SELECT subvector('[1,2,3]'::halfvec, 2147483647, 2147483647);

-- Casts from vector and arrays.
SELECT '[65520]'::vector::halfvec;
SELECT '[1,-1e5]'::vector::halfvec;
SELECT '[1,2,3]'::vector::halfvec(2);
SELECT '[1,2,3]'::halfvec::vector(2);
SELECT ('[' || array_to_string(array_fill(1, ARRAY[16001]), ',') || ']')::vector::halfvec;
SELECT '{NULL}'::real[]::halfvec;
SELECT '{{1,2},{3,4}}'::real[]::halfvec;
SELECT '{}'::real[]::halfvec;
SELECT '{NaN}'::real[]::halfvec;
SELECT '{Infinity}'::real[]::halfvec;
SELECT '{65520,-65520}'::real[]::halfvec;
SELECT '{100000}'::int[]::halfvec;
SELECT '{70000.5}'::numeric[]::halfvec;
SELECT '{4e38}'::double precision[]::halfvec;
SELECT '{1,2,3}'::real[]::halfvec(2);
SELECT array_agg(n)::halfvec FROM generate_series(1, 16001) n;

-- Aggregates over rows of different dimensions.
SELECT avg(v) FROM (VALUES ('[1,2]'::halfvec), ('[1,2,3]')) t(v);
SELECT sum(v) FROM (VALUES ('[1,2]'::halfvec), ('[1,2,3]')) t(v);
