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
