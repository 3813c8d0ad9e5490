-- vector: binary send/receive (big-endian int16 dim, int16 unused = 0, float4 values), exercised
-- through vector_send and binary COPY, including malformed input files.

SELECT vector_send('[1,2,3]');
SELECT vector_send('[-0.5,0,-0]');
SELECT vector_send('[1e-45,3.4028235e38]');
SELECT length(vector_send(('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::vector));

-- A binary COPY file holding one row with one field whose bytes are `field`.
CREATE FUNCTION vector_binary_copy_file(path text, field bytea) RETURNS void AS $$
DECLARE
    lo oid := lo_from_bytea(0, '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea
                                || '\x0001'::bytea || int4send(length(field)) || field
                                || '\xffff'::bytea);
BEGIN
    PERFORM lo_export(lo, path);
    PERFORM lo_unlink(lo);
END
$$ LANGUAGE plpgsql;

CREATE TABLE vector_binary_t (v vector);
CREATE TABLE vector_binary_t3 (v vector(3));

-- Round trip: what COPY writes, COPY reads back unchanged.
INSERT INTO vector_binary_t VALUES ('[1,2,3]'), ('[-1.5,0.1,1e-45]'), ('[3.4028235e38]');
COPY (SELECT v FROM vector_binary_t ORDER BY v) TO '/tmp/quiver_vector_binary_rt.bin' WITH (FORMAT binary);
SELECT encode(substr(pg_read_binary_file('/tmp/quiver_vector_binary_rt.bin'), 20), 'hex');
DELETE FROM vector_binary_t;
COPY vector_binary_t FROM '/tmp/quiver_vector_binary_rt.bin' WITH (FORMAT binary);
SELECT v FROM vector_binary_t ORDER BY v;
DELETE FROM vector_binary_t;

-- A well-formed file made by hand.
SELECT vector_binary_copy_file('/tmp/quiver_vector_binary_ok.bin', '\x000200003f800000c0000000');
COPY vector_binary_t FROM '/tmp/quiver_vector_binary_ok.bin' WITH (FORMAT binary);
SELECT v FROM vector_binary_t;
DELETE FROM vector_binary_t;

-- The unused field must be 0.
SELECT vector_binary_copy_file('/tmp/quiver_vector_binary_bad.bin', '\x000100013f800000');
COPY vector_binary_t FROM '/tmp/quiver_vector_binary_bad.bin' WITH (FORMAT binary);
SELECT vector_binary_copy_file('/tmp/quiver_vector_binary_bad.bin', '\x0001ffff3f800000');
COPY vector_binary_t FROM '/tmp/quiver_vector_binary_bad.bin' WITH (FORMAT binary);
-- Dimensions out of range (0, 16001, and 65535 read as -1).
SELECT vector_binary_copy_file('/tmp/quiver_vector_binary_bad.bin', '\x00000000');
COPY vector_binary_t FROM '/tmp/quiver_vector_binary_bad.bin' WITH (FORMAT binary);
SELECT vector_binary_copy_file('/tmp/quiver_vector_binary_bad.bin', '\x3e8100003f800000');
COPY vector_binary_t FROM '/tmp/quiver_vector_binary_bad.bin' WITH (FORMAT binary);
SELECT vector_binary_copy_file('/tmp/quiver_vector_binary_bad.bin', '\xffff00003f800000');
COPY vector_binary_t FROM '/tmp/quiver_vector_binary_bad.bin' WITH (FORMAT binary);
-- Fewer values than the dimension says, a field cut inside the header, bytes left over.
SELECT vector_binary_copy_file('/tmp/quiver_vector_binary_bad.bin', '\x000200003f800000');
COPY vector_binary_t FROM '/tmp/quiver_vector_binary_bad.bin' WITH (FORMAT binary);
SELECT vector_binary_copy_file('/tmp/quiver_vector_binary_bad.bin', '\x0001');
COPY vector_binary_t FROM '/tmp/quiver_vector_binary_bad.bin' WITH (FORMAT binary);
SELECT vector_binary_copy_file('/tmp/quiver_vector_binary_bad.bin', '\x000100003f80000000');
COPY vector_binary_t FROM '/tmp/quiver_vector_binary_bad.bin' WITH (FORMAT binary);
-- NaN and infinities.
SELECT vector_binary_copy_file('/tmp/quiver_vector_binary_bad.bin', '\x000200003f8000007fc00000');
COPY vector_binary_t FROM '/tmp/quiver_vector_binary_bad.bin' WITH (FORMAT binary);
SELECT vector_binary_copy_file('/tmp/quiver_vector_binary_bad.bin', '\x000100007f800000');
COPY vector_binary_t FROM '/tmp/quiver_vector_binary_bad.bin' WITH (FORMAT binary);
SELECT vector_binary_copy_file('/tmp/quiver_vector_binary_bad.bin', '\x00010000ff800000');
COPY vector_binary_t FROM '/tmp/quiver_vector_binary_bad.bin' WITH (FORMAT binary);
-- The column's typmod applies to binary input too.
COPY vector_binary_t3 FROM '/tmp/quiver_vector_binary_ok.bin' WITH (FORMAT binary);
SELECT count(*) FROM vector_binary_t;
SELECT count(*) FROM vector_binary_t3;

DROP TABLE vector_binary_t, vector_binary_t3;
DROP FUNCTION vector_binary_copy_file(text, bytea);
