#!/usr/bin/python3
"""Filtered k-NN benchmark (issue 11): `WHERE <filter> ORDER BY embedding <=> $1 LIMIT 10` at
50 %, 10 %, 1 % and 0.1 % selectivity (cat uniform in [0, 1000), uncorrelated with the vectors)
and a correlated label (the 1 % frequency band of the query's nearest row), measured four ways
in one run:
  (a) in-index: hnsw (embedding, cat, band), the filter evaluated in the walk
      (quiver.filter_strategy = auto unless --strategy), the index path forced;
  (b) iterative: the same data in a table whose hnsw index has no filter column, with
      hnsw.iterative_scan = relaxed_order (pgvector's approach), the index path forced;
  (c) btree: a bitmap scan of a btree on the filter column and an exact sort;
  (d) FAISS IndexHNSWFlat with an IDSelectorBitmap (same M, efConstruction, efSearch).
Reports recall@10 against the exact filtered top-10 (tie-tolerant, as hnsw_bench.py), rows
returned, QPS, p99 and the query backend's peak and private memory, one client, vectors sent in binary over the extended protocol (or
--text). A report, never a pass/fail test.

    test/bench/filter_bench.py --dataset glove --rows 200000 --queries 500 --start-cluster
"""
import argparse
import io
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import datasets  # noqa: E402
import hnsw_bench as hb  # noqa: E402

SELECTIVITIES = [0.5, 0.1, 0.01, 0.001]
FASHION_SRC = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist (labels)


def read_idx_labels(path):
    import gzip
    with gzip.open(path, "rb") as f:
        data = f.read()
    if int.from_bytes(data[:4], "big") != 2049:
        raise SystemExit("%s: not an IDX label file" % path)
    count = int.from_bytes(data[4:8], "big")
    return np.frombuffer(data[8: 8 + count], dtype=np.uint8).astype(np.int64)
CAT_RANGE = 1000
BANDS = 100


def copy_rows(pg, table, base, cats, bands):
    cur = pg.cur
    cur.execute("DROP TABLE IF EXISTS %s" % table)
    cur.execute("CREATE TABLE %s (id int4 PRIMARY KEY, cat int4, embedding vector(%d), band int4)"
                % (table, base.shape[1]))
    if pg.args.storage == "plain":
        cur.execute("ALTER TABLE %s ALTER COLUMN embedding SET STORAGE PLAIN" % table)
    stream = hb.copy_binary(np.arange(len(base), dtype=np.int32), cats, base, "vector")
    cur.copy_expert("COPY %s (id, cat, embedding) FROM STDIN WITH (FORMAT binary)" % table, stream)
    buf = io.StringIO("".join("%d\t%d\n" % (i, b) for i, b in enumerate(bands)))
    cur.execute("CREATE TEMP TABLE band_values (id int4, band int4)")
    cur.copy_expert("COPY band_values FROM STDIN", buf)
    cur.execute("UPDATE %s t SET band = b.band FROM band_values b WHERE b.id = t.id" % table)
    cur.execute("DROP TABLE band_values")
    cur.execute("VACUUM ANALYZE %s" % table)


def backend_memory_mb(pg):
    """(peak RSS, anonymous RSS now) in MB of the backend that runs the timed queries, from
    /proc when the server runs on this machine. The peak counts the shared buffers the backend
    touched; the anonymous part is its private memory (what work_mem bounds)."""
    conn = pg.xconn if pg.xconn is not None else pg.conn
    if pg.xconn is not None:
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    else:
        pg.cur.execute("SELECT pg_backend_pid()")
        pid = pg.cur.fetchone()[0]
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                key = line.split(":")[0]
                if key in ("VmHWM", "RssAnon"):
                    out[key] = int(line.split()[1]) / 1024.0
    except OSError:
        return None, None
    return out.get("VmHWM"), out.get("RssAnon")


def timed(label, fn):
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    hb.log("%s: %.1f s" % (label, dt))
    return dt


