-- sparsevec binary format: int32 dim, int32 nnz, int32 unused (0), int32 indices[nnz]
-- (0-based, ascending), float4 values[nnz]; big-endian. Send output, COPY round trip, and every
-- receive error (crafted binary COPY files).

SELECT sparsevec_send('{1:1.5,3:-2}/5');
SELECT sparsevec_send('{}/3');
SELECT sparsevec_send('{1000000000:1}/1000000000');

CREATE TABLE quiver_sv_bin (id int, v sparsevec);
INSERT INTO quiver_sv_bin VALUES
    (1, '{1:1.5,3:-2}/5'), (2, '{}/3'), (3, NULL), (4, '{2:1e-45,4:3.4028235e38}/4');
COPY quiver_sv_bin TO '/tmp/quiver_sv_roundtrip.bin' WITH (FORMAT binary);
CREATE TABLE quiver_sv_bin2 (id int, v sparsevec);
COPY quiver_sv_bin2 FROM '/tmp/quiver_sv_roundtrip.bin' WITH (FORMAT binary);
SELECT a.id, b.v, a.v IS NOT DISTINCT FROM b.v AS same
FROM quiver_sv_bin a JOIN quiver_sv_bin2 b USING (id) ORDER BY a.id;
DROP TABLE quiver_sv_bin, quiver_sv_bin2;

-- Writes a one-row, one-column binary COPY file holding `field` as that column's bytes.
CREATE FUNCTION quiver_sv_write_copy(path text, field bytea) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    lo oid;
BEGIN
    lo := lo_from_bytea(0, '\x5047434f50590aff0d0a00'::bytea  -- signature
        || '\x00000000'::bytea || '\x00000000'::bytea          -- flags, header extension
        || '\x0001'::bytea || int4send(length(field)) || field  -- one tuple, one field
        || '\xffff'::bytea);                                    -- trailer
    PERFORM lo_export(lo, path);
    PERFORM lo_unlink(lo);
END
$$;

CREATE TABLE quiver_sv_recv (v sparsevec);
CREATE TABLE quiver_sv_recv3 (v sparsevec(3));

-- A well-formed file: dim 3, nnz 2, indices 0 and 2, values 1 and -2.
SELECT quiver_sv_write_copy('/tmp/quiver_sv_ok.bin',
    '\x00000003 00000002 00000000 00000000 00000002 3f800000 c0000000');
COPY quiver_sv_recv FROM '/tmp/quiver_sv_ok.bin' WITH (FORMAT binary);
COPY quiver_sv_recv3 FROM '/tmp/quiver_sv_ok.bin' WITH (FORMAT binary);
SELECT v FROM quiver_sv_recv UNION ALL SELECT v FROM quiver_sv_recv3;

-- Dimension out of range, nnz out of range, wrong typmod, unused field set.
SELECT quiver_sv_write_copy('/tmp/quiver_sv_dim0.bin', '\x00000000 00000000 00000000');
COPY quiver_sv_recv FROM '/tmp/quiver_sv_dim0.bin' WITH (FORMAT binary);
SELECT quiver_sv_write_copy('/tmp/quiver_sv_dimneg.bin', '\xffffffff 00000000 00000000');
COPY quiver_sv_recv FROM '/tmp/quiver_sv_dimneg.bin' WITH (FORMAT binary);
SELECT quiver_sv_write_copy('/tmp/quiver_sv_dimbig.bin', '\x3b9aca01 00000000 00000000');
COPY quiver_sv_recv FROM '/tmp/quiver_sv_dimbig.bin' WITH (FORMAT binary);
SELECT quiver_sv_write_copy('/tmp/quiver_sv_nnzneg.bin', '\x00000003 ffffffff 00000000');
COPY quiver_sv_recv FROM '/tmp/quiver_sv_nnzneg.bin' WITH (FORMAT binary);
SELECT quiver_sv_write_copy('/tmp/quiver_sv_nnzbig.bin', '\x3b9aca00 00003e81 00000000');
COPY quiver_sv_recv FROM '/tmp/quiver_sv_nnzbig.bin' WITH (FORMAT binary);
SELECT quiver_sv_write_copy('/tmp/quiver_sv_nnzdim.bin', '\x00000003 00000004 00000000');
COPY quiver_sv_recv FROM '/tmp/quiver_sv_nnzdim.bin' WITH (FORMAT binary);
SELECT quiver_sv_write_copy('/tmp/quiver_sv_typmod.bin', '\x00000004 00000000 00000000');
COPY quiver_sv_recv3 FROM '/tmp/quiver_sv_typmod.bin' WITH (FORMAT binary);
SELECT quiver_sv_write_copy('/tmp/quiver_sv_unused.bin', '\x00000003 00000000 00000007');
COPY quiver_sv_recv FROM '/tmp/quiver_sv_unused.bin' WITH (FORMAT binary);

