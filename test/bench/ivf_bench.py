#!/usr/bin/python3
"""IVF benchmark: quiver's `ivfflat` index inside PostgreSQL against FAISS IndexIVFFlat, or
(--am ivf) quiver's `ivf` with PQ codes and exact re-ranking against FAISS IndexIVFPQ wrapped
in IndexRefineFlat (k_factor = rerank / k), same data, same lists, M and nbits, one thread, one
client, measured in the same run. A report, never a pass/fail test.

Reports build time (FAISS: train + add), index size, the build's peak backend RSS, and for each
probes value recall@10 (against exact ground truth), QPS, p50 and p99 latency, and the QPS
ratio quiver/FAISS interpolated at recall 0.90 and 0.95. Both sides train k-means on the same
number of sampled rows (pgvector's rule, lists * 50 and at least 10,000) for 10 iterations.
The PostgreSQL client setup is hnsw_bench.py's (psycopg 3, prepared statements, vectors in
binary unless --text; Unix socket unless --tcp; rows SET STORAGE PLAIN unless --storage default).

    /usr/bin/python3 test/bench/ivf_bench.py --dataset glove --start-cluster
    /usr/bin/python3 test/bench/ivf_bench.py --dataset fashion --lists 245 --start-cluster
    /usr/bin/python3 test/bench/ivf_bench.py --dataset glove --am ivf --pq-m 25 --rerank 100 --start-cluster
    /usr/bin/python3 test/bench/ivf_bench.py --dataset wide --type halfvec --lists 100 --storage default --start-cluster
    /usr/bin/python3 test/bench/ivf_bench.py --dataset glove --am ivf --pq-m 50 --pq-nbits 4 --faiss-fastscan \
        --faiss-pq 25,8 --rerank-sweep 0,25,50,100,200 --start-cluster
"""
import argparse
import datetime
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import datasets  # noqa: E402
import hnsw_bench as hb  # noqa: E402

PROBES = [1, 2, 4, 8, 12, 16, 24, 32, 48, 64]
TARGETS = [0.90, 0.95]


