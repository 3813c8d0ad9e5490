-- quiver's ivf: lists of PQ / SQ8 codes, the best `rerank` re-ranked by exact distance from the
-- table, so the returned order is exact among them; flat keeps the vectors.
SET enable_seqscan = off;
SELECT setseed(0.3);
CREATE TABLE t (id int, v vector(8));
INSERT INTO t SELECT i, (SELECT array_agg(round(random()::numeric, 3)::real) FROM generate_series(1, 8) WHERE i > 0)::vector
FROM generate_series(1, 3000) i;
CREATE INDEX t_pq ON t USING ivf (v vector_l2_ops) WITH (lists = 10, pq_m = 4);
CREATE INDEX t_sq8 ON t USING ivf (v vector_l2_ops) WITH (lists = 10, quantizer = 'sq8');
CREATE INDEX t_flat ON t USING ivf (v vector_l2_ops) WITH (lists = 10, quantizer = 'flat');
CREATE TEMP TABLE q AS SELECT '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]'::vector AS v;
CREATE TEMP TABLE exact AS
    SELECT id, row_number() OVER (ORDER BY t.v <-> q.v, id) AS n FROM t, q ORDER BY n LIMIT 20;
SET ivf.probes = 10;
DROP INDEX t_sq8; DROP INDEX t_flat;
-- every list probed, the default rerank (100) >= LIMIT: the exact top 20, in order
EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 20;
SELECT count(*) AS pq_mismatches FROM (
    SELECT id, row_number() OVER () AS n FROM (SELECT id FROM t ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 20) s
) got JOIN exact USING (n) WHERE got.id <> exact.id;
-- every row comes back once, re-ranked in groups of `rerank`, each group in exact order
SET ivf.rerank = 50;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM t ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]') s;
-- rerank 0: code-distance order; the exact top 20 mostly, not exactly
SET ivf.rerank = 0;
SELECT count(*) >= 10 AS most FROM (SELECT id FROM t ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 20) s JOIN exact USING (id);
RESET ivf.rerank;
DROP INDEX t_pq;
CREATE INDEX t_sq8 ON t USING ivf (v vector_l2_ops) WITH (lists = 10, quantizer = 'sq8', rerank = 40);
SELECT count(*) AS sq8_mismatches FROM (
    SELECT id, row_number() OVER () AS n FROM (SELECT id FROM t ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 20) s
) got JOIN exact USING (n) WHERE got.id <> exact.id;
DROP INDEX t_sq8;
CREATE INDEX t_flat ON t USING ivf (v vector_l2_ops) WITH (lists = 10, quantizer = 'flat');
SELECT count(*) AS flat_mismatches FROM (
    SELECT id, row_number() OVER () AS n FROM (SELECT id FROM t ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 20) s
) got JOIN exact USING (n) WHERE got.id <> exact.id;
DROP INDEX t_flat;
-- bit: one bit per dimension of the residual (sign about a trained centre, per-dimension scale);
-- codes of 8 bits rank coarsely, so the exact top 20 needs a deep re-rank
CREATE INDEX t_bit ON t USING ivf (v vector_l2_ops) WITH (lists = 10, quantizer = 'bit', rerank = 1000);
SELECT count(*) AS bit_mismatches FROM (
    SELECT id, row_number() OVER () AS n FROM (SELECT id FROM t ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 20) s
) got JOIN exact USING (n) WHERE got.id <> exact.id;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM t ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]') s;
SELECT pages, elements FROM quiver_index_check('t_bit');
DROP INDEX t_bit;
CREATE INDEX t_bit_ip ON t USING ivf (v vector_ip_ops) WITH (lists = 10, quantizer = 'bit', rerank = 1000);
SELECT array_agg(id) = (SELECT array_agg(id) FROM (SELECT id FROM t ORDER BY v <#> '[1,2,3,4,5,6,7,8]', id LIMIT 10) s0) AS bit_ip_exact
FROM (SELECT id FROM t ORDER BY v <#> '[1,2,3,4,5,6,7,8]' LIMIT 10) s;
DROP INDEX t_bit_ip;

-- inner product and cosine with pq (residuals: the inner product adds -q.c per list)
CREATE INDEX t_ip ON t USING ivf (v vector_ip_ops) WITH (lists = 10, pq_m = 2, pq_nbits = 4);
SELECT array_agg(id) = (SELECT array_agg(id) FROM (SELECT id FROM t ORDER BY v <#> '[1,2,3,4,5,6,7,8]', id LIMIT 10) s0) AS ip_exact
FROM (SELECT id FROM t ORDER BY v <#> '[1,2,3,4,5,6,7,8]' LIMIT 10) s;
DROP INDEX t_ip;
-- (random positive vectors are all close in angle: the PQ codes of 2 sub-spaces rank the true
-- top 10 within their 400 best, not their 100 best)
CREATE INDEX t_cos ON t USING ivf (v vector_cosine_ops) WITH (lists = 10, rerank = 400);
SELECT array_agg(id) = (SELECT array_agg(id) FROM (SELECT id FROM t ORDER BY v <=> '[1,2,3,4,5,6,7,8]', id LIMIT 10) s0) AS cos_exact
FROM (SELECT id FROM t ORDER BY v <=> '[1,2,3,4,5,6,7,8]' LIMIT 10) s;
-- inserts after the build, deletes and VACUUM
INSERT INTO t VALUES (100001, '[1,2,3,4,5,6,7,8]'), (100002, '[2,4,6,8,10,12,14,16]');
SELECT id FROM t ORDER BY v <=> '[1,2,3,4,5,6,7,8]', id LIMIT 2;
SELECT id FROM t ORDER BY v <=> '[1,2,3,4,5,6,7,8]' LIMIT 2;
DELETE FROM t WHERE id > 1500;
VACUUM t;
SELECT elements FROM quiver_index_check('t_cos');
SELECT count(*) FROM (SELECT id FROM t ORDER BY v <=> '[1,2,3,4,5,6,7,8]') s;
DROP INDEX t_cos;

-- halfvec, through an expression index: re-ranking evaluates the expression on the row
CREATE INDEX t_half ON t USING ivf ((v::halfvec(8)) halfvec_l2_ops) WITH (lists = 5, pq_m = 4);
SELECT array_agg(id) = (SELECT array_agg(id) FROM (SELECT id FROM t ORDER BY v::halfvec(8) <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]', id LIMIT 10) s0) AS half_exact
FROM (SELECT id FROM t ORDER BY v::halfvec(8) <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10) s;
DROP INDEX t_half;

-- 4-bit codes: lists of fast-scan blocks (32 entries' codes interleaved for the SIMD kernel,
-- distances from tables quantized to bytes), re-ranked exactly as 8-bit codes are
CREATE INDEX t_pq4 ON t USING ivf (v vector_l2_ops) WITH (lists = 10, pq_m = 8, pq_nbits = 4, rerank = 2000);
SELECT quantizer, code_bytes, pq_m, pq_nbits, layout FROM quiver_ivf_metapage('t_pq4');
CREATE TEMP TABLE exact4 AS
    SELECT id, row_number() OVER (ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]', id) AS n FROM t ORDER BY n LIMIT 20;
-- every list probed, every entry re-ranked: the exact top 20, in order
SELECT count(*) AS pq4_mismatches FROM (
    SELECT id, row_number() OVER () AS n FROM (SELECT id FROM t ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 20) s
) got JOIN exact4 USING (n) WHERE got.id <> exact4.id;
-- code order alone: most of the top 20
SET ivf.rerank = 0;
SELECT count(*) >= 10 AS most FROM (SELECT id FROM t ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 20) s JOIN exact4 USING (id);
RESET ivf.rerank;
-- inserts fill each list's last block, then add blocks and pages; every row comes back once
INSERT INTO t SELECT 200000 + i, (SELECT array_agg(round(random()::numeric, 3)::real) FROM generate_series(1, 8) WHERE i > 0)::vector
FROM generate_series(1, 700) i;
INSERT INTO t VALUES (300001, '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]');
SELECT id FROM t ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 1;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM t ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]') s;
SELECT elements FROM quiver_index_check('t_pq4');
-- VACUUM repacks each page's surviving entries into full blocks (quiver_index_check checks it)
DELETE FROM t WHERE id % 3 = 0 OR id = 300001;
VACUUM t;
SELECT elements, (SELECT count(*) FROM t) AS rows FROM quiver_index_check('t_pq4');
SELECT array_agg(id) = (SELECT array_agg(id) FROM (SELECT id FROM t ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]', id LIMIT 20) s0) AS pq4_exact_after_vacuum
FROM (SELECT id FROM t ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 20) s;
-- inserts after VACUUM go on filling the lists' last blocks
INSERT INTO t SELECT 400000 + i, (SELECT array_agg(round(random()::numeric, 3)::real) FROM generate_series(1, 8) WHERE i > 0)::vector
FROM generate_series(1, 100) i;
SELECT elements, (SELECT count(*) FROM t) AS rows FROM quiver_index_check('t_pq4');
DROP INDEX t_pq4;
-- an odd pq_m: the kernel pairs sub-spaces, the last one with a phantom of all-zero table
CREATE INDEX t_pq4_odd ON t USING ivf (v vector_cosine_ops) WITH (lists = 4, pq_m = 1, pq_nbits = 4, rerank = 2000);
SELECT code_bytes, pq_m, layout FROM quiver_ivf_metapage('t_pq4_odd');
SELECT array_agg(id) = (SELECT array_agg(id) FROM (SELECT id FROM t ORDER BY v <=> '[1,2,3,4,5,6,7,8]', id LIMIT 10) s0) AS pq4_odd_exact
FROM (SELECT id FROM t ORDER BY v <=> '[1,2,3,4,5,6,7,8]' LIMIT 10) s;
DROP INDEX t_pq4_odd;
-- 8-bit codes keep one entry per item
CREATE INDEX t_pq8 ON t USING ivf (v vector_l2_ops) WITH (lists = 4, pq_m = 8);
SELECT code_bytes, pq_m, pq_nbits, layout FROM quiver_ivf_metapage('t_pq8');
DROP INDEX t_pq8;
CREATE INDEX t_ivfflat ON t USING ivfflat (v) WITH (lists = 2);
SELECT quantizer, code_bytes, pq_m, layout FROM quiver_ivf_metapage('t_ivfflat');
DROP INDEX t_ivfflat;
CREATE INDEX t_btree ON t (id);
SELECT * FROM quiver_ivf_metapage('t_btree');
DROP INDEX t_btree;

-- options and errors
CREATE INDEX ON t USING ivf (v) WITH (quantizer = 'zstd');
CREATE INDEX ON t USING ivf (v) WITH (pq_m = 3);
CREATE INDEX ON t USING ivf (v) WITH (pq_nbits = 6);
CREATE INDEX ON t USING ivf (v) WITH (rerank = -1);
CREATE INDEX ON t USING ivf (v) WITH (probes = 3);
SET ivf.rerank = -2;
SHOW ivf.probes;
SHOW ivf.rerank;
SHOW ivf.iterative_scan;
DROP TABLE t;
-- 16,000 dimensions with pq (vectors do not fit a page; flat refuses them)
CREATE TABLE w (id int, v vector(16000));
INSERT INTO w SELECT i, array_fill((i % 7)::real, ARRAY[16000])::vector FROM generate_series(1, 30) i;
CREATE INDEX ON w USING ivf (v) WITH (quantizer = 'flat', lists = 2);
CREATE INDEX ON w USING ivf (v) WITH (quantizer = 'sq8', lists = 2);
CREATE INDEX ON w USING ivf (v) WITH (lists = 2, pq_m = 16000);
CREATE INDEX w_pq ON w USING ivf (v) WITH (lists = 2, pq_m = 1000);
SELECT v <-> array_fill(3::real, ARRAY[16000])::vector AS d FROM w ORDER BY v <-> array_fill(3::real, ARRAY[16000])::vector LIMIT 3;
SELECT pages, elements FROM quiver_index_check('w_pq');
DROP INDEX w_pq;
-- 4-bit codes whose block of 32 would not fit a page: one entry per item
CREATE INDEX w_pq4 ON w USING ivf (v) WITH (lists = 2, pq_m = 1000, pq_nbits = 4);
SELECT code_bytes, pq_m, pq_nbits, layout FROM quiver_ivf_metapage('w_pq4');
SELECT v <-> array_fill(3::real, ARRAY[16000])::vector AS d FROM w ORDER BY v <-> array_fill(3::real, ARRAY[16000])::vector LIMIT 3;
SELECT pages, elements FROM quiver_index_check('w_pq4');
DROP INDEX w_pq4;
CREATE INDEX w_bit ON w USING ivf (v) WITH (lists = 2, quantizer = 'bit');
SELECT v <-> array_fill(3::real, ARRAY[16000])::vector AS d FROM w ORDER BY v <-> array_fill(3::real, ARRAY[16000])::vector LIMIT 3;
SELECT pages, elements FROM quiver_index_check('w_bit');
DROP TABLE w;
SELECT opcname, amvalidate(c.oid) FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE a.amname = 'ivf' ORDER BY opcname;
