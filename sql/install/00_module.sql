-- quiver install script, assembled from sql/install/*.sql in name order.
\echo Use "CREATE EXTENSION quiver" to load this file. \quit

-- pgvector (or anything else) already owning one of the names quiver defines would otherwise
-- stop this script at that object with a bare catalogue error. Types are per schema (quiver can
-- go into another one); access methods are per database (it cannot, beside pgvector's).
DO $quiver_conflicts$
DECLARE
    owner text;
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['hnsw', 'ivfflat', 'ivf', 'lsh'] LOOP
        SELECT e.extname INTO owner FROM pg_am a
            LEFT JOIN pg_depend d ON d.classid = 'pg_am'::regclass AND d.objid = a.oid AND d.deptype = 'e'
            LEFT JOIN pg_extension e ON e.oid = d.refobjid
            WHERE a.amname = name;
        IF FOUND THEN
            RAISE EXCEPTION 'access method "%" already exists', name
                USING ERRCODE = 'duplicate_object',
                      DETAIL = CASE WHEN owner IS NULL
                          THEN 'quiver creates access methods hnsw, ivfflat, ivf and lsh; access method names are shared by the whole database.'
                          ELSE format('It belongs to extension "%s"%s; quiver creates access methods hnsw, ivfflat, ivf and lsh, and access method names are shared by the whole database.',
                                      owner, CASE WHEN owner = 'vector' THEN ' (pgvector)' ELSE '' END) END,
                      HINT = CASE WHEN owner = 'vector'
                          THEN 'quiver reads and writes pgvector''s formats: drop pgvector (DROP EXTENSION vector CASCADE also drops its indexes; dump the data first) and create quiver, or use quiver in another database.'
                          ELSE 'Drop it first, or use quiver in another database.' END;
        END IF;
    END LOOP;
    FOREACH name IN ARRAY ARRAY['vector', 'halfvec', 'sparsevec', 'pq'] LOOP
        SELECT e.extname INTO owner FROM pg_type t
            JOIN pg_namespace n ON n.oid = t.typnamespace
            LEFT JOIN pg_depend d ON d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e'
            LEFT JOIN pg_extension e ON e.oid = d.refobjid
            WHERE t.typname = name AND n.nspname = current_schema();
        IF FOUND THEN
            RAISE EXCEPTION 'type "%" already exists in schema "%"', name, current_schema()
                USING ERRCODE = 'duplicate_object',
                      DETAIL = CASE WHEN owner IS NULL THEN 'quiver creates types vector, halfvec, sparsevec and pq.'
                          ELSE format('It belongs to extension "%s"%s.', owner,
                                      CASE WHEN owner = 'vector' THEN ' (pgvector)' ELSE '' END) END,
                      HINT = 'Create quiver in another schema (CREATE EXTENSION quiver SCHEMA name), or drop the existing type first.';
        END IF;
    END LOOP;
END
$quiver_conflicts$;

CREATE FUNCTION quiver_simd() RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quiver_simd() IS 'SIMD target used by the distance kernels (see the quiver.simd setting)';
