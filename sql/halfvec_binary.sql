-- halfvec: binary send/receive (big-endian int16 dim, int16 unused = 0, uint16 float16 bits),
-- exercised through halfvec_send and binary COPY, including malformed input files.

SELECT halfvec_send('[1,-2,0.5]'), halfvec_send('[-0,65504,6e-8,6.1035156e-05]');

CREATE FUNCTION halfvec_binary_copy_file(path text, field bytea) RETURNS void AS $$
DECLARE
    lo oid := lo_from_bytea(0, '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea
                                || '\x0001'::bytea || int4send(length(field)) || field
                                || '\xffff'::bytea);
BEGIN
    PERFORM lo_export(lo, path);
    PERFORM lo_unlink(lo);
END
$$ LANGUAGE plpgsql;

CREATE TABLE halfvec_binary_t (v halfvec);
CREATE TABLE halfvec_binary_t3 (v halfvec(3));

-- Round trip through binary COPY.
INSERT INTO halfvec_binary_t VALUES ('[1,2,3]'), ('[-1.5,0.1,6e-8]'), ('[65504]');
COPY (SELECT v FROM halfvec_binary_t ORDER BY v) TO '/tmp/quiver_halfvec_binary_rt.bin' WITH (FORMAT binary);
SELECT encode(substr(pg_read_binary_file('/tmp/quiver_halfvec_binary_rt.bin'), 20), 'hex');
DELETE FROM halfvec_binary_t;
COPY halfvec_binary_t FROM '/tmp/quiver_halfvec_binary_rt.bin' WITH (FORMAT binary);
SELECT v FROM halfvec_binary_t ORDER BY v;
DELETE FROM halfvec_binary_t;

-- A well-formed file made by hand: [1,-2].
SELECT halfvec_binary_copy_file('/tmp/quiver_halfvec_binary_ok.bin', '\x000200003c00c000');
COPY halfvec_binary_t FROM '/tmp/quiver_halfvec_binary_ok.bin' WITH (FORMAT binary);
SELECT v FROM halfvec_binary_t;
DELETE FROM halfvec_binary_t;

-- Bad unused field, dimensions, lengths, NaN and infinities.
SELECT halfvec_binary_copy_file('/tmp/quiver_halfvec_binary_bad.bin', '\x000100023c00');
COPY halfvec_binary_t FROM '/tmp/quiver_halfvec_binary_bad.bin' WITH (FORMAT binary);
SELECT halfvec_binary_copy_file('/tmp/quiver_halfvec_binary_bad.bin', '\x00000000');
COPY halfvec_binary_t FROM '/tmp/quiver_halfvec_binary_bad.bin' WITH (FORMAT binary);
SELECT halfvec_binary_copy_file('/tmp/quiver_halfvec_binary_bad.bin', '\x3e8100003c00');
COPY halfvec_binary_t FROM '/tmp/quiver_halfvec_binary_bad.bin' WITH (FORMAT binary);
SELECT halfvec_binary_copy_file('/tmp/quiver_halfvec_binary_bad.bin', '\x800000003c00');
COPY halfvec_binary_t FROM '/tmp/quiver_halfvec_binary_bad.bin' WITH (FORMAT binary);
SELECT halfvec_binary_copy_file('/tmp/quiver_halfvec_binary_bad.bin', '\x000300003c004000');
COPY halfvec_binary_t FROM '/tmp/quiver_halfvec_binary_bad.bin' WITH (FORMAT binary);
SELECT halfvec_binary_copy_file('/tmp/quiver_halfvec_binary_bad.bin', '\x000100003c0000');
COPY halfvec_binary_t FROM '/tmp/quiver_halfvec_binary_bad.bin' WITH (FORMAT binary);
SELECT halfvec_binary_copy_file('/tmp/quiver_halfvec_binary_bad.bin', '\x000200003c007e00');
COPY halfvec_binary_t FROM '/tmp/quiver_halfvec_binary_bad.bin' WITH (FORMAT binary);
SELECT halfvec_binary_copy_file('/tmp/quiver_halfvec_binary_bad.bin', '\x000100007c00');
COPY halfvec_binary_t FROM '/tmp/quiver_halfvec_binary_bad.bin' WITH (FORMAT binary);
SELECT halfvec_binary_copy_file('/tmp/quiver_halfvec_binary_bad.bin', '\x00010000fc00');
COPY halfvec_binary_t FROM '/tmp/quiver_halfvec_binary_bad.bin' WITH (FORMAT binary);
COPY halfvec_binary_t3 FROM '/tmp/quiver_halfvec_binary_ok.bin' WITH (FORMAT binary);
SELECT count(*) FROM halfvec_binary_t;
SELECT count(*) FROM halfvec_binary_t3;

DROP TABLE halfvec_binary_t, halfvec_binary_t3;
DROP FUNCTION halfvec_binary_copy_file(text, bytea);
