#!/usr/bin/python3
"""HNSW benchmark: quiver's `hnsw` index inside PostgreSQL against FAISS IndexHNSWFlat, same data,
same M / efConstruction / efSearch, one thread, one client, measured in the same run.
A report, never a pass/fail test.

Reports build time, index size, and for each ef_search recall@10 (against exact ground truth),
QPS, p50 and p99 latency; the QPS ratio quiver/FAISS interpolated at recall 0.95 and 0.97 and the
build-time ratio. --type halfvec also builds the vector index and compares size and recall;
--filtered adds WHERE cat < X at 50%, 10%, 1% and 0.1% selectivity (hnsw.iterative_scan =
relaxed_order) and reports recall against the exact filtered top-10 and rows returned.

Run with /usr/bin/python3 (numpy, faiss, psycopg2 from Debian). Data: test/bench/fetch_datasets.sh.
    test/bench/hnsw_bench.py --dataset glove --start-cluster [--pg-bindir DIR] [--quick]
    test/bench/hnsw_bench.py --dataset fashion            # server from PGHOST/PGPORT/PGUSER
"""
import argparse
import datetime
import io
import json
import math
import os
import platform
import re
import struct
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import datasets  # noqa: E402

DATASETS = {"glove": "glove-100-angular", "fashion": "fashion-mnist-784-euclidean",
            "wide": "glove-3072-angular"}
EF_SEARCH = [10, 20, 40, 80, 120, 160, 200, 300, 400]
SELECTIVITIES = [0.5, 0.1, 0.01, 0.001]
CAT_RANGE = 1000          # cat is uniform in [0, 1000): WHERE cat < 500 / 100 / 10 / 1
CAT_SEED = 7
TARGETS = [0.95, 0.97]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------ recall
def exact_distances(base, query, ids, metric):
    """float64 distances from one query to base rows ids (ids >= 0)."""
    rows = base[ids].astype(np.float64)
    q = query.astype(np.float64)
    if metric == "l2":
        return np.sqrt(((rows - q) ** 2).sum(axis=1))
    qn = np.linalg.norm(q) or 1.0
    rn = np.linalg.norm(rows, axis=1)
    rn[rn == 0] = 1.0
    return 1.0 - rows @ q / (rn * qn)


class Truth:
    """Exact neighbours of each query, and the distance of its k-th, for tie-tolerant recall
    (as ann-benchmarks counts it: a returned row counts when it is no farther than the true k-th
    neighbour)."""

    def __init__(self, base, queries, metric, gt_ids, k):
        self.base, self.queries, self.metric, self.k = base, queries, metric, k
        self.ids = gt_ids[:, :k]
        self.n_valid = (self.ids >= 0).sum(axis=1)
        self.kth = np.array([
            exact_distances(base, queries[i], self.ids[i][self.ids[i] >= 0][-1:], metric)[0]
            if self.n_valid[i] else -1.0 for i in range(len(queries))])

    def recall(self, results):
        """results: one id sequence per query. Returns (distance recall, id recall), averaged
        over queries; a query with fewer than k qualifying rows is scored out of that many."""
        hit_d = hit_i = total = 0
        for i, res in enumerate(results):
            res = np.asarray([r for r in res[: self.k] if r is not None and r >= 0], dtype=np.int64)
            want = self.n_valid[i]
            if want == 0:
                continue
            total += want
            hit_i += len(np.intersect1d(res, self.ids[i][self.ids[i] >= 0]))
            if len(res):
                d = exact_distances(self.base, self.queries[i], res, self.metric)
                thr = self.kth[i] * (1 + 1e-5) + 1e-6
                hit_d += min(int((d <= thr).sum()), want)
        return (hit_d / total if total else float("nan"), hit_i / total if total else float("nan"))


def latency_stats(lat, wall):
    lat = np.asarray(lat)
    return {"qps": len(lat) / wall, "p50_ms": float(np.percentile(lat, 50) * 1e3),
            "p99_ms": float(np.percentile(lat, 99) * 1e3), "mean_ms": float(lat.mean() * 1e3)}


def qps_at_recall(points, target):
    """QPS at a recall on a curve of {recall, qps} points (ordered by ef): linear in recall,
    geometric in QPS between the two points around the target. None when the curve never reaches
    it; the first point's QPS (a lower bound) when every point is above it."""
    pts = [(p["recall"], p["qps"]) for p in points if p.get("qps")]
    if not pts or max(r for r, _ in pts) < target:
        return None
    if pts[0][0] >= target:
        return pts[0][1]
    for (r0, q0), (r1, q1) in zip(pts, pts[1:]):
        if r0 < target <= r1 and r1 > r0:
            t = (target - r0) / (r1 - r0)
            return math.exp(math.log(q0) + t * (math.log(q1) - math.log(q0)))
    best = max(pts, key=lambda p: p[1] if p[0] >= target else -1)
    return best[1]


