-- Operator classes for the filter columns of multi-column hnsw, ivfflat, ivf and lsh indexes:
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
	FOREACH am IN ARRAY ARRAY['hnsw', 'ivfflat', 'ivf', 'lsh'] LOOP
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
