-- CREATE EXTENSION quiver where another extension (pgvector) or the user already owns one of
-- its names: a clear error with a hint, not a catalogue error halfway through the script. Run
-- in a database of its own (the regression database keeps quiver installed).
\set regress_db :DBNAME
DROP DATABASE IF EXISTS quiver_conflicts;
CREATE DATABASE quiver_conflicts;
\c quiver_conflicts
\set SHOW_CONTEXT never
-- a type of the same name in the target schema
CREATE TYPE vector AS (x float4);
CREATE EXTENSION quiver;
\echo :LAST_ERROR_SQLSTATE
-- another schema is fine
CREATE SCHEMA q;
CREATE EXTENSION quiver SCHEMA q;
SELECT '[1,2,3]'::q.vector OPERATOR(q.<->) '[1,2,5]'::q.vector AS distance;
DROP EXTENSION quiver;
DROP TYPE vector;
-- an access method of the same name (access methods are per database)
CREATE ACCESS METHOD hnsw TYPE INDEX HANDLER bthandler;
CREATE EXTENSION quiver SCHEMA q;
\echo :LAST_ERROR_SQLSTATE
DROP ACCESS METHOD hnsw;
CREATE ACCESS METHOD ivf TYPE INDEX HANDLER bthandler;
CREATE EXTENSION quiver;
DROP ACCESS METHOD ivf;
-- nothing in the way: installs
CREATE EXTENSION quiver;
SELECT count(*) > 0 AS installed FROM pg_extension WHERE extname = 'quiver';
\c :regress_db
DROP DATABASE quiver_conflicts;