# -------------------------------------------------------------------------------------- FAISS
class Faiss:
    """IndexHNSWFlat, one thread; cosine as L2 on normalised vectors (ranks the same, as
    ann-benchmarks does)."""

    def __init__(self, base, queries, metric, args):
        import faiss

        self.faiss = faiss
        self.args = args
        faiss.omp_set_num_threads(1)
        if metric == "cosine":
            base, queries = datasets.normalized(base), datasets.normalized(queries)
        self.base, self.queries = base, queries
        self.index = None

    def build(self):
        a = self.args
        self.index = self.faiss.IndexHNSWFlat(self.base.shape[1], a.m)
        self.index.hnsw.efConstruction = a.ef_construction
        log("faiss: building IndexHNSWFlat(M=%d, efConstruction=%d), 1 thread ..."
            % (a.m, a.ef_construction))
        t0 = time.perf_counter()
        c0 = time.process_time()
        self.index.add(self.base)
        build = time.perf_counter() - t0
        cpu = time.process_time() - c0
        size = len(self.faiss.serialize_index(self.index))
        log("faiss: built in %.1f s (CPU %.1f s), serialized %.1f MB"
            % (build, cpu, size / 2**20))
        return {"build_s": build, "build_cpu_s": cpu, "serialized_bytes": size,
                "version": getattr(self.faiss, "__version__", None)}

    def measure(self, ef, truth):
        """The queries one at a time (comparable with one PostgreSQL client), then as a batch."""
        index, queries, k = self.index, self.queries, self.args.k
        index.hnsw.efSearch = ef
        for q in queries[: min(50, len(queries))]:      # warm-up
            index.search(q[None, :], k)
        lat = np.empty(len(queries))
        results = []
        t_all = time.perf_counter()
        for i in range(len(queries)):
            t0 = time.perf_counter()
            _, ids = index.search(queries[i: i + 1], k)
            lat[i] = time.perf_counter() - t0
            results.append(ids[0])
        wall = time.perf_counter() - t_all
        t0 = time.perf_counter()
        _, bids = index.search(queries, k)
        bwall = time.perf_counter() - t0
        rec, rec_id = truth.recall(results)
        point = dict(ef_search=ef, recall=rec, recall_ids=rec_id, **latency_stats(lat, wall))
        point["batched_qps"] = len(queries) / bwall
        point["batched_recall"] = truth.recall(list(bids))[0]
        return point


# ------------------------------------------------------------------------------------ Postgres
def copy_binary(ids, cats, vectors, type_name):
    """A binary COPY stream of (id int4, cat int4, embedding vector|halfvec)."""
    n, d = vectors.shape
    vdt, vsize = (">f4", 4) if type_name == "vector" else (">f2", 2)
    row = np.dtype([("nf", ">i2"), ("l_id", ">i4"), ("id", ">i4"), ("l_cat", ">i4"),
                    ("cat", ">i4"), ("l_v", ">i4"), ("dim", ">i2"), ("unused", ">i2"),
                    ("v", vdt, (d,))])
    rec = np.empty(n, dtype=row)
    rec["nf"] = 3
    rec["l_id"] = 4
    rec["id"] = ids
    rec["l_cat"] = 4
    rec["cat"] = cats
    rec["l_v"] = 4 + vsize * d
    rec["dim"] = d
    rec["unused"] = 0
    if type_name == "halfvec":
        with np.errstate(over="raise"):
            rec["v"] = vectors.astype(np.float16)
    else:
        rec["v"] = vectors
    buf = io.BytesIO()
    buf.write(b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8)
    buf.write(rec.tobytes())
    buf.write(b"\xff\xff")
    buf.seek(0)
    return buf


class QueryVector(str):
    """A query vector: its text literal (the str itself, for EXPLAIN and the psycopg2 fallback)
    and its binary send format per type (vector: float4, halfvec: float16), what
    pgvector-python sends through psycopg 3 and what ann-benchmarks' pgvector client uses."""
    binary = None  # {type name: bytes}, set by vector_literal


def vector_literal(v):
    v = v.astype(np.float32)
    q = QueryVector("[" + ",".join(str(x) for x in v) + "]")
    head = struct.pack(">hh", len(v), 0)
    q.binary = {"vector": head + v.astype(">f4").tobytes(),
                "halfvec": head + v.astype(">f2").tobytes()}
    return q


_warned = set()


def try_set(cur, conn, setting, value):
    try:
        # A dotted name that no loaded module defines is accepted as a placeholder: look it up.
        cur.execute("SELECT count(*) FROM pg_settings WHERE name = %s", (setting,))
        if not cur.fetchone()[0]:
            raise LookupError("no such setting")
        cur.execute("SET %s = %s" % (setting, value))
        return True
    except Exception as e:  # an unknown GUC: report once, go on
        if not conn.autocommit:
            conn.rollback()
        if setting not in _warned:
            _warned.add(setting)
            log("postgres: SET %s = %s failed: %s" % (setting, value, str(e).strip()))
        return False


def plan_of(cur, sql):
    """EXPLAIN's plan, with vector literals shortened."""
    cur.execute("EXPLAIN (COSTS OFF) " + sql)
    return re.sub(r"'\[[^']*\]'", "'[...]'", "\n".join(r[0] for r in cur.fetchall()))


