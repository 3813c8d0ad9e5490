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
