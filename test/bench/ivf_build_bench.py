"""Build times of ivfflat and ivf (PQ) with 0, 1 and 2 parallel workers, each twice, on the GloVe
data set of fetch_datasets.sh, against a running server (libpq's PG* variables; quiver
installed). The table is loaded once with text COPY, rows SET STORAGE PLAIN, ANALYZEd and
checkpointed; maintenance_work_mem 2 GB. Prints one line per build.

    /usr/bin/python3 test/bench/ivf_build_bench.py [--data-dir test/bench/data] [--lists 340]
"""
import argparse
import io
import os
import sys
import time

import psycopg2

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import vecdata  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", default=os.path.join(HERE, "data"))
    p.add_argument("--lists", type=int, default=340)
    p.add_argument("--pq-m", type=int, default=25)
    a = p.parse_args()
    base = vecdata.read_fvecs(os.path.join(a.data_dir, "glove-100-angular", "base.fvecs"))
    conn = psycopg2.connect(dbname=os.environ.get("PGDATABASE", "postgres"))
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION IF NOT EXISTS quiver")
    cur.execute("DROP TABLE IF EXISTS ivf_build_bench")
    cur.execute("CREATE TABLE ivf_build_bench (id int, embedding vector(%d))" % len(base[0]))
    cur.execute("ALTER TABLE ivf_build_bench ALTER embedding SET STORAGE PLAIN")
    buf = io.StringIO()
    for i, v in enumerate(base):
        buf.write("%d\t[%s]\n" % (i, ",".join("%.9g" % x for x in v)))
    buf.seek(0)
    cur.copy_expert("COPY ivf_build_bench FROM STDIN", buf)
    cur.execute("VACUUM ANALYZE ivf_build_bench")
    cur.execute("SET maintenance_work_mem = '2GB'")
    cur.execute("CHECKPOINT")
    print("glove-100-angular: %d rows, lists = %d, %d cores" % (len(base), a.lists, os.cpu_count()))
    for sql in ["CREATE INDEX ivf_build_bench_idx ON ivf_build_bench USING ivfflat (embedding vector_cosine_ops) WITH (lists = %d)" % a.lists,
                "CREATE INDEX ivf_build_bench_idx ON ivf_build_bench USING ivf (embedding vector_cosine_ops) WITH (lists = %d, pq_m = %d)" % (a.lists, a.pq_m)]:
        for workers in (0, 1, 2, 0, 1, 2):
            cur.execute("SET max_parallel_maintenance_workers = %d" % workers)
            t0 = time.perf_counter()
            cur.execute(sql)
            elapsed = time.perf_counter() - t0
            print("%s, workers %d: %.2f s" % (sql.split(" USING ")[1].split(" (")[0], workers, elapsed), flush=True)
            cur.execute("DROP INDEX ivf_build_bench_idx")
    cur.execute("DROP TABLE ivf_build_bench")
    conn.close()


if __name__ == "__main__":
    main()
