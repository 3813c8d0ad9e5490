-- quiver's lsh index access method: locality-sensitive hash tables with multi-probe querying
-- and exact re-ranking. The operator class picks the hash family: bit_hamming_ops bit sampling,
-- bit_jaccard_ops MinHash, the cosine classes random hyperplanes (SimHash), the L2 classes
-- p-stable projections. FUNCTION 3 is quiver's description of the opclass.

CREATE FUNCTION lshhandler(internal) RETURNS index_am_handler
	AS 'MODULE_PATHNAME' LANGUAGE C;

CREATE ACCESS METHOD lsh TYPE INDEX HANDLER lshhandler;

COMMENT ON ACCESS METHOD lsh IS 'quiver lsh index access method: locality-sensitive hash tables, multi-probe, exact re-ranking';

CREATE FUNCTION quiver_lsh_vector_l2_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_lsh_vector_cosine_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_lsh_halfvec_l2_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_lsh_halfvec_cosine_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_lsh_bit_hamming_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION quiver_lsh_bit_jaccard_info(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE OPERATOR CLASS vector_l2_ops
	DEFAULT FOR TYPE vector USING lsh AS
	OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_l2_squared_distance(vector, vector),
	FUNCTION 3 quiver_lsh_vector_l2_info(internal);

CREATE OPERATOR CLASS vector_cosine_ops
	FOR TYPE vector USING lsh AS
	OPERATOR 1 <=> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_negative_inner_product(vector, vector),
	FUNCTION 2 vector_norm(vector),
	FUNCTION 3 quiver_lsh_vector_cosine_info(internal);

CREATE OPERATOR CLASS halfvec_l2_ops
	DEFAULT FOR TYPE halfvec USING lsh AS
	OPERATOR 1 <-> (halfvec, halfvec) FOR ORDER BY float_ops,
	FUNCTION 1 halfvec_l2_squared_distance(halfvec, halfvec),
	FUNCTION 3 quiver_lsh_halfvec_l2_info(internal);

CREATE OPERATOR CLASS halfvec_cosine_ops
	FOR TYPE halfvec USING lsh AS
	OPERATOR 1 <=> (halfvec, halfvec) FOR ORDER BY float_ops,
	FUNCTION 1 halfvec_negative_inner_product(halfvec, halfvec),
	FUNCTION 2 l2_norm(halfvec),
	FUNCTION 3 quiver_lsh_halfvec_cosine_info(internal);

CREATE OPERATOR CLASS bit_hamming_ops
	DEFAULT FOR TYPE bit USING lsh AS
	OPERATOR 1 <~> (bit, bit) FOR ORDER BY float_ops,
	FUNCTION 1 hamming_distance(bit, bit),
	FUNCTION 3 quiver_lsh_bit_hamming_info(internal);

CREATE OPERATOR CLASS bit_jaccard_ops
	FOR TYPE bit USING lsh AS
	OPERATOR 1 <%> (bit, bit) FOR ORDER BY float_ops,
	FUNCTION 1 jaccard_distance(bit, bit),
	FUNCTION 3 quiver_lsh_bit_jaccard_info(internal);

-- quiver_lsh_metapage: what an lsh index was built with (the hash family, tables, bits per
-- table, default probes, the p-stable slot width, seed and directory slots per table, with the
-- values the build chose for options left out), for the index's owner.
CREATE FUNCTION quiver_lsh_metapage(index regclass,
    OUT version integer, OUT family text, OUT dimensions integer, OUT tables integer,
    OUT bits integer, OUT probes integer, OUT width real, OUT seed bigint, OUT slots bigint)
    RETURNS record
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION quiver_lsh_metapage(regclass) IS
    'Shows the metapage of an lsh index: format version, hash family, dimensions, tables, bits per table, default probes, p-stable width, seed and directory slots per table';
