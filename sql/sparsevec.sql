-- sparsevec text input and output, type modifiers, limits and every input error.

-- Output: sorted 1-based indices, explicit zeros dropped, shortest round-trip floats.
SELECT '{1:1.5,3:2}/5'::sparsevec;
SELECT '{3:2,1:1.5}/5'::sparsevec;
SELECT '{1:0,2:7,3:-0,4:0.0}/4'::sparsevec;
SELECT '{1:0.1,2:1e-3,3:123456789,4:-2.5e-7}/4'::sparsevec;
SELECT '{1:3.4028235e38,2:-1.5e38,3:1.17549435e-38}/3'::sparsevec;
SELECT '{1:2.}/1'::sparsevec, '{1:.5}/1'::sparsevec, '{1:+3}/1'::sparsevec, '{+2:1}/+2'::sparsevec;
SELECT '{1000000000:1}/1000000000'::sparsevec;

-- Whitespace around every token is skipped.
SELECT E' \t{ 1 : 1.25 ,\n 2:-3e2 } / 4 \r\n'::sparsevec;
SELECT '{}/3'::sparsevec, '{ }/3'::sparsevec, '{}/ 3'::sparsevec;

-- Zero values are dropped before their index is checked (as pgvector does).
SELECT '{5:0}/2'::sparsevec;

-- NULLs pass through.
SELECT NULL::sparsevec;
SELECT '{1:1}/2'::sparsevec IS NULL AS is_null;

-- Malformed text.
SELECT ''::sparsevec;
SELECT '   '::sparsevec;
SELECT '[1,2]'::sparsevec;
SELECT '1:1}/2'::sparsevec;
SELECT '{'::sparsevec;
SELECT '{1:1'::sparsevec;
SELECT '{1:1,'::sparsevec;
SELECT '{1:1}'::sparsevec;
SELECT '{1:1} 2'::sparsevec;
SELECT '{1:1}/'::sparsevec;
SELECT '{1:1}/ '::sparsevec;
SELECT '{1:1}/x'::sparsevec;
SELECT '{1:1}/2x'::sparsevec;
SELECT '{1:1}/2/3'::sparsevec;
SELECT '{1:1}/2 }'::sparsevec;
SELECT '{:1}/2'::sparsevec;
SELECT '{1}/2'::sparsevec;
SELECT '{1:}/2'::sparsevec;
SELECT '{a:1}/2'::sparsevec;
SELECT '{1:a}/2'::sparsevec;
SELECT '{1.5:1}/2'::sparsevec;
SELECT '{1:1,}/2'::sparsevec;
SELECT '{,}/2'::sparsevec;
SELECT '{,1:1}/2'::sparsevec;
SELECT '{1:1;2:1}/2'::sparsevec;
SELECT '{1:1 2:1}/2'::sparsevec;
SELECT '{1:1:1}/2'::sparsevec;

-- Values that are not finite floats.
SELECT '{1:NaN}/2'::sparsevec;
SELECT '{1:1,2:nan}/2'::sparsevec;
SELECT '{1:Infinity}/2'::sparsevec;
SELECT '{1:-inf}/2'::sparsevec;
SELECT '{1:1e39}/2'::sparsevec;
SELECT '{1:-4e38}/2'::sparsevec;
SELECT '{1:1e-50}/2'::sparsevec;
SELECT '{1:-1e-46}/2'::sparsevec;
SELECT '{1:0e-99,2:1e-40}/2'::sparsevec;

-- Indices: 1-based, within the dimension, no duplicates.
SELECT '{0:1}/2'::sparsevec;
SELECT '{3:1}/2'::sparsevec;
SELECT '{-1:1}/2'::sparsevec;
SELECT '{2147483648:1}/2'::sparsevec;
SELECT '{-99999999999999999999:1}/2'::sparsevec;
SELECT '{1:1,1:2}/2'::sparsevec;
SELECT '{2:1,1:1,2:3}/3'::sparsevec;

-- Dimensions: 1 to 1,000,000,000.
SELECT '{}/0'::sparsevec;
SELECT '{}/-5'::sparsevec;
SELECT '{}/1000000001'::sparsevec;
SELECT '{}/99999999999999999999'::sparsevec;
SELECT '{}/-99999999999999999999'::sparsevec;

-- At most 16000 elements (counted on the text, so zeros count too).
SELECT l2_norm(('{' || string_agg(i || ':1', ',') || '}/16000')::sparsevec)
FROM generate_series(1, 16000) i;
SELECT ('{' || string_agg(i || ':1', ',') || '}/16001')::sparsevec
FROM generate_series(1, 16001) i;
SELECT ('{' || string_agg(i || ':0', ',') || '}/16001')::sparsevec
FROM generate_series(1, 16001) i;

-- Type modifiers.
SELECT '{1:1}/3'::sparsevec(3);
SELECT '{1:1}/3'::sparsevec(2);
SELECT '{1:1}/3'::sparsevec(0);
SELECT '{1:1}/3'::sparsevec(-1);
SELECT '{1:1}/3'::sparsevec(1000000001);
SELECT '{1:1}/3'::sparsevec(3, 1);
SELECT '{1:1}/3'::sparsevec('x');
SELECT '{}/1000000000'::sparsevec(1000000000);

CREATE TABLE quiver_sv_typmod (v sparsevec(3));
INSERT INTO quiver_sv_typmod VALUES ('{1:1,3:2}/3'), ('{}/3'), (NULL);
INSERT INTO quiver_sv_typmod VALUES ('{1:1}/4');
INSERT INTO quiver_sv_typmod VALUES ('{1:1}/4'::sparsevec);
SELECT v FROM quiver_sv_typmod ORDER BY v;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = 'quiver_sv_typmod'::regclass AND attname = 'v';
DROP TABLE quiver_sv_typmod;

-- Stored out of line without compression, as pgvector declares it.
SELECT typstorage, typlen, typalign FROM pg_type WHERE typname = 'sparsevec';
