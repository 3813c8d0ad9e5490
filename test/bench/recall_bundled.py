#!/usr/bin/env python3
"""Recall@10 of the hnsw index per hnsw.ef_search on the data sets bundled in test/data
(glove-100-small: 7,500 x 100, 500 queries; fiori-docs-384-small: 678 x 384, 100 queries),
against their exact ground truth, for each opclass the data fits (vector and halfvec, L2 and
cosine), after a build and after a build on half the rows plus inserts of the other half. A
report, not a test: prints a Markdown table (the README's "recall per ef_search" table).

  /usr/bin/python3 test/bench/recall_bundled.py            # PGHOST/PGPORT/PGUSER of a server
                                                           # with quiver installed
Settings: pgvector's defaults (m = 16, ef_construction = 64)."""
import io
import os
import sys

import psycopg2

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "test", "lib"))
import vecdata  # noqa: E402

EF = [10, 20, 40, 80, 160]
K = 10
CASES = [
    # data set, type, opclass, operator, ground truth
    ("glove-100-small", "vector", "vector_l2_ops", "<->", "gt.ivecs"),
    ("glove-100-small", "vector", "vector_cosine_ops", "<=>", "gt_cos.ivecs"),
    ("glove-100-small", "halfvec", "halfvec_cosine_ops", "<=>", "gt_cos.ivecs"),
    ("fiori-docs-384-small", "vector", "vector_cosine_ops", "<=>", "gt_cos.ivecs"),
    ("fiori-docs-384-small", "vector", "vector_ip_ops", "<#>", "gt_cos.ivecs"),
]


def load(cur, table, type_name, rows):
    dim = len(rows[0][1])
    cur.execute("DROP TABLE IF EXISTS %s" % table)
    cur.execute("CREATE TABLE %s (id int, v %s(%d))" % (table, type_name, dim))
    insert(cur, table, rows)


def insert(cur, table, rows):
    buf = io.StringIO()
    for i, v in rows:
        buf.write("%d\t%s\n" % (i, vecdata.vector_literal(v)))
    buf.seek(0)
    cur.copy_expert("COPY %s FROM STDIN" % table, buf)


def recall(cur, table, type_name, op, queries, gt):
    out = []
    for ef in EF:
        cur.execute("SET enable_seqscan = off; SET hnsw.ef_search = %d" % ef)
        hits = 0
        for qi, q in enumerate(queries):
            cur.execute("SELECT id FROM %s ORDER BY v %s %%s::%s LIMIT %d" % (table, op, type_name, K),
                        (vecdata.vector_literal(q),))
            hits += len({r[0] for r in cur.fetchall()} & set(gt[qi][:K]))
        out.append(hits / (K * len(queries)))
    cur.execute("RESET enable_seqscan; RESET hnsw.ef_search")
    return out


def main():
    conn = psycopg2.connect(dbname=os.environ.get("PGDATABASE", "postgres"))
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION IF NOT EXISTS quiver")
    print("| data set | opclass | index | " + " | ".join("ef %d" % e for e in EF) + " |")
    print("|---|---|---|" + "---|" * len(EF))
    for name, type_name, opclass, op, gt_file in CASES:
        path = os.path.join(TOP, "test", "data", name)
        base = vecdata.read_fvecs(os.path.join(path, "base.fvecs"))
        queries = vecdata.read_fvecs(os.path.join(path, "query.fvecs"))
        gt = vecdata.read_ivecs(os.path.join(path, gt_file))
        rows = list(enumerate(base))
        for how in ("build", "half + inserts"):
            if how == "build":
                load(cur, "rb", type_name, rows)
                cur.execute("CREATE INDEX ON rb USING hnsw (v %s)" % opclass)
            else:
                load(cur, "rb", type_name, rows[: len(rows) // 2])
                cur.execute("CREATE INDEX ON rb USING hnsw (v %s)" % opclass)
                insert(cur, "rb", rows[len(rows) // 2:])
            r = recall(cur, "rb", type_name, op, queries, gt)
            print("| %s | %s | %s | %s |" % (name, opclass, how, " | ".join("%.3f" % x for x in r)),
                  flush=True)
    cur.execute("DROP TABLE IF EXISTS rb")


if __name__ == "__main__":
    main()
