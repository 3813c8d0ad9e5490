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
    FOREACH name IN ARRAY ARRAY['hnsw', 'ivfflat', 'ivf'] LOOP
        SELECT e.extname INTO owner FROM pg_am a
            LEFT JOIN pg_depend d ON d.classid = 'pg_am'::regclass AND d.objid = a.oid AND d.deptype = 'e'
            LEFT JOIN pg_extension e ON e.oid = d.refobjid
            WHERE a.amname = name;
        IF FOUND THEN
            RAISE EXCEPTION 'access method "%" already exists', name
                USING ERRCODE = 'duplicate_object',
                      DETAIL = CASE WHEN owner IS NULL
                          THEN 'quiver creates access methods hnsw, ivfflat and ivf; access method names are shared by the whole database.'
                          ELSE format('It belongs to extension "%s"%s; quiver creates access methods hnsw, ivfflat and ivf, and access method names are shared by the whole database.',
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
-- vector: float4 elements, pgvector's type, functions, operators, casts, btree opclass and
-- aggregates (index access methods and their opclasses come with the index code).

CREATE TYPE vector;

CREATE FUNCTION vector_in(cstring, oid, integer) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_out(vector) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_typmod_in(cstring[]) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_recv(internal, oid, integer) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_send(vector) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE vector (
	INPUT     = vector_in,
	OUTPUT    = vector_out,
	TYPMOD_IN = vector_typmod_in,
	RECEIVE   = vector_recv,
	SEND      = vector_send,
	STORAGE   = external
);

-- vector functions

CREATE FUNCTION l2_distance(vector, vector) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION inner_product(vector, vector) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION cosine_distance(vector, vector) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION l1_distance(vector, vector) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_dims(vector) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_norm(vector) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION l2_normalize(vector) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION binary_quantize(vector) RETURNS bit
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION subvector(vector, int, int) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- vector private functions

CREATE FUNCTION vector_add(vector, vector) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_sub(vector, vector) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_mul(vector, vector) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_concat(vector, vector) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_lt(vector, vector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_le(vector, vector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_eq(vector, vector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_ne(vector, vector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_ge(vector, vector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_gt(vector, vector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_cmp(vector, vector) RETURNS int4
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_l2_squared_distance(vector, vector) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_negative_inner_product(vector, vector) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_spherical_distance(vector, vector) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_accum(double precision[], vector) RETURNS double precision[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_avg(double precision[]) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_combine(double precision[], double precision[]) RETURNS double precision[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- vector aggregates

CREATE AGGREGATE avg(vector) (
	SFUNC = vector_accum,
	STYPE = double precision[],
	FINALFUNC = vector_avg,
	COMBINEFUNC = vector_combine,
	INITCOND = '{0}',
	PARALLEL = SAFE
);

CREATE AGGREGATE sum(vector) (
	SFUNC = vector_add,
	STYPE = vector,
	COMBINEFUNC = vector_add,
	PARALLEL = SAFE
);

-- vector cast functions

CREATE FUNCTION vector(vector, integer, boolean) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION array_to_vector(integer[], integer, boolean) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION array_to_vector(real[], integer, boolean) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION array_to_vector(double precision[], integer, boolean) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION array_to_vector(numeric[], integer, boolean) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_to_float4(vector, integer, boolean) RETURNS real[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- vector casts

CREATE CAST (vector AS vector)
	WITH FUNCTION vector(vector, integer, boolean) AS IMPLICIT;

CREATE CAST (vector AS real[])
	WITH FUNCTION vector_to_float4(vector, integer, boolean) AS IMPLICIT;

CREATE CAST (integer[] AS vector)
	WITH FUNCTION array_to_vector(integer[], integer, boolean) AS ASSIGNMENT;

CREATE CAST (real[] AS vector)
	WITH FUNCTION array_to_vector(real[], integer, boolean) AS ASSIGNMENT;

CREATE CAST (double precision[] AS vector)
	WITH FUNCTION array_to_vector(double precision[], integer, boolean) AS ASSIGNMENT;

CREATE CAST (numeric[] AS vector)
	WITH FUNCTION array_to_vector(numeric[], integer, boolean) AS ASSIGNMENT;

-- vector operators

CREATE OPERATOR <-> (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = l2_distance,
	COMMUTATOR = '<->'
);

CREATE OPERATOR <#> (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_negative_inner_product,
	COMMUTATOR = '<#>'
);

CREATE OPERATOR <=> (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = cosine_distance,
	COMMUTATOR = '<=>'
);

CREATE OPERATOR <+> (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = l1_distance,
	COMMUTATOR = '<+>'
);

CREATE OPERATOR + (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_add,
	COMMUTATOR = +
);

CREATE OPERATOR - (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_sub
);

CREATE OPERATOR * (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_mul,
	COMMUTATOR = *
);

CREATE OPERATOR || (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_concat
);

CREATE OPERATOR < (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_lt,
	COMMUTATOR = > , NEGATOR = >= ,
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);

CREATE OPERATOR <= (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_le,
	COMMUTATOR = >= , NEGATOR = > ,
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);

CREATE OPERATOR = (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_eq,
	COMMUTATOR = = , NEGATOR = <> ,
	RESTRICT = eqsel, JOIN = eqjoinsel
);

CREATE OPERATOR <> (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_ne,
	COMMUTATOR = <> , NEGATOR = = ,
	RESTRICT = eqsel, JOIN = eqjoinsel
);

CREATE OPERATOR >= (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_ge,
	COMMUTATOR = <= , NEGATOR = < ,
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);

CREATE OPERATOR > (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_gt,
	COMMUTATOR = < , NEGATOR = <= ,
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);

-- vector opclasses

CREATE OPERATOR CLASS vector_ops
	DEFAULT FOR TYPE vector USING btree AS
	OPERATOR 1 < ,
	OPERATOR 2 <= ,
	OPERATOR 3 = ,
	OPERATOR 4 >= ,
	OPERATOR 5 > ,
	FUNCTION 1 vector_cmp(vector, vector);
-- halfvec: float16 elements, pgvector's type, functions, operators, casts (including the casts
-- between vector and halfvec), btree opclass and aggregates.

CREATE TYPE halfvec;

CREATE FUNCTION halfvec_in(cstring, oid, integer) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_out(halfvec) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_typmod_in(cstring[]) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_recv(internal, oid, integer) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_send(halfvec) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE halfvec (
	INPUT     = halfvec_in,
	OUTPUT    = halfvec_out,
	TYPMOD_IN = halfvec_typmod_in,
	RECEIVE   = halfvec_recv,
	SEND      = halfvec_send,
	STORAGE   = external
);

-- halfvec functions

CREATE FUNCTION l2_distance(halfvec, halfvec) RETURNS float8
	AS 'MODULE_PATHNAME', 'halfvec_l2_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION inner_product(halfvec, halfvec) RETURNS float8
	AS 'MODULE_PATHNAME', 'halfvec_inner_product' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION cosine_distance(halfvec, halfvec) RETURNS float8
	AS 'MODULE_PATHNAME', 'halfvec_cosine_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION l1_distance(halfvec, halfvec) RETURNS float8
	AS 'MODULE_PATHNAME', 'halfvec_l1_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_dims(halfvec) RETURNS integer
	AS 'MODULE_PATHNAME', 'halfvec_vector_dims' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION l2_norm(halfvec) RETURNS float8
	AS 'MODULE_PATHNAME', 'halfvec_l2_norm' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION l2_normalize(halfvec) RETURNS halfvec
	AS 'MODULE_PATHNAME', 'halfvec_l2_normalize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION binary_quantize(halfvec) RETURNS bit
	AS 'MODULE_PATHNAME', 'halfvec_binary_quantize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION subvector(halfvec, int, int) RETURNS halfvec
	AS 'MODULE_PATHNAME', 'halfvec_subvector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- halfvec private functions

CREATE FUNCTION halfvec_add(halfvec, halfvec) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_sub(halfvec, halfvec) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_mul(halfvec, halfvec) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_concat(halfvec, halfvec) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_lt(halfvec, halfvec) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_le(halfvec, halfvec) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_eq(halfvec, halfvec) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_ne(halfvec, halfvec) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_ge(halfvec, halfvec) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_gt(halfvec, halfvec) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_cmp(halfvec, halfvec) RETURNS int4
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_l2_squared_distance(halfvec, halfvec) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_negative_inner_product(halfvec, halfvec) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_spherical_distance(halfvec, halfvec) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_accum(double precision[], halfvec) RETURNS double precision[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_avg(double precision[]) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_combine(double precision[], double precision[]) RETURNS double precision[]
	AS 'MODULE_PATHNAME', 'vector_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- halfvec aggregates

CREATE AGGREGATE avg(halfvec) (
	SFUNC = halfvec_accum,
	STYPE = double precision[],
	FINALFUNC = halfvec_avg,
	COMBINEFUNC = halfvec_combine,
	INITCOND = '{0}',
	PARALLEL = SAFE
);

CREATE AGGREGATE sum(halfvec) (
	SFUNC = halfvec_add,
	STYPE = halfvec,
	COMBINEFUNC = halfvec_add,
	PARALLEL = SAFE
);

-- halfvec cast functions

CREATE FUNCTION halfvec(halfvec, integer, boolean) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_to_vector(halfvec, integer, boolean) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_to_halfvec(vector, integer, boolean) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION array_to_halfvec(integer[], integer, boolean) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION array_to_halfvec(real[], integer, boolean) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION array_to_halfvec(double precision[], integer, boolean) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION array_to_halfvec(numeric[], integer, boolean) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_to_float4(halfvec, integer, boolean) RETURNS real[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- halfvec casts

CREATE CAST (halfvec AS halfvec)
	WITH FUNCTION halfvec(halfvec, integer, boolean) AS IMPLICIT;

CREATE CAST (halfvec AS vector)
	WITH FUNCTION halfvec_to_vector(halfvec, integer, boolean) AS ASSIGNMENT;

CREATE CAST (vector AS halfvec)
	WITH FUNCTION vector_to_halfvec(vector, integer, boolean) AS IMPLICIT;

CREATE CAST (halfvec AS real[])
	WITH FUNCTION halfvec_to_float4(halfvec, integer, boolean) AS ASSIGNMENT;

CREATE CAST (integer[] AS halfvec)
	WITH FUNCTION array_to_halfvec(integer[], integer, boolean) AS ASSIGNMENT;

CREATE CAST (real[] AS halfvec)
	WITH FUNCTION array_to_halfvec(real[], integer, boolean) AS ASSIGNMENT;

CREATE CAST (double precision[] AS halfvec)
	WITH FUNCTION array_to_halfvec(double precision[], integer, boolean) AS ASSIGNMENT;

CREATE CAST (numeric[] AS halfvec)
	WITH FUNCTION array_to_halfvec(numeric[], integer, boolean) AS ASSIGNMENT;

-- halfvec operators

CREATE OPERATOR <-> (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = l2_distance,
	COMMUTATOR = '<->'
);

CREATE OPERATOR <#> (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = halfvec_negative_inner_product,
	COMMUTATOR = '<#>'
);

CREATE OPERATOR <=> (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = cosine_distance,
	COMMUTATOR = '<=>'
);

CREATE OPERATOR <+> (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = l1_distance,
	COMMUTATOR = '<+>'
);

CREATE OPERATOR + (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = halfvec_add,
	COMMUTATOR = +
);

CREATE OPERATOR - (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = halfvec_sub
);

CREATE OPERATOR * (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = halfvec_mul,
	COMMUTATOR = *
);

CREATE OPERATOR || (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = halfvec_concat
);

CREATE OPERATOR < (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = halfvec_lt,
	COMMUTATOR = > , NEGATOR = >= ,
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);

CREATE OPERATOR <= (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = halfvec_le,
	COMMUTATOR = >= , NEGATOR = > ,
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);

CREATE OPERATOR = (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = halfvec_eq,
	COMMUTATOR = = , NEGATOR = <> ,
	RESTRICT = eqsel, JOIN = eqjoinsel
);

CREATE OPERATOR <> (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = halfvec_ne,
	COMMUTATOR = <> , NEGATOR = = ,
	RESTRICT = eqsel, JOIN = eqjoinsel
);

CREATE OPERATOR >= (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = halfvec_ge,
	COMMUTATOR = <= , NEGATOR = < ,
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);

CREATE OPERATOR > (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = halfvec_gt,
	COMMUTATOR = < , NEGATOR = <= ,
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);

-- halfvec opclasses

CREATE OPERATOR CLASS halfvec_ops
	DEFAULT FOR TYPE halfvec USING btree AS
	OPERATOR 1 < ,
	OPERATOR 2 <= ,
	OPERATOR 3 = ,
	OPERATOR 4 >= ,
	OPERATOR 5 > ,
	FUNCTION 1 halfvec_cmp(halfvec, halfvec);
-- sparsevec: pgvector's sparse vector type, its functions, operators, btree opclass and casts
-- (to and from sparsevec(n), vector, halfvec and numeric arrays), declared as pgvector declares them.

CREATE TYPE sparsevec;

CREATE FUNCTION sparsevec_in(cstring, oid, integer) RETURNS sparsevec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION sparsevec_out(sparsevec) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION sparsevec_typmod_in(cstring[]) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION sparsevec_recv(internal, oid, integer) RETURNS sparsevec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION sparsevec_send(sparsevec) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE sparsevec (
	INPUT     = sparsevec_in,
	OUTPUT    = sparsevec_out,
	TYPMOD_IN = sparsevec_typmod_in,
	RECEIVE   = sparsevec_recv,
	SEND      = sparsevec_send,
	STORAGE   = external
);

-- functions

CREATE FUNCTION l2_distance(sparsevec, sparsevec) RETURNS float8
	AS 'MODULE_PATHNAME', 'sparsevec_l2_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION inner_product(sparsevec, sparsevec) RETURNS float8
	AS 'MODULE_PATHNAME', 'sparsevec_inner_product' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION cosine_distance(sparsevec, sparsevec) RETURNS float8
	AS 'MODULE_PATHNAME', 'sparsevec_cosine_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION l1_distance(sparsevec, sparsevec) RETURNS float8
	AS 'MODULE_PATHNAME', 'sparsevec_l1_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION l2_norm(sparsevec) RETURNS float8
	AS 'MODULE_PATHNAME', 'sparsevec_l2_norm' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION l2_normalize(sparsevec) RETURNS sparsevec
	AS 'MODULE_PATHNAME', 'sparsevec_l2_normalize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- private functions

CREATE FUNCTION sparsevec_lt(sparsevec, sparsevec) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION sparsevec_le(sparsevec, sparsevec) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION sparsevec_eq(sparsevec, sparsevec) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION sparsevec_ne(sparsevec, sparsevec) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION sparsevec_ge(sparsevec, sparsevec) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION sparsevec_gt(sparsevec, sparsevec) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION sparsevec_cmp(sparsevec, sparsevec) RETURNS int4
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION sparsevec_l2_squared_distance(sparsevec, sparsevec) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION sparsevec_negative_inner_product(sparsevec, sparsevec) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- cast functions

CREATE FUNCTION sparsevec(sparsevec, integer, boolean) RETURNS sparsevec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_to_sparsevec(vector, integer, boolean) RETURNS sparsevec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION sparsevec_to_vector(sparsevec, integer, boolean) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_to_sparsevec(halfvec, integer, boolean) RETURNS sparsevec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION sparsevec_to_halfvec(sparsevec, integer, boolean) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION array_to_sparsevec(integer[], integer, boolean) RETURNS sparsevec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION array_to_sparsevec(real[], integer, boolean) RETURNS sparsevec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION array_to_sparsevec(double precision[], integer, boolean) RETURNS sparsevec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION array_to_sparsevec(numeric[], integer, boolean) RETURNS sparsevec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- casts

CREATE CAST (sparsevec AS sparsevec)
	WITH FUNCTION sparsevec(sparsevec, integer, boolean) AS IMPLICIT;

CREATE CAST (sparsevec AS vector)
	WITH FUNCTION sparsevec_to_vector(sparsevec, integer, boolean) AS ASSIGNMENT;

CREATE CAST (vector AS sparsevec)
	WITH FUNCTION vector_to_sparsevec(vector, integer, boolean) AS IMPLICIT;

CREATE CAST (sparsevec AS halfvec)
	WITH FUNCTION sparsevec_to_halfvec(sparsevec, integer, boolean) AS ASSIGNMENT;

CREATE CAST (halfvec AS sparsevec)
	WITH FUNCTION halfvec_to_sparsevec(halfvec, integer, boolean) AS IMPLICIT;

CREATE CAST (integer[] AS sparsevec)
	WITH FUNCTION array_to_sparsevec(integer[], integer, boolean) AS ASSIGNMENT;

CREATE CAST (real[] AS sparsevec)
	WITH FUNCTION array_to_sparsevec(real[], integer, boolean) AS ASSIGNMENT;

CREATE CAST (double precision[] AS sparsevec)
	WITH FUNCTION array_to_sparsevec(double precision[], integer, boolean) AS ASSIGNMENT;

CREATE CAST (numeric[] AS sparsevec)
	WITH FUNCTION array_to_sparsevec(numeric[], integer, boolean) AS ASSIGNMENT;

-- operators

CREATE OPERATOR <-> (
	LEFTARG = sparsevec, RIGHTARG = sparsevec, PROCEDURE = l2_distance,
	COMMUTATOR = '<->'
);

CREATE OPERATOR <#> (
	LEFTARG = sparsevec, RIGHTARG = sparsevec, PROCEDURE = sparsevec_negative_inner_product,
	COMMUTATOR = '<#>'
);

CREATE OPERATOR <=> (
	LEFTARG = sparsevec, RIGHTARG = sparsevec, PROCEDURE = cosine_distance,
	COMMUTATOR = '<=>'
);

CREATE OPERATOR <+> (
	LEFTARG = sparsevec, RIGHTARG = sparsevec, PROCEDURE = l1_distance,
	COMMUTATOR = '<+>'
);

CREATE OPERATOR < (
	LEFTARG = sparsevec, RIGHTARG = sparsevec, PROCEDURE = sparsevec_lt,
	COMMUTATOR = > , NEGATOR = >= ,
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);

CREATE OPERATOR <= (
	LEFTARG = sparsevec, RIGHTARG = sparsevec, PROCEDURE = sparsevec_le,
	COMMUTATOR = >= , NEGATOR = > ,
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);

CREATE OPERATOR = (
	LEFTARG = sparsevec, RIGHTARG = sparsevec, PROCEDURE = sparsevec_eq,
	COMMUTATOR = = , NEGATOR = <> ,
	RESTRICT = eqsel, JOIN = eqjoinsel
);

CREATE OPERATOR <> (
	LEFTARG = sparsevec, RIGHTARG = sparsevec, PROCEDURE = sparsevec_ne,
	COMMUTATOR = <> , NEGATOR = = ,
	RESTRICT = eqsel, JOIN = eqjoinsel
);

CREATE OPERATOR >= (
	LEFTARG = sparsevec, RIGHTARG = sparsevec, PROCEDURE = sparsevec_ge,
	COMMUTATOR = <= , NEGATOR = < ,
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);

CREATE OPERATOR > (
	LEFTARG = sparsevec, RIGHTARG = sparsevec, PROCEDURE = sparsevec_gt,
	COMMUTATOR = < , NEGATOR = <= ,
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);

-- opclasses (the hnsw ones come with the access method)

CREATE OPERATOR CLASS sparsevec_ops
	DEFAULT FOR TYPE sparsevec USING btree AS
	OPERATOR 1 < ,
	OPERATOR 2 <= ,
	OPERATOR 3 = ,
	OPERATOR 4 >= ,
	OPERATOR 5 > ,
	FUNCTION 1 sparsevec_cmp(sparsevec, sparsevec);
-- Distances on PostgreSQL's bit type, as pgvector declares them (the hnsw/ivfflat opclasses come
-- with the access methods).

CREATE FUNCTION hamming_distance(bit, bit) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION jaccard_distance(bit, bit) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR <~> (
	LEFTARG = bit, RIGHTARG = bit, PROCEDURE = hamming_distance,
	COMMUTATOR = '<~>'
);

CREATE OPERATOR <%> (
	LEFTARG = bit, RIGHTARG = bit, PROCEDURE = jaccard_distance,
	COMMUTATOR = '<%>'
);
-- The hnsw index access method with pgvector's operator class names. FUNCTION 1 is pgvector's
-- distance function, FUNCTION 2 (cosine only) its norm function, FUNCTION 3 quiver's static
-- description of the opclass (representation, metric, normalisation, limits), which is what the
-- index actually uses: distances run on the stored codes, never through FUNCTION 1.

CREATE FUNCTION hnswhandler(internal) RETURNS index_am_handler
	AS 'MODULE_PATHNAME' LANGUAGE C;

CREATE ACCESS METHOD hnsw TYPE INDEX HANDLER hnswhandler;

COMMENT ON ACCESS METHOD hnsw IS 'hnsw index access method';

CREATE FUNCTION quiver_hnsw_vector_l2_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_hnsw_vector_ip_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_hnsw_vector_cosine_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_hnsw_vector_l1_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_hnsw_halfvec_l2_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_hnsw_halfvec_ip_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_hnsw_halfvec_cosine_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_hnsw_halfvec_l1_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_hnsw_sparsevec_l2_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_hnsw_sparsevec_ip_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_hnsw_sparsevec_cosine_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_hnsw_sparsevec_l1_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_hnsw_bit_hamming_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_hnsw_bit_jaccard_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- vector

CREATE OPERATOR CLASS vector_l2_ops
	FOR TYPE vector USING hnsw AS
	OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_l2_squared_distance(vector, vector),
	FUNCTION 3 quiver_hnsw_vector_l2_info(internal);

CREATE OPERATOR CLASS vector_ip_ops
	FOR TYPE vector USING hnsw AS
	OPERATOR 1 <#> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_negative_inner_product(vector, vector),
	FUNCTION 3 quiver_hnsw_vector_ip_info(internal);

CREATE OPERATOR CLASS vector_cosine_ops
	FOR TYPE vector USING hnsw AS
	OPERATOR 1 <=> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_negative_inner_product(vector, vector),
	FUNCTION 2 vector_norm(vector),
	FUNCTION 3 quiver_hnsw_vector_cosine_info(internal);

CREATE OPERATOR CLASS vector_l1_ops
	FOR TYPE vector USING hnsw AS
	OPERATOR 1 <+> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 l1_distance(vector, vector),
	FUNCTION 3 quiver_hnsw_vector_l1_info(internal);

-- halfvec

CREATE OPERATOR CLASS halfvec_l2_ops
	FOR TYPE halfvec USING hnsw AS
	OPERATOR 1 <-> (halfvec, halfvec) FOR ORDER BY float_ops,
	FUNCTION 1 halfvec_l2_squared_distance(halfvec, halfvec),
	FUNCTION 3 quiver_hnsw_halfvec_l2_info(internal);

CREATE OPERATOR CLASS halfvec_ip_ops
	FOR TYPE halfvec USING hnsw AS
	OPERATOR 1 <#> (halfvec, halfvec) FOR ORDER BY float_ops,
	FUNCTION 1 halfvec_negative_inner_product(halfvec, halfvec),
	FUNCTION 3 quiver_hnsw_halfvec_ip_info(internal);

CREATE OPERATOR CLASS halfvec_cosine_ops
	FOR TYPE halfvec USING hnsw AS
	OPERATOR 1 <=> (halfvec, halfvec) FOR ORDER BY float_ops,
	FUNCTION 1 halfvec_negative_inner_product(halfvec, halfvec),
	FUNCTION 2 l2_norm(halfvec),
	FUNCTION 3 quiver_hnsw_halfvec_cosine_info(internal);

CREATE OPERATOR CLASS halfvec_l1_ops
	FOR TYPE halfvec USING hnsw AS
	OPERATOR 1 <+> (halfvec, halfvec) FOR ORDER BY float_ops,
	FUNCTION 1 l1_distance(halfvec, halfvec),
	FUNCTION 3 quiver_hnsw_halfvec_l1_info(internal);

-- sparsevec

CREATE OPERATOR CLASS sparsevec_l2_ops
	FOR TYPE sparsevec USING hnsw AS
	OPERATOR 1 <-> (sparsevec, sparsevec) FOR ORDER BY float_ops,
	FUNCTION 1 sparsevec_l2_squared_distance(sparsevec, sparsevec),
	FUNCTION 3 quiver_hnsw_sparsevec_l2_info(internal);

CREATE OPERATOR CLASS sparsevec_ip_ops
	FOR TYPE sparsevec USING hnsw AS
	OPERATOR 1 <#> (sparsevec, sparsevec) FOR ORDER BY float_ops,
	FUNCTION 1 sparsevec_negative_inner_product(sparsevec, sparsevec),
	FUNCTION 3 quiver_hnsw_sparsevec_ip_info(internal);

CREATE OPERATOR CLASS sparsevec_cosine_ops
	FOR TYPE sparsevec USING hnsw AS
	OPERATOR 1 <=> (sparsevec, sparsevec) FOR ORDER BY float_ops,
	FUNCTION 1 sparsevec_negative_inner_product(sparsevec, sparsevec),
	FUNCTION 2 l2_norm(sparsevec),
	FUNCTION 3 quiver_hnsw_sparsevec_cosine_info(internal);

CREATE OPERATOR CLASS sparsevec_l1_ops
	FOR TYPE sparsevec USING hnsw AS
	OPERATOR 1 <+> (sparsevec, sparsevec) FOR ORDER BY float_ops,
	FUNCTION 1 l1_distance(sparsevec, sparsevec),
	FUNCTION 3 quiver_hnsw_sparsevec_l1_info(internal);

-- bit

CREATE OPERATOR CLASS bit_hamming_ops
	FOR TYPE bit USING hnsw AS
	OPERATOR 1 <~> (bit, bit) FOR ORDER BY float_ops,
	FUNCTION 1 hamming_distance(bit, bit),
	FUNCTION 3 quiver_hnsw_bit_hamming_info(internal);

CREATE OPERATOR CLASS bit_jaccard_ops
	FOR TYPE bit USING hnsw AS
	OPERATOR 1 <%> (bit, bit) FOR ORDER BY float_ops,
	FUNCTION 1 jaccard_distance(bit, bit),
	FUNCTION 3 quiver_hnsw_bit_jaccard_info(internal);

-- quiver_index_check: verifies an hnsw index's on-disk invariants (metapage, tuples, links,
-- reachability of every row's element from the entry point on level 0), or an ivfflat index's
-- (metapage, centroids, directory, list chains, entries; then elements = heap_tids = entries,
-- deleted = unreachable = 0 and entry_level is NULL). Raises an error
-- (SQLSTATE XX002, index_corrupted) on the first violation; otherwise returns the index's
-- counts. It takes a ShareLock on the table and the index while it runs (writes wait).
CREATE FUNCTION quiver_index_check(index regclass,
    OUT pages bigint, OUT elements bigint, OUT heap_tids bigint, OUT deleted bigint,
    OUT entry_level integer, OUT unreachable bigint)
    RETURNS record
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION quiver_index_check(regclass) IS
    'Checks the invariants of an hnsw or ivfflat index; errors on corruption, else returns pages, elements, heap TIDs, deleted slots, entry level and unreachable dead elements';

-- quiver_hnsw_metapage: an hnsw index's metapage (build parameters, entry point, the page where
-- inserts look for room first, counts as of the last build or VACUUM), for the index's owner.
CREATE FUNCTION quiver_hnsw_metapage(index regclass,
    OUT version integer, OUT dimensions integer, OUT m integer, OUT ef_construction integer,
    OUT entry_point tid, OUT entry_level integer, OUT insert_page bigint,
    OUT element_count bigint, OUT deleted_count bigint)
    RETURNS record
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION quiver_hnsw_metapage(regclass) IS
    'Shows the metapage of an hnsw index: format version, dimensions, m, ef_construction, entry point and level, insert page, element and deleted-slot counts';

-- quiver_ivf_metapage: what an ivfflat or ivf index was built with (lists, quantizer, bytes of
-- a code, PQ sub-spaces and bits, and whether its lists hold one entry per item or fast-scan
-- blocks of 32), for the index's owner.
CREATE FUNCTION quiver_ivf_metapage(index regclass,
    OUT version integer, OUT dimensions integer, OUT lists integer, OUT quantizer text,
    OUT code_bytes integer, OUT pq_m integer, OUT pq_nbits integer, OUT layout text)
    RETURNS record
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION quiver_ivf_metapage(regclass) IS
    'Shows the metapage of an ivfflat or ivf index: format version, dimensions, lists, quantizer, code bytes, PQ sub-spaces and bits, and the list layout (entry or fastscan)';
-- The ivfflat index access method with pgvector's operator class names, options and GUCs.
-- FUNCTION 1 is pgvector's distance function, FUNCTION 2 (cosine only) its norm function,
-- FUNCTION 3 quiver's static description of the opclass, which is what the index uses.

CREATE FUNCTION ivfflathandler(internal) RETURNS index_am_handler
	AS 'MODULE_PATHNAME' LANGUAGE C;

CREATE ACCESS METHOD ivfflat TYPE INDEX HANDLER ivfflathandler;

COMMENT ON ACCESS METHOD ivfflat IS 'ivfflat index access method';

CREATE FUNCTION quiver_ivfflat_vector_l2_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_ivfflat_vector_ip_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_ivfflat_vector_cosine_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_ivfflat_halfvec_l2_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_ivfflat_halfvec_ip_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_ivfflat_halfvec_cosine_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_ivfflat_bit_hamming_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE OPERATOR CLASS vector_l2_ops
	DEFAULT FOR TYPE vector USING ivfflat AS
	OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_l2_squared_distance(vector, vector),
	FUNCTION 3 quiver_ivfflat_vector_l2_info(internal);

CREATE OPERATOR CLASS vector_ip_ops
	FOR TYPE vector USING ivfflat AS
	OPERATOR 1 <#> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_negative_inner_product(vector, vector),
	FUNCTION 3 quiver_ivfflat_vector_ip_info(internal);

CREATE OPERATOR CLASS vector_cosine_ops
	FOR TYPE vector USING ivfflat AS
	OPERATOR 1 <=> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_negative_inner_product(vector, vector),
	FUNCTION 2 vector_norm(vector),
	FUNCTION 3 quiver_ivfflat_vector_cosine_info(internal);

CREATE OPERATOR CLASS halfvec_l2_ops
	FOR TYPE halfvec USING ivfflat AS
	OPERATOR 1 <-> (halfvec, halfvec) FOR ORDER BY float_ops,
	FUNCTION 1 halfvec_l2_squared_distance(halfvec, halfvec),
	FUNCTION 3 quiver_ivfflat_halfvec_l2_info(internal);

CREATE OPERATOR CLASS halfvec_ip_ops
	FOR TYPE halfvec USING ivfflat AS
	OPERATOR 1 <#> (halfvec, halfvec) FOR ORDER BY float_ops,
	FUNCTION 1 halfvec_negative_inner_product(halfvec, halfvec),
	FUNCTION 3 quiver_ivfflat_halfvec_ip_info(internal);

CREATE OPERATOR CLASS halfvec_cosine_ops
	FOR TYPE halfvec USING ivfflat AS
	OPERATOR 1 <=> (halfvec, halfvec) FOR ORDER BY float_ops,
	FUNCTION 1 halfvec_negative_inner_product(halfvec, halfvec),
	FUNCTION 2 l2_norm(halfvec),
	FUNCTION 3 quiver_ivfflat_halfvec_cosine_info(internal);

CREATE OPERATOR CLASS bit_hamming_ops
	FOR TYPE bit USING ivfflat AS
	OPERATOR 1 <~> (bit, bit) FOR ORDER BY float_ops,
	FUNCTION 1 hamming_distance(bit, bit),
	FUNCTION 3 quiver_ivfflat_bit_hamming_info(internal);
-- quiver's ivf index access method: inverted lists of quantized codes (pq, the default, or
-- sq8; flat keeps the vectors), re-ranked by exact distance. Operator class names as pgvector's.
-- FUNCTION 3 is quiver's description of the opclass (up to 16,000 dimensions).

CREATE FUNCTION ivfhandler(internal) RETURNS index_am_handler
	AS 'MODULE_PATHNAME' LANGUAGE C;

CREATE ACCESS METHOD ivf TYPE INDEX HANDLER ivfhandler;

COMMENT ON ACCESS METHOD ivf IS 'quiver ivf index access method: quantized inverted lists with exact re-ranking';

CREATE FUNCTION quiver_ivf_vector_l2_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_ivf_vector_ip_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_ivf_vector_cosine_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_ivf_halfvec_l2_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_ivf_halfvec_ip_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_ivf_halfvec_cosine_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE OPERATOR CLASS vector_l2_ops
	DEFAULT FOR TYPE vector USING ivf AS
	OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_l2_squared_distance(vector, vector),
	FUNCTION 3 quiver_ivf_vector_l2_info(internal);

CREATE OPERATOR CLASS vector_ip_ops
	FOR TYPE vector USING ivf AS
	OPERATOR 1 <#> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_negative_inner_product(vector, vector),
	FUNCTION 3 quiver_ivf_vector_ip_info(internal);

CREATE OPERATOR CLASS vector_cosine_ops
	FOR TYPE vector USING ivf AS
	OPERATOR 1 <=> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_negative_inner_product(vector, vector),
	FUNCTION 2 vector_norm(vector),
	FUNCTION 3 quiver_ivf_vector_cosine_info(internal);

CREATE OPERATOR CLASS halfvec_l2_ops
	DEFAULT FOR TYPE halfvec USING ivf AS
	OPERATOR 1 <-> (halfvec, halfvec) FOR ORDER BY float_ops,
	FUNCTION 1 halfvec_l2_squared_distance(halfvec, halfvec),
	FUNCTION 3 quiver_ivf_halfvec_l2_info(internal);

CREATE OPERATOR CLASS halfvec_ip_ops
	FOR TYPE halfvec USING ivf AS
	OPERATOR 1 <#> (halfvec, halfvec) FOR ORDER BY float_ops,
	FUNCTION 1 halfvec_negative_inner_product(halfvec, halfvec),
	FUNCTION 3 quiver_ivf_halfvec_ip_info(internal);

CREATE OPERATOR CLASS halfvec_cosine_ops
	FOR TYPE halfvec USING ivf AS
	OPERATOR 1 <=> (halfvec, halfvec) FOR ORDER BY float_ops,
	FUNCTION 1 halfvec_negative_inner_product(halfvec, halfvec),
	FUNCTION 2 l2_norm(halfvec),
	FUNCTION 3 quiver_ivf_halfvec_cosine_info(internal);
-- The pq type: product-quantized vectors. Codebooks are rows of quiver_pq_codebook (an
-- extension configuration table: pg_dump dumps its rows), trained by quiver_pq_train(); pq(N)
-- holds codes of codebook N. Distances between a pq value and a vector are those of the decoded
-- vector.

CREATE TABLE quiver_pq_codebook (
	id serial PRIMARY KEY,
	dimensions integer NOT NULL,
	m integer NOT NULL,
	nbits integer NOT NULL,
	source text NOT NULL,
	trained_rows integer NOT NULL,
	created timestamptz NOT NULL DEFAULT now(),
	blob bytea NOT NULL
);
COMMENT ON TABLE quiver_pq_codebook IS 'Product quantizer codebooks for the pq type (trained by quiver_pq_train)';
SELECT pg_catalog.pg_extension_config_dump('quiver_pq_codebook', '');
SELECT pg_catalog.pg_extension_config_dump('quiver_pq_codebook_id_seq', '');

CREATE TYPE pq;

CREATE FUNCTION pq_in(cstring, oid, integer) RETURNS pq
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pq_out(pq) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pq_typmod_in(cstring[]) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pq_typmod_out(integer) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pq_recv(internal, oid, integer) RETURNS pq
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pq_send(pq) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE pq (
	INPUT      = pq_in,
	OUTPUT     = pq_out,
	TYPMOD_IN  = pq_typmod_in,
	TYPMOD_OUT = pq_typmod_out,
	RECEIVE    = pq_recv,
	SEND       = pq_send,
	STORAGE    = extended
);
COMMENT ON TYPE pq IS 'product-quantized vector: a codebook id (the typmod, pq(N)) and its codes';

CREATE FUNCTION pq(pq, integer, boolean) RETURNS pq
	AS 'MODULE_PATHNAME', 'pq_typmod_cast' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE CAST (pq AS pq) WITH FUNCTION pq(pq, integer, boolean) AS IMPLICIT;

-- Codebooks are read from the table: STABLE, not IMMUTABLE.
CREATE FUNCTION quiver_pq_encode(vector, integer) RETURNS pq
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quiver_pq_encode(vector, integer) IS 'Encodes a vector with pq codebook N';
CREATE FUNCTION vector_to_pq(vector, integer, boolean) RETURNS pq
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE CAST (vector AS pq) WITH FUNCTION vector_to_pq(vector, integer, boolean) AS ASSIGNMENT;
CREATE FUNCTION quiver_pq_decode(pq) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quiver_pq_decode(pq) IS 'The vector a pq value stands for (its codebook''s centroids)';
CREATE FUNCTION quiver_pq_codebook_of(pq) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION pq_l2_distance(pq, vector) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pq_negative_inner_product(pq, vector) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pq_cosine_distance(pq, vector) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE OPERATOR <-> (LEFTARG = pq, RIGHTARG = vector, PROCEDURE = pq_l2_distance);
CREATE OPERATOR <#> (LEFTARG = pq, RIGHTARG = vector, PROCEDURE = pq_negative_inner_product);
CREATE OPERATOR <=> (LEFTARG = pq, RIGHTARG = vector, PROCEDURE = pq_cosine_distance);

CREATE FUNCTION quiver_pq_train(tbl regclass, col name, m integer, nbits integer DEFAULT 8,
                                sample integer DEFAULT 10000) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION quiver_pq_train(regclass, name, integer, integer, integer) IS
	'Trains a product quantizer (m sub-spaces, nbits per code) on a random sample of a vector column; returns the codebook id';

-- A codebook that columns still use cannot be deleted.
CREATE FUNCTION quiver_pq_codebook_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	col text;
BEGIN
	SELECT format('%s.%I', a.attrelid::regclass, a.attname) INTO col
	FROM pg_catalog.pg_attribute a
	JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
	JOIN pg_catalog.pg_extension e ON e.extname = 'quiver' AND t.typnamespace = e.extnamespace
	WHERE t.typname = 'pq' AND a.atttypmod = OLD.id AND NOT a.attisdropped
	LIMIT 1;
	IF col IS NOT NULL THEN
		RAISE EXCEPTION 'pq codebook % is used by column %', OLD.id, col
			USING ERRCODE = 'dependent_objects_still_exist',
			      HINT = 'Drop or convert the columns of type pq(' || OLD.id || ') first.';
	END IF;
	RETURN OLD;
END $$;
CREATE TRIGGER quiver_pq_codebook_guard BEFORE DELETE OR UPDATE OF blob, dimensions, m, nbits
	ON quiver_pq_codebook FOR EACH ROW EXECUTE FUNCTION quiver_pq_codebook_guard();
-- Operator classes for the filter columns of multi-column hnsw, ivfflat and ivf indexes:
--   CREATE INDEX ON items USING hnsw (emb vector_l2_ops, tenant_id, category, tags);
-- The first column is the vector; each further column keeps its value beside every entry and
-- the WHERE clauses on it that use these operators are evaluated inside the index scan.
-- Strategies (include/quiver/pg/filter_columns.h): 1 <, 2 <=, 3 =, 4 >=, 5 >, 6 <>, and for
-- arrays 7 && and 8 @>. `= ANY(array)` comes with strategy 3, IS [NOT] NULL needs no operator.
-- No support functions: the index reads the values by type (integers, dates and timestamps as
-- 64-bit integers, text as bytes, arrays without their NULL elements). Text: equality always;
-- the range operators are evaluated in the index only under the "C" collation (bytewise
-- order), otherwise left to the executor.
DO $$
DECLARE
	am text;
	l text;
	r text;
	t text;
	ops text[] := ARRAY['<', '<=', '=', '>=', '>', '<>'];
	i int;
	scalar_ops text := 'OPERATOR 1 < , OPERATOR 2 <= , OPERATOR 3 = , OPERATOR 4 >= , '
	                   'OPERATOR 5 > , OPERATOR 6 <>';
	array_ops text := 'OPERATOR 7 && (anyarray, anyarray), OPERATOR 8 @> (anyarray, anyarray)';
BEGIN
	FOREACH am IN ARRAY ARRAY['hnsw', 'ivfflat', 'ivf'] LOOP
		-- The integer types form one family with every cross-type comparison, as btree's
		-- integer_ops does, so `int8col = 5` is evaluated in the index as well.
		EXECUTE format('CREATE OPERATOR FAMILY integer_ops USING %I', am);
		FOREACH l IN ARRAY ARRAY['int2', 'int4', 'int8'] LOOP
			EXECUTE format('CREATE OPERATOR CLASS %I DEFAULT FOR TYPE %s USING %I FAMILY integer_ops AS %s',
			               l || '_ops', l, am, scalar_ops);
			FOREACH r IN ARRAY ARRAY['int2', 'int4', 'int8'] LOOP
				CONTINUE WHEN l = r;
				FOR i IN 1 .. 6 LOOP
					EXECUTE format('ALTER OPERATOR FAMILY integer_ops USING %I ADD OPERATOR %s %s (%s, %s)',
					               am, i, ops[i], l, r);
				END LOOP;
			END LOOP;
		END LOOP;
		EXECUTE format('CREATE OPERATOR CLASS bool_ops DEFAULT FOR TYPE bool USING %I AS '
		               'OPERATOR 3 = , OPERATOR 6 <>', am);
		FOREACH t IN ARRAY ARRAY['text', 'date', 'timestamp', 'timestamptz'] LOOP
			EXECUTE format('CREATE OPERATOR CLASS %I DEFAULT FOR TYPE %s USING %I AS %s',
			               t || '_ops', t, am, scalar_ops);
		END LOOP;
		FOREACH t IN ARRAY ARRAY['int4', 'int8', 'text'] LOOP
			EXECUTE format('CREATE OPERATOR CLASS %I DEFAULT FOR TYPE %s[] USING %I AS %s',
			               t || '_array_ops', t, am, array_ops);
		END LOOP;
	END LOOP;
END
$$;
-- Descriptions for \dT+, \df+, \do+, \dAc, \dx+: every object the script created without a
-- COMMENT of its own gets one here, built from what kind of object it is and its name. Objects
-- are named systematically (pgvector's names, then quiver's), so a handful of rules cover them;
-- a new object that no rule describes makes CREATE EXTENSION fail here, so it cannot ship
-- without a description (regress test `comments` checks the result).
DO $quiver_comments$
DECLARE
    ext oid := (SELECT oid FROM pg_extension WHERE extname = 'quiver');
    r record;
    what text;
    metric_names CONSTANT jsonb := '{"l2": "Euclidean (L2) distance, operator <->",
        "ip": "negative inner product, operator <#>", "cosine": "cosine distance, operator <=>",
        "l1": "taxicab (L1) distance, operator <+>", "hamming": "Hamming distance, operator <~>",
        "jaccard": "Jaccard distance, operator <%>"}';
    filter_types CONSTANT jsonb := '{"int2": "smallint", "int4": "integer", "int8": "bigint",
        "bool": "boolean", "text": "text (and varchar)", "date": "date", "timestamp": "timestamp",
        "timestamptz": "timestamp with time zone", "int4_array": "integer[]",
        "int8_array": "bigint[]", "text_array": "text[]", "integer": "smallint, integer and bigint"}';
    m text[];
    fn text;
    arg text;
BEGIN
    -- Functions.
    FOR r IN SELECT p.oid, p.proname AS name, p.prokind,
                    coalesce((SELECT format_type(p.proargtypes[0], NULL)), '') AS arg0,
                    coalesce((SELECT format_type(p.proargtypes[1], NULL)), '') AS arg1,
                    format_type(p.prorettype, NULL) AS ret
             FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
             WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext AND d.deptype = 'e'
               AND obj_description(p.oid, 'pg_proc') IS NULL
    LOOP
        fn := r.name;
        arg := r.arg0;
        what := CASE
            WHEN fn ~ '^(vector|halfvec|sparsevec|pq)_in$' THEN format('text input of type %s', split_part(fn, '_', 1))
            WHEN fn ~ '^(vector|halfvec|sparsevec|pq)_out$' THEN format('text output of type %s', split_part(fn, '_', 1))
            WHEN fn ~ '^(vector|halfvec|sparsevec|pq)_recv$' THEN format('binary input of type %s (pgvector''s wire format)', split_part(fn, '_', 1))
            WHEN fn ~ '^(vector|halfvec|sparsevec|pq)_send$' THEN format('binary output of type %s (pgvector''s wire format)', split_part(fn, '_', 1))
            WHEN fn ~ '^(vector|halfvec|sparsevec|pq)_typmod_in$' THEN format('type modifier input of type %s', split_part(fn, '_', 1))
            WHEN fn ~ '^(vector|halfvec|sparsevec|pq)_typmod_out$' THEN format('type modifier output of type %s', split_part(fn, '_', 1))
            WHEN fn = 'l2_distance' THEN format('Euclidean (L2) distance between two %s values, operator <->', arg)
            WHEN fn = 'inner_product' THEN format('inner product of two %s values (operator <#> is its negative)', arg)
            WHEN fn = 'cosine_distance' THEN format('cosine distance (1 - cosine similarity) between two %s values, operator <=>', arg)
            WHEN fn = 'l1_distance' THEN format('taxicab (L1) distance between two %s values, operator <+>', arg)
            WHEN fn = 'hamming_distance' THEN 'Hamming distance between two bit strings of equal length, operator <~>'
            WHEN fn = 'jaccard_distance' THEN 'Jaccard distance (1 - shared set bits / all set bits) between two bit strings, operator <%>'
            WHEN fn ~ '_negative_inner_product$' AND r.arg0 = 'pq' THEN 'negative inner product of a pq code (decoded by its codebook) and a vector, operator <#>'
            WHEN fn ~ '_negative_inner_product$' THEN format('negative inner product of two %s values, operator <#> (smaller is more similar)', arg)
            WHEN fn ~ '_l2_squared_distance$' THEN format('squared Euclidean distance between two %s values (what the indexes compare)', arg)
            WHEN fn ~ '_spherical_distance$' THEN format('angle-based distance between two %s values (ivfflat''s cosine k-means)', arg)
            WHEN fn = 'pq_l2_distance' THEN 'Euclidean distance between a pq code (decoded by its codebook) and a vector, operator <->'
            WHEN fn = 'pq_cosine_distance' THEN 'cosine distance between a pq code (decoded by its codebook) and a vector, operator <=>'
            WHEN fn IN ('l2_norm', 'vector_norm') THEN format('Euclidean norm of a %s value', arg)
            WHEN fn = 'l2_normalize' THEN format('the %s value scaled to unit Euclidean norm', arg)
            WHEN fn = 'binary_quantize' THEN format('bit string of the signs of a %s value (1 where an element is > 0)', arg)
            WHEN fn = 'subvector' THEN format('the part of a %s value from a 1-based start, with the given count of elements', arg)
            WHEN fn = 'vector_dims' THEN format('number of dimensions of a %s value', arg)
            WHEN fn = 'avg' THEN format('average of %s values (aggregate)', arg)
            WHEN fn = 'sum' THEN format('sum of %s values (aggregate)', arg)
            WHEN fn ~ '_(accum|combine|avg)$' THEN format('support function of the avg and sum aggregates of %s', split_part(fn, '_', 1))
            WHEN fn ~ '_add$' THEN format('element-wise sum of two %s values, operator +', arg)
            WHEN fn ~ '_sub$' THEN format('element-wise difference of two %s values, operator -', arg)
            WHEN fn ~ '_mul$' THEN format('element-wise product of two %s values, operator *', arg)
            WHEN fn ~ '_concat$' THEN format('concatenation of two %s values, operator ||', arg)
            WHEN fn ~ '_(lt|le|eq|ne|ge|gt)$' THEN format('comparison of two %s values (element by element, then by length), for btree and sorting', arg)
            WHEN fn ~ '_cmp$' THEN format('btree comparison support of %s (element by element, then by length)', arg)
            WHEN fn IN ('vector', 'halfvec', 'sparsevec', 'pq') THEN format('checks a %s value against the column''s type modifier (cast to itself)', fn)
            WHEN fn ~ '^array_to_' THEN format('cast from %s to %s', arg, r.ret)
            WHEN fn ~ '^[a-z]+_to_[a-z0-9]+$' THEN format('cast from %s to %s', arg, r.ret)
            WHEN fn ~ '^(hnsw|ivfflat|ivf|lsh)handler$' THEN format('index access method handler of %s', replace(fn, 'handler', ''))
            WHEN fn ~ '^quiver_(hnsw|ivfflat|ivf|lsh)_[a-z]+_[a-z0-9]+_info$' THEN
                format('support function 3 of %s operator classes: how the index reads %s values under %s',
                       split_part(fn, '_', 2), split_part(fn, '_', 3), split_part(fn, '_', 4))
            WHEN fn = 'quiver_pq_codebook_guard' THEN 'trigger function: refuses to change or delete a codebook that pq values use'
            WHEN fn = 'quiver_pq_codebook_of' THEN 'id of the codebook a pq value was encoded with'
            ELSE NULL END;
        IF what IS NULL THEN
            RAISE EXCEPTION 'quiver install: no description for function %(%)', fn, arg;
        END IF;
        EXECUTE format('COMMENT ON FUNCTION %s IS %L', r.oid::regprocedure, what);
    END LOOP;

    -- Types.
    FOR r IN SELECT t.oid, t.typname AS name FROM pg_type t
             JOIN pg_depend d ON d.classid = 'pg_type'::regclass AND d.objid = t.oid
             WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext AND d.deptype = 'e'
               AND obj_description(t.oid, 'pg_type') IS NULL
    LOOP
        what := CASE r.name
            WHEN 'vector' THEN 'vector of single-precision floats, vector(n) for n dimensions (pgvector-compatible)'
            WHEN 'halfvec' THEN 'vector of half-precision floats, halfvec(n) for n dimensions (pgvector-compatible)'
            WHEN 'sparsevec' THEN 'sparse vector {index:value,...}/dimensions, sparsevec(n) for n dimensions (pgvector-compatible)'
            ELSE NULL END;
        IF what IS NULL THEN
            RAISE EXCEPTION 'quiver install: no description for type %', r.name;
        END IF;
        EXECUTE format('COMMENT ON TYPE %s IS %L', r.oid::regtype, what);
    END LOOP;

    -- Operators: what their function does.
    FOR r IN SELECT o.oid, o.oprname, o.oprcode::oid AS code FROM pg_operator o
             JOIN pg_depend d ON d.classid = 'pg_operator'::regclass AND d.objid = o.oid
             WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext AND d.deptype = 'e'
               AND obj_description(o.oid, 'pg_operator') IS NULL
    LOOP
        what := obj_description(r.code, 'pg_proc');
        IF what IS NULL THEN
            RAISE EXCEPTION 'quiver install: no description for operator %', r.oid::regoperator;
        END IF;
        EXECUTE format('COMMENT ON OPERATOR %s IS %L', r.oid::regoperator,
                       regexp_replace(what, ', operator \S+$', ''));
    END LOOP;

    -- Casts.
    FOR r IN SELECT c.oid, c.castsource::regtype AS source, c.casttarget::regtype AS target FROM pg_cast c
             JOIN pg_depend d ON d.classid = 'pg_cast'::regclass AND d.objid = c.oid
             WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext AND d.deptype = 'e'
               AND obj_description(c.oid, 'pg_cast') IS NULL
    LOOP
        what := CASE WHEN r.source = r.target
                     THEN format('%s to %s: applies the type modifier (dimensions)', r.source, r.target)
                     ELSE format('converts %s to %s', r.source, r.target) END;
        EXECUTE format('COMMENT ON CAST (%s AS %s) IS %L', r.source, r.target, what);
    END LOOP;

    -- Operator classes and families: vector opclasses say what ORDER BY they serve, filter
    -- opclasses what column type they store.
    FOR r IN SELECT c.oid, c.opcname AS name, a.amname AS am, 'CLASS' AS kind FROM pg_opclass c
                 JOIN pg_am a ON a.oid = c.opcmethod
                 JOIN pg_depend d ON d.classid = 'pg_opclass'::regclass AND d.objid = c.oid
                 WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext AND d.deptype = 'e'
                   AND obj_description(c.oid, 'pg_opclass') IS NULL
             UNION ALL
             SELECT f.oid, f.opfname, a.amname, 'FAMILY' FROM pg_opfamily f
                 JOIN pg_am a ON a.oid = f.opfmethod
                 JOIN pg_depend d ON d.classid = 'pg_opfamily'::regclass AND d.objid = f.oid
                 WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext AND d.deptype = 'e'
                   AND obj_description(f.oid, 'pg_opfamily') IS NULL
    LOOP
        m := regexp_match(r.name, '^(vector|halfvec|sparsevec|bit)_([a-z0-9]+)_ops$');
        IF r.am = 'btree' AND r.name ~ '^(vector|halfvec|sparsevec)_ops$' THEN
            what := format('btree ordering of %s values (element by element, then by length)',
                           split_part(r.name, '_', 1));
        ELSIF m IS NOT NULL AND metric_names ? m[2] THEN
            what := format('%s index on %s columns, ordered by %s', r.am, m[1], metric_names ->> m[2]);
        ELSIF filter_types ? regexp_replace(r.name, '_ops$', '') THEN
            what := format('%s filter column of type %s (after the vector column; %s and IS NULL are evaluated in the index)',
                           r.am, filter_types ->> regexp_replace(r.name, '_ops$', ''),
                           CASE WHEN r.name ~ '_array_ops$' THEN '&&, @>'
                                WHEN r.name = 'bool_ops' THEN '=, <> and = ANY'
                                ELSE '=, <>, <, <=, >, >=, = ANY' END);
        ELSE
            RAISE EXCEPTION 'quiver install: no description for operator % % for %', lower(r.kind), r.name, r.am;
        END IF;
        EXECUTE format('COMMENT ON OPERATOR %s %I USING %I IS %L', r.kind, r.name, r.am, what);
    END LOOP;
END
$quiver_comments$;

COMMENT ON SEQUENCE quiver_pq_codebook_id_seq IS 'ids of pq codebooks (quiver_pq_codebook.id)';