-- Indices: within [0, dim), strictly ascending.
SELECT quiver_sv_write_copy('/tmp/quiver_sv_idxhigh.bin',
    '\x00000003 00000001 00000000 00000003 3f800000');
COPY quiver_sv_recv FROM '/tmp/quiver_sv_idxhigh.bin' WITH (FORMAT binary);
SELECT quiver_sv_write_copy('/tmp/quiver_sv_idxneg.bin',
    '\x00000003 00000001 00000000 ffffffff 3f800000');
COPY quiver_sv_recv FROM '/tmp/quiver_sv_idxneg.bin' WITH (FORMAT binary);
SELECT quiver_sv_write_copy('/tmp/quiver_sv_idxorder.bin',
    '\x00000003 00000002 00000000 00000002 00000001 3f800000 3f800000');
COPY quiver_sv_recv FROM '/tmp/quiver_sv_idxorder.bin' WITH (FORMAT binary);
SELECT quiver_sv_write_copy('/tmp/quiver_sv_idxdup.bin',
    '\x00000003 00000002 00000000 00000001 00000001 3f800000 3f800000');
COPY quiver_sv_recv FROM '/tmp/quiver_sv_idxdup.bin' WITH (FORMAT binary);

-- Values: non-zero (-0 included) and finite.
SELECT quiver_sv_write_copy('/tmp/quiver_sv_zero.bin',
    '\x00000003 00000001 00000000 00000001 00000000');
COPY quiver_sv_recv FROM '/tmp/quiver_sv_zero.bin' WITH (FORMAT binary);
SELECT quiver_sv_write_copy('/tmp/quiver_sv_negzero.bin',
    '\x00000003 00000001 00000000 00000001 80000000');
COPY quiver_sv_recv FROM '/tmp/quiver_sv_negzero.bin' WITH (FORMAT binary);
SELECT quiver_sv_write_copy('/tmp/quiver_sv_nan.bin',
    '\x00000003 00000001 00000000 00000001 7fc00000');
COPY quiver_sv_recv FROM '/tmp/quiver_sv_nan.bin' WITH (FORMAT binary);
SELECT quiver_sv_write_copy('/tmp/quiver_sv_inf.bin',
    '\x00000003 00000001 00000000 00000001 ff800000');
COPY quiver_sv_recv FROM '/tmp/quiver_sv_inf.bin' WITH (FORMAT binary);

-- Truncated header, truncated values, bytes left over.
SELECT quiver_sv_write_copy('/tmp/quiver_sv_short.bin', '\x00000003 00000000');
COPY quiver_sv_recv FROM '/tmp/quiver_sv_short.bin' WITH (FORMAT binary);
SELECT quiver_sv_write_copy('/tmp/quiver_sv_novalue.bin',
    '\x00000003 00000001 00000000 00000001');
COPY quiver_sv_recv FROM '/tmp/quiver_sv_novalue.bin' WITH (FORMAT binary);
SELECT quiver_sv_write_copy('/tmp/quiver_sv_extra.bin',
    '\x00000003 00000001 00000000 00000001 3f800000 00');
COPY quiver_sv_recv FROM '/tmp/quiver_sv_extra.bin' WITH (FORMAT binary);

-- Only the well-formed row got in.
SELECT count(*) FROM quiver_sv_recv;
DROP TABLE quiver_sv_recv, quiver_sv_recv3;
DROP FUNCTION quiver_sv_write_copy(text, bytea);
