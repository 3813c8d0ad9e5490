-- Casts between sparsevec and sparsevec(n), vector, halfvec and numeric arrays, with their
-- contexts, type modifiers, limits and errors.

SELECT castsource::regtype AS source, casttarget::regtype AS target, castcontext,
       castfunc::regprocedure AS function
FROM pg_cast
WHERE castsource = 'sparsevec'::regtype OR casttarget = 'sparsevec'::regtype
ORDER BY castsource::regtype::text, casttarget::regtype::text;

-- sparsevec -> sparsevec(n) only checks the dimension.
SELECT '{1:1,3:2}/3'::sparsevec::sparsevec(3);
SELECT '{1:1,3:2}/3'::sparsevec::sparsevec(4);
SELECT '{1:1,3:2}/3'::sparsevec(3)::sparsevec(2);

-- vector -> sparsevec (implicit): zeros, including -0, are dropped.
SELECT '[0,1.5,0,-2]'::vector::sparsevec;
SELECT '[0,1.5,0,-2]'::vector::sparsevec(4);
SELECT '[0,1.5,0,-2]'::vector::sparsevec(3);
SELECT '[-0,0,0]'::vector::sparsevec;
SELECT sparsevec_cmp('[1,0,2]'::vector, '{1:1,3:2}/3') AS implicit_in_call;

-- sparsevec -> vector (assignment).
SELECT '{2:1.5,4:-2}/4'::sparsevec::vector;
SELECT '{2:1.5,4:-2}/4'::sparsevec::vector(4);
SELECT '{2:1.5,4:-2}/4'::sparsevec::vector(5);
SELECT '{}/3'::sparsevec::vector;
SELECT '{}/16000'::sparsevec::vector::sparsevec;
SELECT '{}/16001'::sparsevec::vector;

-- halfvec -> sparsevec (implicit) and sparsevec -> halfvec (assignment).
SELECT '[0,1.5,0,-2]'::halfvec::sparsevec;
SELECT '[0,1.5,0,-2]'::halfvec::sparsevec(4);
SELECT '[0,1.5,0,-2]'::halfvec::sparsevec(5);
SELECT '[-0,0.25]'::halfvec::sparsevec;
SELECT '{2:1.5,4:-2}/4'::sparsevec::halfvec;
SELECT '{2:1.5,4:-2}/4'::sparsevec::halfvec(4);
SELECT '{2:1.5,4:-2}/4'::sparsevec::halfvec(3);
SELECT '{1:65504,2:-65504}/2'::sparsevec::halfvec;
SELECT '{1:1.0001,2:1e-8}/2'::sparsevec::halfvec;
SELECT '{1:65520}/1'::sparsevec::halfvec;
SELECT '{1:1,2:-1e6}/2'::sparsevec::halfvec;
SELECT '{}/16001'::sparsevec::halfvec;

-- Assignment casts apply on INSERT.
CREATE TABLE quiver_sv_cast (s sparsevec(3), v vector(3), h halfvec(3));
INSERT INTO quiver_sv_cast VALUES ('[1,0,2]'::vector, '{2:4}/3'::sparsevec, '{3:0.5}/3'::sparsevec);
INSERT INTO quiver_sv_cast (s) VALUES ('[1,0,2,0]'::vector);
SELECT s, v, h FROM quiver_sv_cast;
DROP TABLE quiver_sv_cast;

-- Round trips through the dense types keep the values.
SELECT s, s::vector::sparsevec = s AS via_vector, s::halfvec::sparsevec = s AS via_halfvec
FROM (VALUES ('{1:0.5,4:-3,7:1024}/8'::sparsevec), ('{}/2'), ('{1:1}/1')) t(s);

-- Arrays -> sparsevec (assignment): the array is the dense vector.
SELECT ARRAY[0,1,0,2]::sparsevec;
SELECT ARRAY[0,1.5,0,-2]::numeric[]::sparsevec;
SELECT '{0,1.5,0,-2}'::real[]::sparsevec;
SELECT '{0,1.5,0,-2}'::double precision[]::sparsevec;
SELECT '{0,0,-0}'::real[]::sparsevec;
SELECT '{1,2}'::real[]::sparsevec(2);
SELECT '{1,2}'::real[]::sparsevec(3);
SELECT array_to_sparsevec('{7,0,8}'::int[], -1, false);
SELECT '{}'::real[]::sparsevec;
SELECT '{{1,2},{3,4}}'::real[]::sparsevec;
SELECT '{1,NULL}'::real[]::sparsevec;
SELECT '{1,NaN}'::real[]::sparsevec;
SELECT '{Infinity}'::double precision[]::sparsevec;
SELECT '{1e39}'::double precision[]::sparsevec;
SELECT '{NaN}'::numeric[]::sparsevec;
SELECT array_agg(n)::sparsevec = ('{' || string_agg(n || ':' || n, ',') || '}/16000')::sparsevec
FROM generate_series(1, 16000) n;
SELECT array_agg(n)::sparsevec FROM generate_series(1, 16001) n;
SELECT l2_norm(array_agg(0)::sparsevec), l2_norm(array_agg(n % 2)::sparsevec)
FROM generate_series(1, 20000) n;