class FaissIVF:
    """IndexIVFFlat over IndexFlatL2, one thread; cosine as L2 on normalised vectors. kind
    "fastscan": IndexIVFPQFastScan (4-bit PQ, FAISS's SIMD list scan) instead of IndexIVFPQ."""

    def __init__(self, base, queries, metric, args, kind="ivfpq", pq=None):
        import faiss

        self.faiss = faiss
        self.args = args
        self.kind = kind
        self.pq_m, self.pq_nbits = pq if pq else (args.pq_m, args.pq_nbits)
        faiss.omp_set_num_threads(1)
        if metric == "cosine":
            base, queries = datasets.normalized(base), datasets.normalized(queries)
        self.base, self.queries = base, queries

    def build(self):
        a, faiss = self.args, self.faiss
        d = self.base.shape[1]
        self.quantizer = faiss.IndexFlatL2(d)
        # quiver's quantizer against FAISS's nearest: pq -> IVFPQ, sq8 -> IVFSQ8 (both refined
        # from the vectors, as quiver re-ranks); bit (FAISS has no 1-bit IVF) and flat -> IVFFlat.
        if a.am == "ivf" and a.quantizer in ("pq", "sq8"):
            if a.quantizer == "pq" and self.kind == "fastscan":
                self.ivf = faiss.IndexIVFPQFastScan(self.quantizer, d, a.lists, self.pq_m, 4)
            elif a.quantizer == "pq":
                self.ivf = faiss.IndexIVFPQ(self.quantizer, d, a.lists, self.pq_m, self.pq_nbits)
                self.ivf.by_residual = True
            else:
                self.ivf = faiss.IndexIVFScalarQuantizer(self.quantizer, d, a.lists,
                                                         faiss.ScalarQuantizer.QT_8bit)
            self.index = faiss.IndexRefineFlat(self.ivf)
            self.index.k_factor = max(1.0, a.rerank / float(a.k))
        else:
            self.ivf = faiss.IndexIVFFlat(self.quantizer, d, a.lists)
            self.index = self.ivf
        self.ivf.cp.niter = 10
        self.ivf.cp.max_points_per_centroid = 10**9  # we pass the sample ourselves
        sample = max(a.lists * 50, 10000)
        rng = np.random.RandomState(1)
        train = self.base[rng.choice(len(self.base), min(sample, len(self.base)), replace=False)]
        t0 = time.perf_counter()
        self.index.train(train)
        t1 = time.perf_counter()
        self.index.add(self.base)
        t2 = time.perf_counter()
        size = len(faiss.serialize_index(self.index))
        self.name = type(self.index).__name__
        if self.index is not self.ivf:
            self.name += "(%s" % type(self.ivf).__name__
            if a.quantizer == "pq":
                self.name += " M=%d x %d bits" % (self.pq_m, 4 if self.kind == "fastscan" else self.pq_nbits)
            self.name += ")"
        hb.log("faiss: %s(lists=%d) trained on %d rows in %.2f s, added in %.2f s, %.1f MB"
               % (self.name, a.lists, len(train), t1 - t0, t2 - t1, size / 2**20))
        return {"index": self.name, "train_s": t1 - t0, "add_s": t2 - t1, "build_s": t2 - t0, "serialized_bytes": size,
                "train_rows": int(len(train)), "version": getattr(faiss, "__version__", None)}

    def measure(self, probes, truth, rerank=None):
        """rerank: candidates refined (0: the IVF index alone); None: the build's setting."""
        index, queries, k = self.index, self.queries, self.args.k
        if rerank is not None and index is not self.ivf:
            if rerank == 0:
                index = self.ivf
            else:
                self.index.k_factor = max(1.0, rerank / float(k))
        self.ivf.nprobe = probes
        for q in queries[: min(50, len(queries))]:
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
        rec, rec_id = truth.recall(results)
        return dict(probes=probes, recall=rec, recall_ids=rec_id, **hb.latency_stats(lat, wall))