def run_sql(pg, name, params, body, literals, extras, settings):
    """Prepared statement `name` over every query (extras[i]: the query's filter value)."""
    cur = pg.cur
    for k, v in settings.items():
        cur.execute("SET %s = %s" % (k, v))
    pg.define(name, params, body)
    if pg.xconn is not None:
        pg.sync_settings()
        for k, v in settings.items():
            pg.xconn.execute("SET %s = %s" % (k, v))
    plan = hb.plan_of(cur, "EXECUTE %s('%s', %d)" % (name, literals[0], extras[0]))
    lat = np.empty(len(literals))
    results = []
    if pg.xconn is not None:
        sql, type_name = pg.stmts[name]
        params = [{"p1": pg.param(type_name, lit), "p2": int(extras[i])}
                  for i, lit in enumerate(literals)]
        run = lambda i: pg.xconn.execute(sql, params[i], prepare=True).fetchall()
    else:
        def run(i):
            cur.execute("EXECUTE %s(%%s, %%s)" % name, (literals[i], int(extras[i])))
            return cur.fetchall()
    for i in range(min(20, len(literals))):   # warm-up
        run(i)
    t_all = time.perf_counter()
    for i in range(len(literals)):
        t0 = time.perf_counter()
        rows = run(i)
        lat[i] = time.perf_counter() - t0
        results.append([r[0] for r in rows])
    wall = time.perf_counter() - t_all
    cur.execute("DEALLOCATE %s" % name)
    for k in settings:
        cur.execute("RESET %s" % k)
        if pg.xconn is not None:
            pg.xconn.execute("RESET %s" % k)
    return results, lat, wall, plan


def unfiltered_qps_at(points, recall):
    """QPS of the unfiltered in-index scan at `recall`, interpolated linearly between the two
    measured ef_search values whose recalls bracket it (None outside the measured range)."""
    points = sorted(points)
    for (r0, q0), (r1, q1) in zip(points, points[1:]):
        if r0 <= recall <= r1:
            return q0 if r1 == r0 else q0 + (q1 - q0) * (recall - r0) / (r1 - r0)
    return None


