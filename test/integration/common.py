"""Shared helpers for the integration tests: connect to the throwaway cluster that
test/run_all.sh started (PGHOST/PGPORT/PGUSER), create a scratch database, load data sets."""
import io
import os
import sys

import psycopg2

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import vecdata  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def bundled_data(name):
    """A data set bundled in test/data (with its licence), so that a clean clone passes alone."""
    path = os.path.join(TOP, "test", "data", name)
    if not os.path.isdir(path):
        raise FileNotFoundError("test/data/%s is missing" % name)
    return path


def scratch_database(name):
    """Drops and recreates database `name` with the extension; returns an autocommit connection."""
    admin = psycopg2.connect(dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS %s" % name)
        cur.execute("CREATE DATABASE %s" % name)
    admin.close()
    conn = psycopg2.connect(dbname=name)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE EXTENSION quiver")
    return conn


def load_vectors(conn, table, vectors, type_name="vector"):
    """CREATE TABLE table (id int primary key, embedding type(d)) and COPY the rows, ids 0-based
    so they match the ground-truth files."""
    dim = len(vectors[0])
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE %s (id int PRIMARY KEY, embedding %s(%d))" % (table, type_name, dim))
        buf = io.StringIO()
        for i, v in enumerate(vectors):
            buf.write("%d\t%s\n" % (i, vecdata.vector_literal(v)))
        buf.seek(0)
        cur.copy_expert("COPY %s FROM STDIN" % table, buf)
        cur.execute("ANALYZE %s" % table)


class Checker:
    """Counts checks and prints failures; exit status says whether all held."""

    def __init__(self, name):
        self.name = name
        self.failures = 0
        self.checks = 0

    def check(self, ok, message):
        self.checks += 1
        if not ok:
            self.failures += 1
            print("FAIL %s: %s" % (self.name, message))

    def finish(self):
        status = "ok" if self.failures == 0 else "FAILED"
        print("%s: %d checks, %d failed ... %s" % (self.name, self.checks, self.failures, status))
        sys.exit(0 if self.failures == 0 else 1)


K = 10


def copy_rows(cur, table, rows):
    """COPY (id, vector) pairs into table."""
    buf = io.StringIO()
    for i, v in rows:
        buf.write("%d\t%s\n" % (i, vecdata.vector_literal(v)))
    buf.seek(0)
    cur.copy_expert("COPY %s (id, embedding) FROM STDIN" % table, buf)


def restricted_truth(gt_row, present):
    """The exact top K among the rows present, from a top-100 ground-truth list; None when the
    list holds fewer than K present rows (that query cannot be judged)."""
    want = [i for i in gt_row if i in present][:K]
    return want if len(want) == K else None


class Recall:
    def __init__(self, checker, conn, queries, type_name="vector"):
        self.checker = checker
        self.conn = conn
        self.queries = [vecdata.vector_literal(q) for q in queries]
        self.type_name = type_name

    def measure(self, label, table, index, op, gt, present=None):
        """recall@K of `table`'s index scans over all queries; `present` restricts the ground
        truth to those ids (None: all base rows are present)."""
        cur = self.conn.cursor()
        cur.execute("SET enable_seqscan = off")
        sql = "SELECT id FROM %s ORDER BY embedding %s %%s::%s LIMIT %d" % (table, op, self.type_name, K)
        cur.execute("EXPLAIN (COSTS OFF) " + sql, (self.queries[0],))
        plan = "\n".join(r[0] for r in cur.fetchall())
        self.checker.check("Index Scan using %s" % index in plan,
                           "%s: the plan does not use %s:\n%s" % (label, index, plan))
        hits = 0
        judged = 0
        for qi, q in enumerate(self.queries):
            want = gt[qi][:K] if present is None else restricted_truth(gt[qi], present)
            if want is None:
                continue
            cur.execute(sql, (q,))
            got = [r[0] for r in cur.fetchall()]
            self.checker.check(len(got) == K, "%s query %d: %d rows, want %d" % (label, qi, len(got), K))
            hits += len(set(got) & set(want))
            judged += 1
        cur.execute("RESET enable_seqscan")
        cur.close()
        recall = hits / float(K * judged) if judged else 0.0
        print("  %-44s recall@%d = %.4f  (%d queries)" % (label, K, recall, judged))
        self.checker.check(judged >= len(self.queries) * 0.9,
                           "%s: only %d queries could be judged" % (label, judged))
        return recall

    def require(self, label, table, index, op, gt, present=None, minimum=0.95):
        recall = self.measure(label, table, index, op, gt, present)
        self.checker.check(recall >= minimum, "%s: recall@%d %.4f < %.2f" % (label, K, recall, minimum))
        return recall
