-- quiver install script, assembled from sql/install/*.sql in name order.
\echo Use "CREATE EXTENSION quiver" to load this file. \quit

CREATE FUNCTION quiver_simd() RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quiver_simd() IS 'SIMD target used by the distance kernels (see the quiver.simd setting)';
