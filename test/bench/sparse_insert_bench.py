#!/usr/bin/env python3
"""Inserts of long sparsevec rows into an hnsw index whose early pages hold deleted slots of
short ones: the case where the insert hint used to stay on the first such page, so that every
insert read and locked every page from there to the end of the index. Reports inserts per second
and index blocks read per insert (pg_stat_get_xact_blocks_fetched), before and after a VACUUM.
A report, not a test.

  /usr/bin/python3 test/bench/sparse_insert_bench.py [--short 60000] [--long 2000]
      (PGHOST/PGPORT/PGUSER of a server with quiver installed)"""
import argparse
import os
import random
import time

import psycopg2


def sparse(pairs, dim):
    return "{%s}/%d" % (",".join("%d:%g" % (i, v) for i, v in pairs), dim)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--short", type=int, default=60000, help="rows with 1 non-zero element")
    p.add_argument("--long", type=int, default=2000, help="rows with 300 non-zero elements")
    p.add_argument("--dim", type=int, default=10000)
    a = p.parse_args()
    conn = psycopg2.connect(dbname=os.environ.get("PGDATABASE", "postgres"))
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION IF NOT EXISTS quiver")
    cur.execute("DROP TABLE IF EXISTS sparse_bench")
    cur.execute("CREATE TABLE sparse_bench (id int, v sparsevec(%d))" % a.dim)
    cur.execute("CREATE INDEX sparse_bench_idx ON sparse_bench USING hnsw (v sparsevec_l2_ops)")
    cur.execute("INSERT INTO sparse_bench SELECT i, format('{%%s:%%s}/%d', 1 + i %% %d, 1 + i %% 7)::sparsevec "
                "FROM generate_series(1, %d) i" % (a.dim, a.dim, a.short))
    cur.execute("DELETE FROM sparse_bench WHERE id % 2 = 0")
    cur.execute("VACUUM sparse_bench")
    cur.execute("SELECT pg_relation_size('sparse_bench_idx') / 8192")
    pages = cur.fetchone()[0]
    print("index: %d pages; half of %d short rows deleted and vacuumed" % (pages, a.short))
    rng = random.Random(1)
    oid_sql = "'sparse_bench_idx'::regclass"
    fetched = 0
    t0 = time.perf_counter()
    for i in range(a.long):
        idx = sorted(rng.sample(range(1, a.dim + 1), 300))
        lit = sparse([(j, rng.random()) for j in idx], a.dim)
        cur.execute("BEGIN")
        cur.execute("INSERT INTO sparse_bench VALUES (%s, %s)", (a.short + i + 1, lit))
        cur.execute("SELECT pg_stat_get_xact_blocks_fetched(%s)" % oid_sql)
        fetched += cur.fetchone()[0]
        cur.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    print("%d long rows: %.0f inserts/s, %.0f index blocks read per insert"
          % (a.long, a.long / elapsed, fetched / a.long))
    try:
        cur.execute("SELECT insert_page FROM quiver_hnsw_metapage('sparse_bench_idx')")
        print("insert_page afterwards: %d" % cur.fetchone()[0])
    except psycopg2.Error:  # a quiver without quiver_hnsw_metapage (before issue 9)
        pass
    cur.execute("DROP TABLE sparse_bench")


if __name__ == "__main__":
    main()
