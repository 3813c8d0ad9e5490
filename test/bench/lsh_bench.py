#!/usr/bin/python3
"""LSH benchmark (issue 12): quiver's `lsh` index on binary-quantized vectors (bit_hamming_ops,
bit sampling) against, in the same run and on the same codes,
  (a) quiver `lsh` with bit_hamming_ops, lsh.probes swept (--probes-sweep);
  (b) quiver `hnsw` with bit_hamming_ops (m = 16, ef_construction = 64), hnsw.ef_search swept;
  (c) the exact scan inside PostgreSQL: the same query with enable_indexscan = off, a sequential
      scan computing quiver's SIMD hamming_distance for every row and a top-N sort;
  (d) FAISS, one thread, queries one at a time: IndexBinaryMultiHash(d, nhash, b) with nflip
      swept (by default b = the lsh index's K and nhash = its L, capped at d / b since FAISS
      hashes disjoint substrings of the code), IndexBinaryFlat (FAISS's exact Hamming scan) and
      IndexLSH on the float vectors (see below).
Reports build time, index size, the build backend's peak RSS, and per point recall@10, QPS,
p50 / p99 latency, rows returned and (EXPLAIN ANALYZE of a few queries) buckets probed and
candidates re-ranked; then the ratios at recall 0.90 (each curve interpolated as hnsw_bench.py
does: linear in recall, geometric in QPS; a curve already above 0.90 at its first point gives
that point's QPS, flagged as a lower bound): lsh / exact scan, lsh / IndexBinaryMultiHash (the
best configuration measured, and the one with the lsh index's L x K), lsh / hnsw, and the
build-time ratio hnsw / lsh, against the issue's goals (>= 5x the exact scan and >=
IndexBinaryMultiHash at recall 0.9; builds >= 5x faster than hnsw). The index sweeps make
--repeat passes (default 3) over all their points in turn and keep each point's fastest pass;
the exact scan runs once. The lsh points also carry the id recall that bit sampling predicts for
the index's L, K and probes (bit_sampling_model), a check that the index finds what it should.
A report, never a pass/fail test.

Codes: bit i of a row is x_i > t_i, packed in PostgreSQL's bit order (bit i is the most
significant bit of byte i / 8). --threshold zero: t = 0, what binary_quantize(vector) computes
(the default for GloVe, whose values are centred on 0: 50% ones). --threshold mean: t_i = the
mean of dimension i over the base rows (the default for Fashion-MNIST, whose pixels are >= 0,
where x > 0 means "any ink at this pixel" and x > mean "darker than this pixel usually is").
Fashion-MNIST's pixels are bimodal (background 0, ink high), so neither is balanced: over the
60,000 images x > 0 sets 49.8% of the bits, with 18 positions above 95% ones and 62 below 5%;
x > mean sets 35.8%, none above 95%, 80 below 5%. The report gives the share of 1 bits and the
constant positions of the run's rows.

Recall@10 is against exact Hamming ground truth computed here with numpy (popcount of the XOR of
the packed codes, queries in chunks so memory stays modest), and tie-aware: Hamming distances
are small integers and ties at the 10th distance are the rule, so a returned row counts when its
Hamming distance is <= the query's exact 10th-nearest distance (ann-benchmarks' definition);
short results count their missing rows as misses. The JSON also has the id-set recall against
one arbitrary tie order (distance, then row number), which ties make lower, and each
point's recall against the float ground truth of the data set's own metric (what the binary
codes cost in the original space).

FAISS IndexLSH(d, nbits = d, rotate_data = False, train_thresholds = False) takes the float
vectors (minus t, so its sign bits are exactly our codes) and scans its codes exhaustively by
Hamming distance: its recall is reported against the same Hamming ground truth (it sees the same
codes, so it should be 1.0 up to ties, a check of the harness) and, like every point, against
the float ground truth. For IndexBinaryMultiHash the bit positions are permuted at random
(seed 0, --no-faiss-permute to keep them): Hamming distances do not change, but each hash table
then reads a random subset of positions as quiver's bit sampling does, instead of a run of
adjacent ones (adjacent Fashion-MNIST pixels are strongly correlated).

Client: one PostgreSQL connection (psycopg 3, extended protocol, a server-side prepared
statement `SELECT id FROM t ORDER BY b <~> $1::bit(D) LIMIT 10`, the query sent as a text bit
string '0101...', over the cluster's Unix socket with --start-cluster, else PGHOST/PGPORT);
table (id int4, b bit(D)) loaded with text COPY; each index built in a fresh backend (its VmHWM
is the build's peak RSS, which also counts the shared buffers it touched), with
max_parallel_maintenance_workers = 0; max_parallel_workers_per_gather = 0, jit = off. Index
sweeps run with enable_seqscan = off (the table has only that index), and the report says where
the planner would have chosen another plan.

--float cosine|l2: the same comparison on the float vectors instead: a vector(D) column, lsh
with vector_cosine_ops (SimHash) or vector_l2_ops (p-stable) against hnsw with the same opclass,
the exact scan, FAISS IndexFlat (exact) and IndexRefineFlat(IndexLSH(d, --faiss-lsh-nbits,
rotate_data = True)) with k_factor swept; recall against float ground truth (gt.ivecs when all
rows are used and the metric is the data set's, else computed with FAISS).

    /usr/bin/python3 test/bench/lsh_bench.py --dataset glove --start-cluster
    /usr/bin/python3 test/bench/lsh_bench.py --dataset fashion --start-cluster
    /usr/bin/python3 test/bench/lsh_bench.py --dataset glove --rows 20000 --queries 200 --start-cluster
    /usr/bin/python3 test/bench/lsh_bench.py --dataset glove --float cosine --start-cluster
"""
import argparse
import datetime
import io
import json
import os
import platform
import re
import struct
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import datasets  # noqa: E402
import hnsw_bench as hb  # noqa: E402

DATASETS = {"glove": "glove-100-angular", "fashion": "fashion-mnist-784-euclidean"}
DEFAULT_ROWS = {"glove": 200000, "fashion": 0}  # 0: every base row
DEFAULT_THRESHOLD = {"glove": "zero", "fashion": "mean"}
PROBES = [1, 4, 8, 16, 32, 64, 128]
EF_SEARCH = [10, 20, 40, 80, 160, 320]
NFLIP = [0, 1, 2, 3]
K_FACTORS = [1, 2, 5, 10, 20, 50, 100]
TARGET = 0.90
EXPLAIN_QUERIES = 20
SCAN_LINE = re.compile(r"^\s*(\S+) \((\w+)\): (\d+) scans?, strategy (\S+), (?:(\d+) buckets probed, "
                       r"(\d+) candidates re-ranked|(\d+) elements visited), (\d+) returned")

log = hb.log
fmt = hb.fmt


# ------------------------------------------------------------------------------- binary codes
def binarize(base, queries, threshold):
    """Bits x_i > t_i (bool arrays) and t."""
    t = np.zeros(base.shape[1], dtype=np.float32) if threshold == "zero" else \
        base.mean(axis=0, dtype=np.float64).astype(np.float32)
    return base > t, queries > t, t


