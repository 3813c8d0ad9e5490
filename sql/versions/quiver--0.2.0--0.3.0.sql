-- quiver 0.2.0 -> 0.3.0: the lsh index access method (issue 12), its filter column operator
-- classes and their descriptions. Frozen copy of what 0.3.0's install script added
-- (sql/install/68_lsh.sql, the description of quiver_index_check, the lsh pass of
-- 75_filter_opclasses.sql, 99_comments.sql as of 0.3.0); index pages need nothing.
\echo Use "ALTER EXTENSION quiver UPDATE TO '0.3.0'" to load this file. \quit

DO $quiver_conflicts$
DECLARE
    owner text;
BEGIN
    SELECT e.extname INTO owner FROM pg_am a
        LEFT JOIN pg_depend d ON d.classid = 'pg_am'::regclass AND d.objid = a.oid AND d.deptype = 'e'
        LEFT JOIN pg_extension e ON e.oid = d.refobjid
        WHERE a.amname = 'lsh';
    IF FOUND THEN
        RAISE EXCEPTION 'access method "lsh" already exists'
            USING ERRCODE = 'duplicate_object',
                  DETAIL = format('%s; quiver 0.3.0 creates access method lsh, and access method names are shared by the whole database.',
                                  CASE WHEN owner IS NULL THEN 'It belongs to no extension' ELSE format('It belongs to extension "%s"', owner) END),
                  HINT = 'Drop it first, or stay on quiver 0.2.0.';
    END IF;
END
$quiver_conflicts$;

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

COMMENT ON FUNCTION quiver_index_check(regclass) IS
'Checks the invariants of an hnsw, ivfflat, ivf or lsh index; errors on corruption, else returns pages, elements, heap TIDs, deleted slots, entry level and unreachable dead elements';

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
	FOREACH am IN ARRAY ARRAY['lsh'] LOOP
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
