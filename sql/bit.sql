-- Hamming and Jaccard distances on PostgreSQL's bit type.

SELECT hamming_distance(B'101', B'011');
SELECT B'101' <~> B'101';
SELECT hamming_distance(B'1111', B'0000');
SELECT hamming_distance(B'', B'');
-- 9 bits: a tail of one bit in the second byte.
SELECT hamming_distance(B'101010101', B'101010100'), hamming_distance(B'111111111', B'000000000');
-- 65 bits: eight full bytes and one bit.
SELECT hamming_distance(repeat('1', 65)::bit(65), repeat('0', 65)::bit(65));
SELECT hamming_distance((repeat('0', 64) || '1')::bit(65), repeat('0', 65)::bit(65));
SELECT hamming_distance(repeat('10', 40)::bit(80), repeat('01', 40)::bit(80));

-- Jaccard: 1 - |a AND b| / |a OR b|; 1 when no bit is set in both.
SELECT jaccard_distance(B'1100', B'1010');
SELECT B'1111' <%> B'1111';
SELECT jaccard_distance(B'1111', B'1000');
SELECT jaccard_distance(B'0000', B'0000');
SELECT jaccard_distance(B'0000', B'0110');
SELECT jaccard_distance(B'', B'');
SELECT jaccard_distance(B'110000001', B'100000001');
SELECT jaccard_distance((repeat('1', 64) || '1')::bit(65), (repeat('0', 64) || '1')::bit(65));
SELECT jaccard_distance(repeat('1', 65)::bit(65), (repeat('1', 13) || repeat('0', 52))::bit(65));

-- Varying bit strings are accepted when their lengths match.
SELECT hamming_distance(B'101', '010'::varbit(8)), jaccard_distance(B'101', '111'::varbit(8));

-- Lengths must match.
SELECT hamming_distance(B'101', B'10');
SELECT B'101' <~> B'1010';
SELECT jaccard_distance(B'1111', B'111');
SELECT B'1' <%> B'';
SELECT hamming_distance(B'101', '1010'::varbit(8));
SELECT hamming_distance(repeat('1', 65)::bit(65), repeat('1', 64)::bit(64));

-- STRICT: NULL in, NULL out.
SELECT hamming_distance(NULL, B'1') IS NULL AS hamming, (B'1' <%> NULL) IS NULL AS jaccard;

-- Ordering by distance.
CREATE TABLE quiver_bit_order (id int, v bit(9));
INSERT INTO quiver_bit_order VALUES
    (1, B'000000000'), (2, B'111111111'), (3, B'100000001'), (4, B'110000000'), (5, NULL);
SELECT id, v <~> B'100000000' AS hamming, v <%> B'100000000' AS jaccard
FROM quiver_bit_order ORDER BY hamming, id;
SELECT id FROM quiver_bit_order ORDER BY v <%> B'110000001', id;
DROP TABLE quiver_bit_order;