def pack(bits):
    """Packed codes in PostgreSQL's bit order (bit i = the most significant bit of byte i / 8;
    the last byte padded with zeros, as bit(D) stores it)."""
    return np.ascontiguousarray(np.packbits(bits, axis=1))


def bit_literal(bits_row):
    return np.where(bits_row, ord("1"), ord("0")).astype(np.uint8).tobytes().decode()


_POPCOUNT16 = np.array([bin(i).count("1") for i in range(1 << 16)], dtype=np.uint8)


def as_words(packed):
    """Packed codes as uint16 words (a zero byte appended to an odd length), transposed to
    (words, rows) so that each word is one contiguous array."""
    if packed.shape[1] % 2:
        packed = np.hstack([packed, np.zeros((packed.shape[0], 1), dtype=np.uint8)])
    return np.ascontiguousarray(packed.view("<u2").T)


class HammingTruth:
    """Exact Hamming neighbours of each query (numpy popcount over XOR of packed codes, queries
    in chunks of about chunk_mb of work arrays), for tie-aware recall."""

    def __init__(self, base_packed, query_packed, k, chunk_mb=96):
        t0 = time.perf_counter()
        self.k = k
        self.base_words = as_words(base_packed)
        self.query_words = as_words(query_packed)
        w, n = self.base_words.shape
        nq = self.query_words.shape[1]
        chunk = max(1, int(chunk_mb * 2**20 // (n * 8)))
        self.kth = np.empty(nq, dtype=np.int32)
        self.within = np.empty(nq, dtype=np.int64)   # rows at distance <= the k-th
        self.ids = np.empty((nq, k), dtype=np.int64)
        self.dist = np.empty((nq, k), dtype=np.int32)
        for s in range(0, nq, chunk):
            e = min(nq, s + chunk)
            d = np.zeros((e - s, n), dtype=np.uint16)
            for j in range(w):
                d += _POPCOUNT16[self.base_words[j][None, :] ^ self.query_words[j, s:e, None]]
            part = np.argpartition(d, k - 1, axis=1)[:, :k]
            pd = np.take_along_axis(d, part, axis=1)
            kth = pd.max(axis=1)
            self.kth[s:e] = kth
            self.within[s:e] = (d <= kth[:, None]).sum(axis=1)
            for i in range(e - s):  # one tie order: (distance, row number)
                cand = np.nonzero(d[i] <= kth[i])[0]
                order = np.lexsort((cand, d[i][cand]))[:k]
                self.ids[s + i] = cand[order]
                self.dist[s + i] = d[i][cand[order]]
        self.seconds = time.perf_counter() - t0
        log("hamming ground truth: %d queries x %d rows in %.1f s; 10th distance mean %.2f, "
            "rows within it mean %.1f (max %d)" % (nq, n, self.seconds, self.kth.mean(),
                                                   self.within.mean(), self.within.max()))

    def distances(self, qi, ids):
        ids = np.asarray(ids, dtype=np.int64)
        d = np.zeros(len(ids), dtype=np.int32)
        for j in range(self.base_words.shape[0]):
            d += _POPCOUNT16[self.base_words[j][ids] ^ self.query_words[j, qi]]
        return d

    def recall(self, results):
        """(tie-aware recall, id-set recall against the (distance, id) tie order)."""
        hit = hit_ids = 0
        for i, res in enumerate(results):
            res = np.asarray([r for r in list(res)[: self.k] if r is not None and r >= 0],
                             dtype=np.int64)
            if len(res):
                hit += min(int((self.distances(i, res) <= self.kth[i]).sum()), self.k)
                hit_ids += len(np.intersect1d(res, self.ids[i]))
        total = self.k * len(results)
        return hit / total, hit_ids / total

    def summary(self):
        return {"kth_mean": float(self.kth.mean()), "kth_min": int(self.kth.min()),
                "kth_max": int(self.kth.max()), "within_kth_mean": float(self.within.mean()),
                "within_kth_max": int(self.within.max()), "seconds": self.seconds}


# ------------------------------------------------------------------------------------ timing
def timed(search_one, n):
    """search_one(i) -> ids for query i, for every query, after a warm-up on the first 50."""
    for i in range(min(50, n)):
        search_one(i)
    lat = np.empty(n)
    results = []
    t_all = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        results.append(search_one(i))
        lat[i] = time.perf_counter() - t0
    return results, lat, time.perf_counter() - t_all


def result_distances(truth, i, ids):
    if isinstance(truth, HammingTruth):
        return truth.distances(i, ids).astype(np.float64)
    return hb.exact_distances(truth.base, truth.queries[i], np.asarray(ids, dtype=np.int64), truth.metric)


def check_results(truth, results):
    """Queries whose rows do not come in order of exact distance, and rows returned twice:
    what an index that re-ranks its candidates exactly must never do."""
    unsorted = dups = 0
    for i, res in enumerate(results):
        ids = [r for r in res if r is not None and r >= 0]
        dups += len(ids) - len(set(ids))
        if len(ids) > 1:
            d = result_distances(truth, i, ids)
            if (np.diff(d) < -1e-5 * np.maximum(1.0, np.abs(d[1:]))).any():
                unsorted += 1
    return unsorted, dups


def bit_sampling_model(dists, dim, tables, bits, probes):
    """Expected share of neighbours at Hamming distances `dists` that share a probed bucket with
    the query in at least one of the tables: a table samples `bits` positions (with
    replacement), j of them differ with probability C(K, j) q^j (1 - q)^(K - j), q = h / dim;
    probes visit the query's bucket, then the K one-bit changes, then two-bit ones ..., a level
    partly visited counting for the share of it visited."""
    from math import comb

    cover, left = [], probes
    for j in range(bits + 1):
        c = comb(bits, j)
        take = min(left, c)
        cover.append(take / c)
        left -= take
    q = np.asarray(dists, dtype=np.float64) / dim
    p_table = sum(comb(bits, j) * q ** j * (1 - q) ** (bits - j) * cover[j] for j in range(bits + 1))
    return float(np.mean(1 - (1 - p_table) ** tables))


def score(point, results, truth, float_truth):
    point["recall"], point["recall_ids"] = truth.recall(results)
    point["unsorted_queries"], point["duplicate_rows"] = check_results(truth, results)
    if point["unsorted_queries"] or point["duplicate_rows"]:
        log("WARNING: %d queries with rows out of distance order, %d rows returned twice (%s)"
            % (point["unsorted_queries"], point["duplicate_rows"], point))
    if float_truth is not None:
        point["recall_float"] = float_truth.recall(results)[0]
    rows = np.array([sum(1 for r in res if r is not None and r >= 0) for res in results])
    point["rows_mean"], point["rows_min"] = float(rows.mean()), int(rows.min())
    return point


# -------------------------------------------------------------------------------------- FAISS
class FaissSide:
    """FAISS indexes, one thread, searched one query at a time (as the single PostgreSQL client)."""

    def __init__(self, args):
        import faiss

        self.faiss = faiss
        self.args = args
        faiss.omp_set_num_threads(1)

    def built(self, name, index, add, binary):
        t0 = time.perf_counter()
        c0 = time.process_time()
        add()
        build = time.perf_counter() - t0
        cpu = time.process_time() - c0
        try:
            size = len(self.faiss.serialize_index_binary(index) if binary
                       else self.faiss.serialize_index(index))
        except Exception:
            size = None
        log("faiss: %s built in %.2f s, serialized %s MB"
            % (name, build, "?" if size is None else "%.1f" % (size / 2**20)))
        return {"index": name, "build_s": build, "build_cpu_s": cpu, "serialized_bytes": size,
                "version": getattr(self.faiss, "__version__", None), "sweep": []}

    def measure(self, index, queries, truth, float_truth, param=None):
        k = self.args.k
        results, lat, wall = timed(lambda i: index.search(queries[i: i + 1], k)[1][0], len(queries))
        point = dict(param or {}, **hb.latency_stats(lat, wall))
        return score(point, results, truth, float_truth)


# ------------------------------------------------------------------------------------ Postgres
def proc_field(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def proc_cpu(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def copy_text_bits(ids, bits):
    chars = np.where(bits, ord("1"), ord("0")).astype(np.uint8)
    buf = io.BytesIO()
    for i, row in zip(ids, chars):
        buf.write(b"%d\t" % i)
        buf.write(row.tobytes())
        buf.write(b"\n")
    buf.seek(0)
    return buf


def copy_binary_vectors(ids, vectors):
    n, d = vectors.shape
    row = np.dtype([("nf", ">i2"), ("l_id", ">i4"), ("id", ">i4"), ("l_v", ">i4"),
                    ("dim", ">i2"), ("unused", ">i2"), ("v", ">f4", (d,))])
    rec = np.empty(n, dtype=row)
    rec["nf"], rec["l_id"], rec["id"] = 2, 4, ids
    rec["l_v"], rec["dim"], rec["unused"], rec["v"] = 4 + 4 * d, d, 0, vectors
    buf = io.BytesIO()
    buf.write(b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8)
    buf.write(rec.tobytes())
    buf.write(b"\xff\xff")
    buf.seek(0)
    return buf


SETTINGS = ("lsh.probes", "lsh.iterative_scan", "lsh.max_probes", "hnsw.ef_search",
            "enable_seqscan", "enable_indexscan", "enable_bitmapscan",
            "max_parallel_workers_per_gather", "jit", "work_mem")


class PgSide(hb.Postgres):
    """hnsw_bench's connections (a psycopg2 one for setup, a psycopg 3 one for the timed
    queries), a table per index, each index built in a fresh backend."""

    def __init__(self, args):
        super().__init__(args)
        self.cur.execute("SELECT 1 FROM pg_am WHERE amname = 'lsh'")
        if not self.cur.fetchone():
            raise SystemExit("postgres: no `lsh` access method in this quiver build")
        self.cur.execute("SET max_parallel_workers_per_gather = 0")
        try:
            self.cur.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
            self.pageinspect = True
        except Exception:
            self.pageinspect = False

    def sync_settings(self):
        for name in SETTINGS:
            self.cur.execute("SELECT current_setting(%s, true)", (name,))
            value = self.cur.fetchone()[0]
            if value is not None:
                self.xconn.execute("SELECT set_config(%s, %s, false)", (name, value))

    def load(self, table, column, type_sql, stream, copy_sql):
        cur = self.cur
        cur.execute("DROP TABLE IF EXISTS %s" % table)
        cur.execute("CREATE TABLE %s (id int4, %s %s)" % (table, column, type_sql))
        if type_sql.startswith("vector"):
            # As hnsw_bench.py: vectors stay in the row (a bit(784) value is 98 bytes anyway).
            cur.execute("ALTER TABLE %s ALTER COLUMN %s SET STORAGE PLAIN" % (table, column))
        t0 = time.perf_counter()
        stream.seek(0)
        cur.copy_expert(copy_sql % table, stream)
        cur.execute("VACUUM ANALYZE %s" % table)
        load = time.perf_counter() - t0
        log("postgres: loaded %s in %.1f s" % (table, load))
        return load

    def build(self, sql, index, table):
        """CREATE INDEX in a fresh backend: wall time from the client, the backend's CPU time
        and peak RSS (VmHWM) from /proc when the server runs here."""
        import psycopg2

        a = self.args
        conn = psycopg2.connect(dbname=a.database)
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute("SET maintenance_work_mem = '%s'" % a.maintenance_work_mem)
        cur.execute("SET max_parallel_maintenance_workers = 0")
        cur.execute("SET jit = off")
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
        log("postgres: " + sql)
        c0 = proc_cpu(pid)
        t0 = time.perf_counter()
        cur.execute(sql)
        build = time.perf_counter() - t0
        c1 = proc_cpu(pid)
        peak = proc_field(pid, "VmHWM")
        conn.close()
        self.cur.execute("SELECT pg_relation_size(%s), pg_table_size(%s)", (index, table))
        size, table_size = self.cur.fetchone()
        cpu = c1 - c0 if c0 is not None and c1 is not None else None
        log("postgres: built in %.2f s (backend CPU %s s), index %.1f MB (table %.1f MB), build "
            "backend peak RSS %s MB" % (build, fmt(cpu, ".1f"), size / 2**20, table_size / 2**20,
                                        fmt(peak, ".0f")))
        return {"sql": sql, "build_s": build, "build_cpu_s": cpu, "index_bytes": size,
                "table_bytes": table_size, "build_peak_rss_mb": peak}

    def lsh_metapage(self, index):
        """The parameters the lsh build chose (include/quiver/pg/lsh.h's LshMetaPageData,
        read with pageinspect), or None."""
        if not self.pageinspect:
            return None
        try:
            self.cur.execute("SELECT get_raw_page(%s, 0)", (index,))
            page = bytes(self.cur.fetchone()[0])
        except Exception as e:
            log("postgres: could not read the lsh metapage: %s" % str(e).strip())
            return None
        m = page[24:]
        magic, version = struct.unpack_from("<II", m, 0)
        if magic != 0x5156534C:
            log("postgres: lsh metapage magic %#x, not read" % magic)
            return None
        dim, = struct.unpack_from("<I", m, 12)
        tables, bits, slot_bits, key_columns = struct.unpack_from("<HHHH", m, 16)
        probes, = struct.unpack_from("<I", m, 24)
        width, = struct.unpack_from("<f", m, 28)
        code_len, = struct.unpack_from("<I", m, 32)
        seed, = struct.unpack_from("<Q", m, 40)
        return {"version": version, "family": m[8], "dimensions": dim, "tables": tables,
                "bits": bits, "slot_bits": slot_bits, "probes": probes, "width": width,
                "code_len": code_len, "seed": seed}

    def statement(self, name, sql_text, type_name):
        """A statement for the timed connection; %(p1)s is the query parameter."""
        self.stmts[name] = (sql_text, type_name)

    def set(self, **settings):
        for k, v in settings.items():
            self.cur.execute("SET %s = %s" % (k.replace("__", "."), v))

    def reset(self, *names):
        for n in names:
            self.cur.execute("RESET %s" % n.replace("__", "."))

    def plan(self, sql):
        self.cur.execute("EXPLAIN (COSTS OFF) " + sql)
        return " / ".join(r[0].strip() for r in self.cur.fetchall())

    def explain_counts(self, sqls):
        """Averages of the quiver scan lines of EXPLAIN ANALYZE over these queries."""
        acc = {"buckets": [], "candidates": [], "visited": [], "returned": [], "strategy": set()}
        for sql in sqls:
            self.cur.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql)
            for (line,) in self.cur.fetchall():
                m = SCAN_LINE.match(line)
                if not m:
                    continue
                acc["strategy"].add(m.group(4))
                acc["returned"].append(int(m.group(8)))
                if m.group(5) is not None:
                    acc["buckets"].append(int(m.group(5)))
                    acc["candidates"].append(int(m.group(6)))
                else:
                    acc["visited"].append(int(m.group(7)))
        out = {k: (float(np.mean(v)) if v else None) for k, v in acc.items() if k != "strategy"}
        out["strategy"] = ",".join(sorted(acc["strategy"])) or None
        out["explained"] = len(sqls)
        return out

    def measure(self, name, params, truth, float_truth, point):
        results, lat, wall = self.run_queries(name, params)
        point.update(hb.latency_stats(lat, wall))
        return score(point, results, truth, float_truth)


def quiver_library(pg):
    """Which quiver.so the server loads (when it runs here): its size and mtime, taken before
    and after the run, since every new backend loads the file as it is then."""
    try:
        pg.cur.execute("SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'")
        path = os.path.join(pg.cur.fetchone()[0], "quiver.so")
        st = os.stat(path)
    except Exception:
        return None
    return {"path": path, "bytes": st.st_size,
            "mtime": datetime.datetime.fromtimestamp(st.st_mtime).isoformat(timespec="seconds")}


# ---------------------------------------------------------------------------------- the run
def best_of(repeat, fn):
    best = None
    for _ in range(repeat):
        p = fn()
        if best is None or p["qps"] > best["qps"]:
            best = p
    return best


def run_postgres(a, mode, pg, base, bits_base, literals, inline, truth, float_truth):
    """Load, build and sweep lsh, hnsw and the exact scan. literals: what the timed connection
    sends per query; inline(i): query i as an SQL literal for EXPLAIN."""
    k = a.k
    d = base.shape[1]
    if mode == "hamming":
        column, type_sql, opclass, op, type_name = "b", "bit(%d)" % d, "bit_hamming_ops", "<~>", "bit"
        cast = "bit(%d)" % d
        placeholder = "%(p1)s::" + cast

        def stream():
            return copy_text_bits(np.arange(len(bits_base)), bits_base)
        copy_sql = "COPY %s (id, b) FROM STDIN"
    else:
        column, type_sql, type_name = "v", "vector(%d)" % d, "vector"
        opclass = "vector_cosine_ops" if a.float == "cosine" else "vector_l2_ops"
        op = "<=>" if a.float == "cosine" else "<->"
        cast = "vector"
        placeholder = "%(p1)" + ("b" if "vector" in pg.binary_params else "s") + "::vector"

        def stream():
            return copy_binary_vectors(np.arange(len(base), dtype=np.int32), base)
        copy_sql = "COPY %s (id, v) FROM STDIN WITH (FORMAT binary)"
    params = literals  # run_queries turns them into what is sent (pg.param)
    so = quiver_library(pg)
    out = {"column": type_sql, "opclass": opclass, "operator": op,
           "protocol": pg.protocol + ("; bit strings sent as text" if mode == "hamming" else ""),
           "host": os.environ.get("PGHOST", "(libpq default)"), "version": pg.version,
           "quiver": pg.extversion, "simd": pg.simd, "shared_buffers": pg.shared_buffers,
           "quiver_so": so}

    def query_sql(table, tag, param):
        return "SELECT id FROM %s ORDER BY %s %s %s LIMIT %d /* %s */" % (table, column, op, param, k, tag)

    def explain_sqls(table):
        return [query_sql(table, "explain", "%s::%s" % (inline(i), cast))
                for i in range(min(EXPLAIN_QUERIES, len(literals)))]

    # ---- lsh
    t_lsh = "bench_lsh"
    out["lsh"] = {"load_s": pg.load(t_lsh, column, type_sql, stream(), copy_sql)}
    opts = [("tables", a.tables), ("bits", a.bits), ("probes", a.index_probes), ("seed", a.seed),
            ("width", a.width if mode == "float" and a.float == "l2" else None)]
    opts = ["%s = %s" % (n, v) for n, v in opts if v is not None]
    sql = "CREATE INDEX %s_idx ON %s USING lsh (%s %s)%s" % (
        t_lsh, t_lsh, column, opclass, " WITH (%s)" % ", ".join(opts) if opts else "")
    out["lsh"].update(pg.build(sql, t_lsh + "_idx", t_lsh))
    out["lsh"]["meta"] = pg.lsh_metapage(t_lsh + "_idx")
    if out["lsh"]["meta"]:
        log("postgres: lsh index parameters %s" % out["lsh"]["meta"])
    # ---- hnsw
    t_hnsw = "bench_hnsw"
    out["hnsw"] = {"load_s": pg.load(t_hnsw, column, type_sql, stream(), copy_sql)}
    sql = "CREATE INDEX %s_idx ON %s USING hnsw (%s %s) WITH (m = %d, ef_construction = %d)" % (
        t_hnsw, t_hnsw, column, opclass, a.m, a.ef_construction)
    out["hnsw"].update(pg.build(sql, t_hnsw + "_idx", t_hnsw))

    # Client + protocol + literal cost alone, for reading the latencies.
    pg.statement("q0", "SELECT %s IS NULL" % placeholder, type_name)
    _, lat0, wall0 = pg.run_queries("q0", params[: min(300, len(params))])
    out["overhead"] = hb.latency_stats(lat0, wall0)
    log("postgres: round trip of a trivial prepared statement with the same parameter: p50 %.3f ms"
        % out["overhead"]["p50_ms"])

    pg.set(max_parallel_workers_per_gather=0, jit="off")
    # ---- exact scan
    pg.statement("q_exact", query_sql(t_lsh, "exact", placeholder), type_name)
    pg.set(enable_indexscan="off", enable_bitmapscan="off")
    plan = pg.plan(query_sql(t_lsh, "exact", "%s::%s" % (inline(0), cast)))
    log("postgres: exact scan plan: " + plan)
    pg.warm(t_lsh, t_lsh + "_idx")
    nq_exact = a.exact_queries or len(params)
    # The first nq_exact queries: both truths score results by their position in the list.
    pt = best_of(a.exact_repeat, lambda: pg.measure("q_exact", params[:nq_exact], truth, float_truth,
                                                    {"plan": plan, "queries": nq_exact}))
    log("postgres exact scan: recall %.4f QPS %.1f p50 %.2f ms" % (pt["recall"], pt["qps"], pt["p50_ms"]))
    out["exact"] = {"sweep": [pt]}
    pg.reset("enable_indexscan", "enable_bitmapscan")

    # ---- index sweeps: every point of both indexes once per pass, --repeat passes, the fastest
    # pass of each point kept (bursts of other load on the machine fall on one pass, not one
    # curve); then EXPLAIN ANALYZE of a few queries per point.
    points = []
    for label, table, setting, values in (("lsh", t_lsh, "lsh.probes", a.probes_sweep),
                                          ("hnsw", t_hnsw, "hnsw.ef_search", a.ef_sweep)):
        pg.statement("q_" + label, query_sql(table, label, placeholder), type_name)
        pg.warm(table, table + "_idx")
        out[label]["sweep"] = [None] * len(values)
        check = query_sql(table, label, "%s::%s" % (inline(0), cast))
        for i, v in enumerate(values):
            pg.set(**{setting.replace(".", "__"): v})
            planned = pg.plan(check)
            chose_other = None if ("Index Scan using %s_idx" % table) in planned else planned
            if chose_other:
                log("postgres: NOTE: %s at %s = %s: the planner chooses %s; measured with "
                    "enable_seqscan = off" % (label, setting, v, planned[:120]))
            points.append((label, table, setting, i, v, chose_other))
        pg.reset(setting)
        pg.set(enable_seqscan="off", **{setting.replace(".", "__"): max(values)})
        pg.run_queries("q_" + label, params[: min(200, len(params))])  # warm-up
        pg.reset(setting, "enable_seqscan")
    pg.set(enable_seqscan="off")
    for rep in range(a.repeat):
        for label, table, setting, i, v, chose_other in points:
            pg.set(**{setting.replace(".", "__"): v})
            pt = pg.measure("q_" + label, params, truth, float_truth,
                            {setting: v, "planner_chose_instead": chose_other,
                             "loadavg": os.getloadavg()[0], "pass": rep})
            pg.reset(setting)
            best = out[label]["sweep"][i]
            if best is None or pt["qps"] > best["qps"]:
                out[label]["sweep"][i] = pt
            log("postgres pass %d %s %s = %d: recall %.4f QPS %8.1f p50 %.3f ms rows min %d" % (
                rep + 1, label, setting, v, pt["recall"], pt["qps"], pt["p50_ms"], pt["rows_min"]))
    meta = out["lsh"].get("meta")
    for label, table, setting, i, v, _ in points:
        pg.set(**{setting.replace(".", "__"): v})
        pt = out[label]["sweep"][i]
        if label == "lsh" and mode == "hamming" and meta:
            pt["model_recall_ids"] = bit_sampling_model(truth.dist, d, meta["tables"], meta["bits"], v)
        pt["explain"] = e = pg.explain_counts(explain_sqls(table))
        pg.reset(setting)
        log("postgres %s %s = %d: EXPLAIN ANALYZE means: strategy %s, %s" % (
            label, setting, v, e["strategy"], "elements visited %.0f" % e["visited"] if e["buckets"] is None
            else "buckets probed %.0f, candidates re-ranked %.0f" % (e["buckets"], e["candidates"])))
    pg.reset("enable_seqscan")
    if not a.keep_tables:
        pg.cur.execute("DROP TABLE %s, %s" % (t_lsh, t_hnsw))
    out["quiver_so_end"] = quiver_library(pg)
    if so and out["quiver_so_end"] != so:
        log("WARNING: quiver.so changed during the run (%s -> %s): backends started after the "
            "change loaded the new build" % (so, out["quiver_so_end"]))
    return out


def run_faiss_hamming(a, base, queries, bits_base, bits_query, thr, truth, float_truth, lsh_meta):
    fs = FaissSide(a)
    faiss = fs.faiss
    d = bits_base.shape[1]
    d8 = (d + 7) // 8 * 8
    pb, pq = pack(bits_base), pack(bits_query)
    out = {}
    # Exact binary scan.
    flat = faiss.IndexBinaryFlat(d8)
    out["flat"] = fs.built("IndexBinaryFlat(%d)" % d8, flat, lambda: flat.add(pb), True)
    out["flat"]["sweep"].append(fs.measure(flat, pq, truth, float_truth))
    log("faiss IndexBinaryFlat: recall %.4f QPS %.1f" % (out["flat"]["sweep"][0]["recall"],
                                                       out["flat"]["sweep"][0]["qps"]))
    # IndexLSH on the floats: its codes are sign(x - t), our bits.
    lsh = faiss.IndexLSH(d, d, False, False)
    xb = np.ascontiguousarray(base - thr, dtype=np.float32)
    xq = np.ascontiguousarray(queries - thr, dtype=np.float32)
    out["indexlsh"] = fs.built("IndexLSH(%d, nbits=%d, rotate_data=False)" % (d, d), lsh,
                               lambda: lsh.add(xb), False)
    pt = fs.measure(lsh, xq, truth, float_truth)
    dist, ids = lsh.search(xq[:1], a.k)
    pt["codes_match"] = bool(np.array_equal(dist[0].astype(np.int64),
                                            truth.distances(0, ids[0]).astype(np.int64)))
    out["indexlsh"]["sweep"].append(pt)
    out["indexlsh"]["recall_against"] = "hamming ground truth of the same codes (and float in recall_float)"
    log("faiss IndexLSH: recall %.4f (float %.4f) QPS %.1f, its Hamming distances = ours: %s"
        % (pt["recall"], pt["recall_float"], pt["qps"], pt["codes_match"]))
    # Multi-hash: permuted positions (see the docstring).
    if a.faiss_permute:
        perm = np.random.RandomState(0).permutation(d)
        mb, mq = pack(bits_base[:, perm]), pack(bits_query[:, perm])
    else:
        mb, mq = pb, pq
    configs = []
    for c in a.faiss_multihash:
        if c == "same":  # the lsh index's L x K, as far as FAISS allows
            L = (lsh_meta or {}).get("tables") or a.tables or 16
            K = (lsh_meta or {}).get("bits") or a.bits or 16
            if min(L, d // K) < L:
                log("faiss: IndexBinaryMultiHash needs nhash * b <= d: nhash %d instead of the lsh "
                    "index's %d tables" % (min(L, d // K), L))
            c = (min(L, d // K), K, True)
        if c[:2] not in [x[:2] for x in configs]:
            configs.append(c)
    out["multihash"] = []
    for nhash, b, same in configs:
        mh = faiss.IndexBinaryMultiHash(d8, nhash, b)
        r = fs.built("IndexBinaryMultiHash(%d, nhash=%d, b=%d)" % (d8, nhash, b), mh,
                     lambda: mh.add(mb), True)
        r.update(nhash=nhash, b=b, permuted=bool(a.faiss_permute), same_as_lsh=same)
        for nflip in a.nflip_sweep:
            mh.nflip = nflip
            stats = faiss.cvar.indexBinaryHash_stats
            stats.reset()
            pt = best_of(a.repeat, lambda: fs.measure(mh, mq, truth, float_truth, {"nflip": nflip}))
            nq = max(1, stats.nq)
            pt["explain"] = {"candidates": stats.ndis / nq, "buckets": stats.nlist / nq}
            r["sweep"].append(pt)
            log("faiss %s nflip %d: recall %.4f QPS %.1f candidates %.0f" % (
                r["index"], nflip, pt["recall"], pt["qps"], pt["explain"]["candidates"]))
        out["multihash"].append(r)
    return out


def run_faiss_float(a, base, queries, metric, truth):
    fs = FaissSide(a)
    faiss = fs.faiss
    if metric == "cosine":
        base, queries = datasets.normalized(base), datasets.normalized(queries)
    d = base.shape[1]
    out = {}
    flat = faiss.IndexFlatL2(d)
    out["flat"] = fs.built("IndexFlatL2(%d)%s" % (d, " on normalised vectors" if metric == "cosine" else ""),
                           flat, lambda: flat.add(base), False)
    out["flat"]["sweep"].append(fs.measure(flat, queries, truth, None))
    nbits = a.faiss_lsh_nbits or d
    lsh = faiss.IndexLSH(d, nbits, True, metric == "l2")
    refine = faiss.IndexRefineFlat(lsh)

    def add():
        refine.train(base)
        refine.add(base)
    out["indexlsh"] = fs.built("IndexRefineFlat(IndexLSH(%d, nbits=%d, rotate_data=True%s))" % (
        d, nbits, ", train_thresholds=True" if metric == "l2" else ""), refine, add, False)
    for kf in a.k_factor_sweep:
        refine.k_factor = float(kf)
        pt = best_of(a.repeat, lambda: fs.measure(refine, queries, truth, None, {"k_factor": kf}))
        out["indexlsh"]["sweep"].append(pt)
        log("faiss IndexLSH+refine k_factor %d: recall %.4f QPS %.1f" % (kf, pt["recall"], pt["qps"]))
    return out


def ratios(res):
    """QPS at recall TARGET of each curve and the issue's ratios."""
    pg, fa = res.get("postgres", {}), res.get("faiss", {})

    lower = {}

    def q(points, key=None):
        """hb.qps_at_recall; when even the first point is above the target that is its QPS, a
        lower bound (noted in `lower`)."""
        if not points:
            return None
        if key and points[0]["recall"] >= TARGET:
            lower[key] = True
        return hb.qps_at_recall(points, TARGET)
    at = {"lsh": q(pg.get("lsh", {}).get("sweep"), "lsh"),
          "hnsw": q(pg.get("hnsw", {}).get("sweep"), "hnsw"),
          "exact": q(pg.get("exact", {}).get("sweep")),
          "faiss_flat": q(fa.get("flat", {}).get("sweep")),
          "faiss_indexlsh": q(fa.get("indexlsh", {}).get("sweep"), "faiss_indexlsh"
                              if "k_factor" in (fa.get("indexlsh", {}).get("sweep") or [{}])[0] else None)}
    mh = [(q(r["sweep"], r["index"]), r["index"], r.get("same_as_lsh")) for r in fa.get("multihash", [])]
    same = [m for m in mh if m[2]]
    at["faiss_multihash_same"] = same[0][0] if same else None
    if same and same[0][1] in lower:
        lower["faiss_multihash_same"] = True
    mh = [m for m in mh if m[0]]
    at["faiss_multihash"], at["faiss_multihash_index"] = max(mh)[:2] if mh else (None, None)
    if at["faiss_multihash_index"] in lower:
        lower["faiss_multihash"] = True

    def ratio(x, y):
        return x / y if x and y else None
    out = {"target_recall": TARGET, "qps": at,
           "lsh_over_exact": ratio(at["lsh"], at["exact"]),
           "lsh_over_faiss_multihash": ratio(at["lsh"], at["faiss_multihash"]),
           "lsh_over_faiss_multihash_same": ratio(at["lsh"], at["faiss_multihash_same"]),
           "lsh_over_hnsw": ratio(at["lsh"], at["hnsw"]),
           "lsh_over_faiss_flat": ratio(at["lsh"], at["faiss_flat"]),
           "lsh_over_faiss_indexlsh": ratio(at["lsh"], at["faiss_indexlsh"]),
           "lower_bound": sorted(k for k in lower if k in at),
           "note": "lower_bound: curves whose first point is already above the target recall; "
                   "their QPS at the target is that point's, a lower bound"}
    if "lsh" in pg and "hnsw" in pg:
        out["build_hnsw_over_lsh"] = pg["hnsw"]["build_s"] / pg["lsh"]["build_s"]
    return out


# ------------------------------------------------------------------------------------- report
def print_report(res):
    a, ds = res["args"], res["dataset"]
    mode = res["mode"]
    print()
    if mode == "hamming":
        b = res["codes"]
        print("== LSH on binary codes: %s, %d rows, %d bits (x > %s threshold; %.1f%% ones, %d "
              "constant positions), %d queries, k = %d ==" % (
                  ds["name"], ds["rows"], ds["dim"], a["threshold"], 100 * b["ones_fraction"],
                  b["constant_positions"], ds["queries"], a["k"]))
        t = res["hamming_truth"]
        print("Hamming ground truth: 10th-nearest distance mean %.2f (min %d, max %d); rows within "
              "it: mean %.1f, max %d (ties: recall counts rows at distance <= the 10th)"
              % (t["kth_mean"], t["kth_min"], t["kth_max"], t["within_kth_mean"], t["within_kth_max"]))
    else:
        print("== LSH on float vectors: %s, %d x %d, %s, %d queries, k = %d =="
              % (ds["name"], ds["rows"], ds["dim"], a["float"], ds["queries"], a["k"]))
    pg, fa = res.get("postgres"), res.get("faiss")
    if pg:
        print("PostgreSQL %s, quiver %s (SIMD %s): one client, %s, via %s; one backend; "
              "trivial statement round trip p50 %.3f ms"
              % (pg["version"].split(" on ")[0], pg["quiver"], pg["simd"], pg["protocol"],
                 pg["host"], pg["overhead"]["p50_ms"]))
    if pg and pg.get("quiver_so"):
        so, end = pg["quiver_so"], pg.get("quiver_so_end")
        print("quiver library %s, %d bytes, modified %s%s" % (
            so["path"], so["bytes"], so["mtime"], "" if not end or end == so else
            "; CHANGED during the run (now %d bytes, %s)" % (end["bytes"], end["mtime"])))
    print("load average at start %.2f, at end %.2f (%d CPUs)" % (
        res["machine"]["loadavg_start"][0], res["machine"]["loadavg_end"][0], res["machine"]["nproc"]))
    if fa:
        print("FAISS %s: one thread (omp_set_num_threads(1)), queries one at a time from Python"
              % fa["flat"]["version"])
    print()
    print("%-66s %9s %9s %10s %10s" % ("build", "seconds", "size MB", "peak RSS", "CPU s"))
    rows = []
    if pg:
        m = pg["lsh"].get("meta") or {}
        rows.append(("quiver lsh %s (L=%s, K=%s, slots 2^%s, default probes %s)" % (
            pg["opclass"], m.get("tables", "?"), m.get("bits", "?"), m.get("slot_bits", "?"),
            m.get("probes", "?")), pg["lsh"]))
        rows.append(("quiver hnsw %s (m=%d, ef_construction=%d)" % (
            pg["opclass"], a["m"], a["ef_construction"]), pg["hnsw"]))
    for key in ("flat", "indexlsh"):
        if fa and key in fa:
            rows.append(("FAISS " + fa[key]["index"], fa[key]))
    for r in (fa or {}).get("multihash", []):
        rows.append(("FAISS " + r["index"], r))
    for name, r in rows:
        size = r.get("index_bytes", r.get("serialized_bytes"))
        print("%-66s %9.2f %9s %10s %10s" % (name[:66], r["build_s"],
                                             fmt(size / 2**20 if size else None, ".1f"),
                                             fmt(r.get("build_peak_rss_mb"), ".0f"),
                                             fmt(r.get("build_cpu_s"), ".1f")))
    if pg:
        print("(table %.1f MB; peak RSS = the build backend's VmHWM, shared buffers it touched "
              "included; FAISS size = serialized)" % (pg["lsh"]["table_bytes"] / 2**20))
    print()
    head = "%-34s %-14s %7s %7s %9s %8s %8s %6s %9s %11s" % (
        "system", "setting", "recall", "float", "QPS", "p50 ms", "p99 ms", "rows", "buckets",
        "candidates")
    print(head)
    print("-" * len(head))

    def line(system, setting, p):
        e = p.get("explain") or {}
        print("%-34s %-14s %7.4f %7s %9.1f %8.3f %8.3f %6.2f %9s %11s%s" % (
            system[:34], setting, p["recall"], fmt(p.get("recall_float"), ".4f"), p["qps"],
            p["p50_ms"], p["p99_ms"], p["rows_mean"], fmt(e.get("buckets"), ".0f"),
            fmt(e.get("candidates") if e.get("candidates") is not None else e.get("visited"), ".0f"),
            " *" if p.get("planner_chose_instead") else ""))
    if pg:
        for p in pg["lsh"]["sweep"]:
            line("quiver lsh", "probes=%d" % p["lsh.probes"], p)
        for p in pg["hnsw"]["sweep"]:
            line("quiver hnsw", "ef_search=%d" % p["hnsw.ef_search"], p)
        p = pg["exact"]["sweep"][0]
        line("postgres exact scan (seq+sort)", "%d queries" % p["queries"], p)
    if fa:
        for key in ("flat", "indexlsh"):
            for p in fa.get(key, {}).get("sweep", []):
                line("FAISS " + fa[key]["index"].split("(")[0], "k_factor=%d" % p["k_factor"]
                     if "k_factor" in p else "exhaustive", p)
        for r in fa.get("multihash", []):
            for p in r["sweep"]:
                line("FAISS MultiHash %dx%d%s" % (r["nhash"], r["b"], " perm" if r["permuted"] else ""),
                     "nflip=%d" % p["nflip"], p)
    print("(recall: %s; float: against the float ground truth; rows: mean rows returned; buckets "
          "/ candidates: EXPLAIN ANALYZE means over %d queries (hnsw: elements visited; FAISS "
          "MultiHash: its stats, buckets = lists visited); * the planner chose another plan, "
          "measured with enable_seqscan = off)"
          % ("tie-aware Hamming recall@10" if mode == "hamming" else "recall@10 (tie-tolerant)",
             EXPLAIN_QUERIES))
    if pg and mode == "hamming" and pg["lsh"]["sweep"][0].get("model_recall_ids") is not None:
        print("lsh id recall, measured / bit-sampling model (L, K, probes; see bit_sampling_model): %s"
              % ", ".join("probes=%d %.3f/%.3f" % (p["lsh.probes"], p["recall_ids"], p["model_recall_ids"])
                          for p in pg["lsh"]["sweep"]))
    bad = [(name, p) for name, sw in [("quiver lsh", pg["lsh"]["sweep"] if pg else []),
                                      ("quiver hnsw", pg["hnsw"]["sweep"] if pg else []),
                                      ("exact scan", pg["exact"]["sweep"] if pg else [])]
           for p in sw if p.get("unsorted_queries") or p.get("duplicate_rows")]
    for name, p in bad:
        print("WARNING %s: %d queries with rows out of exact-distance order, %d rows returned twice"
              % (name, p["unsorted_queries"], p["duplicate_rows"]))
    r = res["ratios"]
    print()
    q = r["qps"]

    def qf(key):
        return (">=" if key in r.get("lower_bound", []) else "") + fmt(q[key], ".1f")
    print("QPS at recall %.2f: quiver lsh %s, quiver hnsw %s, postgres exact scan %s, FAISS "
          "exact %s, FAISS IndexLSH %s, FAISS MultiHash %s (%s)" % (
              TARGET, qf("lsh"), qf("hnsw"), qf("exact"), qf("faiss_flat"), qf("faiss_indexlsh"),
              qf("faiss_multihash"), q["faiss_multihash_index"] or "-"))
    if r.get("lower_bound"):
        print("  (>=: the curve's first point is already above %.2f; its QPS, a lower bound)" % TARGET)

    lower = set(r.get("lower_bound", []))

    def goal(x, want, keys=()):
        bound = [k for k in keys if k in lower]
        note = " (QPS of %s: a lower bound)" % " and ".join(bound) if bound else ""
        if x is None or want is None or mode != "hamming":  # the issue's goals are for Hamming data
            return fmt(x, ".2f") + note
        return "%.2fx (goal >= %gx: %s)%s" % (x, want, "met" if x >= want else "NOT met", note)
    print("  lsh / exact scan:            %s" % goal(r["lsh_over_exact"], 5, ["lsh"]))
    if mode == "hamming":
        print("  lsh / FAISS MultiHash:       %s, the best configuration: %s"
              % (goal(r["lsh_over_faiss_multihash"], 1, ["lsh", "faiss_multihash"]),
                 q["faiss_multihash_index"] or "-"))
        print("  lsh / FAISS MultiHash same:  %s, nhash x b = the lsh index's L x K"
              % goal(r["lsh_over_faiss_multihash_same"], 1, ["lsh", "faiss_multihash_same"]))
    print("  lsh / hnsw:                  %s" % goal(r["lsh_over_hnsw"], None, ["lsh", "hnsw"]))
    print("  lsh / FAISS exact:           %s" % goal(r["lsh_over_faiss_flat"], None, ["lsh"]))
    print("  build time hnsw / lsh:       %s" % goal(r.get("build_hnsw_over_lsh"), 5))
    print()
    print("JSON: %s" % res["json_path"])


# --------------------------------------------------------------------------------------- main
def int_list(s):
    return [int(x) for x in s.split(",") if x]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=sorted(DATASETS), default="glove")
    p.add_argument("--data-dir", default=os.path.join(HERE, "data"))
    p.add_argument("--rows", type=int, help="the first N base rows (default: glove 200000, fashion all)")
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--threshold", choices=["zero", "mean"],
                   help="bit i = x_i > 0 or > the base's mean of dimension i (default: glove zero, "
                        "fashion mean)")
    p.add_argument("--float", choices=["cosine", "l2"],
                   help="benchmark the float vectors with this metric instead of binary codes")
    p.add_argument("--tables", type=int, help="lsh tables (L); default: the index's choice")
    p.add_argument("--bits", type=int, help="lsh bits per table (K); default: the index's choice")
    p.add_argument("--index-probes", type=int, help="the lsh index's probes option")
    p.add_argument("--seed", type=int, help="the lsh index's seed option")
    p.add_argument("--width", type=float, help="the lsh index's width option (--float l2)")
    p.add_argument("--probes-sweep", type=int_list, default=PROBES, help="lsh.probes values")
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--ef-construction", type=int, default=64)
    p.add_argument("--ef-sweep", type=int_list, default=EF_SEARCH, help="hnsw.ef_search values")
    p.add_argument("--nflip-sweep", type=int_list, default=NFLIP, help="IndexBinaryMultiHash nflip values")
    p.add_argument("--faiss-multihash", metavar="same|NxB,...", default=["same"],
                   type=lambda s: [x if x == "same" else tuple(int(v) for v in x.split("x")) + (False,)
                                   for x in s.split(",") if x],
                   help="IndexBinaryMultiHash configurations (nhash x b); `same`: the lsh index's "
                        "L x K, nhash capped at d / K (the default); the ratio uses the best one "
                        "and, apart, the `same` one")
    p.add_argument("--no-faiss-permute", dest="faiss_permute", action="store_false",
                   help="IndexBinaryMultiHash on the codes as they are (default: bit positions "
                        "permuted at random, seed 0)")
    p.add_argument("--faiss-lsh-nbits", type=int, help="--float: IndexLSH bits (default d)")
    p.add_argument("--k-factor-sweep", type=int_list, default=K_FACTORS,
                   help="--float: IndexRefineFlat k_factor values")
    p.add_argument("--repeat", type=int, default=3,
                   help="passes over the queries per point, the fastest kept (default 3)")
    p.add_argument("--exact-repeat", type=int, default=1)
    p.add_argument("--exact-queries", type=int, help="queries for the exact scan (default: all)")
    p.add_argument("--no-faiss", action="store_true")
    p.add_argument("--no-postgres", action="store_true")
    p.add_argument("--text", action="store_true", help="--float: vectors sent as text (default binary)")
    p.add_argument("--tcp", action="store_true", help="with --start-cluster: TCP, not the Unix socket")
    p.add_argument("--database", default="quiver_bench")
    p.add_argument("--maintenance-work-mem", default="2GB")
    p.add_argument("--start-cluster", action="store_true",
                   help="initdb and start a throwaway cluster (test/lib/cluster.sh) for the run")
    p.add_argument("--pg-bindir")
    p.add_argument("--cluster-dir")
    p.add_argument("--keep-cluster", action="store_true", help="leave the cluster running")
    p.add_argument("--keep-tables", action="store_true")
    p.add_argument("--shared-buffers", default="2GB")
    p.add_argument("--results-dir", default=os.path.join(HERE, "results"))
    p.add_argument("--json")
    a = p.parse_args(argv[1:])
    if a.rows is None:
        a.rows = DEFAULT_ROWS[a.dataset]
    a.threshold = a.threshold or DEFAULT_THRESHOLD[a.dataset]
    # What hb.Postgres reads.
    a.no_index = False
    a.parallel_workers = 0
    a.storage = "plain"
    return a


def main(argv):
    a = parse_args(argv)
    ddir = os.path.join(a.data_dir, DATASETS[a.dataset])
    if not os.path.exists(os.path.join(ddir, "meta.json")):
        raise SystemExit("no data in %s: run test/bench/fetch_datasets.sh first" % ddir)
    with open(os.path.join(ddir, "meta.json")) as f:
        meta = json.load(f)
    base = datasets.read_fvecs(os.path.join(ddir, "base.fvecs"), a.rows or None)
    queries = datasets.read_fvecs(os.path.join(ddir, "query.fvecs"), a.queries)
    mode = "float" if a.float else "hamming"
    float_metric = a.float or meta["metric"]
    if base.shape[0] == meta["rows"] and float_metric == meta["metric"]:
        gt = datasets.read_ivecs(os.path.join(ddir, "gt.ivecs"))[: len(queries)]
    else:
        log("float ground truth (%s) for %d rows ..." % (float_metric, len(base)))
        _, gt = datasets.ground_truth(base, queries, float_metric, a.k)
    float_truth = hb.Truth(base, queries, float_metric, gt, a.k)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    os.makedirs(a.results_dir, exist_ok=True)
    json_path = a.json or os.path.join(a.results_dir, "lsh-%s-%d-%s-%s.json" % (
        a.dataset, len(base), "float-" + a.float if a.float else "bits-" + a.threshold, stamp))
    res = {"args": vars(a), "mode": mode, "started": stamp, "json_path": json_path,
           "dataset": dict(meta, rows=int(len(base)), queries=int(len(queries)), dim=int(base.shape[1])),
           "machine": {"cpu": platform.processor() or platform.machine(), "nproc": os.cpu_count(),
                       "loadavg_start": os.getloadavg()}}
    try:
        with open("/proc/cpuinfo") as f:
            res["machine"]["cpu"] = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    log("%s: %d x %d base, %d queries, mode %s" % (meta["name"], len(base), base.shape[1], len(queries),
                                                  mode if a.float is None else "float " + a.float))

    bits_base = bits_query = thr = None
    if mode == "hamming":
        bits_base, bits_query, thr = binarize(base, queries, a.threshold)
        ones = bits_base.mean(axis=0)
        res["codes"] = {"threshold": a.threshold, "ones_fraction": float(bits_base.mean()),
                        "constant_positions": int(((ones == 0) | (ones == 1)).sum()),
                        "per_position_ones_min": float(ones.min()), "per_position_ones_max": float(ones.max())}
        truth = HammingTruth(pack(bits_base), pack(bits_query), a.k)
        res["hamming_truth"] = truth.summary()
        literals = [bit_literal(r) for r in bits_query]

        def inline(i):
            return "'%s'" % literals[i]
    else:
        truth, float_truth = float_truth, None
        literals = [hb.vector_literal(q) for q in queries]

        def inline(i):
            return "'%s'" % str(literals[i])

    cluster = None
    try:
        if not a.no_postgres:
            if a.start_cluster:
                import pgcluster
                cdir = a.cluster_dir or "/tmp/quiver-bench-%d/data" % os.getpid()
                cluster = pgcluster.Cluster(cdir, a.pg_bindir, {
                    "shared_buffers": a.shared_buffers, "maintenance_work_mem": a.maintenance_work_mem,
                    "max_parallel_maintenance_workers": 0, "max_parallel_workers_per_gather": 0,
                    "jit": "off", "work_mem": "64MB", "checkpoint_timeout": "30min",
                    "max_wal_size": "8GB"}, unix_socket=not a.tcp)
                log("postgres: starting a cluster in %s" % cdir)
                cluster.start()
            pg = PgSide(a)
            pgres = None
            try:
                pgres = run_postgres(a, mode, pg, base, bits_base, literals, inline, truth, float_truth)
            finally:
                pg.conn.close()
                if pg.xconn is not None:
                    pg.xconn.close()
            res["postgres"] = pgres
        if not a.no_faiss:
            meta_lsh = (res.get("postgres") or {}).get("lsh", {}).get("meta")
            if mode == "hamming":
                res["faiss"] = run_faiss_hamming(a, base, queries, bits_base, bits_query, thr,
                                                 truth, float_truth, meta_lsh)
            else:
                res["faiss"] = run_faiss_float(a, base, queries, a.float, truth)
    finally:
        if cluster and not a.keep_cluster:
            cluster.remove()
    res["machine"]["loadavg_end"] = os.getloadavg()
    res["finished"] = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    res["ratios"] = ratios(res)
    with open(json_path, "w") as f:
        json.dump(res, f, indent=1, default=float)
        f.write("\n")
    print_report(res)


if __name__ == "__main__":
    main(sys.argv)