class Postgres:
    def __init__(self, args):
        import psycopg2

        self.args = args
        admin = psycopg2.connect(dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS %s" % args.database)
            cur.execute("CREATE DATABASE %s" % args.database)
        admin.close()
        self.conn = psycopg2.connect(dbname=args.database)
        self.conn.autocommit = True
        self.cur = self.conn.cursor()
        # The timed queries go through the extended protocol (Parse once, then Bind/Execute
        # with the vector as a parameter), as drivers such as psycopg 3, node-postgres or JDBC
        # send them: psycopg2 can only send EXECUTE q('[...]') as text, which makes the SQL
        # lexer scan every vector literal. Without psycopg 3 the harness falls back to that.
        self.stmts = {}
        try:
            import psycopg
            self.xconn = psycopg.connect(dbname=args.database, autocommit=True)
            self.protocol = "extended (psycopg %s, server-side prepared statements)" % psycopg.__version__
        except ImportError:
            self.xconn = None
            self.protocol = "simple (psycopg2, EXECUTE with a literal; install python3-psycopg)"
        log("postgres: timed queries use the %s protocol" % self.protocol)
        self.forced = set()
        self.check_literal = {}
        self.cur.execute("CREATE EXTENSION quiver")
        self.binary_params = {}
        if self.xconn is not None and not args.text:
            self.register_binary_params()
        self.cur.execute("SELECT 1 FROM pg_am WHERE amname = 'hnsw'")
        if not self.cur.fetchone() and not args.no_index:
            raise SystemExit("postgres: no `hnsw` access method in this quiver build")
        self.cur.execute("SET maintenance_work_mem = '%s'" % args.maintenance_work_mem)
        self.cur.execute("SET max_parallel_maintenance_workers = %d" % args.parallel_workers)
        self.cur.execute("SET jit = off")
        self.cur.execute("SELECT version(), current_setting('shared_buffers'), "
                         "(SELECT extversion FROM pg_extension WHERE extname = 'quiver')")
        self.version, self.shared_buffers, self.extversion = self.cur.fetchone()
        try:
            self.cur.execute("SELECT quiver_simd()")
            self.simd = self.cur.fetchone()[0]
        except Exception:
            self.simd = None
        try:
            self.cur.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
            self.prewarm = True
        except Exception:
            self.prewarm = False

    def register_binary_params(self):
        """Vector parameters go in binary (the types' send/recv format): one psycopg dumper
        per type, with the type's OID, for a wrapper of the bytes."""
        from psycopg.adapt import Dumper
        from psycopg.pq import Format

        for type_name in ("vector", "halfvec"):
            self.cur.execute("SELECT %s::regtype::oid", (type_name,))
            type_oid = self.cur.fetchone()[0]
            param = type("Binary_" + type_name, (), {"__slots__": ("data",)})
            dumper = type("Dumper_" + type_name, (Dumper,), {
                "format": Format.BINARY, "oid": type_oid,
                "dump": lambda self, obj: obj.data})
            self.xconn.adapters.register_dumper(param, dumper)
            self.binary_params[type_name] = param
        self.protocol += ", vectors sent in binary"
        log("postgres: " + self.protocol)

    def param(self, type_name, query):
        """What the timed connection sends for a query vector."""
        cls = self.binary_params.get(type_name)
        if cls is None:
            return query
        p = cls()
        p.data = query.binary[type_name]
        return p

    def load(self, table, type_name, base, cats):
        cur = self.cur
        cur.execute("DROP TABLE IF EXISTS %s" % table)
        cur.execute("CREATE TABLE %s (id int4 PRIMARY KEY, cat int4, embedding %s(%d))"
                    % (table, type_name, base.shape[1]))
        if self.args.storage == "plain":
            # As ann-benchmarks sets up pgvector: rows stay in the heap page, so the executor's
            # distance on each returned row reads no TOAST (a 784-d vector is 3.1 kB).
            cur.execute("ALTER TABLE %s ALTER COLUMN embedding SET STORAGE PLAIN" % table)
        t0 = time.perf_counter()
        stream = copy_binary(np.arange(len(base), dtype=np.int32), cats, base, type_name)
        cur.copy_expert("COPY %s (id, cat, embedding) FROM STDIN WITH (FORMAT binary)" % table,
                        stream)
        cur.execute("VACUUM ANALYZE %s" % table)
        load = time.perf_counter() - t0
        log("postgres: loaded %d rows into %s in %.1f s" % (len(base), table, load))
        return load

    def build(self, table, type_name, metric):
        a = self.args
        if a.no_index:   # harness check: exact scans, recall must be 1
            self.cur.execute("SELECT pg_table_size(%s)", (table,))
            return table, {"build_s": float("nan"), "index_bytes": 0,
                           "table_bytes": self.cur.fetchone()[0], "sql": None}
        opclass = "%s_%s_ops" % (type_name, "l2" if metric == "l2" else "cosine")
        index = table + "_hnsw"
        sql = ("CREATE INDEX %s ON %s USING hnsw (embedding %s) WITH (m = %d, ef_construction = %d)"
               % (index, table, opclass, a.m, a.ef_construction))
        log("postgres: " + sql)
        c0 = self.backend_cpu()
        t0 = time.perf_counter()
        self.cur.execute(sql)
        build = time.perf_counter() - t0
        c1 = self.backend_cpu()
        cpu = c1 - c0 if c0 is not None and c1 is not None else None
        self.cur.execute("SELECT pg_relation_size(%s), pg_table_size(%s)", (index, table))
        size, table_size = self.cur.fetchone()
        peak = self.backend_peak_rss_mb()
        log("postgres: built in %.1f s (backend CPU %s s), index %.1f MB (table %.1f MB), "
            "backend peak RSS %s MB"
            % (build, "?" if cpu is None else "%.1f" % cpu, size / 2**20, table_size / 2**20,
               "?" if peak is None else "%.0f" % peak))
        return index, {"build_s": build, "build_cpu_s": cpu, "index_bytes": size,
                       "table_bytes": table_size, "build_peak_rss_mb": peak, "sql": sql}

    def backend_cpu(self):
        """CPU seconds of our backend so far, from /proc when the server runs on this machine
        (None otherwise): with the wall time it shows the build ran on one core."""
        self.cur.execute("SELECT pg_backend_pid()")
        pid = self.cur.fetchone()[0]
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%d/comm" % pid) as f:
                if "postgres" not in f.read():
                    return None
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def backend_peak_rss_mb(self):
        """Peak resident set of our backend so far (VmHWM, MB), from /proc when the server runs
        on this machine (None otherwise). It counts the shared buffers the backend touched too."""
        self.cur.execute("SELECT pg_backend_pid()")
        pid = self.cur.fetchone()[0]
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024.0
        except OSError:
            return None
        return None

    def warm(self, table, index):
        if self.prewarm:
            for rel in (index, table):
                self.cur.execute("SELECT pg_prewarm(%s)", (rel,))

    def define(self, name, params, body):
        """PREPARE name(params) AS body ($1, $2 ...) on the setup connection, and remember the
        same statement for the timed connection."""
        self.cur.execute("PREPARE %s(%s) AS %s" % (name, ", ".join(params), body))
        text = body  # named placeholders: $2 may come before $1 in the text
        for i, t in reversed(list(enumerate(params, 1))):
            fmt = "b" if i == 1 and t in self.binary_params else "s"
            text = text.replace("$%d" % i, "%%(p%d)%s::%s" % (i, fmt, t))
        self.stmts[name] = (text, params[0])

    def sync_settings(self):
        """The timed connection gets the setup connection's query settings."""
        for name in ("hnsw.ef_search", "hnsw.iterative_scan", "enable_seqscan",
                     "enable_bitmapscan", "plan_cache_mode", "jit"):
            try:
                self.cur.execute("SELECT current_setting(%s, true)", (name,))
                value = self.cur.fetchone()[0]
            except Exception:
                continue
            if value is not None:
                self.xconn.execute("SELECT set_config(%s, %s, false)", (name, value))

    def run_queries(self, name, literals, extra=()):
        lat = np.empty(len(literals))
        results = []
        if self.xconn is not None:
            self.sync_settings()
            (sql, type_name), conn = self.stmts[name], self.xconn
            params = [{"p%d" % j: v for j, v in
                       enumerate((self.param(type_name, lit),) + tuple(extra), 1)}
                      for lit in literals]
            t_all = time.perf_counter()
            for i, p in enumerate(params):
                t0 = time.perf_counter()
                rows = conn.execute(sql, p, prepare=True).fetchall()
                lat[i] = time.perf_counter() - t0
                results.append([r[0] for r in rows])
            return results, lat, time.perf_counter() - t_all
        cur = self.cur
        sql = "EXECUTE %s(%%s%s)" % (name, "".join(", %s" for _ in extra))
        t_all = time.perf_counter()
        for i, lit in enumerate(literals):
            t0 = time.perf_counter()
            cur.execute(sql, (lit,) + tuple(extra))
            rows = cur.fetchall()
            lat[i] = time.perf_counter() - t0
            results.append([r[0] for r in rows])
        return results, lat, time.perf_counter() - t_all

    def prepare(self, table, index, type_name, metric, literals):
        """PREPARE q_TYPE, check its plan (force the index when the planner prefers an exact
        scan, and say so), time the client round trip, prewarm and warm up."""
        a = self.args
        cur = self.cur
        op = "<->" if metric == "l2" else "<=>"
        name = "q_" + type_name
        self.define(name, [type_name], "SELECT id FROM %s ORDER BY embedding %s $1 LIMIT %d"
                    % (table, op, a.k))
        plan = plan_of(cur, "EXECUTE %s('%s')" % (name, literals[0]))
        log("postgres: plan:\n    " + plan.replace("\n", "\n    "))
        self.check_literal[type_name] = literals[0]
        # Client + protocol + literal parsing cost alone, for reading the latencies.
        self.define("q0_" + type_name, [type_name], "SELECT $1 IS NULL")
        _, lat0, wall0 = self.run_queries("q0_" + type_name, literals[: min(300, len(literals))])
        overhead = latency_stats(lat0, wall0)
        log("postgres: round trip of a trivial prepared statement with the same literal: "
            "p50 %.3f ms" % overhead["p50_ms"])
        self.warm(table, index)
        self.measure(type_name, max(a.ef), literals[: min(200, len(literals))], None)  # warm-up
        return {"plan": plan, "overhead": overhead}

    def measure(self, type_name, ef, literals, truth, perf_tag=None):
        """One pass over the queries at this ef_search. The cost estimate may depend on
        ef_search, so the plan is checked at each: when the planner prefers an exact scan the
        index is forced (enable_seqscan = off) and the point says so."""
        cur = self.cur
        name = "q_" + type_name
        try_set(cur, self.conn, "hnsw.ef_search", ef)
        forced = None
        if not self.args.no_index:
            plan = plan_of(cur, "EXECUTE %s('%s')" % (name, self.check_literal[type_name]))
            if "Index" not in plan:
                forced = " / ".join(l.strip() for l in plan.splitlines())
                cur.execute("SET enable_seqscan = off")
                if (type_name, ef) not in self.forced:
                    log("postgres: NOTE: at ef_search %d the planner chooses no index scan for "
                        "%s (%s); measuring the index with enable_seqscan = off"
                        % (ef, type_name, forced))
                self.forced.add((type_name, ef))
        perf = self.start_perf(perf_tag) if perf_tag else None
        results, lat, wall = self.run_queries(name, literals)
        self.stop_perf(perf)
        if forced:
            cur.execute("RESET enable_seqscan")
        if truth is None:
            return None
        rec, rec_id = truth.recall(results)
        rows = np.array([len(r) for r in results])
        return dict(ef_search=ef, recall=rec, recall_ids=rec_id, rows_mean=float(rows.mean()),
                    rows_min=int(rows.min()), planner_chose_instead=forced,
                    **latency_stats(lat, wall))

    def filtered(self, table, type_name, metric, literals, base, queries, cats):
        a = self.args
        cur = self.cur
        op = "<->" if metric == "l2" else "<=>"
        iterative = try_set(cur, self.conn, "hnsw.iterative_scan", "relaxed_order")
        if not a.filtered_planner:
            cur.execute("SET enable_seqscan = off")
            cur.execute("SET enable_bitmapscan = off")
        cur.execute("SET plan_cache_mode = force_custom_plan")
        name = "qf_" + type_name
        self.define(name, [type_name, "int"], "SELECT id FROM %s WHERE cat < $2 "
                    "ORDER BY embedding %s $1 LIMIT %d" % (table, op, a.k))
        out = {"iterative_scan": "relaxed_order" if iterative else None,
               "forced_index": not a.filtered_planner, "runs": []}
        for sel in SELECTIVITIES:
            limit = int(round(sel * CAT_RANGE))
            mask = cats < limit
            gt = datasets.filtered_ground_truth(base, queries, metric, mask, a.k)
            truth = Truth(base, queries, metric, gt, a.k)
            plan = plan_of(cur, "EXECUTE %s('%s', %d)" % (name, literals[0], limit))
            for ef in a.filtered_ef:
                try_set(cur, self.conn, "hnsw.ef_search", ef)
                results, lat, wall = self.run_queries(name, literals, (limit,))
                rec, rec_id = truth.recall(results)
                rows = np.array([len(r) for r in results])
                bad = sum(1 for r in results for x in r if not mask[x])
                point = dict(selectivity=sel, where="cat < %d" % limit,
                             qualifying_rows=int(mask.sum()), ef_search=ef, recall=rec,
                             recall_ids=rec_id, rows_mean=float(rows.mean()),
                             rows_min=int(rows.min()),
                             queries_short=int((rows < np.minimum(a.k, mask.sum())).sum()),
                             rows_violating_filter=bad, plan=plan, **latency_stats(lat, wall))
                out["runs"].append(point)
                log("postgres %s filtered %5.1f%%: ef %4d  recall %.4f  rows mean %.2f min %d  "
                    "QPS %.1f  p99 %.2f ms" % (type_name, sel * 100, ef, rec, point["rows_mean"],
                                               point["rows_min"], point["qps"], point["p99_ms"]))
        cur.execute("RESET enable_seqscan; RESET enable_bitmapscan; RESET plan_cache_mode")
        if iterative:
            cur.execute("RESET hnsw.iterative_scan")
        return out

    # Optional: perf record the backend during one measurement.
    def start_perf(self, tag):
        if self.xconn is not None:   # the backend that runs the timed queries
            pid = self.xconn.execute("SELECT pg_backend_pid()").fetchone()[0]
        else:
            self.cur.execute("SELECT pg_backend_pid()")
            pid = self.cur.fetchone()[0]
        path = os.path.join(self.args.results_dir, "perf-%s.data" % tag)
        proc = subprocess.Popen(["perf", "record", "-F", "999", "-g", "-p", str(pid), "-o", path],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        return proc, path

    def stop_perf(self, perf):
        if not perf:
            return
        proc, path = perf
        proc.send_signal(2)
        proc.wait()
        report = subprocess.run(["perf", "report", "-i", path, "--stdio", "--no-children",
                                 "--percent-limit", "1.5", "-g", "none"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
        txt = path.replace(".data", ".txt")
        with open(txt, "w") as f:
            f.write(report)
        log("perf: profile of the backend in %s:" % txt)
        for line in report.splitlines():
            if line.strip() and not line.startswith("#"):
                log("    " + line.rstrip())


# ------------------------------------------------------------------------------------- report
def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def print_report(res):
    a = res["args"]
    ds = res["dataset"]
    print()
    print("== HNSW: %s, %d x %d, %s, %d queries, k=%d, M=%d, ef_construction=%d, one client/thread =="
          % (ds["name"], ds["rows"], ds["dim"], ds["metric"], ds["queries"], a["k"], a["m"],
             a["ef_construction"]))
    fa = res.get("faiss")
    pg = res.get("postgres", {})
    if fa:
        print("FAISS IndexHNSWFlat: build %.1f s (CPU %.1f s), serialized %.1f MB"
              % (fa["build_s"], fa["build_cpu_s"], fa["serialized_bytes"] / 2**20))
    for t, r in pg.get("types", {}).items():
        print("quiver hnsw (%s): load %.1f s, build %.1f s (backend CPU %s s), index %.1f MB "
              "(table %.1f MB)%s"
              % (t, r["load_s"], r["build_s"], fmt(r.get("build_cpu_s"), ".1f"),
                 r["index_bytes"] / 2**20, r["table_bytes"] / 2**20,
                 "  build ratio quiver/FAISS %.2f" % (r["build_s"] / fa["build_s"]) if fa else ""))
    print()
    cols = []
    for t in pg.get("types", {}):
        cols.append(("quiver " + t, pg["types"][t]["sweep"]))
    if fa:
        cols.append(("FAISS", fa["sweep"]))
    head = "%9s" % "ef_search"
    sub = "%9s" % ""
    for name, _ in cols:
        head += " | %-33s" % name
        sub += " | %7s %8s %7s %7s" % ("recall", "QPS", "p50 ms", "p99 ms")
    if fa:
        head += " | %-8s" % "FAISS"
        sub += " | %8s" % "batchQPS"
    print(head)
    print(sub)
    efs = sorted({p["ef_search"] for _, s in cols for p in s})
    for ef in efs:
        line = "%9d" % ef
        for _, s in cols:
            p = next((p for p in s if p["ef_search"] == ef), None)
            line += (" |%s%7.4f %8.1f %7.3f %7.3f" % ("*" if p.get("planner_chose_instead") else " ",
                                                      p["recall"], p["qps"], p["p50_ms"], p["p99_ms"])
                     if p else " | %33s" % "")
        if fa:
            p = next((p for p in fa["sweep"] if p["ef_search"] == ef), None)
            line += " | %8.1f" % p["batched_qps"] if p else ""
        print(line)
    print()
    if pg.get("protocol"):
        print("postgres client protocol: %s; connection: %s; embedding storage: %s" % (
            pg["protocol"], pg.get("host", "?"), pg.get("storage", "?")))
    for t, r in pg.get("types", {}).items():
        forced = [p["ef_search"] for p in r["sweep"] if p.get("planner_chose_instead")]
        if forced:
            print("NOTE quiver %s: at ef_search %s the planner chose no index scan (%s); those "
                  "rows (*) were measured with enable_seqscan = off" % (
                      t, ", ".join(map(str, forced)),
                      next(p for p in r["sweep"] if p.get("planner_chose_instead"))
                      ["planner_chose_instead"]))
        print("quiver %s: round trip of a trivial prepared statement (client+protocol+literal): "
              "p50 %.3f ms" % (t, r["overhead"]["p50_ms"]))
    for name, cmp in res.get("ratios", {}).items():
        parts = []
        for tgt in TARGETS:
            c = cmp["at_recall"][str(tgt)]
            parts.append("recall %.2f: %s vs %s QPS -> %s" % (
                tgt, fmt(c["quiver_qps"], ".1f"), fmt(c["faiss_qps"], ".1f"),
                fmt(c["ratio"], ".2f") + "x" if c["ratio"] else "-"))
        print("QPS ratio quiver %s / FAISS (one query at a time): %s" % (name, "; ".join(parts)))
        print("build-time ratio quiver %s / FAISS: %.2f" % (name, cmp["build_ratio"]))
    hv = res.get("halfvec_vs_vector")
    if hv:
        print("halfvec vs vector: index size ratio %.3f (%.1f / %.1f MB); recall difference "
              "halfvec - vector per ef_search: %s (max |diff| %.4f)"
              % (hv["size_ratio"], hv["halfvec_bytes"] / 2**20, hv["vector_bytes"] / 2**20,
                 " ".join("%+.4f" % d for d in hv["recall_diff"]), hv["max_abs_recall_diff"]))
    for t, r in pg.get("types", {}).items():
        f = r.get("filtered")
        if not f:
            continue
        print()
        print("filtered (%s), hnsw.iterative_scan = %s%s:" % (
            t, f["iterative_scan"] or "unsupported",
            ", index path forced (enable_seqscan = off)" if f["forced_index"] else ""))
        print("%11s %8s %9s | %7s %9s %8s %6s %8s %7s | %s" % (
            "selectivity", "rows", "ef_search", "recall", "rows/q", "min rows", "short",
            "QPS", "p99 ms", "plan"))
        for p in f["runs"]:
            top = p["plan"].splitlines()
            plan = next((l.strip() for l in top if "Scan" in l), top[0].strip())
            print("%10.1f%% %8d %9d | %7.4f %9.2f %8d %6d %8.1f %7.2f | %s" % (
                p["selectivity"] * 100, p["qualifying_rows"], p["ef_search"], p["recall"],
                p["rows_mean"], p["rows_min"], p["queries_short"], p["qps"], p["p99_ms"], plan))
    print()
    print("JSON: %s" % res["json_path"])


def compare(res):
    fa = res.get("faiss")
    types = res.get("postgres", {}).get("types", {})
    if fa:
        res["ratios"] = {}
        for t, r in types.items():
            at = {}
            for tgt in TARGETS:
                qq = qps_at_recall(r["sweep"], tgt)
                fq = qps_at_recall(fa["sweep"], tgt)
                at[str(tgt)] = {"quiver_qps": qq, "faiss_qps": fq,
                                "ratio": qq / fq if qq and fq else None}
            res["ratios"][t] = {"at_recall": at, "build_ratio": r["build_s"] / fa["build_s"]}
    if "vector" in types and "halfvec" in types:
        v, h = types["vector"], types["halfvec"]
        diffs = [ph["recall"] - pv["recall"] for pv, ph in zip(v["sweep"], h["sweep"])]
        res["halfvec_vs_vector"] = {
            "vector_bytes": v["index_bytes"], "halfvec_bytes": h["index_bytes"],
            "size_ratio": h["index_bytes"] / v["index_bytes"] if v["index_bytes"] else float("nan"),
            "recall_diff": diffs,
            "max_abs_recall_diff": max(abs(d) for d in diffs)}


# --------------------------------------------------------------------------------------- main
def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--dataset", choices=sorted(DATASETS), default="glove")
    p.add_argument("--data-dir", default=os.path.join(HERE, "data"))
    p.add_argument("--rows", type=int, help="use the first N base rows (default: all converted)")
    p.add_argument("--queries", type=int, help="use the first N queries (default: all, 1000)")
    p.add_argument("--type", choices=["vector", "halfvec"], default="vector",
                   help="halfvec also builds the vector index to compare size and recall")
    p.add_argument("--filtered", action="store_true",
                   help="also WHERE cat < X at 50/10/1/0.1%% selectivity")
    p.add_argument("--filtered-ef", default="40,200", help="ef_search values for --filtered")
    p.add_argument("--filtered-planner", action="store_true",
                   help="let the planner choose the filtered plan (default: index path forced)")
    p.add_argument("--quick", action="store_true", help="smoke test: 20k rows, 200 queries")
    p.add_argument("--ef", default=",".join(map(str, EF_SEARCH)), help="ef_search sweep")
    p.add_argument("--repeat", type=int, default=None,
                   help="passes over the queries at each ef_search, the best (by QPS) kept; "
                        "default 3 (--quick: 1)")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--ef-construction", type=int, default=64)
    p.add_argument("--no-faiss", action="store_true")
    p.add_argument("--no-postgres", action="store_true")
    p.add_argument("--no-index", action="store_true",
                   help="check the harness: no index, exact scans (recall must be 1)")
    p.add_argument("--storage", choices=["plain", "default"], default="plain",
                   help="embedding column storage: plain (inline, as ann-benchmarks sets up "
                        "pgvector; default) or the type's default (external: TOAST past 2 kB)")
    p.add_argument("--text", action="store_true",
                   help="send query vectors as text literals (default: binary, as "
                        "pgvector-python with psycopg 3 and ann-benchmarks do)")
    p.add_argument("--tcp", action="store_true",
                   help="with --start-cluster, connect over TCP to 127.0.0.1 (default: the "
                        "cluster's Unix-domain socket)")
    p.add_argument("--database", default="quiver_bench")
    p.add_argument("--maintenance-work-mem", default="2GB")
    p.add_argument("--parallel-workers", type=int, default=0,
                   help="max_parallel_maintenance_workers for the build (0: one process, as FAISS)")
    p.add_argument("--start-cluster", action="store_true",
                   help="initdb and start a throwaway cluster (test/lib/cluster.sh) for the run")
    p.add_argument("--pg-bindir", help="PostgreSQL bin directory for --start-cluster")
    p.add_argument("--cluster-dir", default=None, help="data directory for --start-cluster")
    p.add_argument("--keep-cluster", action="store_true", help="leave the cluster running")
    p.add_argument("--shared-buffers", default="2GB")
    p.add_argument("--perf-ef", type=int, help="perf record the backend at this ef_search")
    p.add_argument("--results-dir", default=os.path.join(HERE, "results"))
    p.add_argument("--json", help="result file (default: results/hnsw-DATASET-ROWS-TIME.json)")
    a = p.parse_args(argv[1:])
    if a.quick:
        a.rows = a.rows or 20000
        a.queries = a.queries or 200
    if a.repeat is None:
        a.repeat = 1 if a.quick else 3
    a.ef = [int(x) for x in a.ef.split(",")]
    a.filtered_ef = [int(x) for x in a.filtered_ef.split(",")]
    return a


def main(argv):
    a = parse_args(argv)
    ddir = os.path.join(a.data_dir, DATASETS[a.dataset])
    if not os.path.exists(os.path.join(ddir, "meta.json")):
        raise SystemExit("no data in %s: run test/bench/fetch_datasets.sh first" % ddir)
    with open(os.path.join(ddir, "meta.json")) as f:
        meta = json.load(f)
    metric = meta["metric"]
    base = datasets.read_fvecs(os.path.join(ddir, "base.fvecs"), a.rows)
    queries = datasets.read_fvecs(os.path.join(ddir, "query.fvecs"), a.queries)
    if base.shape[0] == meta["rows"]:
        gt = datasets.read_ivecs(os.path.join(ddir, "gt.ivecs"))[: len(queries)]
    else:
        log("ground truth for the first %d rows ..." % len(base))
        _, gt = datasets.ground_truth(base, queries, metric, a.k)
    truth = Truth(base, queries, metric, gt, a.k)
    cats = np.random.RandomState(CAT_SEED).randint(0, CAT_RANGE, size=len(base)).astype(np.int32)
    os.makedirs(a.results_dir, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    json_path = a.json or os.path.join(a.results_dir, "hnsw-%s-%d-%s-%s.json"
                                       % (a.dataset, len(base), a.type, stamp))
    res = {
        "args": {k: v for k, v in vars(a).items()},
        "dataset": dict(meta, rows=int(base.shape[0]), queries=int(len(queries)),
                        dim=int(base.shape[1])),
        "machine": {"cpu": platform.processor() or platform.machine(), "nproc": os.cpu_count(),
                    "loadavg_start": os.getloadavg()},
        "started": stamp,
        "json_path": json_path,
    }
    try:
        with open("/proc/cpuinfo") as f:
            res["machine"]["cpu"] = next(l.split(":", 1)[1].strip() for l in f
                                         if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    log("%s: %d x %d base, %d queries, %s" % (meta["name"], base.shape[0], base.shape[1],
                                              len(queries), metric))

    fa = None
    if not a.no_faiss:
        fa = Faiss(base, queries, metric, a)
        res["faiss"] = fa.build()
        res["faiss"]["sweep"] = []

    cluster = None
    pg = None
    types = []
    try:
        if not a.no_postgres:
            if a.start_cluster:
                import pgcluster
                cdir = a.cluster_dir or "/tmp/quiver-bench-%d/data" % os.getpid()
                cluster = pgcluster.Cluster(cdir, a.pg_bindir, {
                    "shared_buffers": a.shared_buffers,
                    "maintenance_work_mem": a.maintenance_work_mem,
                    "max_parallel_maintenance_workers": a.parallel_workers, "max_parallel_workers_per_gather": 0,
                    "jit": "off", "work_mem": "64MB", "checkpoint_timeout": "30min",
                    "max_wal_size": "8GB"}, unix_socket=not a.tcp)
                log("postgres: starting a cluster in %s" % cdir)
                cluster.start()
            pg = Postgres(a)
            res["postgres"] = {"version": pg.version, "shared_buffers": pg.shared_buffers,
                               "quiver": pg.extversion, "simd": pg.simd,
                               "protocol": pg.protocol, "types": {},
                               "host": os.environ.get("PGHOST", "(libpq default)"),
                               "storage": a.storage}
            literals = [vector_literal(q) for q in queries]
            types = ["vector", "halfvec"] if a.type == "halfvec" else ["vector"]
            for t in types:
                table = "bench_" + t
                r = {"load_s": pg.load(table, t, base, cats)}
                index, built = pg.build(table, t, metric)
                r.update(built)
                r.update(pg.prepare(table, index, t, metric, literals))
                r["sweep"] = []
                res["postgres"]["types"][t] = r

        # The sweep: FAISS and each PostgreSQL index in turn at every ef_search, so that noise
        # from anything else on the machine falls on both; best of --repeat passes (by QPS).
        for ef in a.ef:
            best = {}
            for rep in range(a.repeat):
                if fa:
                    pt = fa.measure(ef, truth)
                    if "faiss" not in best or pt["qps"] > best["faiss"]["qps"]:
                        best["faiss"] = pt
                for t in types:
                    tag = "%s-%s-ef%d" % (a.dataset, t, ef) if (a.perf_ef == ef and rep == 0) \
                        else None
                    pt = pg.measure(t, ef, literals, truth, tag)
                    if t not in best or pt["qps"] > best[t]["qps"]:
                        best[t] = pt
            line = "ef_search %4d:" % ef
            if fa:
                res["faiss"]["sweep"].append(best["faiss"])
                line += "  FAISS recall %.4f QPS %7.1f" % (best["faiss"]["recall"],
                                                          best["faiss"]["qps"])
            for t in types:
                res["postgres"]["types"][t]["sweep"].append(best[t])
                line += "  quiver %s recall %.4f QPS %7.1f%s" % (
                    t, best[t]["recall"], best[t]["qps"],
                    "" if best[t]["rows_min"] == a.k else " (rows min %d)" % best[t]["rows_min"])
            log(line)

        if a.filtered and pg:
            for t in types:
                r = res["postgres"]["types"][t]
                r["filtered"] = pg.filtered("bench_" + t, t, metric, literals, base, queries, cats)
        if pg:
            if not a.keep_cluster:   # a kept cluster keeps its tables, to look into
                for t in types:
                    pg.cur.execute("DROP TABLE bench_%s" % t)
            pg.conn.close()
    finally:
        if cluster and not a.keep_cluster:
            cluster.remove()
    res["machine"]["loadavg_end"] = os.getloadavg()
    compare(res)
    with open(json_path, "w") as f:
        json.dump(res, f, indent=1, default=float)
        f.write("\n")
    print_report(res)


if __name__ == "__main__":
    main(sys.argv)