class PostgresIVF(hb.Postgres):
    def build(self, table, type_name, metric):
        a = self.args
        opclass = "%s_%s_ops" % (type_name, "l2" if metric == "l2" else "cosine")
        index = table + "_" + a.am
        if a.am == "ivf":
            sql = ("CREATE INDEX %s ON %s USING ivf (embedding %s) WITH (lists = %d, quantizer = '%s', "
                   "pq_m = %d, pq_nbits = %d, rerank = %d)" % (index, table, opclass, a.lists, a.quantizer,
                                                              a.pq_m, a.pq_nbits, a.rerank))
        else:
            sql = "CREATE INDEX %s ON %s USING ivfflat (embedding %s) WITH (lists = %d)" % (
                index, table, opclass, a.lists)
        hb.log("postgres: " + sql)
        self.cur.execute("SET max_parallel_maintenance_workers = %d" % a.parallel_workers)
        t0 = time.perf_counter()
        self.cur.execute(sql)
        build = time.perf_counter() - t0
        self.cur.execute("SELECT pg_relation_size(%s), pg_table_size(%s)", (index, table))
        size, table_size = self.cur.fetchone()
        peak = self.backend_peak_rss_mb()
        hb.log("postgres: built in %.2f s, index %.1f MB (table %.1f MB), backend peak RSS %s MB"
               % (build, size / 2**20, table_size / 2**20, "?" if peak is None else "%.0f" % peak))
        return index, {"build_s": build, "index_bytes": size, "table_bytes": table_size,
                       "build_peak_rss_mb": peak, "sql": sql}

    def sync_settings(self):
        for name in ("ivfflat.probes", "ivf.probes", "ivf.rerank", "enable_seqscan", "jit"):
            self.cur.execute("SELECT current_setting(%s, true)", (name,))
            value = self.cur.fetchone()[0]
            if value is not None:
                self.xconn.execute("SELECT set_config(%s, %s, false)", (name, value))

    def measure_probes(self, type_name, probes, literals, truth):
        self.cur.execute("SET %s.probes = %d" % (self.args.am, probes))
        plan = hb.plan_of(self.cur, "EXECUTE q_%s('%s')" % (type_name, self.check_literal[type_name]))
        forced = "Index" not in plan
        if forced:
            self.cur.execute("SET enable_seqscan = off")
        results, lat, wall = self.run_queries("q_" + type_name, literals)
        if forced:
            self.cur.execute("RESET enable_seqscan")
        rec, rec_id = truth.recall(results)
        rows = np.array([len(r) for r in results])
        return dict(probes=probes, recall=rec, recall_ids=rec_id, rows_min=int(rows.min()),
                    index_forced=forced, **hb.latency_stats(lat, wall))


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=sorted(hb.DATASETS), default="glove")
    p.add_argument("--data-dir", default=os.path.join(HERE, "data"))
    p.add_argument("--rows", type=int)
    p.add_argument("--queries", type=int)
    p.add_argument("--lists", type=int, default=None, help="default: rows / 1000 (pgvector's advice)")
    p.add_argument("--probes", default=",".join(map(str, PROBES)))
    p.add_argument("--am", choices=["ivfflat", "ivf"], default="ivfflat")
    p.add_argument("--quantizer", choices=["pq", "sq8", "bit", "flat"], default="pq",
                   help="ivf's quantizer (with --am ivf)")
    p.add_argument("--pq-m", type=int, default=25)
    p.add_argument("--pq-nbits", type=int, default=8)
    p.add_argument("--rerank", type=int, default=100)
    p.add_argument("--rerank-sweep", metavar="N,N,...",
                   help="--am ivf: after the probes sweep, these ivf.rerank values (and FAISS k_factor "
                        "= N / k, 0: no refinement) at --rerank-sweep-probes")
    p.add_argument("--rerank-sweep-probes", type=int, default=32)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--type", choices=["vector", "halfvec"], default="vector",
                   help="column type (halfvec: ivfflat up to 4,000 dimensions)")
    p.add_argument("--storage", choices=["plain", "default"], default="plain")
    p.add_argument("--text", action="store_true")
    p.add_argument("--tcp", action="store_true")
    p.add_argument("--no-faiss", action="store_true")
    p.add_argument("--faiss-fastscan", action="store_true",
                   help="--am ivf --pq-nbits 4: also FAISS IndexIVFPQFastScan (+ refine) in the same run")
    p.add_argument("--faiss-pq", metavar="M,NBITS",
                   help="--am ivf: also FAISS IndexIVFPQ (+ refine) with these M and nbits in the same "
                        "run (e.g. 25,8: the same 25-byte codes as --pq-m 50 --pq-nbits 4)")
    p.add_argument("--no-index", action="store_true")
    p.add_argument("--database", default="quiver_bench")
    p.add_argument("--maintenance-work-mem", default="2GB")
    p.add_argument("--parallel-workers", type=int, default=0,
                   help="max_parallel_maintenance_workers for the build (0: serial)")
    p.add_argument("--start-cluster", action="store_true")
    p.add_argument("--pg-bindir")
    p.add_argument("--shared-buffers", default="2GB")
    p.add_argument("--results-dir", default=os.path.join(HERE, "results"))
    a = p.parse_args(argv[1:])
    a.probes = [int(x) for x in a.probes.split(",")]
    return a


