-- vector: every error for bad input, with pgvector's messages.
\set VERBOSITY default

-- Text input.
SELECT ''::vector;
SELECT '1,2,3'::vector;
SELECT '   '::vector;
SELECT '['::vector;
SELECT '[ '::vector;
SELECT '[1,2,3'::vector;
SELECT '[1,2,3,'::vector;
SELECT '[1,2,3]x'::vector;
SELECT '[1,2,3] ]'::vector;
SELECT '[1][2]'::vector;
SELECT '[]'::vector;
SELECT '[ ]'::vector;
SELECT '[,]'::vector;
SELECT '[1,]'::vector;
SELECT '[,1]'::vector;
SELECT '[1,,3]'::vector;
SELECT '[1, ,3]'::vector;
SELECT '[1 2]'::vector;
SELECT '[hello]'::vector;
SELECT '[1a]'::vector;
SELECT '[1;2]'::vector;
SELECT '(1,2)'::vector;
SELECT '{1,2}'::vector;
SELECT '[NaN]'::vector;
SELECT '[1,nan]'::vector;
SELECT '[Infinity]'::vector;
SELECT '[-inf,1]'::vector;
SELECT '[1e39]'::vector;
SELECT '[1,-1e39]'::vector;
SELECT '[3.5e38]'::vector;
SELECT ('[' || array_to_string(array_fill(1, ARRAY[16001]), ',') || ']')::vector;

-- Typmods.
SELECT '[1,2,3]'::vector(2);
SELECT '[1,2]'::vector(3);
SELECT '[1,2,3]'::vector(0);
SELECT '[1,2,3]'::vector(-1);
SELECT '[1,2,3]'::vector(16001);
SELECT '[1,2,3]'::vector(3, 2);
SELECT '[1,2,3]'::vector('a');
SELECT '[1,2,3]'::vector::vector(2);
SELECT vector('[1,2,3]'::vector, 4, true);
SELECT '{"[1,2,3]"}'::vector(2)[];
CREATE TABLE vector_errors_t (v vector(3));
INSERT INTO vector_errors_t VALUES ('[1,2]');
INSERT INTO vector_errors_t VALUES ('[1,2,3]');
UPDATE vector_errors_t SET v = v || '[4]';
DROP TABLE vector_errors_t;
CREATE TABLE vector_errors_t (v vector(0));
CREATE TABLE vector_errors_t (v vector(16001));

-- Operands of different dimensions.
SELECT '[1,2,3]'::vector <-> '[1,2]';
SELECT l2_distance('[1,2,3]'::vector, '[1,2]');
SELECT vector_l2_squared_distance('[1,2,3]', '[1,2]');
SELECT inner_product('[1,2,3]'::vector, '[1,2]');
SELECT '[1,2,3]'::vector <#> '[1,2]';
SELECT vector_negative_inner_product('[1,2]', '[1,2,3]');
SELECT '[1,2,3]'::vector <=> '[1,2]';
SELECT cosine_distance('[1,2,3]'::vector, '[1,2]');
SELECT vector_spherical_distance('[1,2,3]', '[1,2]');
SELECT '[1,2,3]'::vector <+> '[1,2]';
SELECT l1_distance('[1,2,3]'::vector, '[1,2]');
SELECT '[1,2,3]'::vector + '[1,2]';
SELECT '[1,2,3]'::vector - '[1,2]';
SELECT '[1,2,3]'::vector * '[1,2]';

-- Arithmetic overflow and underflow.
SELECT '[3e38]'::vector + '[3e38]';
SELECT '[1,-3e38]'::vector - '[1,3e38]';
SELECT '[1e20]'::vector * '[1e20]';
SELECT '[1e-30]'::vector * '[1e-30]';

-- Concatenation beyond the limit.
SELECT vector_dims(('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::vector || '[1]');

-- subvector ranges that select nothing.
SELECT subvector('[1,2,3]'::vector, 1, 0);
SELECT subvector('[1,2,3]'::vector, 2, -1);
SELECT subvector('[1,2,3]'::vector, 4, 1);
SELECT subvector('[1,2,3]'::vector, 0, 1);
SELECT subvector('[1,2,3]'::vector, -5, 3);
SELECT subvector('[1,2,3]'::vector, 2147483647, 2147483647);
SELECT subvector('[1,2,3]'::vector, -2147483648, 2147483647);

-- Casts from arrays.
SELECT '{NULL}'::real[]::vector;
SELECT '{1,NULL,3}'::int[]::vector;
SELECT '{{1,2},{3,4}}'::real[]::vector;
SELECT '{}'::real[]::vector;
SELECT '{NaN}'::real[]::vector;
SELECT '{Infinity}'::real[]::vector;
SELECT '{-Infinity}'::double precision[]::vector;
SELECT '{NaN}'::numeric[]::vector;
SELECT '{4e38,1}'::double precision[]::vector;
SELECT '{1e39}'::numeric[]::vector;
SELECT '{1,2,3}'::real[]::vector(2);
SELECT '{1,2,3}'::int[]::vector(4);
SELECT array_agg(n)::vector FROM generate_series(1, 16001) n;
SELECT array_to_vector(array_agg(n), 16001, false) FROM generate_series(1, 16001) n;
SELECT array_to_vector('{1,2}'::real[], 3, true);

-- Aggregates over rows of different dimensions.
SELECT avg(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v);
SELECT sum(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v);
SELECT sum(v) FROM (VALUES ('[3e38]'::vector), ('[3e38]')) t(v);

-- The avg state functions called directly, as pgvector 0.8 answers them: a state of no rows
-- adds nothing, and two of them are not a vector (inside a parallel aggregate they are fine:
-- see vector_table).
SELECT vector_combine('{0,1}', '{1,2,3}');
SELECT vector_combine('{2,2,4}', '{0}');
SELECT vector_combine('{1,1,2}', '{1,2,3}');
SELECT vector_combine('{1,1}', '{1,2,3}');
SELECT vector_combine('{0}', '{0}');
SELECT halfvec_combine('{0}', '{0}');
SELECT vector_combine('{}', '{1,2}');
