-- Operator classes for the filter columns of multi-column hnsw indexes:
--   CREATE INDEX ON items USING hnsw (emb vector_l2_ops, tenant_id, category, tags);
-- The first column is the vector; each further column keeps its value beside every entry and
-- the WHERE clauses on it that use these operators are evaluated inside the index walk.
-- Strategies (src/pg/am/filter_columns.h): 1 <, 2 <=, 3 =, 4 >=, 5 >, 6 <>, and for arrays
-- 7 && and 8 @>. `= ANY(array)` comes with strategy 3, IS [NOT] NULL needs no operator.
-- No support functions: the index reads the values by type (integers, dates and timestamps as
-- 64-bit integers, text as bytes, arrays without their NULL elements).

-- The integer types form one family, with every cross-type comparison, as btree's
-- integer_ops does, so `int8col = 5` is evaluated in the index as well.
CREATE OPERATOR FAMILY integer_ops USING hnsw;
DO $$
DECLARE
	l text;
	r text;
	ops text[] := ARRAY['<', '<=', '=', '>=', '>', '<>'];
	i int;
BEGIN
	FOREACH l IN ARRAY ARRAY['int2', 'int4', 'int8'] LOOP
		EXECUTE format('CREATE OPERATOR CLASS %I DEFAULT FOR TYPE %s USING hnsw FAMILY integer_ops AS '
		               'OPERATOR 1 < , OPERATOR 2 <= , OPERATOR 3 = , OPERATOR 4 >= , '
		               'OPERATOR 5 > , OPERATOR 6 <>', l || '_ops', l);
		FOREACH r IN ARRAY ARRAY['int2', 'int4', 'int8'] LOOP
			CONTINUE WHEN l = r;
			FOR i IN 1 .. 6 LOOP
				EXECUTE format('ALTER OPERATOR FAMILY integer_ops USING hnsw ADD OPERATOR %s %s (%s, %s)',
				               i, ops[i], l, r);
			END LOOP;
		END LOOP;
	END LOOP;
END
$$;

CREATE OPERATOR CLASS bool_ops DEFAULT FOR TYPE bool USING hnsw AS
	OPERATOR 3 = , OPERATOR 6 <> ;

-- Text: equality always; the range operators are evaluated in the index only under the "C"
-- collation (bytewise order), otherwise left to the executor.
CREATE OPERATOR CLASS text_ops DEFAULT FOR TYPE text USING hnsw AS
	OPERATOR 1 < , OPERATOR 2 <= , OPERATOR 3 = , OPERATOR 4 >= , OPERATOR 5 > , OPERATOR 6 <> ;

CREATE OPERATOR CLASS date_ops DEFAULT FOR TYPE date USING hnsw AS
	OPERATOR 1 < , OPERATOR 2 <= , OPERATOR 3 = , OPERATOR 4 >= , OPERATOR 5 > , OPERATOR 6 <> ;
CREATE OPERATOR CLASS timestamp_ops DEFAULT FOR TYPE timestamp USING hnsw AS
	OPERATOR 1 < , OPERATOR 2 <= , OPERATOR 3 = , OPERATOR 4 >= , OPERATOR 5 > , OPERATOR 6 <> ;
CREATE OPERATOR CLASS timestamptz_ops DEFAULT FOR TYPE timestamptz USING hnsw AS
	OPERATOR 1 < , OPERATOR 2 <= , OPERATOR 3 = , OPERATOR 4 >= , OPERATOR 5 > , OPERATOR 6 <> ;

-- Arrays: overlap and containment.
CREATE OPERATOR CLASS int4_array_ops DEFAULT FOR TYPE int4[] USING hnsw AS
	OPERATOR 7 && (anyarray, anyarray), OPERATOR 8 @> (anyarray, anyarray);
CREATE OPERATOR CLASS int8_array_ops DEFAULT FOR TYPE int8[] USING hnsw AS
	OPERATOR 7 && (anyarray, anyarray), OPERATOR 8 @> (anyarray, anyarray);
CREATE OPERATOR CLASS text_array_ops DEFAULT FOR TYPE text[] USING hnsw AS
	OPERATOR 7 && (anyarray, anyarray), OPERATOR 8 @> (anyarray, anyarray);