def main(argv):
    a = parse_args(argv)
    ddir = os.path.join(a.data_dir, hb.DATASETS[a.dataset])
    with open(os.path.join(ddir, "meta.json")) as f:
        meta = json.load(f)
    metric = meta["metric"]
    base = datasets.read_fvecs(os.path.join(ddir, "base.fvecs"), a.rows)
    queries = datasets.read_fvecs(os.path.join(ddir, "query.fvecs"), a.queries)
    if base.shape[0] == meta["rows"]:
        gt = datasets.read_ivecs(os.path.join(ddir, "gt.ivecs"))[: len(queries)]
    else:
        _, gt = datasets.ground_truth(base, queries, metric, a.k)
    if a.lists is None:
        a.lists = max(1, len(base) // 1000)
    truth = hb.Truth(base, queries, metric, gt, a.k)
    cats = np.zeros(len(base), dtype=np.int32)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    res = {"args": vars(a), "dataset": dict(meta, rows=int(len(base)), queries=int(len(queries))),
           "started": stamp, "loadavg_start": os.getloadavg()}
    hb.log("%s: %d x %d, %d queries, %s, lists = %d" % (meta["name"], len(base), base.shape[1],
                                                       len(queries), metric, a.lists))
    fa = None
    others = []  # further FAISS indexes measured in the same run
    if not a.no_faiss:
        fa = FaissIVF(base, queries, metric, a)
        res["faiss"] = fa.build()
        res["faiss"]["sweep"] = []
        if a.faiss_fastscan and a.am == "ivf" and a.quantizer == "pq" and a.pq_nbits == 4:
            fs = FaissIVF(base, queries, metric, a, kind="fastscan")
            res["faiss_fastscan"] = fs.build()
            res["faiss_fastscan"]["sweep"] = []
            others.append(("faiss_fastscan", fs))
        if a.faiss_pq and a.am == "ivf" and a.quantizer == "pq":
            m, nbits = (int(x) for x in a.faiss_pq.split(","))
            fp = FaissIVF(base, queries, metric, a, pq=(m, nbits))
            res["faiss_pq"] = fp.build()
            res["faiss_pq"]["sweep"] = []
            others.append(("faiss_pq", fp))
    cluster = None
    try:
        if a.start_cluster:
            import pgcluster
            cdir = "/tmp/quiver-bench-%d/data" % os.getpid()
            cluster = pgcluster.Cluster(cdir, a.pg_bindir, {
                "shared_buffers": a.shared_buffers, "maintenance_work_mem": a.maintenance_work_mem,
                "max_parallel_maintenance_workers": a.parallel_workers, "max_parallel_workers_per_gather": 0,
                "jit": "off", "work_mem": "64MB", "checkpoint_timeout": "30min",
                "max_wal_size": "8GB"}, unix_socket=not a.tcp)
            cluster.start()
        pg = PostgresIVF(a)
        literals = [hb.vector_literal(q) for q in queries]
        t = a.type
        table = "bench_" + t
        r = {"load_s": pg.load(table, t, base, cats)}
        index, built = pg.build(table, t, metric)
        r.update(built)
        op = "<->" if metric == "l2" else "<=>"
        pg.define("q_" + t, [t], "SELECT id FROM %s ORDER BY embedding %s $1 LIMIT %d" % (table, op, a.k))
        pg.check_literal[t] = literals[0]
        pg.define("q0_" + t, [t], "SELECT $1 IS NULL")
        _, lat0, wall0 = pg.run_queries("q0_" + t, literals[:300])
        r["overhead"] = hb.latency_stats(lat0, wall0)
        pg.warm(table, index)
        pg.measure_probes(t, max(a.probes), literals[:200], truth)  # warm-up
        r["sweep"] = []
        res["postgres"] = r
        res["protocol"] = pg.protocol
        for probes in a.probes:
            if probes > a.lists:
                continue
            line = "probes %3d:" % probes
            if fa:
                pt = fa.measure(probes, truth)
                res["faiss"]["sweep"].append(pt)
                line += "  FAISS recall %.4f QPS %8.1f p99 %.2f ms" % (pt["recall"], pt["qps"], pt["p99_ms"])
            for key, other in others:
                pt = other.measure(probes, truth)
                res[key]["sweep"].append(pt)
                line += "  %s recall %.4f QPS %8.1f" % (key, pt["recall"], pt["qps"])
            pt = pg.measure_probes(t, probes, literals, truth)
            r["sweep"].append(pt)
            line += "  quiver recall %.4f QPS %8.1f p99 %.2f ms%s" % (
                pt["recall"], pt["qps"], pt["p99_ms"], " (index forced)" if pt["index_forced"] else "")
            hb.log(line)
        if a.rerank_sweep and a.am == "ivf":
            r["rerank_sweep"] = []
            if fa:
                res["faiss"]["rerank_sweep"] = []
            for rr in (int(x) for x in a.rerank_sweep.split(",")):
                probes = a.rerank_sweep_probes
                line = "probes %3d rerank %4d:" % (probes, rr)
                if fa:
                    pt = fa.measure(probes, truth, rerank=rr)
                    pt["rerank"] = rr
                    res["faiss"]["rerank_sweep"].append(pt)
                    line += "  FAISS recall %.4f QPS %8.1f p99 %.2f ms" % (pt["recall"], pt["qps"], pt["p99_ms"])
                pg.cur.execute("SET ivf.rerank = %d" % rr)
                pt = pg.measure_probes(t, probes, literals, truth)
                pt["rerank"] = rr
                r["rerank_sweep"].append(pt)
                line += "  quiver recall %.4f QPS %8.1f p99 %.2f ms" % (pt["recall"], pt["qps"], pt["p99_ms"])
                hb.log(line)
            pg.cur.execute("RESET ivf.rerank")
            if fa and fa.index is not fa.ivf:
                fa.index.k_factor = max(1.0, a.rerank / float(a.k))  # the build's again
        pg.cur.execute("DROP TABLE %s" % table)
        pg.conn.close()
    finally:
        if cluster:
            cluster.remove()
    res["loadavg_end"] = os.getloadavg()
    print("\n%s, %d rows, lists = %d, one client (%s)" % (meta["name"], len(base), a.lists, res["protocol"]))
    print("build: quiver %.2f s (index %.1f MB, peak RSS %s MB); FAISS train + add %.2f s (%.1f MB)" % (
        r["build_s"], r["index_bytes"] / 2**20, r.get("build_peak_rss_mb"),
        res["faiss"]["build_s"] if fa else float("nan"),
        res["faiss"]["serialized_bytes"] / 2**20 if fa else float("nan")))
    print("round trip of a trivial statement: p50 %.3f ms" % r["overhead"]["p50_ms"])
    for key, _ in others:
        print("%s: train + add %.2f s (%.1f MB)" % (res[key]["index"], res[key]["build_s"],
                                                   res[key]["serialized_bytes"] / 2**20))
    for target in TARGETS:
        q = hb.qps_at_recall(r["sweep"], target)
        f = hb.qps_at_recall(res["faiss"]["sweep"], target) if fa else None
        print("at recall %.2f: quiver %s QPS, FAISS %s QPS, ratio %s" % (
            target, hb.fmt(q, ".1f"), hb.fmt(f, ".1f"), hb.fmt(q / f if q and f else None, ".2f")))
        for key, _ in others:
            o = hb.qps_at_recall(res[key]["sweep"], target)
            print("    %s: %s QPS, quiver / it %s" % (res[key]["index"], hb.fmt(o, ".1f"),
                                                     hb.fmt(q / o if q and o else None, ".2f")))
    os.makedirs(a.results_dir, exist_ok=True)
    path = os.path.join(a.results_dir, "%s-%s-%d-%s.json" % (a.am, a.dataset, len(base), stamp))
    with open(path, "w") as f:
        json.dump(res, f, indent=1, default=float)
        f.write("\n")
    print("results: " + path)


if __name__ == "__main__":
    main(sys.argv)
