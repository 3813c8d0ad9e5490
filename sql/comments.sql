-- Every object the extension owns has a description (\dT+, \df+, \do+, \dx+ show them), and a
-- few of them, one per kind, read as intended.
SELECT d.classid::regclass AS catalog, count(*) AS objects,
       count(*) FILTER (WHERE obj_description(d.objid, d.classid::regclass::text) IS NULL) AS without_description
FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid AND d.refclassid = 'pg_extension'::regclass
WHERE e.extname = 'quiver' AND d.deptype = 'e'
GROUP BY 1 ORDER BY 1::text;
SELECT obj_description('vector'::regtype, 'pg_type') AS vector,
       obj_description('l2_distance(vector, vector)'::regprocedure, 'pg_proc') AS l2_distance,
       obj_description('vector_in(cstring, oid, integer)'::regprocedure, 'pg_proc') AS vector_in,
       obj_description('<#>(halfvec, halfvec)'::regoperator, 'pg_operator') AS "<#>";
SELECT c.opcname, a.amname, obj_description(c.oid, 'pg_opclass')
FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE (a.amname, c.opcname) IN (('hnsw', 'vector_cosine_ops'), ('ivf', 'int4_array_ops'),
                                ('ivfflat', 'bit_hamming_ops'), ('btree', 'vector_ops'))
ORDER BY 1, 2;
SELECT obj_description(c.oid, 'pg_cast') FROM pg_cast c
WHERE c.castsource = 'real[]'::regtype AND c.casttarget = 'vector'::regtype;
SELECT obj_description(oid, 'pg_am') AS am FROM pg_am WHERE amname IN ('hnsw', 'ivfflat', 'ivf') ORDER BY amname;