def report_equal_recall(out):
    """A filtered scan finds more of its (fewer) true neighbours at the same ef_search than an
    unfiltered one, so "within 1.2x of an unfiltered query" is compared at equal recall: each
    filtered in-index run against the unfiltered curve at its recall."""
    base = [c for c in out["cases"] if c["filter"] == "no filter"]
    if not base:
        return
    points = [(r["recall"], r["qps"]) for r in base[0]["runs"] if r["way"].startswith("in-index")]
    for case in out["cases"]:
        if case is base[0]:
            continue
        for r in case["runs"]:
            if not r["way"].startswith("in-index"):
                continue
            q = unfiltered_qps_at(points, r["recall"])
            r["unfiltered_qps_at_recall"] = q
            if q is not None:
                hb.log("%-34s %-17s ef %4s  recall %.4f  QPS %8.1f; unfiltered at that recall %8.1f "
                       "(ratio %.2f)" % (case["filter"], r["way"], r["ef_search"], r["recall"],
                                        r["qps"], q, q / r["qps"]))


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--dataset", choices=sorted(hb.DATASETS), default="glove")
    p.add_argument("--data-dir", default=os.path.join(HERE, "data"))
    p.add_argument("--rows", type=int, default=200000)
    p.add_argument("--queries", type=int, default=500)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--ef-construction", type=int, default=64)
    p.add_argument("--ef", default="40,100", help="ef_search of the in-index scans and FAISS")
    p.add_argument("--iter-ef", default="40,200", help="ef_search of the iterative scans")
    p.add_argument("--strategy", default="auto",
                   help="quiver.filter_strategy of the in-index scans (comma-separated: each)")
    p.add_argument("--storage", choices=["plain", "default"], default="plain")
    p.add_argument("--text", action="store_true")
    p.add_argument("--database", default="quiver_filter_bench")
    p.add_argument("--maintenance-work-mem", default="2GB")
    p.add_argument("--start-cluster", action="store_true")
    p.add_argument("--pg-bindir")
    p.add_argument("--shared-buffers", default="2GB")
    p.add_argument("--no-faiss", action="store_true")
    p.add_argument("--cases", default="all",
                   help="comma list of none, 50, 10, 1, 0.1, band, class (all: every case)")
    p.add_argument("--results-dir", default=os.path.join(HERE, "results"))
    a = p.parse_args(argv[1:])
    a.no_index = False
    a.parallel_workers = 0
    a.ef = [int(x) for x in a.ef.split(",")]
    a.iter_ef = [int(x) for x in a.iter_ef.split(",")]

    ddir = os.path.join(a.data_dir, hb.DATASETS[a.dataset])
    with open(os.path.join(ddir, "meta.json")) as f:
        meta = json.load(f)
    metric = meta["metric"]
    op = "<->" if metric == "l2" else "<=>"
    base = datasets.read_fvecs(os.path.join(ddir, "base.fvecs"), a.rows)
    queries = datasets.read_fvecs(os.path.join(ddir, "query.fvecs"), a.queries)
    n = len(base)
    cats = np.random.RandomState(hb.CAT_SEED).randint(0, CAT_RANGE, size=n).astype(np.int32)
    bands = (np.arange(n, dtype=np.int64) * BANDS // n).astype(np.int32)
    _, nn = datasets.ground_truth(base, queries, metric, 1)
    query_band = bands[nn[:, 0]]
    hb.log("%s: %d x %d, %d queries, %s" % (meta["name"], n, base.shape[1], len(queries), metric))

    # The filters: (label, SQL condition on $2, per-query value, mask per query); the first
    # case is no filter at all (the baseline the 50 % goal is measured against).
    cases = [("no filter", "$2 = $2", [0] * len(queries), lambda i: np.ones(n, dtype=bool))]
    for sel in SELECTIVITIES:
        limit = int(round(sel * CAT_RANGE))
        cases.append(("cat < %d (%.1f%%)" % (limit, sel * 100), "cat < $2", [limit] * len(queries),
                      lambda i, limit=limit: cats < limit))
    cases.append(("band = query's (1%, correlated)", "band = $2", list(query_band),
                  lambda i: bands == query_band[i]))
    if a.dataset == "fashion":
        # The real class labels (10 % each), in the band column: the query's own class
        # (correlated: its neighbours are mostly of its class) and the next class.
        base_labels = read_idx_labels(os.path.join(FASHION_SRC, "train-labels-idx1-ubyte.gz"))[:n]
        query_labels = read_idx_labels(os.path.join(FASHION_SRC, "t10k-labels-idx1-ubyte.gz"))[: len(queries)]
        bands = base_labels.astype(np.int32)
        cases = [c for c in cases if not c[1].startswith("band")]
        cases.append(("class = query's (10%, real)", "band = $2", [int(x) for x in query_labels],
                      lambda i: bands == query_labels[i]))
        other = (query_labels + 1) % 10
        cases.append(("class = another (10%, real)", "band = $2", [int(x) for x in other],
                      lambda i: bands == other[i]))

    if a.cases != "all":
        wanted = set(a.cases.split(","))
        def case_key(label):
            if label == "no filter":
                return "none"
            if label.startswith("cat < "):
                return label.split("(")[1].split("%")[0].rstrip("0").rstrip(".")
            return label.split()[0]
        cases = [c for c in cases if case_key(c[0]) in wanted]

    cluster = None
    out = {"dataset": meta["name"], "rows": n, "queries": len(queries), "cases": []}
    try:
        if a.start_cluster:
            import pgcluster
            cdir = "/tmp/quiver-filter-bench-%d/data" % os.getpid()
            cluster = pgcluster.Cluster(cdir, a.pg_bindir, {
                "shared_buffers": a.shared_buffers, "maintenance_work_mem": a.maintenance_work_mem,
                "max_parallel_maintenance_workers": 0, "max_parallel_workers_per_gather": 0,
                "jit": "off", "work_mem": "64MB", "max_wal_size": "8GB"}, unix_socket=True)
            cluster.start()
        pg = hb.Postgres(a)
        out["protocol"] = pg.protocol
        opclass = "vector_l2_ops" if metric == "l2" else "vector_cosine_ops"
        copy_rows(pg, "items", base, cats, bands)
        copy_rows(pg, "items_plain", base, cats, bands)
        wm = "WITH (m = %d, ef_construction = %d)" % (a.m, a.ef_construction)
        out["build_filter_s"] = timed("build hnsw (embedding, cat, band)", lambda: pg.cur.execute(
            "CREATE INDEX items_f ON items USING hnsw (embedding %s, cat, band) %s" % (opclass, wm)))
        out["build_plain_s"] = timed("build hnsw (embedding)", lambda: pg.cur.execute(
            "CREATE INDEX items_p ON items_plain USING hnsw (embedding %s) %s" % (opclass, wm)))
        pg.cur.execute("ANALYZE items; ANALYZE items_plain")
        for rel in ("items", "items_f", "items_plain", "items_p"):
            if pg.prewarm:
                pg.cur.execute("SELECT pg_prewarm(%s)", (rel,))
        pg.cur.execute("SELECT pg_relation_size('items_f'), pg_relation_size('items_p')")
        out["index_bytes"] = dict(zip(("filter", "plain"), pg.cur.fetchone()))
        literals = [hb.vector_literal(q) for q in queries]

        fa = None
        if not a.no_faiss:
            import faiss
            faiss.omp_set_num_threads(1)
            fb = datasets.normalized(base) if metric == "cosine" else base
            fq = datasets.normalized(queries) if metric == "cosine" else queries
            fa = faiss.IndexHNSWFlat(base.shape[1], a.m)
            fa.hnsw.efConstruction = a.ef_construction
            timed("faiss build", lambda: fa.add(fb))

        for label, cond, values, mask_of in cases:
            gt = np.full((len(queries), a.k), -1, dtype=np.int64)
            masks = {}
            for i in range(len(queries)):
                key = values[i]
                if key not in masks:
                    masks[key] = mask_of(i)
                gt[i] = datasets.filtered_ground_truth(base, queries[i: i + 1], metric,
                                                       masks[key], a.k)[0]
            truth = hb.Truth(base, queries, metric, gt, a.k)
            case = {"filter": label, "runs": []}

            def record(way, ef, results, lat, wall, plan=None):
                rec, _ = truth.recall(results)
                rows = np.array([len(r) for r in results])
                pt = dict(way=way, ef_search=ef, recall=rec, rows_mean=float(rows.mean()),
                          rows_min=int(rows.min()), plan=plan, **hb.latency_stats(lat, wall))
                if way != "faiss":
                    pt["backend_peak_rss_mb"], pt["backend_anon_rss_mb"] = backend_memory_mb(pg)
                case["runs"].append(pt)
                mem = ("  backend peak RSS %.0f MB, private %.1f MB"
                       % (pt["backend_peak_rss_mb"], pt["backend_anon_rss_mb"])
                       if pt.get("backend_peak_rss_mb") is not None else "")
                hb.log("%-34s %-17s ef %4s  recall %.4f  rows %.2f (min %d)  QPS %8.1f  p99 %7.2f ms%s"
                       % (label, way, ef, rec, pt["rows_mean"], pt["rows_min"], pt["qps"],
                          pt["p99_ms"], mem))

            body = "SELECT id FROM %%s WHERE %s ORDER BY embedding %s $1 LIMIT %d" % (cond, op, a.k)
            for strategy in a.strategy.split(","):
                for ef in a.ef if strategy != "exact" else a.ef[:1]:
                    r, lat, wall, plan = run_sql(
                        pg, "qa", ["vector", "int"], body % "items", literals, values,
                        {"hnsw.ef_search": ef, "quiver.filter_strategy": strategy,
                         "enable_seqscan": "off", "enable_bitmapscan": "off",
                         "plan_cache_mode": "force_custom_plan"})
                    record("in-index " + strategy, ef, r, lat, wall, plan)
            for ef in a.iter_ef:
                r, lat, wall, plan = run_sql(
                    pg, "qb", ["vector", "int"], body % "items_plain", literals, values,
                    {"hnsw.ef_search": ef, "hnsw.iterative_scan": "relaxed_order",
                     "enable_seqscan": "off", "enable_bitmapscan": "off",
                     "plan_cache_mode": "force_custom_plan"})
                record("iterative", ef, r, lat, wall, plan)
            # The btrees exist only here: with them, (b)'s forced index path could be theirs.
            pg.cur.execute("CREATE INDEX items_plain_cat ON items_plain (cat)")
            pg.cur.execute("CREATE INDEX items_plain_band ON items_plain (band)")
            r, lat, wall, plan = run_sql(
                pg, "qc", ["vector", "int"], body % "items_plain", literals, values,
                {"enable_seqscan": "off", "enable_indexscan": "off", "enable_bitmapscan": "on",
                 "plan_cache_mode": "force_custom_plan"})
            record("btree", "-", r, lat, wall, plan)
            pg.cur.execute("DROP INDEX items_plain_cat, items_plain_band")
            if fa is not None:
                for ef in a.ef:
                    fa.hnsw.efSearch = ef  # as well as in the search parameters below
                    lat = np.empty(len(queries))
                    results = []
                    sels = {}
                    t_all = time.perf_counter()
                    for i in range(len(queries)):
                        key = values[i]
                        if key not in sels:   # built once per filter value, outside the timing
                            t_pause = time.perf_counter()
                            bits = np.packbits(masks[key], bitorder="little")
                            sels[key] = (faiss.IDSelectorBitmap(len(masks[key]), faiss.swig_ptr(bits)), bits)
                            t_all += time.perf_counter() - t_pause
                        params = faiss.SearchParametersHNSW()
                        params.efSearch = ef
                        params.sel = sels[key][0]
                        t0 = time.perf_counter()
                        _, ids = fa.search(fq[i: i + 1], a.k, params=params)
                        lat[i] = time.perf_counter() - t0
                        results.append([x for x in ids[0] if x >= 0])
                    wall = time.perf_counter() - t_all
                    record("faiss", ef, results, lat, wall)
            out["cases"].append(case)
        pg.conn.close()
        report_equal_recall(out)
    finally:
        if cluster:
            cluster.remove()
    os.makedirs(a.results_dir, exist_ok=True)
    path = os.path.join(a.results_dir, "filter-%s-%d-%s.json" % (a.dataset, n, time.strftime("%Y%m%d-%H%M%S")))
    with open(path, "w") as f:
        json.dump(out, f, indent=1, default=str)
    hb.log("results: " + path)


if __name__ == "__main__":
    main(sys.argv)
