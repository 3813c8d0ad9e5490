
-- quiver_index_check: verifies an hnsw index's on-disk invariants (metapage, tuples, links,
-- reachability of every row's element from the entry point on level 0), or an ivfflat index's
-- (metapage, centroids, directory, list chains, entries; then elements = heap_tids = entries,
-- deleted = unreachable = 0 and entry_level is NULL), or an lsh index's (metapage, entries,
-- bucket chains, every entry in its bucket of every table; unreachable counts entries of dead
-- rows that a crashed insert left out of some table). Raises an error
-- (SQLSTATE XX002, index_corrupted) on the first violation; otherwise returns the index's
-- counts. It takes a ShareLock on the table and the index while it runs (writes wait).
CREATE FUNCTION quiver_index_check(index regclass,
    OUT pages bigint, OUT elements bigint, OUT heap_tids bigint, OUT deleted bigint,
    OUT entry_level integer, OUT unreachable bigint)
    RETURNS record
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION quiver_index_check(regclass) IS
    'Checks the invariants of an hnsw, ivfflat, ivf or lsh index; errors on corruption, else returns pages, elements, heap TIDs, deleted slots, entry level and unreachable dead elements';

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
